"""One app per test session, sharing the session's warp engine, with a garment catalogued."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.conftest import GARMENTS
from tests.service.redis_server import RedisServer, redis_server
from tryon import TryOn
from tryon.service.app import create_app
from tryon.service.settings import ServiceSettings


def encoded(image: Image.Image | np.ndarray, fmt: str = "PNG", **options: object) -> bytes:
    """An image's bytes in ``fmt``."""
    picture = image if isinstance(image, Image.Image) else Image.fromarray(image)
    buf = io.BytesIO()
    picture.save(buf, format=fmt, **options)
    return buf.getvalue()


def decoded(data: bytes) -> Image.Image:
    """Decodes image bytes (fully, so a broken file fails here)."""
    picture = Image.open(io.BytesIO(data))
    picture.load()
    return picture


def error_of(response: object) -> dict[str, str]:
    """The ``{"type", "message"}`` of a JSON error answer."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"type", "message"}, body
    assert body["error"]["message"].strip(), body
    return dict(body["error"])


def make_client(tryon: TryOn, catalog: Path, **settings: object) -> TestClient:
    """A test client of a fresh app (own settings, shared engine)."""
    app = create_app(ServiceSettings(catalog_dir=catalog, **settings), tryon_engine=tryon)
    return TestClient(app)


def submit(client: TestClient, person: bytes, **fields: str) -> dict[str, object]:
    """Posts a job (``fields``: the form fields); its JSON state, checked to be queued."""
    response = client.post("/v1/jobs", files={"person": ("p.jpg", person)}, data=fields)
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"] == job["url"] == f"/v1/jobs/{job['id']}"
    return dict(job)


def events(client: TestClient, job_id: object) -> list[tuple[str, dict[str, object]]]:
    """Reads the job's event stream to its end."""
    with client.stream("GET", f"/v1/jobs/{job_id}/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        text = stream.read().decode()
    found = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        found.append((lines["event"], json.loads(lines["data"])))
    return found


@pytest.fixture(scope="session")
def catalog_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("catalog")


@pytest.fixture(scope="session")
def client(tryon: TryOn, catalog_dir: Path) -> Iterator[TestClient]:
    with make_client(tryon, catalog_dir) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def shirt_photo() -> bytes:
    return next(g for g in GARMENTS if g.name.startswith("shirts")).read_bytes()


@pytest.fixture(scope="session")
def pants_photo() -> bytes:
    return next(g for g in GARMENTS if g.name.startswith("pants")).read_bytes()


@pytest.fixture(scope="session")
def shirt_id(client: TestClient, shirt_photo: bytes) -> str:
    response = client.post("/v1/garments", files={"photo": ("shirt.jpg", shirt_photo)})
    assert response.status_code in (200, 201), response.text
    return str(response.json()["id"])


@pytest.fixture()
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A fresh redis-server for one test (killed after it)."""
    server = redis_server(tmp_path / "redis")
    yield server
    server.kill()


SMALL_AREA = 96 * 72
"""Working area of the tiny diffusion models in service tests (fast on a CPU)."""
FEW_STEPS = 4


@pytest.fixture(scope="session")
def tiny_weights_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete tiny catvton weights folder (the diffusion tests' tiny models)."""
    pytest.importorskip("torch", reason="the catvton engine needs the diffusion extra")
    from tests.diffusion.tiny import write_weights

    root = tmp_path_factory.mktemp("weights")
    write_weights(root)
    return root


def diffusion_settings(weights: Path) -> dict[str, object]:
    """Service settings that run catvton with the tiny models at a tiny size."""
    return {"weights_dir": weights, "diffusion_steps": FEW_STEPS, "diffusion_area": SMALL_AREA}
