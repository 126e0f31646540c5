"""A bounded thread pool for the blocking work of requests (decoding, analysis, try-on).

The event loop never runs engine code: requests hand their work to ``WorkPool.run``,
which admits at most ``threads + max_waiting`` pieces of work at once and refuses the
rest at once with 503 and Retry-After, so an overloaded server answers quickly instead of
queueing without bound. When the last piece of work ends (the pool falls idle) it calls
``on_idle``: the service hands free memory back to the kernel there.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from tryon.service.api_errors import busy_error
from tryon.service.metrics import Metrics

P = ParamSpec("P")
T = TypeVar("T")

log = logging.getLogger("tryon.service")


class WorkPool:
    """Runs blocking calls on ``threads`` threads, admitting a bounded number at once.

    Args:
        threads: calls running at once.
        max_waiting: calls allowed to wait for a thread; beyond, ``run`` raises 503.
        retry_after_s: the Retry-After of that 503.
        metrics: where in-flight work and the queue depth are reported.
        on_idle: called on the pool thread that finished the last admitted call (none
            left running or waiting); its errors are logged, never raised.
    """

    def __init__(
        self,
        threads: int,
        *,
        max_waiting: int,
        retry_after_s: int,
        metrics: Metrics,
        on_idle: Callable[[], object] | None = None,
    ) -> None:
        self.threads = threads
        self.capacity = threads + max_waiting
        self.retry_after_s = retry_after_s
        self.metrics = metrics
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="tryon-work")
        self._lock = threading.Lock()
        self._admitted = 0
        self._running = 0
        self._on_idle = on_idle

    @property
    def admitted(self) -> int:
        """Calls admitted and not finished (running or waiting)."""
        return self._admitted

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Runs ``fn(*args, **kwargs)`` on a pool thread and returns its result.

        Raises:
            APIError: 503 when ``threads + max_waiting`` calls are already admitted.
        """
        with self._lock:
            full = self._admitted >= self.capacity
            if not full:
                self._admitted += 1
                self._report()
        if full:
            self.metrics.rejected.labels("sync").inc()
            raise busy_error(f"{self.capacity} requests in progress", self.retry_after_s)
        # Released when the call ends, or is cancelled before it started: a client that
        # hangs up does not free a thread that is still busy with its work.
        future = self._executor.submit(functools.partial(self._counted, fn, *args, **kwargs))
        future.add_done_callback(self._release)
        return await asyncio.wrap_future(future)

    def _release(self, _: Future[Any]) -> None:
        with self._lock:
            self._admitted -= 1
            self._report()
            idle = self._admitted == 0
        if idle and self._on_idle is not None:
            try:
                self._on_idle()
            except Exception:  # housekeeping never fails a request
                log.exception("the work pool's idle call failed")

    def _counted(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        with self._lock:
            self._running += 1
            self._report()
        self.metrics.in_flight.inc()
        try:
            return fn(*args, **kwargs)
        finally:
            self.metrics.in_flight.dec()
            with self._lock:
                self._running -= 1
                self._report()

    def _report(self) -> None:
        """Publishes the number of calls waiting for a thread (the lock is held)."""
        self.metrics.queue_depth.labels("sync").set(self._admitted - self._running)

    def close(self) -> None:
        """Lets running calls finish; drops nothing that was admitted."""
        self._executor.shutdown(wait=True, cancel_futures=False)
