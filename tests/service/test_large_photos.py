"""Large photos over HTTP, and the memory the service hands back when it falls idle."""

from __future__ import annotations

import asyncio
import base64
import ctypes
import threading
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.service.conftest import decoded, encoded
from tryon import TryOn
from tryon.allocator import free_heap_bytes, release_free_memory
from tryon.imageio import load_image
from tryon.ops.working_size import WORKING_PIXELS, working_shape
from tryon.pipeline import ReducedPerson
from tryon.service.metrics import Metrics
from tryon.service.people import PersonCache
from tryon.service.pool import WorkPool
from tryon.service.settings import PACKAGE_ROOT

T = TypeVar("T")

PERSON = PACKAGE_ROOT.parents[1] / "samples" / "people" / "p1_studio.jpg"


@pytest.fixture(scope="module")
def large_jpeg() -> bytes:
    """The sample person at about 4 megapixels (over the working size), as a JPEG."""
    image = load_image(PERSON)
    big = cv2.resize(image, (1536, 2752), interpolation=cv2.INTER_CUBIC)
    return encoded(big, "JPEG", quality=90)


def test_a_large_photo_is_answered_at_its_size_with_steps_at_the_working_size(
    client: TestClient, shirt_id: str, large_jpeg: bytes
) -> None:
    response = client.post(
        "/v1/tryon",
        files={"person": ("big.jpg", large_jpeg)},
        data={"garment_id": shirt_id, "steps": "true", "format": "png"},
    )
    assert response.status_code == 200, response.text
    document = response.json()
    image = np.asarray(decoded(base64.b64decode(document["image"].split(",", 1)[1])))
    full = load_image(large_jpeg)
    assert image.shape == full.shape
    steps = {step["name"]: step["image"] for step in document["steps"]}
    mask = decoded(base64.b64decode(steps["agnostic_mask"].split(",", 1)[1]))
    working = working_shape(full.shape[:2])
    assert mask.size == (working[1], working[0])
    assert "restore" in document["timings"]
    # Outside the area the try-on may change (upscaled), the photo's own pixels.
    changed = np.any(image != full, axis=2)
    assert 0.02 < changed.mean() < 0.5


def test_a_large_photo_is_not_kept_in_the_person_cache(tryon: TryOn, large_jpeg: bytes) -> None:
    cache = PersonCache(entries=4, ttl_s=60)
    prepared, fresh = cache.get(large_jpeg, tryon.prepare_person)
    assert fresh and isinstance(prepared, ReducedPerson)
    assert prepared.image.shape[0] * prepared.image.shape[1] <= WORKING_PIXELS
    assert len(cache) == 0
    _, fresh = cache.get(large_jpeg, tryon.prepare_person)
    assert fresh  # analysed again
    small = PERSON.read_bytes()
    cache.get(small, tryon.prepare_person)
    assert len(cache) == 1


def run_alone(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on a thread of its own: the browser tests' session keeps an event
    loop running on the main thread, where ``asyncio.run`` refuses to start."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def test_the_pool_calls_on_idle_once_the_last_call_ends() -> None:
    idle: list[int] = []
    pool = WorkPool(
        2,
        max_waiting=2,
        retry_after_s=1,
        metrics=Metrics(),
        on_idle=lambda: idle.append(pool.admitted),
    )
    release = threading.Event()

    async def two_at_once() -> None:
        first = asyncio.ensure_future(pool.run(release.wait, 5))
        second = asyncio.ensure_future(pool.run(lambda: 1))
        assert await second == 1
        assert idle == []  # the first is still running
        release.set()
        assert await first is True

    run_alone(two_at_once())
    pool.close()
    assert idle == [0]


def test_the_pool_survives_a_failing_on_idle() -> None:
    def fail() -> None:
        raise RuntimeError("boom")

    pool = WorkPool(1, max_waiting=0, retry_after_s=1, metrics=Metrics(), on_idle=fail)
    assert run_alone(pool.run(lambda: 2)) == 2
    assert run_alone(pool.run(lambda: 3)) == 3
    pool.close()


def test_free_memory_is_handed_back_above_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    if free_heap_bytes() is None:
        pytest.skip("not glibc 2.33 or later: mallinfo2 is missing")
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    blocks = [libc.malloc(32 << 20) for _ in range(8)]  # under the mmap threshold: heap
    for block in blocks:
        ctypes.memset(block, 1, 32 << 20)
    for block in reversed(blocks):
        libc.free(ctypes.c_void_p(block))
    free = free_heap_bytes()
    assert free is not None
    assert release_free_memory(above=free + 1) == 0  # under the bound: nothing done
    monkeypatch.setenv("TRYON_KEEP_FREED_MEMORY", "0")
    assert release_free_memory(above=0) == 0  # the allocator is left alone
    monkeypatch.delenv("TRYON_KEEP_FREED_MEMORY")
    assert release_free_memory(above=0) >= free // 2
