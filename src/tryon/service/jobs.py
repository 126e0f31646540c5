"""Jobs: try-ons that run in the background, with progress, cancellation and expiry.

``JobStore`` is the interface the rest of the service uses (state, events, results);
``InMemoryJobStore`` keeps everything in this process's memory (shoppers' photos never
touch the disk). A store shared by several processes (Redis) implements the same
methods. ``JobQueue`` owns the worker threads that take queued jobs from a store and
run them.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from tryon.errors import TryOnError
from tryon.service.errors import APIError
from tryon.service.metrics import Metrics
from tryon.service.pool import busy_error

log = logging.getLogger("tryon.service.jobs")

JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]
TERMINAL: frozenset[str] = frozenset({"done", "failed", "cancelled"})


@dataclass(frozen=True)
class JobSpec:
    """What a job is asked to do: plain data, so a shared store can serialise it.

    Attributes:
        engine: the engine's name.
        person: the person photo's bytes (kept in memory only, dropped once the job runs).
        garment: the garment photo's bytes, or None when ``garment_id`` is given.
        garment_id: a catalogued garment, or None.
        category: "auto" or a category name.
        output: the output format's name ("webp", ...).
    """

    engine: str
    person: bytes
    garment: bytes | None
    garment_id: str | None
    category: str
    output: str


@dataclass(frozen=True)
class JobResult:
    """A finished job's image.

    Attributes:
        data: the encoded image.
        media_type: its Content-Type.
        headers: the ``X-Tryon-*`` headers the synchronous answer would carry.
    """

    data: bytes
    media_type: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class JobEvent:
    """One event of a job's life, in order.

    Attributes:
        seq: 0, 1, 2, ... per job.
        name: "queued", "started", "progress", "done", "error" or "cancelled".
        data: the event's fields ("position"; "step", "total"; "type", "message").
    """

    seq: int
    name: str
    data: dict[str, Any]


@dataclass(frozen=True)
class JobState:
    """A snapshot of a job.

    Attributes:
        id: the job's id.
        engine: the engine running it.
        status: queued, running, done, failed or cancelled.
        position: 1 for the next job to start, 2 for the one after...; None unless queued.
        step: progress, steps done.
        total: progress, steps in all (0 until the job starts).
        error: (type, message) when failed.
        created: when it was submitted (seconds since the epoch).
        finished: when it ended (seconds since the epoch), or None.
    """

    id: str
    engine: str
    status: JobStatus
    position: int | None
    step: int
    total: int
    error: tuple[str, str] | None
    created: float
    finished: float | None


class JobStore(Protocol):
    """Where jobs, their events and results live."""

    def create(self, spec: JobSpec) -> JobState:
        """Queues a new job; its first event is ``queued``."""
        ...

    def get(self, job_id: str) -> JobState | None:
        """The job's state, or None when unknown or expired."""
        ...

    def take(self, timeout: float) -> tuple[str, JobSpec] | None:
        """Moves the oldest queued job to running and hands it out (None after timeout).

        The store forgets the spec (the photos) at that moment.
        """
        ...

    def progress(self, job_id: str, step: int, total: int) -> bool:
        """Records progress; False when the job was cancelled (the worker should stop)."""
        ...

    def finish(self, job_id: str, result: JobResult) -> None:
        """Marks a running job done with its result (ignored if it was cancelled)."""
        ...

    def fail(self, job_id: str, type: str, message: str) -> None:
        """Marks a running job failed (ignored if it was cancelled)."""
        ...

    def cancel(self, job_id: str) -> JobState | None:
        """Cancels a queued or running job; returns the new state (None: unknown)."""
        ...

    def delete(self, job_id: str) -> bool:
        """Forgets a job and its result; False when unknown."""
        ...

    def result(self, job_id: str) -> JobResult | None:
        """A done job's result, or None."""
        ...

    def events(self, job_id: str, since: int) -> list[JobEvent] | None:
        """Events with ``seq >= since``; None when the job is unknown or expired."""
        ...

    def counts(self) -> dict[str, int]:
        """How many jobs are queued and running."""
        ...

    def purge(self, now: float) -> int:
        """Forgets jobs that ended more than the time-to-live ago; returns how many."""
        ...

    def close(self) -> None:
        """Wakes threads blocked in ``take`` so they can stop."""
        ...


