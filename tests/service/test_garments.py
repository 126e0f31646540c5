"""/v1/garments: the catalog over HTTP."""

from __future__ import annotations

import numpy as np
from fastapi.testclient import TestClient

from tests.service.conftest import decoded, encoded, error_of

GARMENT_KEYS = {
    "id",
    "name",
    "category",
    "source",
    "width",
    "height",
    "created",
    "photo_url",
    "mask_url",
    "adapter",
}


def test_add_is_201_then_200_with_the_same_garment(client: TestClient, pants_photo: bytes) -> None:
    first = client.post(
        "/v1/garments",
        files={"photo": ("jeans.jpg", pants_photo, "image/jpeg")},
        data={"name": "jeans", "category": "auto"},
    )
    assert first.status_code == 201, first.text
    garment = first.json()
    assert set(garment) == GARMENT_KEYS
    assert garment["name"] == "jeans"
    assert garment["category"] == "lower"
    assert garment["source"] == "product"
    assert garment["photo_url"] == f"/v1/garments/{garment['id']}/photo"
    again = client.post("/v1/garments", files={"photo": ("again.jpg", pants_photo)})
    assert again.status_code == 200
    assert again.json() == garment
    listed = client.get("/v1/garments").json()["garments"]
    assert [g for g in listed if g["id"] == garment["id"]] == [garment]
    assert client.get(f"/v1/garments/{garment['id']}").json() == garment


def test_photo_and_mask(client: TestClient, shirt_id: str) -> None:
    garment = client.get(f"/v1/garments/{shirt_id}").json()
    photo = client.get(garment["photo_url"])
    assert photo.status_code == 200
    assert photo.headers["content-type"] == "image/jpeg"
    assert decoded(photo.content).size == (garment["width"], garment["height"])
    mask = client.get(garment["mask_url"])
    assert mask.headers["content-type"] == "image/png"
    pixels = np.asarray(decoded(mask.content))
    assert pixels.shape == (garment["height"], garment["width"])
    assert set(np.unique(pixels)) == {0, 255}
    assert 0.05 < (pixels == 255).mean() < 0.95


def test_delete(client: TestClient, shirt_photo: bytes) -> None:
    # The same photo as "upper" is another garment than the session's "auto" shirt.
    added = client.post(
        "/v1/garments", files={"photo": ("s.jpg", shirt_photo)}, data={"category": "upper"}
    ).json()
    assert client.delete(f"/v1/garments/{added['id']}").status_code == 204
    assert client.get(f"/v1/garments/{added['id']}").status_code == 404
    again = client.delete(f"/v1/garments/{added['id']}")
    assert again.status_code == 404
    assert error_of(again)["type"] == "UnknownGarmentError"


def test_unknown_garment_everywhere(client: TestClient) -> None:
    for path in ("", "/photo", "/mask"):
        response = client.get(f"/v1/garments/0123456789abcdef0123{path}")
        assert response.status_code == 404
        assert error_of(response)["type"] == "UnknownGarmentError"
    assert client.get("/v1/garments/..%2F..%2Fetc").status_code == 404


def test_bad_uploads(client: TestClient, shirt_photo: bytes) -> None:
    not_image = client.post("/v1/garments", files={"photo": ("a.jpg", b"just text", "image/jpeg")})
    assert not_image.status_code == 415
    assert error_of(not_image)["type"] == "InvalidImageError"
    missing = client.post("/v1/garments", files={"other": ("a.jpg", shirt_photo)})
    assert missing.status_code == 400
    assert "photo" in error_of(missing)["message"]
    category = client.post(
        "/v1/garments", files={"photo": ("a.jpg", shirt_photo)}, data={"category": "hat"}
    )
    assert category.status_code == 400
    assert "unknown category" in error_of(category)["message"]
    assert error_of(category)["type"] == "ValidationError"
    assert error_of(category)["message"].startswith("category: unknown category 'hat'")
    two = client.post(
        "/v1/garments",
        files=[("photo", ("a.jpg", shirt_photo)), ("photo", ("b.jpg", shirt_photo))],
    )
    assert two.status_code == 400
    as_json = client.post("/v1/garments", json={"photo": "x"})
    assert as_json.status_code == 415
    assert "multipart/form-data" in error_of(as_json)["message"]


def test_garment_with_nothing_separable(client: TestClient) -> None:
    white = np.full((600, 600, 3), 246, np.uint8)
    white[100:500, 150:450] = 250
    response = client.post("/v1/garments", files={"photo": ("white.png", encoded(white))})
    assert response.status_code == 400
    error = error_of(response)
    assert error["type"] == "GarmentNotFoundError"
    assert "white" in error["message"]
