"""LPIPS and Inception loading: the real architectures with seeded random weights, strict keys."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.evaluation.tiny import TinyInception, tiny_lpips
from tryon.evaluation.backbones import (
    LPIPS,
    TRUNKS,
    alexnet_features,
    load_inception,
    load_lpips,
    squeezenet1_1_features,
    vgg16_features,
)
from tryon.evaluation.weights import (
    BACKBONES,
    INCEPTION,
    LPIPS_LINEAR,
    MissingWeightsError,
    WeightsRecord,
    default_cache_dir,
    missing,
)


def unhashed(record: WeightsRecord) -> WeightsRecord:
    """The record without its hash: random test weights are not the published file."""
    return WeightsRecord(record.file, record.what, record.how)


def save_random_lpips(cache: Path, net: str, seed: int = 0) -> None:
    """Random weights in the published files' key layout (torchvision's and lpips')."""
    torch.manual_seed(seed)
    build, _, channels = TRUNKS[net]
    trunk = {f"features.{k}": v for k, v in build().state_dict().items()}
    trunk["classifier.1.weight"] = torch.zeros(1000, 512, 1, 1)  # ignored by LPIPS
    torch.save(trunk, cache / BACKBONES[net].file)
    linear = {f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1) for i, c in enumerate(channels)}
    torch.save(linear, cache / LPIPS_LINEAR[net].file)


def test_trunks_have_torchvisions_parameter_counts() -> None:
    # torchvision's models less their classifiers: known sizes of the published weights.
    counts = {
        "squeeze": (squeezenet1_1_features, 722_496),
        "alex": (alexnet_features, 2_469_696),
        "vgg": (vgg16_features, 14_714_688),
    }
    for build, expected in counts.values():
        assert sum(p.numel() for p in build().parameters()) == expected


def test_lpips_is_zero_for_identical_images_and_symmetric() -> None:
    model = tiny_lpips()
    torch.manual_seed(1)
    a, b = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    assert torch.allclose(model(a, a), torch.zeros(2), atol=1e-7)
    assert torch.allclose(model(a, b), model(b, a), atol=1e-6)
    assert (model(a, b) > 0).all()


def test_lpips_loads_published_key_layout_strictly(tmp_path: Path) -> None:
    save_random_lpips(tmp_path, "squeeze")
    model = load_lpips(
        "squeeze", tmp_path, unhashed(BACKBONES["squeeze"]), unhashed(LPIPS_LINEAR["squeeze"])
    )
    saved = torch.load(tmp_path / BACKBONES["squeeze"].file)
    assert torch.equal(model.features[3].expand3x3.weight, saved["features.3.expand3x3.weight"])
    linear = torch.load(tmp_path / LPIPS_LINEAR["squeeze"].file)
    assert torch.equal(model.lins[6].model[1].weight, linear["lin6.model.1.weight"])
    torch.manual_seed(2)
    a, b = torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64)
    assert float(model(a, b)[0]) > 0 and float(model(a, a)[0]) == pytest.approx(0, abs=1e-7)


def test_lpips_refuses_files_that_do_not_fit(tmp_path: Path) -> None:
    save_random_lpips(tmp_path, "alex")
    linear = torch.load(tmp_path / LPIPS_LINEAR["alex"].file)
    linear["lin5.model.1.weight"] = torch.rand(1, 8, 1, 1)
    torch.save(linear, tmp_path / LPIPS_LINEAR["alex"].file)
    with pytest.raises(MissingWeightsError, match=r"unexpected keys \['5.model.1.weight'\]"):
        load_lpips("alex", tmp_path, unhashed(BACKBONES["alex"]), unhashed(LPIPS_LINEAR["alex"]))


def test_published_hash_is_checked(tmp_path: Path) -> None:
    save_random_lpips(tmp_path, "squeeze")
    with pytest.raises(MissingWeightsError, match=r"is not torchvision's SqueezeNet 1\.1"):
        load_lpips("squeeze", tmp_path)


def test_missing_weights_error_names_the_file_and_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(MissingWeightsError) as caught:
        load_lpips("vgg", tmp_path)
    message = str(caught.value)
    assert "vgg16-397923af.pth is missing" in message and "torchvision" in message
    with pytest.raises(MissingWeightsError, match=r"inception-2015-12-05\.pt is missing"):
        load_inception(tmp_path)
    assert len(missing(tmp_path, [INCEPTION, *BACKBONES.values()])) == 4


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")
def test_inception_wrapper_normalises_like_clean_fid(tmp_path: Path) -> None:
    torch.manual_seed(0)
    module = torch.jit.script(TinyInception())
    module.save(str(tmp_path / INCEPTION.file))
    net = load_inception(tmp_path, unhashed(INCEPTION))
    images = torch.rand(2, 3, 299, 299) * 255
    features = net(images)
    assert features.shape == (2, 2048)
    expected = module.layers((images - 128) / 128).view(2, 2048)
    assert torch.allclose(features, expected)
    with pytest.raises(ValueError, match="299 x 299"):
        net(torch.zeros(1, 3, 64, 64))
    (tmp_path / "junk.pt").write_bytes(b"not torchscript")
    junk = WeightsRecord("junk.pt", "x", "y")
    with pytest.raises(MissingWeightsError, match="not clean-fid's TorchScript Inception"):
        load_inception(tmp_path, junk)


REAL = default_cache_dir()
REAL_FILES = [INCEPTION, BACKBONES["squeeze"], LPIPS_LINEAR["squeeze"]]


@pytest.mark.skipif(
    bool(missing(REAL, REAL_FILES)),
    reason=f"published metric weights not in {REAL} (they cannot be downloaded here): "
    + ", ".join(r.file for r in missing(REAL, REAL_FILES)),
)
def test_real_backbones_from_the_cache() -> None:
    lpips: LPIPS = load_lpips("squeeze", REAL)
    rng = np.random.default_rng(0)
    a = torch.from_numpy(rng.random((1, 3, 256, 192), np.float32))
    b = torch.clamp(a + 0.1 * torch.randn_like(a), 0, 1)
    assert float(lpips(a, a)[0]) == pytest.approx(0, abs=1e-6)
    assert 0 < float(lpips(a, b)[0]) < 1
    inception = load_inception(REAL)
    assert inception(torch.rand(2, 3, 299, 299) * 255).shape == (2, 2048)
