"""The person cache: a shopper's photo is analysed once while they try garments on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import PHOTOS
from tests.service.conftest import make_client
from tryon import NoPersonError, TryOn
from tryon.engines.warp import PreparedPerson
from tryon.service.people import PersonCache

PERSON = PHOTOS / "people" / "p1_studio.jpg"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def counting(prepared: list[bytes]):  # type: ignore[no-untyped-def]
    """A stand-in for TryOn.prepare_person that records the photos it prepares."""

    def prepare(photo: bytes) -> PreparedPerson:
        prepared.append(photo)
        return PreparedPerson(image=None, body=None)  # type: ignore[arg-type]

    return prepare


def test_a_photo_is_prepared_once_then_reused() -> None:
    cache, calls = PersonCache(entries=4, ttl_s=60), []
    first, fresh = cache.get(b"a", counting(calls))
    assert fresh
    assert cache.get(b"a", counting(calls)) == (first, False)
    assert calls == [b"a"] and (cache.hits, cache.misses) == (1, 1)


def test_the_least_recently_used_photo_goes_first() -> None:
    cache, calls = PersonCache(entries=2, ttl_s=60), []
    for photo in (b"a", b"b", b"a", b"c", b"a", b"b"):
        cache.get(photo, counting(calls))
    # "b" was dropped for "c" (it was used longest ago), then prepared again.
    assert calls == [b"a", b"b", b"c", b"b"]
    assert len(cache) == 2


def test_unused_photos_are_forgotten_after_the_ttl() -> None:
    clock = Clock()
    cache, calls = PersonCache(entries=4, ttl_s=10, clock=clock), []
    cache.get(b"a", counting(calls))
    clock.now = 9.0
    cache.get(b"a", counting(calls))  # used again: kept another 10 s
    clock.now = 18.0
    assert len(cache) == 1
    clock.now = 19.5
    assert len(cache) == 0
    cache.get(b"a", counting(calls))
    assert calls == [b"a", b"a"]


def test_zero_entries_keeps_nothing() -> None:
    cache, calls = PersonCache(entries=0, ttl_s=60), []
    assert cache.get(b"a", counting(calls))[1]
    assert cache.get(b"a", counting(calls))[1]
    assert calls == [b"a", b"a"] and len(cache) == 0


def test_a_photo_that_fails_is_not_kept() -> None:
    cache = PersonCache(entries=4, ttl_s=60)

    def refuse(photo: bytes) -> PreparedPerson:
        raise NoPersonError("no person found")

    for _ in range(2):
        with pytest.raises(NoPersonError):
            cache.get(b"a", refuse)
    assert len(cache) == 0 and cache.misses == 2


def test_the_second_garment_on_a_photo_skips_its_analysis(
    tryon: TryOn, tmp_path: Path, shirt_photo: bytes, pants_photo: bytes
) -> None:
    """Over HTTP: the same photo again is not analysed again, and the image is the same
    as with the cache switched off."""
    person = PERSON.read_bytes()

    def post(client, garment: bytes):  # type: ignore[no-untyped-def]
        response = client.post(
            "/v1/tryon",
            files={"person": ("me.jpg", person), "garment": ("g.jpg", garment)},
            data={"format": "png"},
        )
        assert response.status_code == 200, response.text
        return response.content, json.loads(response.headers["x-tryon-timings"])

    with make_client(tryon, tmp_path / "a") as client:
        shirt, shirt_timings = post(client, shirt_photo)
        pants, pants_timings = post(client, pants_photo)
        again, again_timings = post(client, shirt_photo)
        assert len(client.app.state.services.people) == 1
    assert list(shirt_timings)[:3] == ["body", "read", "garment"], shirt_timings
    assert "scene" in shirt_timings
    assert "body" not in pants_timings and "scene" in pants_timings  # a new category
    assert "body" not in again_timings and "scene" not in again_timings
    assert again == shirt
    with make_client(tryon, tmp_path / "b", person_cache_entries=0) as client:
        assert post(client, pants_photo)[0] == pants
        assert "body" in post(client, shirt_photo)[1]


def test_serve_takes_the_cache_size_and_refuses_a_negative_one() -> None:
    from tryon import cli
    from tryon.cli.serve import settings_from_args
    from tryon.errors import TryOnError

    parser = cli.build_parser()
    args = parser.parse_args(["serve", "--person-cache", "3", "--person-cache-ttl", "60"])
    settings = settings_from_args(args)
    assert (settings.person_cache_entries, settings.person_cache_ttl_s) == (3, 60.0)
    with pytest.raises(TryOnError, match="person_cache_entries must not be negative"):
        settings_from_args(parser.parse_args(["serve", "--person-cache", "-1"]))
