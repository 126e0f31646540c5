"""``SQLiteJobStore``: jobs in one SQLite file, shared by the processes of one machine.

For ``tryon serve --workers N`` without Redis: every worker process sees every job (a
job submitted to one process can be followed through any other), and jobs survive a
restart of the server. Each change is one ``BEGIN IMMEDIATE`` transaction; the file is
in WAL mode so readers never wait for the writer.

Privacy: a queued job's photos and a finished job's result are in the file until the job
ends and expires; ``secure_delete`` overwrites what is deleted. Choosing this store is
choosing to write them to disk; the in-memory store never does.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tryon.service.api_errors import IdempotencyConflictError
from tryon.service.jobs.model import (
    Claim,
    JobEvent,
    JobResult,
    JobSpec,
    JobState,
    job_kind,
    options_of,
    pack_photos,
    unpack_photos,
)
from tryon.service.jobs.store import (
    WORKER_LOST,
    StoreSettings,
    lease_lost_reason,
    worker_lost_message,
)

POLL_S = 0.05
"""How often ``take`` looks at an empty queue."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    key TEXT UNIQUE,
    digest TEXT NOT NULL,
    engine TEXT NOT NULL,
    status TEXT NOT NULL,
    position INTEGER,
    queue_order REAL,
    step INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    error_type TEXT,
    error_message TEXT,
    created REAL NOT NULL,
    finished REAL,
    attempt INTEGER NOT NULL DEFAULT 0,
    lease_until REAL,
    person BLOB,
    garment BLOB,
    garment_id TEXT,
    category TEXT,
    output TEXT,
    result BLOB,
    media_type TEXT,
    headers TEXT,
    kind TEXT NOT NULL DEFAULT 'tryon',
    photos BLOB,
    options TEXT
);
CREATE INDEX IF NOT EXISTS jobs_queue ON jobs (status, queue_order);
CREATE TABLE IF NOT EXISTS events (
    job_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);
