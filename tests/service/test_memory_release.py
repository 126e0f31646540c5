"""A photo over the working size has all the free memory handed back when its work
ends (the pool falling idle, or its job done); ordinary try-ons keep theirs."""

from __future__ import annotations

import ctypes

import cv2
import pytest
from fastapi.testclient import TestClient

from tests.service.conftest import encoded, events, submit
from tryon.allocator import free_heap_bytes, release_after_large_photo, release_free_memory
from tryon.imageio import load_image
from tryon.service import work
from tryon.service.settings import PACKAGE_ROOT

PERSON = PACKAGE_ROOT.parents[1] / "samples" / "people" / "p1_studio.jpg"


def free_blocks(count: int, size: int) -> int:
    """Allocates, touches and frees ``count`` heap blocks of ``size`` bytes; the
    allocator's free bytes after."""
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    blocks = [libc.malloc(size) for _ in range(count)]
    for block in blocks:
        ctypes.memset(block, 1, size)
    for block in reversed(blocks):
        libc.free(ctypes.c_void_p(block))
    free = free_heap_bytes()
    assert free is not None
    return free


def test_a_large_photo_has_everything_handed_back_once() -> None:
    if free_heap_bytes() is None:
        pytest.skip("not glibc 2.33 or later: mallinfo2 is missing")
    release_free_memory(above=0)  # whatever earlier tests asked for is done
    free = free_blocks(4, 32 << 20)  # under the mmap threshold: in the heap
    assert release_free_memory(above=free + 1) == 0  # under the bound: kept
    release_after_large_photo()
    assert release_free_memory(above=free + 1) >= free // 2  # the bound is ignored once
    free = free_blocks(4, 32 << 20)
    assert release_free_memory(above=free + 1) == 0  # and only once


def recorded_releases(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records the service's calls to the allocator (nothing is trimmed)."""
    calls: list[str] = []
    monkeypatch.setattr(work, "release_after_large_photo", lambda: calls.append("large"))
    monkeypatch.setattr(work, "release_free_memory", lambda: calls.append("release") or 0)
    return calls


def test_only_a_photo_over_the_working_size_asks_for_the_release(
    client: TestClient, shirt_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = recorded_releases(monkeypatch)
    image = load_image(PERSON)
    ordinary = encoded(cv2.resize(image, (768, 1024)), "JPEG", quality=90)
    large = encoded(cv2.resize(image, (1536, 2752)), "JPEG", quality=90)  # 4.2 MP
    for photo in (ordinary, large):
        answer = client.post(
            "/v1/tryon", files={"person": ("p.jpg", photo)}, data={"garment_id": shirt_id}
        )
        assert answer.status_code == 200, answer.text
    assert calls == ["large"]  # the pool's idle call then hands everything back

    # A job runs on a job thread, not the pool's: it releases the memory itself.
    calls.clear()
    for photo in (ordinary, large):
        job = submit(client, photo, garment_id=shirt_id, engine="warp")
        assert events(client, job["id"])[-1][0] == "done"
    assert calls == ["large", "release"]