@dataclass
class _Job:
    state: JobState
    spec: JobSpec | None
    events: list[JobEvent] = field(default_factory=list)
    result: JobResult | None = None

    def emit(self, name: str, **data: Any) -> None:
        self.events.append(JobEvent(len(self.events), name, data))


class InMemoryJobStore:
    """A ``JobStore`` in this process's memory.

    Args:
        ttl_s: seconds a finished job is kept (``purge`` forgets it after that).
    """

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._jobs: dict[str, _Job] = {}
        self._queue: deque[str] = deque()
        self._changed = threading.Condition()
        self._closed = False

    def create(self, spec: JobSpec) -> JobState:
        with self._changed:
            job_id = uuid.uuid4().hex
            state = JobState(
                id=job_id,
                engine=spec.engine,
                status="queued",
                position=len(self._queue) + 1,
                step=0,
                total=0,
                error=None,
                created=time.time(),
                finished=None,
            )
            job = _Job(state, spec)
            job.emit("queued", position=state.position)
            self._jobs[job_id] = job
            self._queue.append(job_id)
            self._changed.notify_all()
            return state

    def get(self, job_id: str) -> JobState | None:
        with self._changed:
            job = self._jobs.get(job_id)
            return job.state if job else None

    def take(self, timeout: float) -> tuple[str, JobSpec] | None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not self._queue:
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    return None
                self._changed.wait(left)
            job_id = self._queue.popleft()
            job = self._jobs[job_id]
            spec, job.spec = job.spec, None
            assert spec is not None, "a queued job always has its spec"
            job.state = replace(job.state, status="running", position=None)
            job.emit("started")
            self._announce_positions()
            self._changed.notify_all()
            return job_id, spec

    def progress(self, job_id: str, step: int, total: int) -> bool:
        with self._changed:
            job = self._jobs.get(job_id)
            if job is None or job.state.status != "running":
                return False
            job.state = replace(job.state, step=step, total=total)
            job.emit("progress", step=step, total=total)
            self._changed.notify_all()
            return True

    def finish(self, job_id: str, result: JobResult) -> None:
        with self._changed:
            job = self._jobs.get(job_id)
            if job is None or job.state.status != "running":
                return
            job.result = result
            job.state = replace(job.state, status="done", finished=time.time())
            job.emit("done")
            self._changed.notify_all()

    def fail(self, job_id: str, type: str, message: str) -> None:
        with self._changed:
            job = self._jobs.get(job_id)
            if job is None or job.state.status != "running":
                return
            job.state = replace(
                job.state, status="failed", error=(type, message), finished=time.time()
            )
            job.emit("error", type=type, message=message)
            self._changed.notify_all()

    def cancel(self, job_id: str) -> JobState | None:
        with self._changed:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            if job.state.status in ("queued", "running"):
                if job.state.status == "queued":
                    self._queue.remove(job_id)
                    job.spec = None
                job.state = replace(
                    job.state, status="cancelled", position=None, finished=time.time()
                )
                job.emit("cancelled")
                self._announce_positions()
                self._changed.notify_all()
            return job.state

    def delete(self, job_id: str) -> bool:
        with self._changed:
            job = self._jobs.pop(job_id, None)
            if job is not None and job_id in self._queue:
                self._queue.remove(job_id)
                self._announce_positions()
            self._changed.notify_all()
            return job is not None

    def result(self, job_id: str) -> JobResult | None:
        with self._changed:
            job = self._jobs.get(job_id)
            return job.result if job else None

    def events(self, job_id: str, since: int) -> list[JobEvent] | None:
        with self._changed:
            job = self._jobs.get(job_id)
            return job.events[since:] if job else None

    def counts(self) -> dict[str, int]:
        with self._changed:
            running = sum(1 for j in self._jobs.values() if j.state.status == "running")
            return {"queued": len(self._queue), "running": running}

    def purge(self, now: float) -> int:
        with self._changed:
            expired = [
                job_id
                for job_id, job in self._jobs.items()
                if job.state.finished is not None and now - job.state.finished > self.ttl_s
            ]
            for job_id in expired:
                del self._jobs[job_id]
            if expired:
                self._changed.notify_all()
            return len(expired)

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def _announce_positions(self) -> None:
        for rank, job_id in enumerate(self._queue, start=1):
            job = self._jobs[job_id]
            if job.state.position != rank:
                job.state = replace(job.state, position=rank)
                job.emit("queued", position=rank)


