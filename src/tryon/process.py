"""Process-wide settings for a process that runs try-ons: set once, by an entry point.

The command line and the service call ``configure_process`` at start-up; a program that
uses the Python API calls it itself when it wants the same settings (the engines never
change process-wide state behind the caller's back). See ``tryon.allocator`` (the C
allocator keeps freed memory) and ``tryon.threads`` (OpenBLAS and OpenCV on one thread).
"""

from __future__ import annotations

import os

from tryon.allocator import keep_freed_memory
from tryon.threads import limit_library_threads

NATIVE_LOG_LEVELS = {"GLOG_minloglevel": "2", "TF_CPP_MIN_LOG_LEVEL": "3"}
"""Environment defaults that keep glog's and TensorFlow's INFO / WARNING lines off stderr.

Read once, when MediaPipe is first imported (no ``tryon`` module imports it at import
time), so they must be set before the first model loads; a value already set is kept.
They do not reach the absl logging of MediaPipe 0.10's graphs, whose lines the command
line filters out of file descriptor 2 (``tryon.cli.common.quiet_native_logs``)."""


def configure_process() -> None:
    """Tunes the C allocator, limits the libraries' thread pools and sets the native log
    levels (``NATIVE_LOG_LEVELS``, unless set), once per process."""
    keep_freed_memory()
    limit_library_threads()
    for name, level in NATIVE_LOG_LEVELS.items():
        os.environ.setdefault(name, level)
