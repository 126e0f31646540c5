"""Garment adapters over HTTP: ``POST /v1/garments/{id}/adapter`` tunes one as a job with
per-step progress, ``GET /v1/garments/{id}`` shows it, catvton try-ons of that garment
(only) change, ``DELETE`` brings back the base model's output bit for bit; bad input is
a 4xx naming the field before any work starts (tiny models, the real people photos)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.catalog.lora import OTHER, SHIRT
from tests.photos import FULL_BODY, PERSON
from tests.service.conftest import (
    decoded,
    diffusion_settings,
    encoded,
    error_of,
    events,
    make_client,
    submit,
)
from tryon import TryOn
from tryon.training.adapter_config import MIN_PHOTOS

STEPS = 3
TUNE_FIELDS = {"rank": "4", "steps": str(STEPS), "lr": "5e-3", "size": "64x48"}


@pytest.fixture(scope="module")
def tuning(
    tryon: TryOn, tmp_path_factory: pytest.TempPathFactory, tiny_weights_dir: Path
) -> Iterator[TestClient]:
    """A client of an app with the tiny weights and a catalog of its own (the adapters
    tuned here must not reach the session catalog's try-ons)."""
    catalog = tmp_path_factory.mktemp("adapter-catalog")
    with make_client(tryon, catalog, **diffusion_settings(tiny_weights_dir)) as client:
        yield client


@pytest.fixture(scope="module")
def garments(tuning: TestClient) -> tuple[str, str]:
    """The ids of two catalogued shirts: the one tuned, and another."""
    found = []
    for photo in (SHIRT, OTHER):
        response = tuning.post(
            "/v1/garments",
            files={"photo": (photo.name, photo.read_bytes())},
            data={"category": "upper"},
        )
        assert response.status_code == 201, response.text
        found.append(str(response.json()["id"]))
    return found[0], found[1]


def photo_files(photos: list[bytes]) -> list[tuple[str, tuple[str, bytes]]]:
    return [("photos", (f"worn{i}.jpg", data)) for i, data in enumerate(photos)]


def worn_photos(count: int = MIN_PHOTOS) -> list[bytes]:
    return [p.read_bytes() for p in FULL_BODY[:count]]


def try_on(client: TestClient, garment_id: str) -> np.ndarray:
    """A catvton try-on of the session's person in the garment, as pixels."""
    job = submit(client, PERSON.read_bytes(), garment_id=garment_id, engine="catvton", format="png")
    assert events(client, job["id"])[-1][0] == "done"
    result = client.get(str(job["result_url"]))
    assert result.status_code == 200, result.text
    return np.asarray(decoded(result.content))


def jobs_waiting(client: TestClient) -> dict[str, int]:
    counts: dict[str, int] = client.app.state.services.store.counts()  # type: ignore[attr-defined]
    return counts


def test_a_tuned_adapter_changes_only_its_garments_try_ons_until_removed(
    tuning: TestClient, garments: tuple[str, str]
) -> None:
    tuned, other = garments
    assert tuning.get(f"/v1/garments/{tuned}").json()["adapter"] is None
    base_tuned, base_other = try_on(tuning, tuned), try_on(tuning, other)

    response = tuning.post(
        f"/v1/garments/{tuned}/adapter", files=photo_files(worn_photos()), data=TUNE_FIELDS
    )
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"] == job["url"] == f"/v1/jobs/{job['id']}"
    seen = events(tuning, job["id"])
    assert seen[-1][0] == "done", seen
    progress = [data for name, data in seen if name == "progress"]
    assert progress == [{"step": s, "total": STEPS} for s in range(STEPS + 1)]
    state = tuning.get(str(job["url"])).json()
    assert (state["kind"], state["status"], state["progress"]) == (
        "tune",
        "done",
        {"step": STEPS, "total": STEPS},
    )
    result = tuning.get(str(job["result_url"]))
    assert result.status_code == 200 and result.headers["content-type"] == "application/json"
    document = result.json()
    assert document["garment_id"] == tuned and document["rejected"] == []

    adapter = tuning.get(f"/v1/garments/{tuned}").json()["adapter"]
    assert adapter == document["adapter"]
    assert (adapter["rank"], adapter["steps"], adapter["size"]) == (4, STEPS, [64, 48])
    assert adapter["learning_rate"] == pytest.approx(5e-3)
    assert adapter["photos"] == [f"photo {i}" for i in range(1, MIN_PHOTOS + 1)]
    assert adapter["created"] and adapter["version"] == "mix-48k-1024"
    listed = {g["id"]: g for g in tuning.get("/v1/garments").json()["garments"]}
    assert listed[tuned]["adapter"] == adapter and listed[other]["adapter"] is None

    assert not np.array_equal(try_on(tuning, tuned), base_tuned)
    assert np.array_equal(try_on(tuning, other), base_other)

    assert tuning.delete(f"/v1/garments/{tuned}/adapter").status_code == 204
    assert tuning.get(f"/v1/garments/{tuned}").json()["adapter"] is None
    assert np.array_equal(try_on(tuning, tuned), base_tuned)
    again = tuning.delete(f"/v1/garments/{tuned}/adapter")
    assert again.status_code == 404
    error = error_of(again)
    assert error["type"] == "NoAdapterError" and f"/v1/garments/{tuned}/adapter" in error["message"]


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"rank": "0"}, "rank"),
        ({"rank": "four"}, "rank"),
        ({"rank": "1000"}, "rank"),
        ({"steps": "0"}, "steps"),
        ({"steps": "1.5"}, "steps"),
        ({"lr": "-1"}, "lr"),
        ({"lr": "fast"}, "lr"),
        ({"lr": "nan"}, "lr"),
        ({"size": "64"}, "size"),
        ({"size": "60x48"}, "size"),
        ({"size": "4096x4096"}, "size"),
    ],
)
def test_bad_settings_are_400_naming_the_field(
    tuning: TestClient, garments: tuple[str, str], fields: dict[str, str], named: str
) -> None:
    response = tuning.post(
        f"/v1/garments/{garments[0]}/adapter", files=photo_files(worn_photos()), data=fields
    )
    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["type"] == "ValidationError" and error["message"].startswith(named)
    assert jobs_waiting(tuning) == {"queued": 0, "running": 0}


