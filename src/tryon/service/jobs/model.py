"""What a job is: its spec, its state, its events and result, and what its work raises.

Plain data, so every store can keep it (in memory, in SQLite, in Redis); nothing here
knows about HTTP.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

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


Progress = Callable[[int, int], None]
"""Reports (step, total); raises JobCancelledError once the job is cancelled."""


class JobCancelledError(Exception):
    """Raised inside a job's work when the job was cancelled: the work stops there."""


class WorkerLostError(Exception):
    """Raised by a job's work when the worker it ran on died (a Ray replica killed, a
    machine gone): the job is queued again, or failed with the reason once it has had
    its attempts."""
