"""``JobQueue``: the worker threads that take queued jobs from a store and run them,
with their leases' heartbeat and the reaper of expired jobs and lost leases."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable

from tryon.errors import TryOnError
from tryon.service.api_errors import APIError, StoreUnavailableError, busy_error
from tryon.service.jobs.model import (
    Claim,
    JobCancelledError,
    JobResult,
    JobSpec,
    JobState,
    Progress,
    WorkerLostError,
)
from tryon.service.jobs.store import JobStore
from tryon.service.metrics import Metrics

log = logging.getLogger("tryon.service.jobs")

RETRY_PAUSE_S = 1.0
"""How long a job whose worker died waits before it is queued again."""

Execute = Callable[[JobSpec, Progress], JobResult]


class JobQueue:
    """Worker threads running the jobs of a store, with their leases' heartbeat.

    Args:
        store: where the jobs live.
        execute: runs one job (blocking) and returns its result; bad input is a
            ``TryOnError`` or ``APIError``, recorded as the job's error; a
            ``WorkerLostError`` gives the job back for another attempt.
        workers: jobs running at once.
        max_jobs: jobs queued or running at once; ``submit`` answers 503 beyond.
        retry_after_s: the Retry-After of that 503.
        metrics: where queue depth and in-flight work are reported.
        purge_every_s: how often finished jobs past their time-to-live are forgotten and
            jobs whose lease ran out are taken back.
    """

    def __init__(
        self,
        store: JobStore,
        execute: Execute,
        *,
        workers: int,
        max_jobs: int,
        retry_after_s: int,
        metrics: Metrics,
        purge_every_s: float = 30.0,
    ) -> None:
        self.store = store
        self.execute = execute
        self.max_jobs = max_jobs
        self.retry_after_s = retry_after_s
        self.metrics = metrics
        self._stop = threading.Event()
        self._submit_lock = threading.Lock()
        self._held: dict[str, Claim] = {}
        self._held_lock = threading.Lock()
        lease_s = store.settings.lease_s
        self._threads = [
            threading.Thread(target=self._work, name=f"tryon-job-{i}", daemon=True)
            for i in range(workers)
        ]
        self._threads += [
            threading.Thread(
                target=self._maintain,
                args=(min(purge_every_s, lease_s / 2),),
                name="tryon-job-reaper",
                daemon=True,
            ),
            threading.Thread(
                target=self._heartbeat, args=(lease_s / 3,), name="tryon-job-heartbeat", daemon=True
            ),
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, spec: JobSpec, key: str | None = None) -> JobState:
        """Queues a job; with a ``key`` already used, returns that job.

        Raises:
            APIError: 503 + Retry-After when ``max_jobs`` are queued or running; 409 when
                ``key`` was used for a different request.
        """
        with self._submit_lock:
            if key is not None and self.store.find_key(key) is not None:
                return self.store.create(spec, key)
            counts = self.store.counts()
            if counts["queued"] + counts["running"] >= self.max_jobs:
                self.metrics.rejected.labels("jobs").inc()
                raise busy_error(f"{self.max_jobs} jobs queued or running", self.retry_after_s)
            state = self.store.create(spec, key)
        self._report()
        return state

    def close(self, timeout: float = 10.0) -> None:
        """Stops the workers after their current job."""
        self._stop.set()
        self.store.close()
        for thread in self._threads:
            thread.join(timeout)

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                claim = self.store.take(timeout=0.5)
            except StoreUnavailableError as exc:
                log.warning("job worker: %s", exc.message)
                self._stop.wait(1.0)
                continue
            if claim is None:
                continue
            with self._held_lock:
                self._held[claim.job_id] = claim
            self._report()
            self.metrics.in_flight.inc()
            try:
                self._run(claim)
            finally:
                with self._held_lock:
                    self._held.pop(claim.job_id, None)
                self.metrics.in_flight.dec()
                self._report()

    def _run(self, claim: Claim) -> None:
        def progress(step: int, total: int) -> None:
            try:
                current = self.store.progress(claim, step, total)
            except StoreUnavailableError as exc:
                # The work goes on; the result is written once the store is back.
                log.warning("job %s: progress not recorded: %s", claim.job_id, exc.message)
                return
            if not current:
                raise JobCancelledError(claim.job_id)

        try:
            try:
                result = self.execute(claim.spec, progress)
            except JobCancelledError:
                return
            except WorkerLostError as exc:
                log.warning("job %s attempt %d: %s", claim.job_id, claim.attempt, exc)
                # A pause (the lease is still renewed) lets the cluster notice the dead
                # replica, so the next attempt is not routed to it again.
                self._stop.wait(RETRY_PAUSE_S)
                self.store.retry(claim, str(exc))
            except TryOnError as exc:
                self.store.fail(claim, type(exc).__name__, str(exc))
            except APIError as exc:
                self.store.fail(claim, exc.type, exc.message)
            except Exception:
                log.exception("job %s failed unexpectedly", claim.job_id)
                self.store.fail(
                    claim,
                    "InternalError",
                    "the job failed unexpectedly; this is a bug, and the server log has the "
                    "details",
                )
            else:
                self._finish(claim, result)
        except StoreUnavailableError as exc:
            # Its lease runs out and the job is run again: not lost, not stuck.
            log.warning("job %s: outcome not recorded: %s", claim.job_id, exc.message)

    def _finish(self, claim: Claim, result: JobResult) -> None:
        deadline = time.monotonic() + self.store.settings.lease_s
        while True:
            try:
                self.store.finish(claim, result)
                return
            except StoreUnavailableError:
                if time.monotonic() > deadline or self._stop.is_set():
                    raise
                self._stop.wait(0.5)

    def _maintain(self, every_s: float) -> None:
        while not self._stop.wait(every_s):
            try:
                self.store.reclaim()
                self.store.purge(time.time())
            except StoreUnavailableError as exc:
                log.warning("job reaper: %s", exc.message)
            self._report()

    def _heartbeat(self, every_s: float) -> None:
        while not self._stop.wait(every_s):
            with self._held_lock:
                claims = list(self._held.values())
            for claim in claims:
                try:
                    self.store.renew(claim)
                except StoreUnavailableError as exc:
                    log.warning("job %s: lease not renewed: %s", claim.job_id, exc.message)

    def _report(self) -> None:
        with contextlib.suppress(StoreUnavailableError):
            self.metrics.queue_depth.labels("jobs").set(self.store.counts()["queued"])