def test_bad_photos_and_unknown_garments_are_refused_before_any_work(
    tuning: TestClient, garments: tuple[str, str]
) -> None:
    url = f"/v1/garments/{garments[0]}/adapter"
    none = tuning.post(url, data={"rank": "4"}, files={"unused": ("x.txt", b"x")})
    assert none.status_code == 400 and error_of(none)["type"] == "MissingFieldError"
    assert "photos" in error_of(none)["message"]
    too_few = tuning.post(url, files=photo_files(worn_photos(MIN_PHOTOS - 1)))
    assert too_few.status_code == 400
    assert error_of(too_few)["message"].startswith(
        f"photos: an adapter needs at least {MIN_PHOTOS}"
    )
    not_image = tuning.post(url, files=photo_files([*worn_photos(), b"not an image at all"]))
    assert not_image.status_code == 415
    assert error_of(not_image)["message"].startswith(f"photos: photo {MIN_PHOTOS + 1}")
    unknown = tuning.post(
        "/v1/garments/0123456789abcdef0123/adapter", files=photo_files(worn_photos())
    )
    assert unknown.status_code == 404 and error_of(unknown)["type"] == "UnknownGarmentError"
    not_multipart = tuning.post(url, json={"photos": []})
    assert not_multipart.status_code == 415
    assert jobs_waiting(tuning) == {"queued": 0, "running": 0}


def test_photos_without_a_person_fail_the_job_with_each_reason(
    tuning: TestClient, garments: tuple[str, str]
) -> None:
    rooms = [encoded(np.full((400, 300, 3), 60 * i, np.uint8)) for i in range(1, 4)]
    response = tuning.post(
        f"/v1/garments/{garments[1]}/adapter", files=photo_files(rooms), data=TUNE_FIELDS
    )
    assert response.status_code == 202, response.text
    name, error = events(tuning, response.json()["id"])[-1]
    assert name == "error" and error["type"] == "TrainingError"
    assert "only 0 of 3 photos can be used" in str(error["message"])
    assert tuning.get(f"/v1/garments/{garments[1]}").json()["adapter"] is None


def test_a_server_without_weights_says_it_needs_them(client: TestClient, shirt_id: str) -> None:
    response = client.post(f"/v1/garments/{shirt_id}/adapter", files=photo_files(worn_photos()))
    assert response.status_code == 503
    error = error_of(response)
    assert (
        error["type"] == "TuningUnavailableError"
        and "tryon serve --weights DIR" in error["message"]
    )
    removed = client.delete(f"/v1/garments/{shirt_id}/adapter")
    assert removed.status_code == 404 and error_of(removed)["type"] == "NoAdapterError"
    unknown = client.delete("/v1/garments/0123456789abcdef0123/adapter")
    assert unknown.status_code == 404 and error_of(unknown)["type"] == "UnknownGarmentError"


def test_the_routes_are_documented(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    route = paths["/v1/garments/{garment_id}/adapter"]
    assert set(route) == {"post", "delete"}
    schema = route["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert schema["required"] == ["photos"]
    assert schema["properties"]["photos"]["type"] == "array"
    assert {"rank", "steps", "lr", "size"} <= set(schema["properties"])


def test_a_tuning_job_runs_from_a_sqlite_job_store(
    tryon: TryOn, tmp_path: Path, tiny_weights_dir: Path
) -> None:
    settings = {**diffusion_settings(tiny_weights_dir), "job_store": f"sqlite:{tmp_path / 'j.db'}"}
    with make_client(tryon, tmp_path / "catalog", **settings) as client:
        added = client.post("/v1/garments", files={"photo": (SHIRT.name, SHIRT.read_bytes())})
        garment_id = added.json()["id"]
        fields = {**TUNE_FIELDS, "steps": "1"}
        response = client.post(
            f"/v1/garments/{garment_id}/adapter", files=photo_files(worn_photos()), data=fields
        )
        assert response.status_code == 202, response.text
        assert events(client, response.json()["id"])[-1][0] == "done"
        assert client.get(f"/v1/garments/{garment_id}").json()["adapter"]["steps"] == 1
