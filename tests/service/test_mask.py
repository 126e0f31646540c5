"""``/v1/mask``, ``/v1/mask/select`` and the ``mask`` field of ``POST /v1/tryon``."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.photos import person as person_photo
from tests.service.conftest import decoded, encoded, error_of
from tryon.imageio import load_image
from tryon.ops.working_size import WORKING_PIXELS


@pytest.fixture(scope="module")
def person() -> bytes:
    return person_photo("p1_studio.jpg").read_bytes()


@pytest.fixture(scope="module")
def area(client: TestClient, person: bytes, shirt_id: str) -> np.ndarray:
    response = client.post(
        "/v1/mask", files={"person": ("p.jpg", person)}, data={"garment_id": shirt_id}
    )
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    mask = np.asarray(decoded(response.content).convert("L")) >= 128
    assert mask.shape == np.asarray(decoded(person)).shape[:2]
    assert 0.05 < mask.mean() < 0.6
    return mask


def png(mask: np.ndarray) -> bytes:
    return encoded(np.where(mask, 255, 0).astype(np.uint8))


def test_a_given_mask_bounds_the_change(
    client: TestClient, person: bytes, shirt_id: str, area: np.ndarray
) -> None:
    given = area.copy()
    given[: given.shape[0] // 3] = False  # the neck and shoulders stay as they are
    response = client.post(
        "/v1/tryon",
        files={"person": ("p.jpg", person), "mask": ("m.png", png(given))},
        data={"garment_id": shirt_id, "format": "png"},
    )
    assert response.status_code == 200, response.text
    result = np.asarray(decoded(response.content).convert("RGB")).astype(int)
    photo = np.asarray(decoded(person).convert("RGB")).astype(int)
    changed = np.abs(result - photo).max(-1) > 0
    assert not (changed & ~given).any()
    assert changed[given].mean() > 0.2


@pytest.mark.parametrize("kind", ["empty", "size"])
def test_a_bad_mask_is_refused(
    client: TestClient, person: bytes, shirt_id: str, area: np.ndarray, kind: str
) -> None:
    bad = np.zeros_like(area) if kind == "empty" else np.ones((100, 80), bool)
    response = client.post(
        "/v1/tryon",
        files={"person": ("p.jpg", person), "mask": ("m.png", png(bad))},
        data={"garment_id": shirt_id},
    )
    assert response.status_code == 400
    message = error_of(response)["message"]
    expected = "no pixel is white" if kind == "empty" else "80x100 pixels, but the person photo"
    assert message.startswith("mask: ") and expected in message


def test_a_warp_job_refuses_a_mask(
    client: TestClient, person: bytes, shirt_id: str, area: np.ndarray
) -> None:
    response = client.post(
        "/v1/jobs",
        files={"person": ("p.jpg", person), "mask": ("m.png", png(area))},
        data={"garment_id": shirt_id},
    )
    assert response.status_code == 400
    message = error_of(response)["message"]
    assert message == "mask: only the catvton, hybrid, fashn engines take a mask here"


def test_select_finds_a_region_on_the_click_side(
    client: TestClient, person: bytes, area: np.ndarray
) -> None:
    ys, xs = np.nonzero(area)
    inside = (int(np.median(xs)), int(np.median(ys)))
    for x, y in ((40, 150), inside):
        response = client.post(
            "/v1/mask/select",
            files={"person": ("p.jpg", person), "mask": ("m.png", png(area))},
            data={"x": str(x), "y": str(y)},
        )
        assert response.status_code == 200, response.text
        region = np.asarray(decoded(response.content).convert("L")) >= 128
        assert region[y, x]
        assert region.sum() > 500  # more than the click: a region
        assert not (region & (~area if area[y, x] else area)).any()
    outside = client.post(
        "/v1/mask/select",
        files={"person": ("p.jpg", person), "mask": ("m.png", png(area))},
        data={"x": "5000", "y": "10"},
    )
    assert outside.status_code == 400 and error_of(outside)["message"].startswith("x: 5000")


def test_a_mask_on_a_12_megapixel_photo(client: TestClient, person: bytes, shirt_id: str) -> None:
    # The photo is dressed on a reduced working copy; the area is sent, and honoured,
    # at the photo's full size.
    photo = cv2.resize(load_image(person), (2592, 4640), interpolation=cv2.INTER_CUBIC)
    assert photo.shape[0] * photo.shape[1] > 12_000_000 > WORKING_PIXELS
    large = encoded(photo, "JPEG", quality=90)
    photo = load_image(large)
    found = client.post(
        "/v1/mask", files={"person": ("p.jpg", large)}, data={"garment_id": shirt_id}
    )
    assert found.status_code == 200, found.text
    area = np.asarray(decoded(found.content).convert("L")) >= 128
    assert area.shape == photo.shape[:2]
    given = area.copy()
    given[: given.shape[0] // 3] = False
    given[:, : given.shape[1] // 2] = False  # one thin straight edge across the area
    response = client.post(
        "/v1/tryon",
        files={"person": ("p.jpg", large), "mask": ("m.png", png(given))},
        data={"garment_id": shirt_id, "format": "png"},
    )
    assert response.status_code == 200, response.text
    assert "restore" in response.headers["X-Tryon-Timings"]
    result = np.asarray(decoded(response.content).convert("RGB"))
    assert result.shape == photo.shape
    changed = np.any(result != photo, axis=2)
    assert not (changed & ~given).any()
    assert changed[given].mean() > 0.2
    small = client.post(
        "/v1/tryon",
        files={"person": ("p.jpg", large), "mask": ("m.png", png(given[::2, ::2]))},
        data={"garment_id": shirt_id},
    )
    assert small.status_code == 400
    assert "mask: 1296x2320 pixels, but the person photo is 2592x4640" in error_of(small)["message"]
