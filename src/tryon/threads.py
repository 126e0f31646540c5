"""The thread pools of the libraries a try-on calls: OpenBLAS and OpenCV.

A warp try-on runs on two threads of its own (the warp beside the person side), and a
server runs several try-ons at once. The libraries' own pools then add CPU time
without saving latency:

* numpy's and scipy's OpenBLAS start one thread per core and, after each call, keep
  them spinning for a while in case another call follows. A try-on makes many small
  BLAS calls, so the spinning threads mostly burnt the cores the try-on needs: about
  70 ms of CPU per 768x1024 try-on on two cores.
* OpenCV splits each resize, remap and blur over a pool of one thread per core. The
  try-on's own two threads already keep the cores busy: the split cost about 10% more
  CPU per try-on for the same latency (``benchmarks/bench_warp.py`` prints the CPU
  time per try-on). On a busy server that CPU is other requests'.

``limit_library_threads`` sets both to one thread, once per process. torch's own
thread pools (the diffusion engines) are not touched. ``TRYON_BLAS_THREADS=N`` and
``TRYON_OPENCV_THREADS=N`` choose other counts; ``0`` leaves that pool alone.
"""

from __future__ import annotations

import os
import threading

BLAS_VARIABLE = "TRYON_BLAS_THREADS"
OPENCV_VARIABLE = "TRYON_OPENCV_THREADS"

_lock = threading.Lock()
_done = False


def limit_library_threads() -> tuple[int, int]:
    """Limits OpenBLAS's and OpenCV's threads (default 1 each); returns the limits set,
    0 for a pool left alone."""
    global _done
    with _lock:
        blas = _wanted(BLAS_VARIABLE)
        opencv = _wanted(OPENCV_VARIABLE)
        if _done:
            return blas, opencv
        if blas > 0:
            # Imported here: numpy and scipy must be loaded first for their libraries
            # to be found, and importing this module should cost nothing.
            import numpy  # noqa: F401
            import scipy.linalg  # noqa: F401
            from threadpoolctl import ThreadpoolController

            ThreadpoolController().select(internal_api="openblas").limit(limits=blas)
        if opencv > 0:
            import cv2

            cv2.setNumThreads(opencv)
        _done = True
        return blas, opencv


def _wanted(variable: str) -> int:
    return max(0, int(os.environ.get(variable, "1") or "1"))
