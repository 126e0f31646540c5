"""``tryon run --engine catvton|hybrid --attention NAME|PATH``: trained attention weights."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from tests.diffusion.tiny import tiny_models
from tests.photos import GARMENT, PERSON
from tryon import cli
from tryon.diffusion.models import random_attention_state
from tryon.diffusion.weights import ATTENTION_FILE
from tryon.engines import create_engine
from tryon.imageio import load_image


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A training run's output ``OUT/small-run``, trained at 64x48 (a fast CPU run)."""
    folder = tmp_path_factory.mktemp("out") / "small-run"
    (folder / "attention").mkdir(parents=True)
    save_file(random_attention_state(tiny_models().unet, seed=5), str(folder / ATTENTION_FILE))
    (folder / "training.json").write_text(json.dumps({"start": "base", "height": 64, "width": 48}))
    return folder


def run_args(out: Path, *more: str) -> list[str]:
    return ["run", "--person", str(PERSON), "--garment", str(GARMENT), "--out", str(out), *more]


def test_run_dresses_with_trained_attention_weights(
    tiny_weights: Path, trained: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "out.png"
    args = ["--engine", "catvton", "--weights", str(tiny_weights), "--attention", str(trained)]
    assert cli.main(run_args(out, *args)) == 0
    assert load_image(str(out)).shape == load_image(str(PERSON)).shape
    assert capsys.readouterr().out.startswith(f"wrote {out}")


@pytest.mark.parametrize("engine", ["catvton", "hybrid"])
def test_both_diffusion_engines_load_trained_attention_weights(
    tiny_weights: Path, trained: Path, engine: str
) -> None:
    with create_engine(engine, tiny_weights, attention=trained / ATTENTION_FILE) as built:
        renderer = built.renderer  # type: ignore[attr-defined]
        assert (renderer.version.name, renderer.training_area) == ("small-run", 64 * 48)
        modules = dict(renderer.pipeline.models.unet.named_modules())
        q = modules["mid_block.attentions.0.transformer_blocks.0.attn1"].to_q.weight
        assert torch.equal(q, load_file(str(trained / ATTENTION_FILE))["24.to_q.weight"])


def test_run_with_unknown_attention_weights_says_where_it_looked(
    tiny_weights: Path, tmp_path: Path, capsys
) -> None:
    args = ["--engine", "catvton", "--weights", str(tiny_weights), "--attention", "no-such-run"]
    assert cli.main(run_args(tmp_path / "o.png", *args)) == 2
    err = capsys.readouterr().err
    assert err.startswith("tryon: error: no attention weights 'no-such-run'")
    assert str(tiny_weights / "no-such-run" / ATTENTION_FILE) in err


def test_attention_weights_are_refused_for_the_warp_engine(tmp_path: Path, capsys) -> None:
    assert cli.main(run_args(tmp_path / "o.png", "--attention", "mix-48k-1024")) == 2
    assert "the warp engine uses no attention weights" in capsys.readouterr().err
