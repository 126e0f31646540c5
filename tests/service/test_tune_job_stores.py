"""Tuning jobs in every job store (memory, SQLite, a real redis-server): their kind, photos
and settings come back as they went in, through a retry too; try-ons stored by the
version before job kinds still read as try-ons, with the same idempotency hash."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service.test_job_stores import SPEC, make_store, take
from tryon.service.api_errors import IdempotencyConflictError
from tryon.service.jobs import JobResult, JobSpec, JobStore, tune_spec
from tryon.service.jobs.model import pack_photos, unpack_photos
from tryon.service.jobs.sqlite import SQLiteJobStore

TUNE = tune_spec("catvton", "g", [b"one", b"", b"three" * 1000], {"rank": 4, "steps": 3})


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobStore]:
    opened = make_store(request.param, tmp_path, request)
    yield opened
    opened.close()


def test_a_tuning_job_keeps_its_kind_photos_and_settings(store: JobStore) -> None:
    created = store.create(TUNE, key="tune-1")
    assert created.kind == "tune"
    claim = take(store)
    assert claim.spec == TUNE and claim.spec.photos == TUNE.photos
    assert store.retry(claim, "the replica died") is not None  # queued again, spec kept
    claim = take(store)
    assert (claim.spec, claim.attempt) == (TUNE, 2)
    store.finish(claim, JobResult(b'{"rank": 4}', "application/json"))
    done = store.get(created.id)
    assert done is not None and (done.kind, done.status) == ("tune", "done")
    assert store.result(created.id) == JobResult(b'{"rank": 4}', "application/json")
    assert store.create(TUNE, key="tune-1").id == created.id
    with pytest.raises(IdempotencyConflictError):
        store.create(tune_spec("catvton", "g", TUNE.photos, {"rank": 8, "steps": 3}), "tune-1")
    try_on = store.create(SPEC)
    assert try_on.kind == "tryon" and take(store).spec == SPEC


def test_a_try_ons_hash_is_what_it_was_before_kinds() -> None:
    h = hashlib.sha256()
    for part in (SPEC.engine, SPEC.garment_id or "", SPEC.category, SPEC.output):
        h.update(part.encode() + b"\0")
    h.update(hashlib.sha256(SPEC.person).digest())
    h.update(b"-")
    assert SPEC.digest() == h.hexdigest()
    assert TUNE.digest() != JobSpec(**{**TUNE.__dict__, "photos": TUNE.photos[:2]}).digest()


def test_packed_photos_come_back() -> None:
    photos = (b"", b"a", bytes(range(256)) * 10)
    assert unpack_photos(pack_photos(photos)) == photos
    assert unpack_photos(None) == unpack_photos(b"") == ()
    with pytest.raises(ValueError, match="cut short"):
        unpack_photos(pack_photos(photos)[:-1])


OLD_TABLE = """
CREATE TABLE jobs (
    id TEXT PRIMARY KEY, key TEXT UNIQUE, digest TEXT NOT NULL, engine TEXT NOT NULL,
    status TEXT NOT NULL, position INTEGER, queue_order REAL,
    step INTEGER NOT NULL DEFAULT 0, total INTEGER NOT NULL DEFAULT 0,
    error_type TEXT, error_message TEXT, created REAL NOT NULL, finished REAL,
    attempt INTEGER NOT NULL DEFAULT 0, lease_until REAL, person BLOB, garment BLOB,
    garment_id TEXT, category TEXT, output TEXT, result BLOB, media_type TEXT, headers TEXT
);
CREATE TABLE events (
    job_id TEXT NOT NULL, seq INTEGER NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);
INSERT INTO jobs (id, digest, engine, status, position, queue_order, created, person,
    garment_id, category, output) VALUES ('old', 'd', 'warp', 'queued', 1, 1.0, 0.0, X'70',
    'g', 'auto', 'png');
INSERT INTO events VALUES ('old', 0, 'queued', '{"position": 1}');
"""


def test_a_sqlite_file_of_the_version_before_kinds_is_read(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_TABLE)
    store = SQLiteJobStore(path)
    again = SQLiteJobStore(path)  # a second process opening the upgraded file
    try:
        old = store.get("old")
        assert old is not None and (old.kind, old.status) == ("tryon", "queued")
        claim = take(store)
        assert (claim.job_id, claim.spec) == ("old", SPEC)
        assert again.create(TUNE).kind == "tune"
        assert take(store).spec == TUNE
    finally:
        store.close()
        again.close()


def test_a_redis_job_of_the_version_before_kinds_is_read(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = make_store("redis", tmp_path, request)
    try:
        job = store.create(SPEC)
        client = store.client  # type: ignore[attr-defined]
        client.hdel(f"tryon:job:{job.id}:spec", "kind", "photos", "options")
        client.hdel(f"tryon:job:{job.id}", "kind")
        old = store.get(job.id)
        assert old is not None and old.kind == "tryon"
        assert take(store).spec == SPEC
    finally:
        store.close()
