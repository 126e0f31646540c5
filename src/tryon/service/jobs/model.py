"""What a job is: its spec, its state, its events and result, and what its work raises.

Plain data, so every store can keep it (in memory, in SQLite, in Redis); nothing here
knows about HTTP.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]
TERMINAL: frozenset[str] = frozenset({"done", "failed", "cancelled"})
JobKind = Literal["tryon", "tune"]
"""What a job does: a try-on (the image is its result), or the tuning of a garment's
adapter (the adapter's record, JSON, is its result). Jobs stored before kinds existed
are try-ons."""


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
        kind: "tryon", or "tune" (``tune_spec``: the garment is ``garment_id``, the
            on-model photos are ``photos``, the settings ``options``; ``person`` is empty).
        photos: a tuning job's on-model photos (bytes); a try-on's: its ``mask`` PNG
            when one was sent (see ``mask``), else empty.
        options: a tuning job's settings (JSON values: rank, steps, ...); a try-on's
            own diffusion settings ("preset", "steps", "seed": those given), else empty.
    """

    engine: str
    person: bytes
    garment: bytes | None
    garment_id: str | None
    category: str
    output: str
    kind: JobKind = "tryon"
    photos: tuple[bytes, ...] = ()
    options: dict[str, Any] = field(default_factory=dict, hash=False)

    def digest(self) -> str:
        """A hash of every field: two submissions with one key must ask for the same.

        A try-on without options or mask hashes as before jobs had kinds (stored keys
        still match).
        """
        h = hashlib.sha256()
        for part in (self.engine, self.garment_id or "", self.category, self.output):
            h.update(part.encode() + b"\0")
        h.update(hashlib.sha256(self.person).digest())
        h.update(hashlib.sha256(self.garment).digest() if self.garment is not None else b"-")
        if self.kind != "tryon" or self.options or self.photos:
            h.update(f"\0{self.kind}\0{self.options_json()}\0".encode())
            for photo in self.photos:
                h.update(hashlib.sha256(photo).digest())
        return h.hexdigest()

    @property
    def mask(self) -> bytes | None:
        """A try-on's ``mask`` field (a PNG, white where the try-on may change the
        photo), or None."""
        return self.photos[0] if self.kind == "tryon" and self.photos else None

    def options_json(self) -> str:
        """``options`` as stored: JSON, keys sorted ("" when there are none)."""
        return json.dumps(self.options, sort_keys=True) if self.options else ""


def tune_spec(
    engine: str, garment_id: str, photos: Sequence[bytes], options: dict[str, Any]
) -> JobSpec:
    """A job tuning the adapter of the catalogued garment ``garment_id`` for ``engine``'s
    model on ``photos`` (people wearing it), with ``options`` (rank, steps, ...)."""
    return JobSpec(
        engine=engine,
        person=b"",
        garment=None,
        garment_id=garment_id,
        category="auto",
        output="json",
        kind="tune",
        photos=tuple(photos),
        options=dict(options),
    )


def job_kind(text: str | None) -> JobKind:
    """A stored kind ("tryon" when the job was stored before kinds existed).

    Raises:
        ValueError: a kind this version does not know.
    """
    if not text or text == "tryon":
        return "tryon"
    if text == "tune":
        return "tune"
    raise ValueError(f"unknown job kind {text!r}")


def pack_photos(photos: Sequence[bytes]) -> bytes:
    """Several photos as one byte string (a stored column or hash field): each photo's
    length as 8 bytes big-endian, then its bytes."""
    return b"".join(len(photo).to_bytes(8, "big") + photo for photo in photos)


def unpack_photos(data: bytes | None) -> tuple[bytes, ...]:
    """The photos ``pack_photos`` packed (none for None or empty).

    Raises:
        ValueError: the bytes are not what ``pack_photos`` writes.
    """
    photos, at = [], 0
    data = data or b""
    while at < len(data):
        size = int.from_bytes(data[at : at + 8], "big")
        if at + 8 + size > len(data):
            raise ValueError("packed photos are cut short")
        photos.append(bytes(data[at + 8 : at + 8 + size]))
        at += 8 + size
    return tuple(photos)


def options_of(text: str | None) -> dict[str, Any]:
    """Stored options back ("" or None: none)."""
    return dict(json.loads(text)) if text else {}


@dataclass(frozen=True)
class JobResult:
    """A finished job's image (a tuning job's: the adapter's record as JSON).

    Attributes:
        data: the encoded image (or JSON document).
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
        kind: what the job does ("tryon" or "tune").
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
    kind: JobKind = "tryon"


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
