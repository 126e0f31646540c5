"""BLAS thread pools for try-on work.

numpy's and scipy's OpenBLAS start one thread per core and, after each call, keep
them spinning for a while in case another call follows. A try-on makes many small
BLAS calls (spline fits, products over pixels) from two threads of its own, so the
spinning threads mostly burn the cores the try-on needs: about 70 ms of CPU per
768x1024 try-on on two cores, with no gain in latency (``benchmarks/bench_warp.py``
prints the CPU time per try-on). On a busy server that CPU is other requests'.

``limit_blas_threads`` sets the OpenBLAS pools to one thread, once per process. Only
OpenBLAS is touched: torch's own thread pools (the diffusion engines) are left as
they are. ``TRYON_BLAS_THREADS=N`` chooses another count; ``0`` leaves the pools alone.
"""

from __future__ import annotations

import os
import threading

VARIABLE = "TRYON_BLAS_THREADS"

_lock = threading.Lock()
_done = False


def limit_blas_threads() -> int:
    """Limits the loaded OpenBLAS libraries' threads (default 1); returns the limit set,
    0 when the pools are left alone."""
    global _done
    with _lock:
        wanted = int(os.environ.get(VARIABLE, "1") or "1")
        if _done or wanted <= 0:
            return wanted if _done else 0
        # Imported here: numpy and scipy must be loaded first for their libraries to
        # be found, and importing this module should cost nothing.
        import numpy  # noqa: F401
        import scipy.linalg  # noqa: F401
        from threadpoolctl import ThreadpoolController

        ThreadpoolController().select(internal_api="openblas").limit(limits=wanted)
        _done = True
        return wanted
