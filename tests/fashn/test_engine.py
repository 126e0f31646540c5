"""The fashn engine end to end on a sample photo, with a tiny FASHN transformer saved in
the reference's checkpoint layout; its preprocessing; its registry and CLI wiring."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.fashn.tiny import TINY, _randomised
from tests.photos import GARMENT, PERSON, person
from tryon import TryOn, cli
from tryon.cli import weights as weights_cli
from tryon.diffusion.weights import WeightsError
from tryon.engines import create_engine
from tryon.engines.catvton import repaint
from tryon.engines.fashn import FashnConfig, FashnEngine, model_path
from tryon.engines.warp import WarpEngine
from tryon.errors import BodyNotVisibleError, TryOnError
from tryon.fashn.model import FashnTransformer
from tryon.fashn.preprocess import (
    CATEGORY_IDS,
    fit_to_canvas,
    normalise,
    pre_resize,
    restore,
)
from tryon.fashn.sampler import FashnSampling
from tryon.imageio import load_image
from tryon.types import Category, DiffusionDetails, TryOnResult

CANVAS = replace(TINY, height=96, width=72, patch_size=12)
"""The tiny model at a 96 x 72 canvas: 8 x 6 tokens per stream."""
FEW = FashnSampling(steps=2, seed=7)
FETCH = "tryon weights fetch --engine fashn"


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fashn_weights")
    with torch.random.fork_rng():
        torch.manual_seed(3)
        model = _randomised(FashnTransformer(CANVAS)).eval()
    path = model_path(root)
    path.parent.mkdir(parents=True)
    from tryon.fashn.weights import save_fashn_checkpoint

    save_fashn_checkpoint(model, path)
    return root


@pytest.fixture(scope="module")
def engine(weights_dir: Path, warp_engine: WarpEngine) -> FashnEngine:
    config = FashnConfig(sampling=FEW, model=CANVAS)
    return FashnEngine(weights_dir, config, analyzers=warp_engine.analyzers)


@pytest.fixture(scope="module")
def photos() -> tuple[np.ndarray, np.ndarray]:
    return load_image(PERSON), load_image(GARMENT)


@pytest.fixture(scope="module")
def dressed(engine: FashnEngine, photos) -> TryOnResult:
    return TryOn(engine).run(photos[0], photos[1], category="upper")


def test_fashn_changes_only_the_agnostic_mask(dressed: TryOnResult, photos) -> None:
    photo = photos[0]
    assert dressed.image.shape == photo.shape and dressed.image.dtype == np.uint8
    outside = ~dressed.agnostic_mask
    assert outside.any() and dressed.agnostic_mask.any()
    assert np.array_equal(dressed.image[outside], photo[outside])
    inside = dressed.agnostic_mask
    assert np.abs(dressed.image[inside].astype(int) - photo[inside]).mean() > 5
    assert dressed.category is Category.UPPER
    assert {"analysis", "diffusion", "repaint"} <= set(dressed.timings)


def test_fashn_keeps_the_raw_output_in_its_details(dressed: TryOnResult, photos) -> None:
    assert isinstance(dressed.details, DiffusionDetails)
    generated = dressed.details.generated
    assert generated.shape == photos[0].shape and generated.dtype == np.uint8
    assert np.array_equal(dressed.image, repaint(photos[0], generated, dressed.agnostic_mask))


def test_fashn_warns_that_the_pose_is_approximate_without_dwpose(
    dressed: TryOnResult, weights_dir: Path
) -> None:
    (warning,) = [w for w in dressed.warnings if "pose input is approximate" in w]
    assert "DWPose weights missing" in warning and FETCH in warning
    assert str(weights_dir / "dwpose" / "yolox_l.onnx") in warning


def test_fashn_is_deterministic_for_a_seed(engine: FashnEngine, dressed, photos) -> None:
    again = engine.dress(photos[0], dressed.garment, Category.UPPER)
    assert np.array_equal(again.image, dressed.image)
    other = FashnEngine(
        config=replace(engine.config, sampling=replace(FEW, seed=8)),
        model=engine.model,
        analyzers=engine.analyzers,
    )
    changed = other.dress(photos[0], dressed.garment, Category.UPPER)
    assert np.abs(changed.image.astype(int) - dressed.image).max() > 0


def test_a_worn_garment_is_grey_outside_its_mask(engine: FashnEngine, dressed) -> None:
    worn = replace(dressed.garment, source="worn")
    prepared = engine.renderer.prepare_garment(worn, None)
    product = engine.renderer.prepare_garment(dressed.garment, None)
    grey = normalise(np.array([127], np.uint8))[0]
    assert (prepared.image == grey).all(-1).sum() > (product.image == grey).all(-1).sum()
    assert (product.pose == -1).all()  # a product photo: blank pose


def test_a_missing_model_file_names_it_and_the_fetch_command(tmp_path: Path) -> None:
    with pytest.raises(WeightsError) as refused:
        create_engine("fashn", tmp_path)
    message = str(refused.value)
    assert str(tmp_path / "fashn-vton-1.5" / "model.safetensors") in message
    assert FETCH in message


def test_a_category_the_photo_cannot_show_is_refused(engine: FashnEngine, dressed) -> None:
    selfie = load_image(person("p2_selfie.jpg"))
    with pytest.raises(BodyNotVisibleError, match="lower garment needs"):
        engine.dress(selfie, dressed.garment, Category.LOWER)


def test_pre_resize_shrinks_the_long_side_and_never_enlarges() -> None:
    small = np.zeros((100, 60, 3), np.uint8)
    assert pre_resize(small) is small
    assert pre_resize(np.zeros((1000, 601, 3), np.uint8)).shape == (864, 519, 3)  # int()
    assert pre_resize(np.zeros((500, 2000, 3), np.uint8)).shape == (216, 864, 3)


def test_fit_to_canvas_centres_on_black_and_restore_inverts_it() -> None:
    image = np.full((50, 100, 3), 200, np.uint8)
    canvas, placement = fit_to_canvas(image, (96, 72))
    assert placement.fitted_size == (36, 72) and placement.offset == (30, 0)
    assert (canvas[:30] == 0).all() and (canvas[66:] == 0).all()
    assert (canvas[30:66] == 200).all()
    back = restore(canvas, placement, (50, 100))
    assert back.shape == (50, 100, 3) and (back == 200).all()
    odd, at = fit_to_canvas(np.full((96, 71, 3), 9, np.uint8), (96, 72))
    assert at.offset == (0, 0) and (odd[:, :71] == 9).all() and (odd[:, 71] == 0).all()
    pose, _ = fit_to_canvas(np.eye(4, dtype=np.uint8) * 7, (8, 8), pose=True)
    assert set(np.unique(pose)) == {0, 7}  # nearest: no new values


def test_normalise_and_category_ids() -> None:
    assert normalise(np.array([0, 255], np.uint8)).tolist() == [-1.0, 1.0]
    assert [CATEGORY_IDS[c] for c in (Category.UPPER, Category.LOWER, Category.OVERALL)] == [
        1,
        2,
        3,
    ]


def test_weights_check_without_files_names_them(tmp_path: Path, capfd) -> None:
    code = cli.main(["weights", "check", "--engine", "fashn", "--dir", str(tmp_path)])
    assert code == 2
    err = capfd.readouterr().err
    assert "model.safetensors" in err and FETCH in err


def test_weights_fetch_downloads_the_fashn_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    calls: list[tuple[str, str, Path]] = []
    monkeypatch.setattr(weights_cli, "download", lambda *a: calls.append(a))
    assert cli.main(["weights", "fetch", "--engine", "fashn", "--dir", str(tmp_path)]) == 0
    assert calls == [
        ("fashn-ai/fashn-vton-1.5", "model.safetensors", tmp_path / "fashn-vton-1.5"),
        ("fashn-ai/DWPose", "yolox_l.onnx", tmp_path / "dwpose"),
        ("fashn-ai/DWPose", "dw-ll_ucoco_384.onnx", tmp_path / "dwpose"),
    ]
    assert "Apache-2.0" in capsys.readouterr().out


def test_fashn_refuses_attention_weights(tmp_path: Path) -> None:
    with pytest.raises(TryOnError, match="no attention weights"):
        create_engine("fashn", tmp_path, attention="mix")


def test_num_samples_draws_several_try_ons_from_one_noise_draw(
    engine: FashnEngine, dressed: TryOnResult, photos, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tryon.fashn import sampler

    draws: list[torch.Tensor] = []
    drawn = sampler.noise

    def recorded(inputs, seed: int) -> torch.Tensor:
        draws.append(drawn(inputs, seed))
        return draws[-1]

    monkeypatch.setattr(sampler, "noise", recorded)
    config = replace(engine.config, num_samples=2)
    two = FashnEngine(config=config, model=engine.model, analyzers=engine.analyzers)
    several = two.dress(photos[0], dressed.garment, Category.UPPER)
    single = engine.dress(photos[0], dressed.garment, Category.UPPER)
    assert [tuple(d.shape) for d in draws] == [(2, 3, 96, 72), (1, 3, 96, 72)]  # one draw each
    assert torch.equal(draws[0][:1], draws[1])  # sample 0's noise is the one-sample draw
    assert isinstance(several.details, DiffusionDetails)
    first, second = several.details.samples
    assert first is several.image
    assert np.abs(first.astype(int) - second).max() > 0
    outside = ~several.agnostic_mask
    for image in (first, second):
        assert image.shape == photos[0].shape and image.dtype == np.uint8
        assert np.array_equal(image[outside], photos[0][outside])
    # The same noise and inputs, batched with another sample: equal up to the last bits.
    assert np.abs(first.astype(int) - single.image).max() <= 2
    assert isinstance(single.details, DiffusionDetails)
    assert len(single.details.samples) == 1 and single.details.samples[0] is single.image


@pytest.mark.parametrize("count", [0, 5])
def test_num_samples_outside_one_to_four_is_refused(engine: FashnEngine, count: int) -> None:
    with pytest.raises(TryOnError, match=f"num_samples must be 1-4 .*got {count}"):
        FashnConfig(num_samples=count)
    with pytest.raises(TryOnError, match="num_samples must be 1-4"):
        engine.renderer.render_samples([], num_samples=count)


def test_dtype_auto_is_the_references_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    assert FashnConfig().resolved_dtype == torch.float32  # on the CPU
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert FashnConfig().resolved_dtype == torch.float32  # still the CPU
    assert FashnConfig(device="cuda").resolved_dtype == torch.bfloat16
    assert FashnConfig(device="cuda:1").resolved_dtype == torch.bfloat16
    assert FashnConfig(device="cuda", dtype="float32").resolved_dtype == torch.float32
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert FashnConfig(device="cuda").resolved_dtype == torch.float32
    assert FashnConfig(dtype="bfloat16").resolved_dtype == torch.bfloat16
    with pytest.raises(TryOnError, match="unknown FASHN dtype 'float16': use auto, float32"):
        FashnConfig(dtype="float16")


def test_bfloat16_loads_and_samples_in_bfloat16_on_the_cpu(
    weights_dir: Path, engine: FashnEngine, dressed: TryOnResult, photos
) -> None:
    config = replace(engine.config, dtype="bfloat16")
    half = FashnEngine(weights_dir, config, analyzers=engine.analyzers)
    assert {p.dtype for p in half.model.parameters()} == {torch.bfloat16}
    result = half.dress(photos[0], dressed.garment, Category.UPPER)
    assert result.image.shape == photos[0].shape and result.image.dtype == np.uint8
    outside = ~result.agnostic_mask
    assert np.array_equal(result.image[outside], photos[0][outside])
    inside = result.agnostic_mask
    assert np.abs(result.image[inside].astype(int) - dressed.image[inside]).mean() < 10
    assert {p.dtype for p in engine.model.parameters()} == {torch.float32}  # "auto", CPU
    with pytest.raises(TryOnError, match="model given is float32, the config asks for bfloat16"):
        FashnEngine(config=config, model=engine.model, analyzers=engine.analyzers)
