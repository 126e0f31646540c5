"""Jobs: try-ons that run in the background, with progress, cancellation and expiry.

``JobStore`` is the interface the rest of the service uses (state, events, results);
``InMemoryJobStore`` keeps everything in this process's memory (shoppers' photos never
touch the disk). Stores shared by several processes implement the same methods:
``tryon.service.sqlite_store`` (one machine) and ``tryon.service.redis_store`` (a
cluster). ``JobQueue`` owns the worker threads that take queued jobs from a store and
run them.

A job is never lost and never stuck: ``take`` hands a job out under a lease (an
``attempt`` number and a deadline) that the worker renews while it runs; a job whose
lease runs out (its worker or machine died) is queued again at the front, up to
``max_attempts`` times, then failed with a ``WorkerLostError`` that says why. Every
write a worker makes carries its attempt, so a worker that lost its lease cannot
overwrite the job's newer attempt. A client key (``Idempotency-Key``) makes submission
idempotent: the same key returns the same job.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from tryon.errors import TryOnError
from tryon.service.api_errors import APIError
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

    def digest(self) -> str:
        """A hash of every field: two submissions with one key must ask for the same."""
        h = hashlib.sha256()
        for part in (self.engine, self.garment_id or "", self.category, self.output):
            h.update(part.encode() + b"\0")
        h.update(hashlib.sha256(self.person).digest())
        h.update(hashlib.sha256(self.garment).digest() if self.garment is not None else b"-")
        return h.hexdigest()


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
        attempt: how many times it was handed to a worker (0 while first queued).
        key: the client's idempotency key, or None.
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
    attempt: int = 0
    key: str | None = None


@dataclass(frozen=True)
class Claim:
    """A job handed to a worker by ``take``.

    Attributes:
        job_id: the job.
        spec: what to do.
        attempt: 1 for the first run, 2 for the first retry...; every write of the
            worker names it, and a write of an attempt that is no longer current is
            ignored.
    """

    job_id: str
    spec: JobSpec
    attempt: int


@dataclass(frozen=True)
class StoreSettings:
    """What every job store shares.

    Attributes:
        ttl_s: seconds a finished job (its result included) is kept.
        lease_s: seconds a worker may go silent (no progress, no renewal) before its
            job is taken back and queued again.
        max_attempts: runs a job gets; after that many lost workers it fails.
    """

    ttl_s: float = 600.0
    lease_s: float = 30.0
    max_attempts: int = 2

    def __post_init__(self) -> None:
        if self.ttl_s <= 0 or self.lease_s <= 0:
            raise ValueError("ttl_s and lease_s must be positive")
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")


WORKER_LOST = "WorkerLostError"


def worker_lost_message(reason: str, attempts: int) -> str:
    """The error of a job that lost its worker ``attempts`` times."""
    runs = "once" if attempts == 1 else f"{attempts} times"
    return f"{reason}; the job was run {runs} and given up: submit it again"


class IdempotencyConflictError(APIError):
    """A key already used for a different request (409)."""

    def __init__(self, key: str) -> None:
        super().__init__(
            409,
            "IdempotencyKeyReusedError",
            f"Idempotency-Key {key[:64]!r} was already used for a different request; "
            "use a new key for a new request",
        )


class StoreUnavailableError(APIError):
    """The shared job store cannot be reached (503: the client should retry)."""

    def __init__(self, detail: str, retry_after_s: int = 2) -> None:
        super().__init__(
            503,
            "JobStoreUnavailableError",
            f"the job store cannot be reached ({detail}); retry in {retry_after_s} s",
            headers={"Retry-After": str(retry_after_s)},
        )


class JobStore(Protocol):
    """Where jobs, their events and results live.

    Methods may raise ``StoreUnavailableError`` when a shared store cannot be reached.
    """

    settings: StoreSettings

    def create(self, spec: JobSpec, key: str | None = None) -> JobState:
        """Queues a new job; its first event is ``queued``.

        With a ``key`` already used, returns that job instead (while it is kept).

        Raises:
            IdempotencyConflictError: the key was used for a different spec.
        """
        ...

    def find_key(self, key: str) -> JobState | None:
        """The job created with this idempotency key, or None."""
        ...

    def get(self, job_id: str) -> JobState | None:
        """The job's state, or None when unknown or expired."""
        ...

    def take(self, timeout: float) -> Claim | None:
        """Moves the oldest queued job to running under a new lease and hands it out
        (None after timeout). The spec is kept until the job ends, for a retry."""
        ...

    def renew(self, claim: Claim) -> bool:
        """Extends the claim's lease; False when the job is no longer this attempt's
        (cancelled, deleted, or taken back): the worker should stop."""
        ...

    def progress(self, claim: Claim, step: int, total: int) -> bool:
        """Records progress and renews the lease; False as ``renew``."""
        ...

    def finish(self, claim: Claim, result: JobResult) -> None:
        """Marks a running job done with its result (ignored unless the claim is current)."""
        ...

    def fail(self, claim: Claim, type: str, message: str) -> None:
        """Marks a running job failed (ignored unless the claim is current)."""
        ...

    def retry(self, claim: Claim, reason: str) -> JobState | None:
        """Gives a job back because its worker could not finish it (a replica died):
        queued again at the front, or failed with ``WorkerLostError`` once it had
        ``max_attempts`` runs. Ignored (None) unless the claim is current."""
        ...

    def reclaim(self) -> int:
        """Does ``retry`` for every running job whose lease ran out; returns how many."""
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
        """Wakes threads blocked in ``take`` so they can stop; releases connections."""
        ...


