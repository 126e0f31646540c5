"""Process-wide settings for a process that runs try-ons: set once, by an entry point.

The command line and the service call ``configure_process`` at start-up; a program that
uses the Python API calls it itself when it wants the same settings (the engines never
change process-wide state behind the caller's back). See ``tryon.allocator`` (the C
allocator keeps freed memory) and ``tryon.threads`` (OpenBLAS and OpenCV on one thread).
"""

from __future__ import annotations

from tryon.allocator import keep_freed_memory
from tryon.threads import limit_library_threads


def configure_process() -> None:
    """Tunes the C allocator and limits the libraries' thread pools, once per process."""
    keep_freed_memory()
    limit_library_threads()
