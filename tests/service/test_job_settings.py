"""A job's own diffusion settings (preset, steps, seed) and its mask: checked on
submission (400 naming the field), carried in the spec through every store, applied to
that job only (a batch groups requests by settings), the mask bounding the change."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.photos import GARMENT, PERSON
from tests.service.conftest import (
    decoded,
    diffusion_settings,
    error_of,
    events,
    make_client,
    submit,
)
from tests.service.test_fashn_jobs import CONFIG, fashn, fashn_weights  # noqa: F401
from tryon import TryOn
from tryon.engines.fashn import FashnPair
from tryon.imageio import load_image
from tryon.service.diffusion_jobs import DiffusionSettings, FashnBatchRenderer, FashnRequest
from tryon.service.jobs import JobSpec
from tryon.service.jobs.sqlite import SQLiteJobStore
from tryon.service.settings import ServiceSettings
from tryon.types import Category, WholeBodyPose


def png(mask: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.where(mask, 255, 0).astype(np.uint8), "L").save(buf, format="PNG")
    return buf.getvalue()


def post(client: TestClient, files: dict[str, bytes] | None = None, **fields: str) -> object:
    sent = {"person": ("p.jpg", PERSON.read_bytes())}
    sent.update({name: (f"{name}.png", data) for name, data in (files or {}).items()})
    return client.post("/v1/jobs", files=sent, data=fields)


def image_of(client: TestClient, job: dict[str, object]) -> np.ndarray:
    seen = events(client, job["id"])
    assert seen[-1][0] == "done", seen
    return np.asarray(decoded(client.get(str(job["result_url"])).content).convert("RGB"))


@pytest.mark.parametrize(
    ("fields", "named", "allowed"),
    [
        ({"preset": "draft"}, "preset:", "compat, fast, quality"),
        ({"steps": "0"}, "steps:", "1 to 100"),
        ({"steps": "101"}, "steps:", "1 to 100"),
        ({"steps": "many"}, "steps:", "1 to 100"),
        ({"seed": "-1"}, "seed:", "from 0 to"),
        ({"seed": "x"}, "seed:", "from 0 to"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(
    fashn: TestClient,  # noqa: F811
    shirt_id: str,
    fields: dict[str, str],
    named: str,
    allowed: str,
) -> None:
    response = post(fashn, garment_id=shirt_id, engine="fashn", **fields)
    assert response.status_code == 400, response.text
    message = error_of(response)["message"]
    assert message.startswith(named) and allowed in message


def test_settings_with_the_warp_engine_are_refused(client: TestClient, shirt_id: str) -> None:
    response = post(client, garment_id=shirt_id, seed="3")
    assert response.status_code == 400
    assert error_of(response)["message"].startswith("seed: only the diffusion engines")
    flag = post(client, garment_id=shirt_id, steps="true")  # the show-steps flag: ignored
    assert flag.status_code == 202, flag.text


def test_steps_preset_and_seed_apply_to_the_job(fashn: TestClient, shirt_id: str) -> None:  # noqa: F811
    common = {"garment_id": shirt_id, "engine": "fashn", "category": "upper", "format": "png"}
    two = submit(fashn, PERSON.read_bytes(), steps="2", seed="5", **common)
    seen = events(fashn, two["id"])
    assert [d for n, d in seen if n == "progress"] == [
        {"step": 1, "total": 2},
        {"step": 2, "total": 2},
    ]
    again = image_of(fashn, submit(fashn, PERSON.read_bytes(), steps="2", seed="5", **common))
    assert np.array_equal(again, image_of(fashn, two))
    other = image_of(fashn, submit(fashn, PERSON.read_bytes(), steps="2", seed="6", **common))
    assert not np.array_equal(other, again)
    fast = submit(fashn, PERSON.read_bytes(), preset="fast", **common)
    totals = {d["total"] for n, d in events(fashn, fast["id"]) if n == "progress"}
    assert totals == {20}


def test_a_catvton_job_takes_its_own_steps(
    tryon: TryOn, catalog_dir: Path, shirt_id: str, tiny_weights_dir: Path
) -> None:
    with make_client(tryon, catalog_dir, **diffusion_settings(tiny_weights_dir)) as client:
        common = {"garment_id": shirt_id, "engine": "catvton", "format": "png"}
        job = submit(client, PERSON.read_bytes(), steps="2", preset="draft", seed="1", **common)
        steps = [d for n, d in events(client, job["id"]) if n == "progress"]
        assert steps == [{"step": 1, "total": 2}, {"step": 2, "total": 2}]
        refused = post(client, preset="quality", **common)
        assert refused.status_code == 400
        assert "compat, fast, draft" in error_of(refused)["message"]


def test_the_settings_and_mask_survive_a_shared_store(tmp_path: Path) -> None:
    store = SQLiteJobStore(tmp_path / "jobs.db")
    spec = JobSpec(
        "fashn",
        b"person",
        None,
        "g1",
        "upper",
        "png",
        photos=(b"mask",),
        options={"preset": "fast", "seed": 3},
    )
    plain = JobSpec("fashn", b"person", None, "g1", "upper", "png")
    assert spec.digest() != plain.digest()
    store.create(spec)
    claim = store.take(1.0)
    assert claim is not None
    assert claim.spec.mask == b"mask"
    assert DiffusionSettings.from_options(claim.spec.options) == DiffusionSettings("fast", None, 3)
    store.close()


def test_a_batch_runs_one_sampler_call_per_settings(
    tryon: TryOn,
    fashn_weights: Path,  # noqa: F811
) -> None:
    renderer = FashnBatchRenderer(ServiceSettings(weights_dir=fashn_weights), CONFIG)
    garment = tryon.engine.analyzers.garments.analyze(load_image(GARMENT), Category.UPPER)
    person = load_image(PERSON)
    pair = FashnPair(person, garment, Category.UPPER, WholeBodyPose.blank())
    one, other = DiffusionSettings(steps=2, seed=1), DiffusionSettings(steps=3, seed=1)
    requests = [FashnRequest(pair, one), FashnRequest(pair, other), FashnRequest(pair, one)]
    reports: list[tuple[list[int], int, int]] = []
    done = renderer.render_batch(requests, lambda group, s, t: reports.append((group, s, t)))
    assert reports == [([0, 2], 1, 2), ([0, 2], 2, 2), ([1], 1, 3), ([1], 2, 3), ([1], 3, 3)]
    assert [r.batch for r in done] == [2, 1, 2]
    alone = renderer.render_batch([FashnRequest(pair, one)], lambda *_: None)[0]
    # The first of its group has its own noise draw: only the batched arithmetic differs.
    difference = np.abs(done[0].image.astype(int) - alone.image)
    assert difference.mean() < 1.0, difference.mean()
    assert all(r.image.shape == person.shape for r in done)


def test_a_mask_bounds_the_change_of_a_fashn_job(fashn: TestClient, shirt_id: str) -> None:  # noqa: F811
    person = load_image(PERSON)
    height, width = person.shape[:2]
    area = np.zeros((height, width), bool)
    area[height // 4 : height // 2, width // 4 : 3 * width // 4] = True
    response = post(fashn, {"mask": png(area)}, garment_id=shirt_id, engine="fashn", format="png")
    assert response.status_code == 202, response.text
    image = image_of(fashn, response.json())
    assert np.array_equal(image[~area], person[~area])
    assert np.abs(image[area].astype(int) - person[area]).mean() > 5


@pytest.mark.parametrize("kind", ["empty", "size"])
def test_an_empty_or_misfit_mask_is_refused(
    fashn: TestClient,  # noqa: F811
    shirt_id: str,
    kind: str,
) -> None:
    height, width = load_image(PERSON).shape[:2]
    bad = np.zeros((height, width), bool) if kind == "empty" else np.ones((100, 80), bool)
    response = post(fashn, {"mask": png(bad)}, garment_id=shirt_id, engine="fashn")
    assert response.status_code == 400
    message = error_of(response)["message"]
    expected = "no pixel is white" if kind == "empty" else "80x100 pixels, but the person photo"
    assert message.startswith("mask: ") and expected in message
