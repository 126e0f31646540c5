"""The job queue's mechanics with work whose timing the test controls (no engine)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from tryon.errors import NoPersonError
from tryon.service.jobs import InMemoryJobStore, JobQueue, JobResult, JobSpec, JobState, Progress
from tryon.service.metrics import Metrics

SPEC = JobSpec(
    engine="warp", person=b"p", garment=None, garment_id="g", category="auto", output="png"
)


def wait_for(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


class GatedWork:
    """Work that reports step 1, then waits until the test opens the gate."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.started = threading.Event()

    def __call__(self, spec: JobSpec, progress: Progress) -> JobResult:
        progress(1, 2)
        self.started.set()
        self.gate.wait(10)
        if spec.person == b"fail":
            raise NoPersonError("no person was found in the person photo")
        if spec.person == b"crash":
            raise RuntimeError("secret internals")
        progress(2, 2)
        return JobResult(spec.person, "image/png")


@pytest.fixture()
def work() -> GatedWork:
    return GatedWork()


@pytest.fixture()
def queue(work: GatedWork) -> Iterator[JobQueue]:
    store = InMemoryJobStore(ttl_s=0.3)
    jobs = JobQueue(
        store, work, workers=1, max_jobs=10, retry_after_s=1, metrics=Metrics(), purge_every_s=0.05
    )
    yield jobs
    work.gate.set()
    jobs.close()


def state(queue: JobQueue, job: JobState) -> JobState:
    found = queue.store.get(job.id)
    assert found is not None
    return found


def test_positions_move_up_as_jobs_start(queue: JobQueue, work: GatedWork) -> None:
    first = queue.submit(SPEC)
    assert work.started.wait(10)
    second, third = queue.submit(SPEC), queue.submit(SPEC)
    assert (state(queue, second).position, state(queue, third).position) == (1, 2)
    queue.store.cancel(second.id)
    assert state(queue, third).position == 1
    events = queue.store.events(third.id, 0)
    assert events is not None
    assert [(e.name, e.data) for e in events] == [
        ("queued", {"position": 2}),
        ("queued", {"position": 1}),
    ]
    work.gate.set()
    wait_for(lambda: state(queue, third).status == "done")
    assert state(queue, first).status == "done"
    assert state(queue, second).status == "cancelled"


def test_cancelling_a_running_job_stops_it_at_its_next_step(
    queue: JobQueue, work: GatedWork
) -> None:
    job = queue.submit(SPEC)
    assert work.started.wait(10)
    assert state(queue, job).status == "running" and state(queue, job).step == 1
    queue.store.cancel(job.id)
    work.gate.set()
    time.sleep(0.2)
    assert state(queue, job).status == "cancelled"
    assert state(queue, job).step == 1  # step 2 was never recorded
    assert queue.store.result(job.id) is None
    events = queue.store.events(job.id, 0)
    assert events is not None and events[-1].name == "cancelled"


def test_errors_are_recorded_without_internals(queue: JobQueue, work: GatedWork) -> None:
    work.gate.set()
    failed = queue.submit(JobSpec(**{**SPEC.__dict__, "person": b"fail"}))
    crashed = queue.submit(JobSpec(**{**SPEC.__dict__, "person": b"crash"}))
    wait_for(lambda: state(queue, crashed).status == "failed")
    assert state(queue, failed).error == (
        "NoPersonError",
        "no person was found in the person photo",
    )
    kind, message = state(queue, crashed).error or ("", "")
    assert kind == "InternalError" and "secret" not in message


def test_finished_jobs_expire(queue: JobQueue, work: GatedWork) -> None:
    work.gate.set()
    job = queue.submit(SPEC)
    wait_for(lambda: state(queue, job).status == "done")
    assert queue.store.result(job.id) == JobResult(b"p", "image/png")
    wait_for(lambda: queue.store.get(job.id) is None, seconds=5)
    assert queue.store.events(job.id, 0) is None
