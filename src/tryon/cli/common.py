"""What every ``tryon`` command shares: exit codes, one-line errors, the filter that
keeps MediaPipe's C++ log lines off stderr, and the argparse blocks the commands repeat.

Exit codes: 0 success, 2 bad input or usage (one ``tryon: error: ...`` line on stderr),
1 unexpected error (one line; ``TRYON_DEBUG=1`` adds the traceback), 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeAlias

from tryon.errors import TryOnError

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

DEBUG_VARIABLE = "TRYON_DEBUG"

CATEGORIES = ("upper", "lower", "overall", "auto")
"""What a garment replaces, as the commands' ``--category`` options spell it."""

Commands: TypeAlias = "argparse._SubParsersAction[Any]"
"""The subcommands of ``tryon`` (or of a command such as ``tryon catalog``): where a
command adds its parser, which sets ``handler`` (parsed arguments -> exit code)."""

SHARED_OPTIONS: dict[str, dict[str, Any]] = {
    "--category": {"type": str.lower, "choices": CATEGORIES, "default": "auto"},
    "--weights": {"metavar": "DIR"},
    "--quiet": {"action": "store_true"},
}
"""The options several commands take, with what they have in common (their help differs)."""

# Lines MediaPipe's C++ code writes straight to file descriptor 2: absl INFO / WARNING
# lines ("W0000 00:00:1731930035.66 28339 inference_feedback_manager.cc:114] ..."),
# absl's note that logging is not initialised, and TensorFlow Lite's delegate banner.
# Errors (E..., F...) and anything else still reach the user.
NATIVE_NOISE = re.compile(
    rb"^(?:[IW]\d{4} [\d:.]+\s+\d+ [\w./-]+:\d+\] "
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    rb"|INFO: Created TensorFlow Lite XNNPACK delegate)"
)
NOISE_HOLD_LIMIT = 4096
"""A partial line longer than this is judged on what has come (native lines are short)."""


def command_parser(
    commands: Commands,
    name: str,
    *,
    summary: str,
    description: str,
    epilog: str | None = None,
) -> argparse.ArgumentParser:
    """Adds a command's parser, its description and epilog laid out as written.

    Args:
        commands: The subcommands of ``tryon`` (or of a command such as ``tryon dataset``).
        name: The command's name on the command line.
        summary: Its line in the parent's list of commands.
        description: The text above its options in ``--help``.
        epilog: The text below them (examples, exit codes), if any.

    Returns:
        The parser, for the command's own options.
    """
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=summary,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def add_shared_option(
    parser: argparse.ArgumentParser, option: str, help_text: str, **changes: Any
) -> None:
    """Adds one of ``SHARED_OPTIONS`` to ``parser``.

    Args:
        parser: The command's parser.
        option: ``--category``, ``--weights`` or ``--quiet``.
        help_text: What the option means for this command.
        **changes: Settings that differ from the shared ones (another ``default``, say).
    """
    parser.add_argument(option, **{**SHARED_OPTIONS[option], "help": help_text, **changes})


def check_writable_dir(directory: Path, option: str) -> None:
    """Raises TryOnError unless files can be created in ``directory`` (made if missing).

    Called before any model loads, so a bad output folder costs nothing. Whether a file
    can be created is tried, not guessed from permission bits: those say nothing for
    root, read-only mounts or folders such as ``/proc``. A hidden file is created in the
    deepest folder that exists and removed at once.

    Args:
        directory: The folder a command will write into (it and its parents may be missing).
        option: The option or argument that named it, for the error message.

    Raises:
        TryOnError: one line naming the option, the folder and what is wrong.
    """
    existing = directory.expanduser().absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise TryOnError(
            f"{option}: {str(existing)!r} is a file, not a folder; choose another place to write"
        )
    try:
        fd, probe = tempfile.mkstemp(prefix=".tryon-write-check-", dir=existing)
    except OSError as exc:
        raise TryOnError(
            f"{option}: files cannot be created in {str(existing)!r} ({exc.strerror or exc}); "
            "choose a folder you can write to"
        ) from None
    os.close(fd)
    os.unlink(probe)


