"""The C allocator's settings for try-on work.

A try-on allocates a few dozen temporary arrays the size of the photo (masks, float
images, remap tables). By default glibc serves the large ones with a fresh ``mmap``
and hands them back to the kernel when freed, and trims the heap as soon as 128 KB at
its top are free, so every try-on can fault the same memory in again: on a phone's
10-megapixel photo 40,000 to 70,000 page faults (up to 270 MB) per try-on, on a
768x1376 sample photo about 6,800, against about ten with this setting
(``tests/test_allocator.py`` counts them).

``keep_freed_memory`` raises both thresholds, so freed blocks stay in the heap for the
next try-on, and gives every thread the one heap (a try-on runs on three threads: see
``ARENA_MAX``). The peak RSS is unchanged; the process stays at its peak instead of
shrinking between try-ons, which is what a server wants. Set ``TRYON_KEEP_FREED_MEMORY=0``
to leave the allocator alone (for instance when embedding tryon in a process that
tunes it itself). Elsewhere than glibc this does nothing.

The freed memory kept is what the largest try-on left: after two 45-megapixel photos
a server held gigabytes it no longer used. ``release_free_memory`` hands the free
memory back (``malloc_trim``) when more than a bound is free, and all of it once
``release_after_large_photo`` was called (work on a photo over the working size, whose
leftovers the next ordinary try-on would not reuse); the service calls it when its work
pool falls idle and after a large photo's job.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os
import threading

log = logging.getLogger("tryon.allocator")

OPT_OUT_VARIABLE = "TRYON_KEEP_FREED_MEMORY"

# mallopt parameters (glibc's malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8

MMAP_THRESHOLD = 512 << 20
"""Blocks from this size on still get their own mapping (returned at once when freed)."""
TRIM_THRESHOLD = 1 << 30
"""Free memory at the heap's top beyond this is returned to the kernel."""
ARENA_MAX = 1
"""One heap for every thread: a thread's own arena grows in 64 MB heaps that are
unmapped as soon as they are empty, and cannot hold a block larger than that at all,
so a try-on's warp thread faulted its photo-sized arrays in again every time."""

RELEASE_ABOVE = 256 << 20
"""Free heap memory kept when the process falls idle: a try-on of a photo at the working
size leaves less than this free (56 MB at 768x1024, 230 MB at 1536x2048), so steady
traffic keeps its memory. Trimming it would cost each later try-on its page faults
again (8,000 at 768x1024: +18 ms; 17,700 at 1536x2048: +50 ms), while the trim itself
takes 2 to 10 ms, and 0.03 ms when little is free."""

_lock = threading.Lock()
_done = False
_large_photo_done = threading.Event()


class _MallInfo2(ctypes.Structure):
    """glibc's ``struct mallinfo2`` (2.33 and later): sizes in bytes."""

    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def keep_freed_memory() -> bool:
    """Tunes glibc's malloc once per process; returns whether it is tuned."""
    global _done
    with _lock:
        if _done:
            return True
        if os.environ.get(OPT_OUT_VARIABLE, "1") == "0":
            return False
        name = ctypes.util.find_library("c")
        try:
            mallopt = ctypes.CDLL(name).mallopt if name else None
        except (OSError, AttributeError):
            mallopt = None
        if mallopt is None:  # not glibc (macOS, musl without mallopt)
            return False
        # Both are needed: setting either one stops glibc adjusting the other, and a
        # trim threshold alone leaves every block over 128 KB mapped (five times the
        # page faults).
        ok = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
        ok = ok and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
        ok = ok and mallopt(_M_ARENA_MAX, ARENA_MAX) == 1
        if not ok:
            log.debug("mallopt refused the thresholds; the allocator is left as it was")
        _done = ok
        return ok


def free_heap_bytes() -> int | None:
    """Bytes the C allocator holds free in its heaps (glibc's ``mallinfo2().fordblks``);
    None where that cannot be asked (not glibc, or a glibc older than 2.33)."""
    libc = _libc()
    info = getattr(libc, "mallinfo2", None) if libc is not None else None
    if info is None:
        return None
    info.restype = _MallInfo2
    return int(info().fordblks)


def release_after_large_photo() -> None:
    """Has the next ``release_free_memory`` call hand back all the free memory, whatever
    its bound: a photo over the working size was (or is being) tried on, and what its
    work leaves free, up to a few hundred MB under the bound, would otherwise be kept."""
    _large_photo_done.set()


def release_free_memory(above: int = RELEASE_ABOVE) -> int:
    """Hands the allocator's free memory back to the kernel when more than ``above``
    bytes are free, or any is free after ``release_after_large_photo`` (all of it then,
    ``malloc_trim(0)``: the top of the heap and the free pages inside it). Takes a few
    milliseconds; call it when the process is idle.

    Returns:
        The free bytes there were when they were handed back; 0 when nothing was done
        (less free than ``above``, not glibc, or ``TRYON_KEEP_FREED_MEMORY=0``: the
        allocator left alone).
    """
    if os.environ.get(OPT_OUT_VARIABLE, "1") == "0":
        return 0
    if _large_photo_done.is_set():
        _large_photo_done.clear()
        above = 0
    free = free_heap_bytes()
    libc = _libc()
    trim = getattr(libc, "malloc_trim", None) if libc is not None else None
    if free is None or trim is None or free <= above:
        return 0
    trim(ctypes.c_size_t(0))
    log.debug("handed %d MB of free memory back to the kernel", free >> 20)
    return free


@functools.cache
def _libc() -> ctypes.CDLL | None:
    # Once: find_library runs ldconfig in a child process, a fork of the whole server.
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None
