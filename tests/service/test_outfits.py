"""Outfits over HTTP: several garments in one ``POST /v1/tryon``."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.photos import garment
from tests.photos import person as person_photo
from tests.service.conftest import decoded, error_of
from tryon.imageio import load_image


@pytest.fixture(scope="module")
def person() -> bytes:
    return person_photo("p1_studio.jpg").read_bytes()


@pytest.fixture(scope="module")
def pants_id(client: TestClient, pants_photo: bytes) -> str:
    response = client.post("/v1/garments", files={"photo": ("pants.jpg", pants_photo)})
    assert response.status_code in (200, 201), response.text
    assert response.json()["category"] == "lower"
    return str(response.json()["id"])


def post(
    client: TestClient,
    person: bytes,
    files: list | None = None,
    data: dict[str, str] | list[tuple[str, str]] | None = None,
):
    """``POST /v1/tryon``; ``data`` as pairs repeats a field in the order given."""
    fields: dict[str, list[str]] = {}
    for name, value in data.items() if isinstance(data, dict) else data or []:
        fields.setdefault(name, []).append(value)
    return client.post(
        "/v1/tryon", files=[("person", ("p.jpg", person)), *(files or [])], data=fields
    )


def image_of(response: object) -> np.ndarray:
    assert response.status_code == 200, response.text
    return np.asarray(decoded(response.content).convert("RGB"))


@pytest.fixture(scope="module")
def outfit_steps(client: TestClient, person: bytes, shirt_id: str, pants_id: str) -> dict:
    """The outfit with steps=true: the image and the union mask."""
    response = post(client, person, data={"garment_ids": f"{shirt_id},{pants_id}", "steps": "true"})
    assert response.status_code == 200, response.text
    return dict(response.json())


def picture(data_uri: str) -> np.ndarray:
    return np.asarray(decoded(base64.b64decode(data_uri.split(",", 1)[1])))


def test_an_outfit_changes_the_photo_only_inside_the_union_of_its_masks(
    client: TestClient, person: bytes, shirt_id: str, pants_id: str, outfit_steps: dict
) -> None:
    assert outfit_steps["outfit"] == ["lower", "upper"]
    assert outfit_steps["category"] == "upper"
    steps = {step["name"]: step["image"] for step in outfit_steps["steps"]}
    union = picture(steps["agnostic_mask"]) >= 128
    response = post(client, person, data={"garment_ids": f"{shirt_id},{pants_id}", "format": "png"})
    assert json.loads(response.headers["X-Tryon-Outfit"]) == ["lower", "upper"]
    result = image_of(response)
    photo = load_image(person)
    changed = np.any(result != photo, axis=2)
    assert union.shape == changed.shape
    assert not (changed & ~union).any()
    # Both garments went on: the legs changed as well as the chest.
    height = photo.shape[0]
    assert changed[int(0.3 * height) : int(0.45 * height)].mean() > 0.1
    assert changed[int(0.6 * height) : int(0.8 * height)].mean() > 0.1
    single = image_of(post(client, person, data={"garment_id": shirt_id, "format": "png"}))
    assert not np.array_equal(single, result)


def test_every_way_of_naming_the_garments_gives_the_same_outfit(
    client: TestClient,
    person: bytes,
    shirt_id: str,
    pants_id: str,
    shirt_photo: bytes,
    pants_photo: bytes,
) -> None:
    comma = image_of(
        post(client, person, data={"garment_ids": f"{shirt_id}, {pants_id}", "format": "png"})
    )
    repeated = image_of(
        post(
            client,
            person,
            data=[("garment_ids", pants_id), ("garment_ids", shirt_id), ("format", "png")],
        )
    )
    assert np.array_equal(comma, repeated)
    files = [("garment", ("a.jpg", shirt_photo)), ("garment", ("b.jpg", pants_photo))]
    uploaded = post(
        client,
        person,
        files,
        data=[("category", "upper"), ("category", "lower"), ("format", "png")],
    )
    assert np.array_equal(comma, image_of(uploaded))
    mixed = post(
        client,
        person,
        [("garment", ("b.jpg", pants_photo))],
        data={"garment_id": shirt_id, "format": "png"},
    )
    assert np.array_equal(comma, image_of(mixed))


@pytest.mark.parametrize(
    ("case", "status", "kind", "words"),
    [
        ("three", 400, "OutfitError", "garment_ids: 3 garments were sent"),
        ("two tops", 400, "OutfitError", "garment_ids: 2 garments are tops (upper)"),
        ("dress", 400, "OutfitError", "garment_ids: a dress or other one-piece (overall)"),
        ("categories", 400, "ValidationError", "category: 1 values for 2 garments"),
        ("bad category", 400, "ValidationError", "category: unknown category 'hat'"),
        ("unknown id", 404, "UnknownGarmentError", "nope"),
        ("mask", 400, "ValidationError", "mask: an area is drawn for one garment"),
        ("two persons", 400, "ValidationError", "person: 2 files were sent"),
    ],
)
def test_outfits_that_cannot_be_tried_are_refused(
    client: TestClient,
    person: bytes,
    shirt_id: str,
    pants_id: str,
    case: str,
    status: int,
    kind: str,
    words: str,
) -> None:
    both = f"{shirt_id},{pants_id}"
    files: list = []
    data: list[tuple[str, str]] = [("garment_ids", both)]
    if case == "three":
        data = [("garment_ids", both), ("garment_ids", shirt_id)]
    elif case == "two tops":
        data = [("garment_ids", f"{shirt_id},{shirt_id}")]
    elif case == "dress":
        data += [("category", "overall"), ("category", "lower")]
    elif case == "categories":
        data += [("category", "upper")]
    elif case == "bad category":
        data += [("category", "upper"), ("category", "hat")]
    elif case == "unknown id":
        data = [("garment_ids", f"{shirt_id},nope")]
    elif case == "mask":
        mask = garment("shirts_1_front.jpg").read_bytes()
        files = [("mask", ("m.jpg", mask))]
    elif case == "two persons":
        files = [("person", ("b.jpg", person))]
    response = post(client, person, files, data)
    assert response.status_code == status, response.text
    error = error_of(response)
    assert error["type"] == kind
    assert words in error["message"], error


def test_a_job_refuses_an_outfit(
    client: TestClient, person: bytes, shirt_id: str, pants_id: str
) -> None:
    response = client.post(
        "/v1/jobs",
        files={"person": ("p.jpg", person)},
        data={"garment_ids": f"{shirt_id},{pants_id}"},
    )
    assert response.status_code == 400
    assert error_of(response)["message"].startswith(
        "garment_ids: an outfit of several garments is tried on by POST /v1/tryon"
    )


def test_one_garment_in_garment_ids_is_a_plain_try_on(
    client: TestClient, person: bytes, shirt_id: str
) -> None:
    plain = post(client, person, data={"garment_id": shirt_id, "format": "png"})
    listed = post(client, person, data={"garment_ids": shirt_id, "format": "png"})
    assert "X-Tryon-Outfit" not in listed.headers
    assert np.array_equal(image_of(plain), image_of(listed))