def check_readable_file(path: str | Path, option: str) -> None:
    """Raises TryOnError unless ``path`` is a file this process can read.

    Tried by reading its first byte (permission bits say nothing for root, and some
    files fail only when read).

    Args:
        path: An input file named on the command line.
        option: The option or argument that named it, for the error message.

    Raises:
        TryOnError: one line naming the option, the file and what to do.
    """
    named = f"{option} {str(path)!r}"
    try:
        with open(Path(path).expanduser(), "rb") as stream:
            stream.read(1)
    except FileNotFoundError:
        raise TryOnError(f"{named}: no such file; check the path") from None
    except IsADirectoryError:
        raise TryOnError(f"{named} is a folder; give the path of a photo") from None
    except PermissionError:
        raise TryOnError(
            f"{named}: permission denied; make the file readable (chmod u+r) or use a copy"
        ) from None
    except OSError as exc:
        raise TryOnError(
            f"{named} cannot be read ({exc.strerror or exc}); copy it to a regular file first"
        ) from None


@contextmanager
def quiet_native_logs() -> Iterator[None]:
    """Drops MediaPipe's C++ INFO / WARNING lines from stderr while the block runs.

    They are written to file descriptor 2 directly, from MediaPipe's own threads, so
    Python's logging cannot stop them, and the environment variables glog and TensorFlow
    read do not reach the absl logging that writes them. For the block, descriptor 2 is
    a pipe; a thread copies what arrives to the real stderr, leaving out lines that match
    ``NATIVE_NOISE``, so everything else (Python warnings, C++ errors, progress lines)
    still shows, in order. Lines written after the block reach the real stderr: close
    the models' owners (which waits for their threads) inside it. Does nothing when
    ``TRYON_DEBUG`` is set or descriptor 2 is closed.
    """
    if debugging():
        yield
        return
    try:
        real_stderr = os.dup(2)
    except OSError:
        yield
        return
    read_end, write_end = os.pipe()
    sys.stderr.flush()
    os.dup2(write_end, 2)
    os.close(write_end)
    copier = threading.Thread(target=copy_lines, args=(read_end, real_stderr), daemon=True)
    copier.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(real_stderr, 2)  # closes the pipe's last write end: the copier sees EOF
        copier.join(timeout=5)
        if not copier.is_alive():  # else a child process holds the pipe: leave it be
            os.close(real_stderr)


def copy_lines(source: int, target: int) -> None:
    """Copies ``source`` to ``target`` until EOF, except native log noise.

    Text is held back only while it may still become a noise line (a line begun with
    ``I`` or ``W`` and not yet ended); anything else, a progress line redrawn with
    ``\\r`` say, passes on as soon as it arrives. A write that begins with ``I`` or
    ``W`` after such a partial line is judged as a line of its own.
    """
    held = b""
    passing = False  # the current line is not noise: pass on the rest of it as it comes
    with os.fdopen(source, "rb", buffering=0) as pipe:
        while chunk := pipe.read(65536):
            # Native code writes each log line whole: one that arrives after a partial
            # line (a progress line, say) starts a line of its own.
            passing = passing and not chunk.startswith((b"I", b"W"))
            held += chunk
            while held:
                end = held.find(b"\n") + 1
                line = held[:end] if end else held
                if passing or not may_be_noise(line, complete=bool(end)):
                    write_all(target, line)
                    passing = not end
                elif not end:
                    break  # wait for the rest of the line
                held = held[len(line) :]
    if held and not NATIVE_NOISE.match(held):
        write_all(target, held)


def may_be_noise(line: bytes, *, complete: bool) -> bool:
    """Whether ``line`` is native log noise (``complete``) or may still become it."""
    if complete or len(line) >= NOISE_HOLD_LIMIT:
        return NATIVE_NOISE.match(line) is not None
    return line.startswith((b"I", b"W"))


def write_all(fd: int, data: bytes) -> None:
    """Writes all of ``data`` to the file descriptor ``fd``."""
    while data:
        data = data[os.write(fd, data) :]


def one_line(text: str) -> str:
    """``text`` with its whitespace runs (newlines too) collapsed to single spaces."""
    return " ".join(text.split()) or "(no message)"


def debugging() -> bool:
    """Whether ``TRYON_DEBUG`` asks for tracebacks and unfiltered native logs."""
    return os.environ.get(DEBUG_VARIABLE, "") not in ("", "0")


def parse_height_width(text: str) -> tuple[int, int]:
    """``HxW`` (e.g. ``512x384``) as (height, width)."""
    try:
        height, width = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not HxW (e.g. 512x384)") from None
    return height, width
