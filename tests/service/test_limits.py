"""Limits and privacy: upload size, concurrency, API keys, no shopper photo on disk."""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.conftest import PHOTOS
from tests.service.conftest import encoded, error_of, make_client
from tryon import TryOn
from tryon.service.uploads import FORM_OVERHEAD

PERSON = PHOTOS / "people" / "p1_studio.jpg"


def test_upload_larger_than_the_limit_is_413(tryon: TryOn, catalog_dir: Path) -> None:
    small = make_client(tryon, catalog_dir, max_upload_bytes=50_000)
    response = small.post(
        "/v1/tryon", files={"person": ("p.jpg", PERSON.read_bytes())}, data={"garment_id": "x"}
    )
    assert response.status_code == 413
    error = error_of(response)
    assert error["type"] == "UploadTooLargeError" and "MiB" in error["message"]


def test_chunked_upload_over_the_limit_reports_the_limit(tryon: TryOn, catalog_dir: Path) -> None:
    small = make_client(tryon, catalog_dir, max_upload_bytes=50_000)
    limit = 2 * 50_000 + FORM_OVERHEAD

    def body() -> Iterator[bytes]:  # no Content-Length: sent chunked
        for _ in range(40):
            yield b"x" * 10_000

    response = small.post(
        "/v1/tryon",
        content=body(),
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 413
    error = error_of(response)
    assert error["type"] == "UploadTooLargeError"
    assert error["message"].startswith(f"the request is over its {limit / 2**20:.1f} MiB limit")


def test_more_pixels_than_the_limit_is_413(tryon: TryOn, catalog_dir: Path) -> None:
    strict = make_client(tryon, catalog_dir, max_pixels=500_000)
    response = strict.post(
        "/v1/garments", files={"photo": ("p.jpg", PERSON.read_bytes())}
    )  # 768 x 1376 = 1.06 megapixels
    assert response.status_code == 413
    assert "0.5 megapixels" in error_of(response)["message"]


def test_full_pool_is_503_with_retry_after(tryon: TryOn, catalog_dir: Path, shirt_id: str) -> None:
    busy = make_client(tryon, catalog_dir, max_concurrency=1, max_waiting=0, retry_after_s=3)
    person = PERSON.read_bytes()
    answers: list[int] = []

    def first() -> None:
        response = busy.post(
            "/v1/tryon", files={"person": ("p.jpg", person)}, data={"garment_id": shirt_id}
        )
        answers.append(response.status_code)

    worker = threading.Thread(target=first)
    worker.start()
    pool = busy.app.state.services.pool  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while pool.admitted == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    refused = busy.post(
        "/v1/tryon", files={"person": ("p.jpg", person)}, data={"garment_id": shirt_id}
    )
    worker.join()
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "3"
    assert error_of(refused)["type"] == "ServiceBusyError"
    assert answers == [200]
    assert 'tryon_rejected_busy_total{queue="sync"} 1.0' in busy.get("/metrics").text


def test_api_keys(tryon: TryOn, catalog_dir: Path) -> None:
    locked = make_client(tryon, catalog_dir, api_keys=("s3cret", "other"))
    missing = locked.get("/v1/engines")
    assert missing.status_code == 401 and "X-API-Key" in error_of(missing)["message"]
    wrong = locked.get("/v1/garments", headers={"X-API-Key": "guess"})
    assert wrong.status_code == 401 and error_of(wrong)["type"] == "UnauthorizedError"
    assert locked.get("/v1/engines", headers={"X-API-Key": "other"}).status_code == 200
    assert locked.post("/v1/tryon", headers={"X-API-Key": "nope"}).status_code == 401
    assert locked.get("/healthz").status_code == 200  # probes need no key


def test_shopper_photo_never_touches_the_disk(
    client: TestClient, shirt_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A PNG over 1 MB: Starlette's own form parser would spool it to a temporary file
    # (an unnamed one, so the test watches the calls that would create it).
    person = encoded(Image.open(PERSON).convert("RGB"), "PNG", compress_level=0)
    assert len(person) > 2**20
    created: list[object] = []
    real = tempfile.TemporaryFile

    def watched(*args: Any, **kwargs: Any) -> Any:
        created.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(tempfile, "TemporaryFile", watched)
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", watched)
    monkeypatch.setattr(tempfile, "mkstemp", watched)
    response = client.post(
        "/v1/tryon", files={"person": ("p.png", person)}, data={"garment_id": shirt_id}
    )
    assert response.status_code == 200, response.text
    assert created == []
