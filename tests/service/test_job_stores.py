"""Every job store keeps the same promises: memory, SQLite and a real redis-server.

The promises: order and positions, idempotent keys, leases that bring a silent worker's
job back (once, then a failure with the reason), writes of a stale attempt ignored,
cancellation, deletion and expiry.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tryon.service.api_errors import IdempotencyConflictError
from tryon.service.jobs import (
    WORKER_LOST,
    Claim,
    InMemoryJobStore,
    JobResult,
    JobSpec,
    JobStore,
    StoreSettings,
)
from tryon.service.jobs.sqlite import SQLiteJobStore

SPEC = JobSpec(
    engine="warp", person=b"p", garment=None, garment_id="g", category="auto", output="png"
)
OTHER = JobSpec(
    engine="warp", person=b"q", garment=b"shirt", garment_id=None, category="upper", output="webp"
)
LEASE_S = 0.5


def make_store(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> JobStore:
    settings = StoreSettings(ttl_s=1.0, lease_s=LEASE_S, max_attempts=2)
    if kind == "memory":
        return InMemoryJobStore(settings.ttl_s, settings)
    if kind == "sqlite":
        return SQLiteJobStore(tmp_path / "jobs.sqlite3", settings)
    pytest.importorskip("redis", reason="the Redis job store needs the scale extra")
    from tryon.service.jobs.redis import RedisJobStore

    server = request.getfixturevalue("redis")
    return RedisJobStore(server.url, settings)


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobStore]:
    opened = make_store(request.param, tmp_path, request)
    yield opened
    opened.close()


def take(store: JobStore) -> Claim:
    claim = store.take(timeout=1.0)
    assert claim is not None
    return claim


def names(store: JobStore, job_id: str) -> list[str]:
    events = store.events(job_id, 0)
    assert events is not None
    return [e.name for e in events]


def test_a_job_runs_from_queued_to_done(store: JobStore) -> None:
    first, second = store.create(SPEC), store.create(OTHER)
    assert (first.status, first.position, second.position) == ("queued", 1, 2)
    claim = take(store)
    assert (claim.job_id, claim.spec, claim.attempt) == (first.id, SPEC, 1)
    assert store.get(second.id).position == 1  # type: ignore[union-attr]
    assert store.progress(claim, 1, 3)
    running = store.get(first.id)
    assert running is not None
    assert (running.status, running.step, running.total, running.attempt) == ("running", 1, 3, 1)
    assert store.counts() == {"queued": 1, "running": 1}
    store.finish(claim, JobResult(b"image", "image/png", {"X-Tryon-Category": "upper"}))
    done = store.get(first.id)
    assert done is not None and done.status == "done" and done.finished is not None
    assert store.result(first.id) == JobResult(b"image", "image/png", {"X-Tryon-Category": "upper"})
    assert names(store, first.id) == ["queued", "started", "progress", "done"]
    events = store.events(first.id, 2)
    assert events is not None and [(e.seq, e.data) for e in events] == [
        (2, {"step": 1, "total": 3}),
        (3, {}),
    ]
    assert names(store, second.id) == ["queued", "queued"]
    other = take(store)
    assert other.spec == OTHER  # bytes, None and text fields come back as they went in


def test_the_same_key_gives_the_same_job(store: JobStore) -> None:
    first = store.create(SPEC, key="order-17")
    again = store.create(SPEC, key="order-17")
    assert again.id == first.id and again.key == "order-17"
    assert store.find_key("order-17") == store.get(first.id)
    assert store.find_key("order-18") is None
    with pytest.raises(IdempotencyConflictError) as refused:
        store.create(OTHER, key="order-17")
    assert refused.value.status == 409
    assert store.counts()["queued"] == 1
    store.delete(first.id)
    assert store.create(OTHER, key="order-17").id != first.id  # a forgotten key is free


def test_a_silent_workers_job_is_run_again_then_failed_with_the_reason(store: JobStore) -> None:
    job = store.create(SPEC)
    behind = store.create(OTHER)
    lost = take(store)
    assert store.reclaim() == 0  # the lease is still good
    time.sleep(LEASE_S + 0.2)
    assert store.reclaim() == 1
    state = store.get(job.id)
    assert state is not None and (state.status, state.position) == ("queued", 1)
    assert store.get(behind.id).position == 2  # type: ignore[union-attr]
    events = store.events(job.id, 0)
    assert events is not None and events[-1].data["retry"] == 2
    assert "stopped answering" in events[-1].data["reason"]
    # The lost worker comes back: its writes are refused, so it stops.
    assert not store.progress(lost, 2, 3) and not store.renew(lost)
    store.finish(lost, JobResult(b"stale", "image/png"))
    second = take(store)
    assert (second.job_id, second.attempt, second.spec) == (job.id, 2, SPEC)
    time.sleep(LEASE_S + 0.2)
    assert store.reclaim() == 1
    failed = store.get(job.id)
    assert failed is not None and failed.status == "failed" and failed.error is not None
    kind, message = failed.error
    assert kind == WORKER_LOST
    assert "stopped answering" in message and "2 times" in message and "submit it again" in message
    assert store.result(job.id) is None


def test_a_renewed_lease_keeps_the_job(store: JobStore) -> None:
    job = store.create(SPEC)
    claim = take(store)
    for _ in range(4):
        time.sleep(LEASE_S / 3)
        assert store.renew(claim)
    assert store.reclaim() == 0
    assert store.get(job.id).status == "running"  # type: ignore[union-attr]


def test_a_job_whose_replica_died_is_retried_once(store: JobStore) -> None:
    job = store.create(SPEC)
    first = take(store)
    state = store.retry(first, "the diffusion replica died")
    assert state is not None and state.status == "queued"
    second = take(store)
    assert second.attempt == 2
    assert store.retry(first, "stale") is None  # not the current attempt
    state = store.retry(second, "the diffusion replica died")
    assert state is not None and state.status == "failed"
    assert state.error is not None and "the diffusion replica died" in state.error[1]
    assert store.get(job.id) == state


def test_cancel_and_delete(store: JobStore) -> None:
    running, queued, last = store.create(SPEC), store.create(SPEC), store.create(OTHER)
    claim = take(store)
    cancelled = store.cancel(queued.id)
    assert cancelled is not None and cancelled.status == "cancelled"
    assert store.get(last.id).position == 1  # type: ignore[union-attr]
    store.cancel(running.id)
    assert not store.progress(claim, 1, 2)  # the worker learns it at its next step
    store.finish(claim, JobResult(b"late", "image/png"))
    assert store.get(running.id).status == "cancelled"  # type: ignore[union-attr]
    assert names(store, running.id)[-1] == "cancelled"
    assert store.cancel("no-such-job") is None
    assert store.delete(last.id) and not store.delete(last.id)
    assert store.get(last.id) is None and store.events(last.id, 0) is None
    assert store.take(timeout=0.1) is None


def test_finished_jobs_expire(store: JobStore) -> None:
    job = store.create(SPEC, key="k")
    claim = take(store)
    store.fail(claim, "NoPersonError", "no person was found in the person photo")
    assert store.get(job.id).error == (  # type: ignore[union-attr]
        "NoPersonError",
        "no person was found in the person photo",
    )
    store.purge(time.time())
    assert store.get(job.id) is not None
    time.sleep(1.3)  # Redis expires keys by itself; the others when purged
    store.purge(time.time())
    assert store.get(job.id) is None and store.find_key("k") is None


def test_two_sqlite_stores_share_one_file(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    submitter, worker = SQLiteJobStore(path), SQLiteJobStore(path)
    job = submitter.create(SPEC)
    claim = take(worker)
    worker.finish(claim, JobResult(b"x", "image/png"))
    assert submitter.get(job.id).status == "done"  # type: ignore[union-attr]
    assert submitter.result(job.id) == JobResult(b"x", "image/png")
