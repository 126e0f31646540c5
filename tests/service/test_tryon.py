"""POST /v1/tryon: the image, its formats, the steps view, and every bad input as 4xx."""

from __future__ import annotations

import base64
import json
import struct
import zlib

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.conftest import PHOTOS, SELFIES
from tests.service.conftest import decoded, encoded, error_of
from tryon.imageio import load_image
from tryon.service import formats
from tryon.service.api_errors import APIError
from tryon.service.uploads import UploadForm
from tryon.service.work import parse_tryon_form

PERSON = PHOTOS / "people" / "p1_studio.jpg"


@pytest.fixture(scope="module")
def person() -> bytes:
    return PERSON.read_bytes()


def tryon(client: TestClient, person: bytes, **fields: str) -> object:
    return client.post("/v1/tryon", files={"person": ("person.jpg", person)}, data=fields)


def test_catalogued_garment_gives_webp_of_the_person_size(
    client: TestClient, person: bytes, shirt_id: str
) -> None:
    response = tryon(client, person, garment_id=shirt_id)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/webp"
    picture = decoded(response.content)
    assert picture.format == "WEBP"
    assert picture.size == Image.open(PERSON).size
    assert response.headers["x-tryon-category"] == "upper"
    timings = json.loads(response.headers["x-tryon-timings"])
    assert {"warp", "compose", "encode", "total"} <= set(timings)
    assert timings["garment"] < 0.05  # read from the catalog, not analysed
    assert json.loads(response.headers["x-tryon-warnings"]) == []


