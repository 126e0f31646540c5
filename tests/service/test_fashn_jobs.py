"""fashn jobs through the HTTP API in one process: a tiny FASHN transformer saved in the
released checkpoint layout, per-step progress, the image at the photo's size with every
pixel outside the agnostic mask the photo's, cancellation between steps."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from tests.fashn.tiny import TINY, write_fashn_weights
from tests.photos import PERSON
from tests.service.conftest import decoded, events, submit
from tryon import TryOn
from tryon.catalog import Catalog
from tryon.engines.fashn import FashnConfig, FashnRenderer
from tryon.fashn.sampler import FashnSampling
from tryon.imageio import load_image
from tryon.service.app import create_app
from tryon.service.diffusion_jobs import (
    Backends,
    FashnBatchRenderer,
    LocalDiffusion,
    LocalGarments,
    local_backends,
)
from tryon.service.settings import ServiceSettings
from tryon.types import Category

CANVAS = replace(TINY, height=96, width=72, patch_size=12)
"""The tiny model at a 96 x 72 canvas: 8 x 6 tokens per stream."""
STEPS = 3
CONFIG = FashnConfig(sampling=FashnSampling(steps=STEPS, seed=7), model=CANVAS)


@pytest.fixture(scope="module")
def fashn_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A weights folder holding only fashn's (tiny) transformer."""
    root = tmp_path_factory.mktemp("fashn_weights")
    write_fashn_weights(root, CANVAS)
    return root


def fashn_client(tryon: TryOn, catalog: Path, backends: Backends, weights: Path) -> TestClient:
    settings = ServiceSettings(catalog_dir=catalog, weights_dir=weights)
    return TestClient(create_app(settings, tryon_engine=tryon, backends=backends))


@pytest.fixture(scope="module")
def fashn(tryon: TryOn, catalog_dir: Path, fashn_weights: Path) -> Iterator[TestClient]:
    settings = ServiceSettings(catalog_dir=catalog_dir, weights_dir=fashn_weights)
    backends = local_backends(settings, tryon, Catalog(catalog_dir, tryon=tryon), CONFIG)
    assert backends.diffusion is None and backends.fashn is not None
    with fashn_client(tryon, catalog_dir, backends, fashn_weights) as test_client:
        yield test_client


def test_engines_list_fashn_with_its_licence(fashn: TestClient) -> None:
    engines = {e["name"]: e for e in fashn.get("/v1/engines").json()["engines"]}
    assert engines["fashn"] == {
        "name": "fashn",
        "mode": "job",
        "available": True,
        "reason": None,
        "licence": "Apache-2.0 (FASHN VTON v1.5's and DWPose's weights)",
        "presets": [
            {"name": "compat", "steps": 30, "seed": 42},
            {"name": "fast", "steps": 20, "seed": 42},
            {"name": "quality", "steps": 50, "seed": 42},
        ],
        "default_preset": {"name": "compat", "steps": 30, "seed": 42},
    }
    catvton = engines["catvton"]
    assert catvton["available"] is False
    assert "its weights are not in the weights folder" in catvton["reason"]
    assert "tryon weights fetch" in catvton["reason"]
    assert catvton["licence"].startswith("CC BY-NC-SA 4.0")


def test_a_fashn_job_reports_each_step_and_keeps_the_photo_outside_the_mask(
    fashn: TestClient, tryon: TryOn, shirt_id: str
) -> None:
    photo = PERSON.read_bytes()
    job = submit(fashn, photo, garment_id=shirt_id, engine="fashn", category="upper", format="png")
    seen = events(fashn, job["id"])
    assert seen[-1][0] == "done", seen
    steps = [data for name, data in seen if name == "progress"]
    assert steps == [{"step": s, "total": STEPS} for s in range(1, STEPS + 1)]
    result = fashn.get(str(job["result_url"]))
    assert result.status_code == 200 and result.headers["content-type"] == "image/png"
    assert result.headers["x-tryon-category"] == "upper"
    assert result.headers["x-tryon-batch"] == "1"
    assert "pose input is approximate" in result.headers["x-tryon-warnings"]
    image = np.asarray(decoded(result.content).convert("RGB"))
    person = load_image(photo)
    assert image.shape == person.shape
    mask = tryon.engine.analyzers.mask_person(person, Category.UPPER).agnostic_mask
    assert mask.any() and (~mask).any()
    assert np.array_equal(image[~mask], person[~mask])
    assert np.abs(image[mask].astype(int) - person[mask]).mean() > 5


def test_catvton_is_refused_where_only_fashn_weights_are(fashn: TestClient, shirt_id: str) -> None:
    response = fashn.post(
        "/v1/jobs",
        files={"person": ("p.jpg", PERSON.read_bytes())},
        data={"garment_id": shirt_id, "engine": "catvton"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "EngineUnavailableError"


class GatedModel(torch.nn.Module):
    """The transformer, holding its second forward pass until ``release`` is set."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model
        self.calls = 0
        self.release = threading.Event()

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls == 2:
            self.release.wait(30)
        out: torch.Tensor = self.model(*args)
        return out


def test_a_cancelled_fashn_job_stops_between_steps(
    tryon: TryOn, catalog_dir: Path, fashn_weights: Path, shirt_id: str
) -> None:
    settings = ServiceSettings(catalog_dir=catalog_dir, weights_dir=fashn_weights)
    loaded = FashnRenderer(fashn_weights, CONFIG).model
    gated = GatedModel(loaded)
    renderer = FashnBatchRenderer(settings, CONFIG, model=gated)  # type: ignore[arg-type]
    backends = Backends(
        LocalGarments(tryon, Catalog(catalog_dir, tryon=tryon)), None, LocalDiffusion(renderer)
    )
    with fashn_client(tryon, catalog_dir, backends, fashn_weights) as client:
        job = submit(client, PERSON.read_bytes(), garment_id=shirt_id, engine="fashn")
        deadline = time.monotonic() + 60
        while client.get(f"/v1/jobs/{job['id']}").json()["progress"]["step"] < 1:
            assert time.monotonic() < deadline, "the job never reached its first step"
            time.sleep(0.05)
        assert client.delete(f"/v1/jobs/{job['id']}").status_code == 204
        gated.release.set()
        seen = events(client, job["id"])
        assert seen[-1][0] == "cancelled", seen
        assert [d["step"] for n, d in seen if n == "progress"] == [1]
        assert client.get(f"/v1/jobs/{job['id']}/result").status_code == 409
        time.sleep(0.2)
        assert gated.calls == 2  # no step ran after the cancel