class JobCancelledError(Exception):
    """Raised inside a job's work when the job was cancelled: the work stops there."""


Progress = Callable[[int, int], None]
"""Reports (step, total); raises JobCancelledError once the job is cancelled."""
Execute = Callable[[JobSpec, Progress], JobResult]


class JobQueue:
    """Worker threads running the jobs of a store.

    Args:
        store: where the jobs live.
        execute: runs one job (blocking) and returns its result; bad input is a
            ``TryOnError`` or ``APIError``, recorded as the job's error.
        workers: jobs running at once.
        max_jobs: jobs queued or running at once; ``submit`` answers 503 beyond.
        retry_after_s: the Retry-After of that 503.
        metrics: where queue depth and in-flight work are reported.
    """

    def __init__(
        self,
        store: JobStore,
        execute: Execute,
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
        self._threads = [
            threading.Thread(target=self._work, name=f"tryon-job-{i}", daemon=True)
            for i in range(workers)
        ]
        self._threads.append(
            threading.Thread(
                target=self._purge, args=(purge_every_s,), name="tryon-job-reaper", daemon=True
            )
        )
        for thread in self._threads:
            thread.start()

    def submit(self, spec: JobSpec) -> JobState:
        """Queues a job.

        Raises:
            APIError: 503 + Retry-After when ``max_jobs`` are queued or running.
        """
        with self._submit_lock:
            counts = self.store.counts()
            if counts["queued"] + counts["running"] >= self.max_jobs:
                self.metrics.rejected.labels("jobs").inc()
                raise busy_error(f"{self.max_jobs} jobs queued or running", self.retry_after_s)
            state = self.store.create(spec)
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
            taken = self.store.take(timeout=0.5)
            if taken is None:
                continue
            job_id, spec = taken
            self._report()
            self.metrics.in_flight.inc()
            try:
                self._run(job_id, spec)
            finally:
                self.metrics.in_flight.dec()
                self._report()

    def _run(self, job_id: str, spec: JobSpec) -> None:
        def progress(step: int, total: int) -> None:
            if not self.store.progress(job_id, step, total):
                raise JobCancelledError(job_id)

        try:
            result = self.execute(spec, progress)
        except JobCancelledError:
            return
        except TryOnError as exc:
            self.store.fail(job_id, type(exc).__name__, str(exc))
        except APIError as exc:
            self.store.fail(job_id, exc.type, exc.message)
        except Exception:
            log.exception("job %s failed unexpectedly", job_id)
            self.store.fail(
                job_id,
                "InternalError",
                "the job failed unexpectedly; this is a bug, and the server log has the details",
            )
        else:
            self.store.finish(job_id, result)

    def _purge(self, every_s: float) -> None:
        while not self._stop.wait(every_s):
            self.store.purge(time.time())

    def _report(self) -> None:
        self.metrics.queue_depth.labels("jobs").set(self.store.counts()["queued"])
