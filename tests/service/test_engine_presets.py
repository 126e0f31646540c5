"""GET /v1/engines lists an available diffusion engine's sampler presets (name, steps,
seed) and what a job without ``preset`` runs: the page's diffusion controls read them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.service.conftest import FEW_STEPS, diffusion_settings, make_client
from tryon import TryOn
from tryon.service.offered_engines import list_engines
from tryon.service.settings import ServiceSettings


def engines_of(tryon: TryOn, catalog: Path, **settings: object) -> dict[str, dict[str, object]]:
    with make_client(tryon, catalog, **settings) as client:
        response = client.get("/v1/engines")
        assert response.status_code == 200, response.text
        return {e["name"]: e for e in response.json()["engines"]}


def test_catvton_lists_its_presets_and_the_servers_default(
    tryon: TryOn, catalog_dir: Path, tiny_weights_dir: Path
) -> None:
    engines = engines_of(tryon, catalog_dir, **diffusion_settings(tiny_weights_dir))
    catvton = engines["catvton"]
    assert catvton["available"] is True
    assert catvton["presets"] == [
        {"name": "compat", "steps": 50, "seed": 0},
        {"name": "fast", "steps": 16, "seed": 0},
        {"name": "draft", "steps": 8, "seed": 0},
    ]
    # The server's preset with the server's steps (diffusion_steps), the renderer's seed.
    assert catvton["default_preset"] == {"name": "compat", "steps": FEW_STEPS, "seed": 0}
    assert engines["warp"]["presets"] == [] and engines["warp"]["default_preset"] is None
    assert engines["hybrid"]["available"] is False and engines["hybrid"]["presets"] == []


def test_the_default_is_the_servers_preset(
    tryon: TryOn, catalog_dir: Path, tiny_weights_dir: Path
) -> None:
    settings = {**diffusion_settings(tiny_weights_dir), "diffusion_preset": "draft"}
    settings.pop("diffusion_steps")
    catvton = engines_of(tryon, catalog_dir, **settings)["catvton"]
    assert catvton["default_preset"] == {"name": "draft", "steps": 8, "seed": 0}


def test_fashn_lists_its_presets(
    catalog_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    pytest.importorskip("torch", reason="the fashn engine needs the diffusion extra")
    from tests.fashn.tiny import TINY, write_fashn_weights

    weights = tmp_path_factory.mktemp("fashn_weights")
    write_fashn_weights(weights, replace(TINY, height=96, width=72, patch_size=12))
    # Listed from the files alone (the app would load the full-size model at start).
    settings = ServiceSettings(catalog_dir=catalog_dir, weights_dir=weights)
    fashn = {e.name: e.as_json() for e in list_engines(settings)}["fashn"]
    assert fashn["available"] is True
    assert fashn["presets"] == [
        {"name": "compat", "steps": 30, "seed": 42},
        {"name": "fast", "steps": 20, "seed": 42},
        {"name": "quality", "steps": 50, "seed": 42},
    ]
    assert fashn["default_preset"] == {"name": "compat", "steps": 30, "seed": 42}