def check_key(key: str | None) -> str | None:
    """An idempotency key as clients may send it: 1-128 visible ASCII characters.

    Raises:
        APIError: 400 otherwise.
    """
    if key is None:
        return None
    if not 1 <= len(key) <= 128 or not all(33 <= ord(c) <= 126 for c in key):
        raise APIError(
            400,
            "ValidationError",
            "Idempotency-Key must be 1 to 128 visible ASCII characters (a UUID is a good key)",
        )
    return key


@dataclass
class _Job:
    state: JobState
    spec: JobSpec | None
    digest: str
    events: list[JobEvent] = field(default_factory=list)
    result: JobResult | None = None
    lease_until: float = 0.0

    def emit(self, name: str, **data: Any) -> None:
        self.events.append(JobEvent(len(self.events), name, data))


class InMemoryJobStore:
    """A ``JobStore`` in this process's memory.

    Args:
        ttl_s: seconds a finished job is kept (``purge`` forgets it after that).
        settings: leases and attempts (its ``ttl_s`` is replaced by the argument).
    """

    def __init__(self, ttl_s: float, settings: StoreSettings | None = None) -> None:
        self.settings = replace(settings or StoreSettings(), ttl_s=ttl_s)
        self.ttl_s = ttl_s
        self._jobs: dict[str, _Job] = {}
        self._keys: dict[str, str] = {}
        self._queue: deque[str] = deque()
        self._changed = threading.Condition()
        self._closed = False

    def create(self, spec: JobSpec, key: str | None = None) -> JobState:
        digest = spec.digest()
        with self._changed:
            if key is not None and key in self._keys:
                job = self._jobs[self._keys[key]]
                if job.digest != digest:
                    raise IdempotencyConflictError(key)
                return job.state
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
                key=key,
            )
            job = _Job(state, spec, digest)
            job.emit("queued", position=state.position)
            self._jobs[job_id] = job
            if key is not None:
                self._keys[key] = job_id
            self._queue.append(job_id)
            self._changed.notify_all()
            return state

    def find_key(self, key: str) -> JobState | None:
        with self._changed:
            job_id = self._keys.get(key)
            return self._jobs[job_id].state if job_id is not None else None

    def get(self, job_id: str) -> JobState | None:
        with self._changed:
            job = self._jobs.get(job_id)
            return job.state if job else None

    def take(self, timeout: float) -> Claim | None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not self._queue:
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    return None
                self._changed.wait(left)
            job_id = self._queue.popleft()
            job = self._jobs[job_id]
            assert job.spec is not None, "a queued job always has its spec"
            attempt = job.state.attempt + 1
            job.state = replace(job.state, status="running", position=None, attempt=attempt)
            job.lease_until = time.monotonic() + self.settings.lease_s
            job.emit("started", attempt=attempt)
            self._announce_positions()
            self._changed.notify_all()
            return Claim(job_id, job.spec, attempt)

    def renew(self, claim: Claim) -> bool:
        with self._changed:
            job = self._current(claim)
            if job is None:
                return False
            job.lease_until = time.monotonic() + self.settings.lease_s
            return True

    def progress(self, claim: Claim, step: int, total: int) -> bool:
        with self._changed:
            job = self._current(claim)
            if job is None:
                return False
            job.lease_until = time.monotonic() + self.settings.lease_s
            job.state = replace(job.state, step=step, total=total)
            job.emit("progress", step=step, total=total)
            self._changed.notify_all()
            return True

    def finish(self, claim: Claim, result: JobResult) -> None:
        with self._changed:
            job = self._current(claim)
            if job is None:
                return
            job.result, job.spec = result, None
            job.state = replace(job.state, status="done", finished=time.time())
            job.emit("done")
            self._changed.notify_all()

    def fail(self, claim: Claim, type: str, message: str) -> None:
        with self._changed:
            job = self._current(claim)
            if job is None:
                return
            self._fail(job, type, message)

    def retry(self, claim: Claim, reason: str) -> JobState | None:
        with self._changed:
            job = self._current(claim)
            if job is None:
                return None
            self._release(job, reason)
            return job.state

    def reclaim(self) -> int:
        now = time.monotonic()
        with self._changed:
            lost = [
                job
                for job in self._jobs.values()
                if job.state.status == "running" and job.lease_until < now
            ]
            for job in lost:
                self._release(job, lease_lost_reason(self.settings.lease_s))
            return len(lost)

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
            if job is not None and job.state.key is not None:
                self._keys.pop(job.state.key, None)
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
                key = self._jobs.pop(job_id).state.key
                if key is not None:
                    self._keys.pop(key, None)
            if expired:
                self._changed.notify_all()
            return len(expired)

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def _current(self, claim: Claim) -> _Job | None:
        job = self._jobs.get(claim.job_id)
        if job is None or job.state.status != "running" or job.state.attempt != claim.attempt:
            return None
        return job

    def _fail(self, job: _Job, type: str, message: str) -> None:
        job.spec = None
        job.state = replace(job.state, status="failed", error=(type, message), finished=time.time())
        job.emit("error", type=type, message=message)
        self._changed.notify_all()

    def _release(self, job: _Job, reason: str) -> None:
        attempt = job.state.attempt
        if attempt >= self.settings.max_attempts or job.spec is None:
            self._fail(job, WORKER_LOST, worker_lost_message(reason, attempt))
            return
        self._queue.appendleft(job.state.id)
        job.state = replace(job.state, status="queued", position=1, step=0, total=0)
        job.emit("queued", position=1, retry=attempt + 1, reason=reason)
        self._announce_positions()
        self._changed.notify_all()

    def _announce_positions(self) -> None:
        for rank, job_id in enumerate(self._queue, start=1):
            job = self._jobs[job_id]
            if job.state.position != rank:
                job.state = replace(job.state, position=rank)
                job.emit("queued", position=rank)


def lease_lost_reason(lease_s: float) -> str:
    """Why a job whose lease ran out was taken back."""
    return f"the worker running the job stopped answering (no heartbeat for {lease_s:g} s)"


class JobCancelledError(Exception):
    """Raised inside a job's work when the job was cancelled: the work stops there."""


class WorkerLostError(Exception):
    """Raised by a job's work when the worker it ran on died (a Ray replica killed, a
    machine gone): the job is queued again, or failed with the reason once it has had
    its attempts."""


RETRY_PAUSE_S = 1.0
"""How long a job whose worker died waits before it is queued again."""

Progress = Callable[[int, int], None]
"""Reports (step, total); raises JobCancelledError once the job is cancelled."""
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
