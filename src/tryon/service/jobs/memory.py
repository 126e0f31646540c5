"""``InMemoryJobStore``: a ``JobStore`` in this process's memory.

The default store: shoppers' photos never touch the disk, and jobs end with the process.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

from tryon.service.api_errors import IdempotencyConflictError
from tryon.service.jobs.model import Claim, JobEvent, JobResult, JobSpec, JobState
from tryon.service.jobs.store import (
    WORKER_LOST,
    StoreSettings,
    lease_lost_reason,
    worker_lost_message,
)


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
                kind=spec.kind,
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
