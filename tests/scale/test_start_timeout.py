"""A diffusion job that no replica starts (no GPU worker joined) fails with the reason
instead of running for ever. The stream is a stand-in: no cluster is needed to check
the deadline."""

from __future__ import annotations

import threading
import time

import pytest

from tests.scale.conftest import SCALE_EXTRA
from tryon.service.api_errors import APIError

deployments = pytest.importorskip("tryon.scale.deployments", reason=SCALE_EXTRA)


class Stream:
    """A response stream: ``events`` after ``delay_s`` seconds, or nothing ever."""

    def __init__(self, events: list[object], delay_s: float | None) -> None:
        self.events, self.delay_s = events, delay_s
        self.cancelled = threading.Event()

    def __iter__(self):  # type: ignore[no-untyped-def]
        if self.delay_s is None:
            self.cancelled.wait()  # a replica that never comes
            raise RuntimeError("cancelled")
        time.sleep(self.delay_s)
        yield from self.events

    def cancel(self) -> None:
        self.cancelled.set()


class Handle:
    """The deployment handle's ``options(stream=True).generate.remote`` chain."""

    def __init__(self, stream: Stream) -> None:
        self.stream = stream
        self.generate = self

    def options(self, stream: bool) -> Handle:
        return self

    def remote(self, request: object) -> Stream:
        return self.stream


def test_a_job_no_replica_starts_fails_with_the_reason() -> None:
    stream = Stream([], delay_s=None)
    backend = deployments.RayDiffusion(Handle(stream), start_timeout_s=0.3)
    start = time.perf_counter()
    with pytest.raises(APIError) as caught:
        backend.render(object(), lambda step, total: None)
    assert 0.3 <= time.perf_counter() - start < 5
    assert caught.value.type == "DiffusionUnavailableError"
    assert "no diffusion replica started the job" in caught.value.message
    assert "GPU worker" in caught.value.message
    assert stream.cancelled.is_set()


def test_a_started_job_may_take_longer_than_the_start_timeout() -> None:
    """Only the first step has a deadline: a long render is not cut short."""
    import numpy as np

    from tryon.service.diffusion_jobs import Rendering

    done = Rendering(np.zeros((4, 4, 3), np.uint8), [], 1, 0.1)

    class Slow(Stream):
        def __iter__(self):  # type: ignore[no-untyped-def]
            time.sleep(0.1)
            yield deployments.StepEvent(1, 2, 1)
            time.sleep(0.5)  # longer than the start timeout, after the first step
            yield deployments.StepEvent(2, 2, 1)
            yield done

    seen: list[tuple[int, int]] = []
    backend = deployments.RayDiffusion(Handle(Slow([], 0)), start_timeout_s=0.3)
    assert backend.render(object(), lambda step, total: seen.append((step, total))) is done
    assert seen == [(1, 2), (2, 2)]
