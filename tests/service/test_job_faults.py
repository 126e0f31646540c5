"""Faults during jobs, with the real redis-server: it is killed and started again while
jobs run, a worker dies holding a job, a replica dies under a job. Every job must end
done or failed with a reason; none stays queued or running."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from tests.service.redis_server import RedisServer
from tryon.service.api_errors import StoreUnavailableError
from tryon.service.jobs import (
    TERMINAL,
    JobQueue,
    JobResult,
    JobSpec,
    JobState,
    JobStore,
    Progress,
    StoreSettings,
    WorkerLostError,
)
from tryon.service.metrics import Metrics

pytest.importorskip("redis", reason="the Redis job store needs the scale extra")
from tryon.service.jobs.redis import RedisJobStore

SETTINGS = StoreSettings(ttl_s=120, lease_s=1.5, max_attempts=3)


def spec(n: int) -> JobSpec:
    return JobSpec(
        engine="warp", person=b"%d" % n, garment=None, garment_id="g", category="auto", output="png"
    )


def stepping_work(steps: int = 5, step_s: float = 0.04) -> Callable[[JobSpec, Progress], JobResult]:
    def work(job: JobSpec, progress: Progress) -> JobResult:
        for step in range(1, steps + 1):
            time.sleep(step_s)
            progress(step, steps)
        return JobResult(b"result-" + job.person, "image/png")

    return work


def wait_until_all_end(store: JobStore, ids: list[str], seconds: float = 60) -> list[JobState]:
    deadline = time.monotonic() + seconds
    while True:
        try:
            states = [store.get(job_id) for job_id in ids]
        except StoreUnavailableError:
            states = []
        if states and all(s is not None and s.status in TERMINAL for s in states):
            return [s for s in states if s is not None]
        pending = [(s.id, s.status) for s in states if s is not None and s.status not in TERMINAL]
        assert time.monotonic() < deadline, f"jobs still not ended: {pending}"
        time.sleep(0.1)


def check_ended_well(store: RedisJobStore, states: list[JobState]) -> None:
    for state in states:
        assert state.status in ("done", "failed"), state
        if state.status == "failed":
            assert state.error is not None and state.error[1].strip(), state
        else:
            result = store.result(state.id)
            assert result is not None and result.data.startswith(b"result-")


def queue_on(url: str, work: Callable[[JobSpec, Progress], JobResult], workers: int) -> JobQueue:
    return JobQueue(
        RedisJobStore(url, SETTINGS, retry_s=20),
        work,
        workers=workers,
        max_jobs=100,
        retry_after_s=1,
        metrics=Metrics(),
        purge_every_s=0.2,
    )


def test_jobs_survive_a_redis_restart(redis: RedisServer) -> None:
    ingress = RedisJobStore(redis.url, SETTINGS, retry_s=20)
    queue = queue_on(redis.url, stepping_work(), workers=2)
    try:
        ids = [ingress.create(spec(n)).id for n in range(12)]
        deadline = time.monotonic() + 30
        while ingress.get(ids[1]).status != "done":  # type: ignore[union-attr]
            assert time.monotonic() < deadline
            time.sleep(0.02)
        redis.kill()  # SIGKILL mid-run: jobs running, others queued
        time.sleep(1.0)
        redis.start()
        states = wait_until_all_end(ingress, ids)
        check_ended_well(ingress, states)
        # The append-only file kept every job; the workers went on where they were.
        assert sum(s.status == "done" for s in states) == len(ids)
    finally:
        queue.close()
        ingress.close()


def test_a_job_held_by_a_dead_worker_is_run_again(redis: RedisServer) -> None:
    ingress = RedisJobStore(redis.url, SETTINGS)
    job = ingress.create(spec(1))
    dead = RedisJobStore(redis.url, SETTINGS)
    claim = dead.take(timeout=1)  # a worker takes the job, then its machine dies
    assert claim is not None and claim.job_id == job.id
    dead.close()
    queue = queue_on(redis.url, stepping_work(), workers=1)
    try:
        (state,) = wait_until_all_end(ingress, [job.id], seconds=30)
        assert state.status == "done" and state.attempt == 2
        events = ingress.events(job.id, 0)
        assert events is not None
        retry = [e.data for e in events if e.name == "queued" and "retry" in e.data]
        assert retry and "stopped answering" in retry[0]["reason"]
    finally:
        queue.close()
        ingress.close()


def test_a_dead_replica_means_a_retry_then_a_failure_with_the_reason(redis: RedisServer) -> None:
    calls: list[bytes] = []
    lock = threading.Lock()

    def work(job: JobSpec, progress: Progress) -> JobResult:
        with lock:
            calls.append(job.person)
            first = calls.count(job.person) == 1
        if job.person == b"doomed" or first:
            raise WorkerLostError("the diffusion replica running the job died")
        return JobResult(b"result-" + job.person, "image/png")

    ingress = RedisJobStore(redis.url, SETTINGS)
    queue = queue_on(redis.url, work, workers=1)
    try:
        lucky = ingress.create(spec(7)).id
        doomed = ingress.create(JobSpec(**{**spec(0).__dict__, "person": b"doomed"})).id
        states = {s.id: s for s in wait_until_all_end(ingress, [lucky, doomed])}
        assert states[lucky].status == "done" and states[lucky].attempt == 2
        assert states[doomed].status == "failed" and states[doomed].attempt == 3
        kind, message = states[doomed].error or ("", "")
        assert kind == "WorkerLostError" and "replica running the job died" in message
        assert "3 times" in message
    finally:
        queue.close()
        ingress.close()


def test_running_jobs_are_restored_when_redis_comes_back_empty(redis: RedisServer) -> None:
    ingress = RedisJobStore(redis.url, SETTINGS, retry_s=20)
    queue = queue_on(redis.url, stepping_work(steps=10, step_s=0.1), workers=2)
    try:
        ids = [ingress.create(spec(n)).id for n in range(4)]
        deadline = time.monotonic() + 30
        while ingress.counts()["running"] < 2 or ingress.get(ids[0]).step < 2:  # type: ignore[union-attr]
            assert time.monotonic() < deadline
            time.sleep(0.02)
        redis.kill()
        redis.wipe()  # restarted without its data: the misconfiguration the runbook warns of
        redis.start()
        running, queued = ids[:2], ids[2:]
        states = wait_until_all_end(ingress, running)
        check_ended_well(ingress, states)
        assert [s.status for s in states] == ["done", "done"]
        events = ingress.events(running[0], 0)
        assert events is not None and events[0].data.get("restored") is True
        # The queued ones had no worker to write them back: lost (hence appendonly yes).
        assert [ingress.get(job_id) for job_id in queued] == [None, None]
    finally:
        queue.close()
        ingress.close()