def test_uploaded_garment(client: TestClient, person: bytes, pants_photo: bytes) -> None:
    response = client.post(
        "/v1/tryon",
        files={"person": ("p.jpg", person), "garment": ("pants.jpg", pants_photo)},
        data={"category": "lower", "format": "png"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-tryon-category"] == "lower"
    assert json.loads(response.headers["x-tryon-timings"])["garment"] > 0
    result = np.asarray(decoded(response.content).convert("RGB"))
    original = load_image(PERSON)
    assert result.shape == original.shape
    assert not np.array_equal(result, original)


@pytest.mark.parametrize(
    ("fields", "accept", "media_type"),
    [
        ({"format": "jpeg"}, None, "image/jpeg"),
        ({"format": "JPG"}, None, "image/jpeg"),
        ({}, "image/png", "image/png"),
        ({}, "image/avif;q=0.5, image/jpeg", "image/jpeg"),
        ({}, "text/html,application/xhtml+xml,*/*;q=0.8", "image/webp"),
        ({"format": "webp"}, "image/png", "image/webp"),
        ({}, "image/webp;q=0", "image/png"),
        ({}, "image/webp;q=0, */*", "image/png"),
        ({}, "image/*;q=0.5, image/webp;q=0", "image/png"),
        ({}, "image/webp;q=0.1, */*;q=0.5", "image/png"),
        ({}, "image/png;q=0", "image/webp"),
    ],
)
def test_format_negotiation(fields: dict[str, str], accept: str | None, media_type: str) -> None:
    assert formats.choose_format(fields.get("format"), accept).media_type == media_type


@pytest.mark.skipif(not formats.avif_supported(), reason="this Pillow cannot write AVIF")
def test_avif(client: TestClient, person: bytes, shirt_id: str) -> None:
    response = tryon(client, person, garment_id=shirt_id, format="avif")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/avif"
    assert decoded(response.content).size == Image.open(PERSON).size


def test_avif_unsupported_is_415(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(formats, "avif_supported", lambda: False)
    with pytest.raises(APIError) as caught:
        formats.choose_format("avif", None)
    assert caught.value.status == 415 and "AVIF" in caught.value.message
    assert formats.choose_format(None, "image/avif, image/png;q=0.9").name == "png"


def test_webp_refused_by_accept_is_not_sent(
    client: TestClient, person: bytes, shirt_id: str
) -> None:
    response = client.post(
        "/v1/tryon",
        files={"person": ("person.jpg", person)},
        data={"garment_id": shirt_id},
        headers={"Accept": "image/webp;q=0"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert decoded(response.content).format == "PNG"


def test_accept_refusing_every_format_is_406() -> None:
    with pytest.raises(APIError) as caught:
        formats.choose_format(None, "image/*;q=0, */*;q=0")
    assert caught.value.status == 406 and "image/png" in caught.value.message


def test_unknown_format_is_415(client: TestClient, person: bytes, shirt_id: str) -> None:
    response = tryon(client, person, garment_id=shirt_id, format="gif")
    assert response.status_code == 415
    assert "webp" in error_of(response)["message"]


def test_steps(client: TestClient, person: bytes, shirt_id: str) -> None:
    response = tryon(client, person, garment_id=shirt_id, steps="true")
    assert response.status_code == 200, response.text
    document = response.json()
    assert {"image", "width", "height", "category", "timings", "warnings", "steps"} <= set(document)
    assert document["image"].startswith("data:image/webp;base64,")
    image = decoded(base64.b64decode(document["image"].split(",", 1)[1]))
    assert image.size == (document["width"], document["height"]) == Image.open(PERSON).size
    steps = {step["name"]: step["image"] for step in document["steps"]}
    assert {"agnostic_mask", "garment_mask", "keypoints", "warped_garment", "fill_mask"} <= set(
        steps
    )
    assert steps["agnostic_mask"].startswith("data:image/png;base64,")
    mask = decoded(base64.b64decode(steps["agnostic_mask"].split(",", 1)[1]))
    assert mask.mode == "L" and mask.size == image.size


# --- bad input: every case of the warp engine, over HTTP -------------------------------


def person_in_mode(mode: str) -> bytes:
    picture = Image.open(PERSON).convert("RGB").resize((384, 688))
    if mode == "RGBA":
        picture = picture.convert("RGBA")
        picture.putalpha(255)
    return encoded(picture.convert(mode), "JPEG" if mode == "CMYK" else "PNG")


@pytest.mark.parametrize("mode", ["L", "CMYK", "RGBA"])
def test_grey_cmyk_and_alpha_are_fine(client: TestClient, shirt_id: str, mode: str) -> None:
    response = tryon(client, person_in_mode(mode), garment_id=shirt_id, format="png")
    assert response.status_code == 200, response.text
    assert decoded(response.content).size == (384, 688)


def two_people() -> bytes:
    a = load_image(PHOTOS / "people" / "p1_studio.jpg")
    b = load_image(PHOTOS / "people" / "p2_studio.jpg")
    h = 800
    a = cv2.resize(a, (a.shape[1] * h // a.shape[0], h), interpolation=cv2.INTER_AREA)
    b = cv2.resize(b, (b.shape[1] * h // b.shape[0], h), interpolation=cv2.INTER_AREA)
    return encoded(np.concatenate([a, b], axis=1), "JPEG", quality=92)


def test_several_people_dresses_one_and_warns(client: TestClient, shirt_id: str) -> None:
    response = tryon(client, two_people(), garment_id=shirt_id)
    assert response.status_code == 200, response.text
    warnings = json.loads(response.headers["x-tryon-warnings"])
    assert any(w.startswith("1 other person is in the photo") for w in warnings), warnings


def truncated() -> bytes:
    data = PERSON.read_bytes()
    return data[: len(data) // 3]


def huge_png() -> bytes:
    """A PNG whose header claims 40,000 x 40,000 pixels (a decompression bomb's header;
    the pixels never get read, so a few rows of data are enough)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 40_000, 40_000, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\0" * 40_001 * 16)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


BAD_PERSONS = {
    "not an image": (b"hello, I am a text file", 415, "InvalidImageError", "not an image"),
    "empty": (b"", 400, "InvalidImageError", "empty"),
    "truncated": (None, 400, "InvalidImageError", "truncated"),
    "one pixel": (encoded(Image.new("RGB", (1, 1))), 400, "ImageSizeError", "at least 64"),
    "huge": (None, 413, "ImageSizeError", "megapixels"),
    "no person": (
        encoded(np.full((800, 600, 3), 200, np.uint8)),
        400,
        "NoPersonError",
        "no person",
    ),
}


@pytest.mark.parametrize("case", list(BAD_PERSONS))
def test_bad_person_photo(client: TestClient, shirt_id: str, case: str) -> None:
    data, status, kind, words = BAD_PERSONS[case]
    if case == "truncated":
        data = truncated()
    elif case == "huge":
        data = huge_png()
    assert data is not None
    response = tryon(client, data, garment_id=shirt_id)
    assert response.status_code == status, response.text
    error = error_of(response)
    assert error["type"] == kind
    assert words in error["message"]


def test_selfie_asked_for_trousers(client: TestClient, pants_photo: bytes) -> None:
    response = client.post(
        "/v1/tryon",
        files={
            "person": ("selfie.jpg", SELFIES[0].read_bytes()),
            "garment": ("p.jpg", pants_photo),
        },
        data={"category": "lower"},
    )
    assert response.status_code == 400
    error = error_of(response)
    assert error["type"] == "BodyNotVisibleError" and "hips and knees" in error["message"]


def test_garment_with_nothing_separable(client: TestClient, person: bytes) -> None:
    noise = np.random.default_rng(0).integers(0, 255, (600, 600, 3), dtype=np.uint8)
    response = client.post(
        "/v1/tryon", files={"person": ("p.jpg", person), "garment": ("noise.png", encoded(noise))}
    )
    assert response.status_code == 400
    assert error_of(response)["type"] == "GarmentNotFoundError"


def test_trousers_asked_as_a_top(client: TestClient, person: bytes, pants_photo: bytes) -> None:
    response = client.post(
        "/v1/tryon",
        files={"person": ("p.jpg", person), "garment": ("p.jpg", pants_photo)},
        data={"category": "upper"},
    )
    assert response.status_code == 400
    error = error_of(response)
    assert error["type"] == "GarmentNotFoundError" and "trousers" in error["message"]


def test_unknown_garment_id(client: TestClient, person: bytes) -> None:
    response = tryon(client, person, garment_id="0123456789abcdef0123")
    assert response.status_code == 404
    assert error_of(response)["type"] == "UnknownGarmentError"


@pytest.mark.parametrize(
    ("fields", "files", "status", "kind", "words"),
    [
        ({"garment_id": "x"}, {}, 400, "MissingFieldError", "person"),
        ({}, {"person": None}, 400, "MissingFieldError", "garment_id"),
        (  # an outfit of two tops
            {"garment_id": "SHIRT"},
            {"person": None, "garment": "shirt"},
            400,
            "OutfitError",
            "garment_id and garment: 2 garments are tops",
        ),
        (
            {"garment_id": "SHIRT", "category": "hat"},
            {"person": None},
            400,
            "ValidationError",
            "category: unknown category 'hat'",
        ),
        (
            {"garment_id": "SHIRT", "engine": "magic"},
            {"person": None},
            400,
            "UnknownEngineError",
            "warp",
        ),
        (
            {"garment_id": "SHIRT", "engine": "catvton"},
            {"person": None},
            400,
            "EngineUnavailableError",
            "weights",
        ),
        (
            {"garment_id": "SHIRT", "steps": "maybe"},
            {"person": None},
            400,
            "ValidationError",
            "steps",
        ),
    ],
)
def test_bad_fields(
    client: TestClient,
    person: bytes,
    shirt_id: str,
    shirt_photo: bytes,
    fields: dict[str, str],
    files: dict[str, object],
    status: int,
    kind: str,
    words: str,
) -> None:
    data = {k: (shirt_id if v == "SHIRT" else v) for k, v in fields.items()}
    uploads = {name: (f"{name}.jpg", person if name == "person" else shirt_photo) for name in files}
    response = client.post("/v1/tryon", files=uploads or {"other": ("x.jpg", person)}, data=data)
    assert response.status_code == status, response.text
    error = error_of(response)
    assert error["type"] == kind
    assert words in error["message"]


def test_not_multipart(client: TestClient) -> None:
    response = client.post(
        "/v1/tryon", content=b"person=me", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 415
    assert error_of(response)["type"] == "UnsupportedMediaTypeError"


@pytest.mark.parametrize("route", ["/v1/tryon", "/v1/jobs"])
def test_two_person_files_are_refused(
    client: TestClient, person: bytes, shirt_id: str, route: str
) -> None:
    response = client.post(
        route,
        files=[("person", ("a.jpg", person)), ("person", ("b.jpg", person))],
        data={"garment_id": shirt_id},
    )
    assert response.status_code == 400
    error = error_of(response)
    assert error["type"] == "ValidationError"
    assert error["message"].startswith("person: 2 files were sent"), error


def test_two_garment_files_are_refused(
    client: TestClient, person: bytes, shirt_photo: bytes
) -> None:
    # Four files are over the form's three (person and an outfit's two garments, or
    # person, garment and mask): refused while parsing, still a 400.
    response = client.post(
        "/v1/tryon",
        files=[
            ("person", ("p.jpg", person)),
            ("garment", ("a.jpg", shirt_photo)),
            ("garment", ("b.jpg", shirt_photo)),
            ("garment", ("c.jpg", shirt_photo)),
        ],
    )
    assert response.status_code == 400
    assert error_of(response)["type"] == "MalformedFormError"
    # A try-on of one garment names the repeated field, not the last one taken.
    services = client.app.state.services  # type: ignore[attr-defined]
    form = UploadForm(
        fields={},
        files={"person": person, "garment": shirt_photo},
        every_file={"person": [person], "garment": [shirt_photo, shirt_photo]},
    )
    with pytest.raises(APIError) as caught:
        parse_tryon_form(form, None, services.settings, services.catalog)
    assert caught.value.status == 400 and caught.value.type == "ValidationError"
    assert caught.value.message.startswith("garment: 2 files were sent")