"""

STATE_COLUMNS = (
    "id, engine, status, position, step, total, error_type, error_message, created, "
    "finished, attempt, key, kind"
)
ADDED_COLUMNS = (
    ("kind", "TEXT NOT NULL DEFAULT 'tryon'"),
    ("photos", "BLOB"),
    ("options", "TEXT"),
)
"""Columns added since the first version of the table (jobs by kind): a file made by an
older version gets them when opened, its jobs read as try-ons."""
SPEC_DROPPED = "person = NULL, garment = NULL, photos = NULL"
"""What a job that ended forgets: its photos."""


class SQLiteJobStore:
    """A ``JobStore`` in a SQLite file.

    Args:
        path: the database file (created with its folder).
        settings: time-to-live, leases and attempts.
    """

    def __init__(self, path: str | Path, settings: StoreSettings | None = None) -> None:
        self.settings = settings or StoreSettings()
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            self.path, timeout=30.0, isolation_level=None, check_same_thread=False
        )
        self._lock = threading.Lock()
        self._closed = threading.Event()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA secure_delete=ON")
            self._db.executescript(SCHEMA)
        with self._transaction() as db:  # one process adds them; the others see them
            have = {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
            for name, declaration in ADDED_COLUMNS:
                if name not in have:
                    db.execute(f"ALTER TABLE jobs ADD COLUMN {name} {declaration}")

    def create(self, spec: JobSpec, key: str | None = None) -> JobState:
        digest = spec.digest()
        with self._transaction() as db:
            if key is not None:
                row = db.execute("SELECT id, digest FROM jobs WHERE key = ?", (key,)).fetchone()
                if row is not None:
                    if row[1] != digest:
                        raise IdempotencyConflictError(key)
                    return self._existing(db, row[0])
            job_id = uuid.uuid4().hex
            (last,) = db.execute("SELECT MAX(queue_order) FROM jobs").fetchone()
            (queued,) = db.execute("SELECT COUNT(*) FROM jobs WHERE status = 'queued'").fetchone()
            db.execute(
                "INSERT INTO jobs (id, key, digest, engine, status, position, queue_order, "
                "created, person, garment, garment_id, category, output, kind, photos, options) "
                "VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job_id,
                    key,
                    digest,
                    spec.engine,
                    queued + 1,
                    (last or 0.0) + 1.0,
                    time.time(),
                    spec.person,
                    spec.garment,
                    spec.garment_id,
                    spec.category,
                    spec.output,
                    spec.kind,
                    pack_photos(spec.photos) if spec.photos else None,
                    spec.options_json() or None,
                ),
            )
            _emit(db, job_id, "queued", position=queued + 1)
            return self._existing(db, job_id)

    def find_key(self, key: str) -> JobState | None:
        with self._transaction(write=False) as db:
            row = db.execute("SELECT id FROM jobs WHERE key = ?", (key,)).fetchone()
            return self._state(db, row[0]) if row else None

    def get(self, job_id: str) -> JobState | None:
        with self._transaction(write=False) as db:
            return self._state(db, job_id)

    def take(self, timeout: float) -> Claim | None:
        deadline = time.monotonic() + timeout
        while not self._closed.is_set():
            claim = self._take_one()
            if claim is not None or time.monotonic() >= deadline:
                return claim
            self._closed.wait(POLL_S)
        return None

    def renew(self, claim: Claim) -> bool:
        with self._transaction() as db:
            return self._renew(db, claim)

    def progress(self, claim: Claim, step: int, total: int) -> bool:
        with self._transaction() as db:
            if not self._renew(db, claim):
                return False
            db.execute(
                "UPDATE jobs SET step = ?, total = ? WHERE id = ?", (step, total, claim.job_id)
            )
            _emit(db, claim.job_id, "progress", step=step, total=total)
            return True

    def finish(self, claim: Claim, result: JobResult) -> None:
        with self._transaction() as db:
            if not _current(db, claim):
                return
            db.execute(
                "UPDATE jobs SET status = 'done', finished = ?, result = ?, media_type = ?, "
                f"headers = ?, {SPEC_DROPPED}, lease_until = NULL WHERE id = ?",
                (
                    time.time(),
                    result.data,
                    result.media_type,
                    json.dumps(result.headers),
                    claim.job_id,
                ),
            )
            _emit(db, claim.job_id, "done")

    def fail(self, claim: Claim, type: str, message: str) -> None:
        with self._transaction() as db:
            if _current(db, claim):
                _fail(db, claim.job_id, type, message)

    def retry(self, claim: Claim, reason: str) -> JobState | None:
        with self._transaction() as db:
            if not _current(db, claim):
                return None
            self._release(db, claim.job_id, reason)
            return self._state(db, claim.job_id)

    def reclaim(self) -> int:
        with self._transaction() as db:
            lost = db.execute(
                "SELECT id FROM jobs WHERE status = 'running' AND lease_until < ?", (time.time(),)
            ).fetchall()
            for (job_id,) in lost:
                self._release(db, job_id, lease_lost_reason(self.settings.lease_s))
            return len(lost)

    def cancel(self, job_id: str) -> JobState | None:
        with self._transaction() as db:
            row = db.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                return None
            if row[0] in ("queued", "running"):
                db.execute(
                    "UPDATE jobs SET status = 'cancelled', position = NULL, finished = ?, "
                    f"{SPEC_DROPPED}, lease_until = NULL WHERE id = ?",
                    (time.time(), job_id),
                )
                _emit(db, job_id, "cancelled")
                _announce_positions(db)
            return self._state(db, job_id)

    def delete(self, job_id: str) -> bool:
        with self._transaction() as db:
            deleted = db.execute("DELETE FROM jobs WHERE id = ?", (job_id,)).rowcount
            db.execute("DELETE FROM events WHERE job_id = ?", (job_id,))
            _announce_positions(db)
            return deleted > 0

    def result(self, job_id: str) -> JobResult | None:
        with self._transaction(write=False) as db:
            row = db.execute(
                "SELECT result, media_type, headers FROM jobs WHERE id = ? AND status = 'done'",
                (job_id,),
            ).fetchone()
            if row is None or row[0] is None:
                return None
            return JobResult(bytes(row[0]), row[1], json.loads(row[2]))

    def events(self, job_id: str, since: int) -> list[JobEvent] | None:
        with self._transaction(write=False) as db:
            if db.execute("SELECT 1 FROM jobs WHERE id = ?", (job_id,)).fetchone() is None:
                return None
            rows = db.execute(
                "SELECT seq, name, data FROM events WHERE job_id = ? AND seq >= ? ORDER BY seq",
                (job_id, since),
            ).fetchall()
            return [JobEvent(seq, name, json.loads(data)) for seq, name, data in rows]

    def counts(self) -> dict[str, int]:
        with self._transaction(write=False) as db:
            rows = dict(
                db.execute(
                    "SELECT status, COUNT(*) FROM jobs WHERE status IN ('queued', 'running') "
                    "GROUP BY status"
                ).fetchall()
            )
            return {"queued": rows.get("queued", 0), "running": rows.get("running", 0)}

    def purge(self, now: float) -> int:
        with self._transaction() as db:
            expired = [
                job_id
                for (job_id,) in db.execute(
                    "SELECT id FROM jobs WHERE finished IS NOT NULL AND finished < ?",
                    (now - self.settings.ttl_s,),
                ).fetchall()
            ]
            for job_id in expired:
                db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
                db.execute("DELETE FROM events WHERE job_id = ?", (job_id,))
            return len(expired)

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _take_one(self) -> Claim | None:
        with self._transaction() as db:
            row = db.execute(
                "SELECT id, attempt, engine, person, garment, garment_id, category, output, "
                "kind, photos, options FROM jobs WHERE status = 'queued' "
                "ORDER BY queue_order LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            job_id, attempt = row[0], row[1] + 1
            db.execute(
                "UPDATE jobs SET status = 'running', position = NULL, attempt = ?, step = 0, "
                "total = 0, lease_until = ? WHERE id = ?",
                (attempt, time.time() + self.settings.lease_s, job_id),
            )
            _emit(db, job_id, "started", attempt=attempt)
            _announce_positions(db)
            spec = JobSpec(
                engine=row[2],
                person=bytes(row[3]),
                garment=bytes(row[4]) if row[4] is not None else None,
                garment_id=row[5],
                category=row[6],
                output=row[7],
                kind=job_kind(row[8]),
                photos=unpack_photos(row[9]),
                options=options_of(row[10]),
            )
            return Claim(job_id, spec, attempt)

    def _renew(self, db: sqlite3.Connection, claim: Claim) -> bool:
        if not _current(db, claim):
            return False
        db.execute(
            "UPDATE jobs SET lease_until = ? WHERE id = ?",
            (time.time() + self.settings.lease_s, claim.job_id),
        )
        return True

    def _release(self, db: sqlite3.Connection, job_id: str, reason: str) -> None:
        attempt, has_spec = db.execute(
            "SELECT attempt, person IS NOT NULL FROM jobs WHERE id = ?", (job_id,)
        ).fetchone()
        if attempt >= self.settings.max_attempts or not has_spec:
            _fail(db, job_id, WORKER_LOST, worker_lost_message(reason, attempt))
            return
        (first,) = db.execute("SELECT MIN(queue_order) FROM jobs").fetchone()
        db.execute(
            "UPDATE jobs SET status = 'queued', position = 1, queue_order = ?, step = 0, "
            "total = 0, lease_until = NULL WHERE id = ?",
            ((first or 0.0) - 1.0, job_id),
        )
        _emit(db, job_id, "queued", position=1, retry=attempt + 1, reason=reason)
        _announce_positions(db)

    def _existing(self, db: sqlite3.Connection, job_id: str) -> JobState:
        state = self._state(db, job_id)
        assert state is not None, "the job was read in this transaction"
        return state

    def _state(self, db: sqlite3.Connection, job_id: str) -> JobState | None:
        row = db.execute(f"SELECT {STATE_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            return None
        error = (row[6], row[7]) if row[6] is not None else None
        return JobState(
            id=row[0],
            engine=row[1],
            status=row[2],
            position=row[3] if row[2] == "queued" else None,
            step=row[4],
            total=row[5],
            error=error,
            created=row[8],
            finished=row[9],
            attempt=row[10],
            key=row[11],
            kind=job_kind(row[12]),
        )


def _current(db: sqlite3.Connection, claim: Claim) -> bool:
    row = db.execute("SELECT status, attempt FROM jobs WHERE id = ?", (claim.job_id,)).fetchone()
    return row is not None and row[0] == "running" and row[1] == claim.attempt


def _emit(db: sqlite3.Connection, job_id: str, name: str, **data: Any) -> None:
    db.execute(
        "INSERT INTO events (job_id, seq, name, data) VALUES "
        "(?, (SELECT COUNT(*) FROM events WHERE job_id = ?), ?, ?)",
        (job_id, job_id, name, json.dumps(data)),
    )


def _fail(db: sqlite3.Connection, job_id: str, type: str, message: str) -> None:
    db.execute(
        "UPDATE jobs SET status = 'failed', error_type = ?, error_message = ?, finished = ?, "
        f"{SPEC_DROPPED}, lease_until = NULL WHERE id = ?",
        (type, message, time.time(), job_id),
    )
    _emit(db, job_id, "error", type=type, message=message)


def _announce_positions(db: sqlite3.Connection) -> None:
    rows = db.execute(
        "SELECT id, position FROM jobs WHERE status = 'queued' ORDER BY queue_order"
    ).fetchall()
    for rank, (job_id, position) in enumerate(rows, start=1):
        if position != rank:
            db.execute("UPDATE jobs SET position = ? WHERE id = ?", (rank, job_id))
            _emit(db, job_id, "queued", position=rank)
