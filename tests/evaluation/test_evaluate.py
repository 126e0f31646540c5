"""``tryon eval`` end to end on a dataset built from the real photos, with tiny networks."""

from __future__ import annotations

import json
import math
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.dataset.raw import make_raw
from tests.evaluation.tiny import TinyFeatures, TinyInception, tiny_lpips
from tryon import TryOn
from tryon.cli import main
from tryon.dataset import BuildConfig, PairMode, build_dataset, open_dataset
from tryon.dataset.build import PhotoAnalyzer
from tryon.evaluation import (
    EngineSystem,
    EvalConfig,
    Evaluation,
    FolderSystem,
    Networks,
    evaluate,
    write_report,
)
from tryon.evaluation.metrics import PSNR_IDENTICAL

SIZE = (512, 384)


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory: pytest.TempPathFactory, tryon: TryOn) -> Path:
    root = tmp_path_factory.mktemp("eval")
    raw = make_raw(root / "raw")
    build_dataset(raw, root / "ds", BuildConfig(size=SIZE), PhotoAnalyzer(tryon.engine.analyzers))
    return root / "ds"


@pytest.fixture(scope="module")
def unpaired(
    dataset_dir: Path, tryon: TryOn, tmp_path_factory: pytest.TempPathFactory
) -> Evaluation:
    out = tmp_path_factory.mktemp("report")
    networks = Networks(lpips=tiny_lpips(), features=TinyFeatures())
    config = EvalConfig(mode=PairMode.UNPAIRED, kid_subsets=10)
    evaluation = evaluate(
        open_dataset(dataset_dir), [EngineSystem("warp", tryon)], out, config, networks
    )
    write_report(evaluation)
    return evaluation


def test_engine_run_scores_every_unpaired_pair(unpaired: Evaluation) -> None:
    (warp,) = unpaired.systems
    assert len(warp.pairs) == 3 and all(p.error is None for p in warp.pairs)
    for pair in warp.pairs:
        assert pair.result and Image.open(pair.result).size == (SIZE[1], SIZE[0])
        assert math.isnan(pair.ssim) and math.isnan(pair.lpips)  # no ground truth
        # The builder's masks belong to the photo as stored, so warp's promise holds to
        # the bit: nothing outside the agnostic mask changes, the face least of all.
        assert pair.changed_outside == 0.0
        assert pair.face_psnr == PSNR_IDENTICAL
        assert 0 <= pair.delta_e < 40
        assert 0 < pair.latency_s < 60
    assert math.isfinite(warp.fid) and warp.fid >= 0
    assert math.isfinite(warp.kid)
    assert warp.peak_rss_mib > 100
    assert unpaired.real_images == 3


def test_report_files(unpaired: Evaluation) -> None:
    out = unpaired.out
    document = json.loads((out / "metrics.json").read_text())
    summary = document["systems"]["warp"]["summary"]
    assert summary["results"] == 3 and summary["ssim"] is None
    assert summary["kid_x1000"] == pytest.approx(unpaired.systems[0].kid * 1000)
    assert "torchmetrics" in document["implementations"]["SSIM"]
    report = (out / "report.md").read_text()
    assert "| warp | engine |" in report
    assert "32 x 32 resize" in report and "384 x 512" in report  # resolutions stated
    html = (out / "report.html").read_text()
    assert "<table>" in html and "plots/latency.png" in html
    for name in ("plots/distributions.png", "plots/latency.png", "grids/warp_best.png"):
        with Image.open(out / name) as picture:
            assert picture.width > 300 and np.asarray(picture).std() > 5


def test_paired_ground_truth_and_a_result_folder_score_alike(
    dataset_dir: Path, tryon: TryOn, tmp_path: Path
) -> None:
    dataset = open_dataset(dataset_dir)
    networks = Networks(lpips=tiny_lpips(), features=None)
    config = EvalConfig(mode=PairMode.PAIRED, metrics=frozenset({"ssim", "lpips", "shop"}))
    engine = evaluate(dataset, [EngineSystem("warp", tryon)], tmp_path / "a", config, networks)
    (pair,) = engine.systems[0].pairs
    assert 0.5 < pair.ssim < 1 and pair.lpips > 0
    # Another system's results: the same images, as JPEG files named by the person.
    folder = tmp_path / "other-system"
    folder.mkdir()
    Image.open(pair.result or "").save(folder / "p2_walking.jpg", quality=98)
    (scored,) = evaluate(dataset, [FolderSystem(folder)], tmp_path / "b", config, networks).systems
    assert scored.name == "other-system" and scored.kind == "results"
    assert scored.pairs[0].ssim == pytest.approx(pair.ssim, abs=0.02)
    assert scored.pairs[0].changed_outside < 0.01  # JPEG noise is under the tolerance
    assert math.isnan(scored.pairs[0].latency_s)


def test_command_line_runs_an_engine_and_scores_a_folder(
    dataset_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "results"
    results.mkdir()
    shutil.copy(dataset_dir / "test" / "image" / "p1_studio.jpg", results / "p1_studio.jpg")
    out = tmp_path / "report"
    args = ["eval", str(dataset_dir), "--engine", "warp", "--results", str(results)]
    options = ["--pairs", "unpaired", "--limit", "2", "--metrics", "ssim,shop", "--quiet"]
    code = main([*args, *options, "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "warp: 2/2 results" in captured.out
    # The folder's one "result" is the input photo itself: nothing changed anywhere.
    (line,) = [line for line in captured.out.splitlines() if line.startswith("results:")]
    assert "1/2 results" in line and "face_psnr 100," in line and "face_identical 1" in line
    document = json.loads((out / "metrics.json").read_text())
    assert document["systems"]["warp"]["summary"]["peak_rss_mib"] > 100
    errors = [p["error"] for p in document["systems"]["results"]["pairs"]]
    assert errors == [None, "no result file"]
    assert len(list((out / "results" / "warp").glob("*.png"))) == 2
    assert (out / "report.html").is_file()


def test_command_line_leaves_out_default_metrics_without_weights(
    dataset_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    argv = ["eval", str(dataset_dir), "--engine", "warp", "--cache", str(tmp_path / "empty")]
    code = main([*argv, "--limit", "1", "--quiet", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    notes = captured.err.splitlines()
    assert [line.split(": metric weights missing")[0] for line in notes] == [
        "note: lpips not computed",
        "note: fid not computed",
        "note: kid not computed",
    ]
    assert "squeezenet1_1-b8a52dc0.pth (" in notes[0] and "pip download lpips==0.1.4" in notes[0]
    assert all("inception-2015-12-05.pt (" in line for line in notes[1:])
    document = json.loads((out / "metrics.json").read_text())
    assert list(document["skipped_metrics"]) == ["lpips", "fid", "kid"]
    assert document["config"]["metrics"] == ["shop", "ssim"]
    summary = document["systems"]["warp"]["summary"]
    assert 0 < summary["ssim"] < 1 and summary["lpips"] is None and summary["fid"] is None
    report = (out / "report.md").read_text()
    assert "## Metrics not computed" in report and "- **fid**: metric weights missing" in report
    assert "<h2>Metrics not computed</h2>" in (out / "report.html").read_text()


def test_command_line_metrics_asked_for_without_weights_are_one_clear_error(
    dataset_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x"
    argv = ["eval", str(dataset_dir), "--engine", "warp", "--cache", str(tmp_path)]
    code = main([*argv, "--metrics", "ssim,lpips,fid,kid,shop", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("tryon: error: --metrics lpips,fid,kid cannot be computed: ")
    files = ("squeezenet1_1-b8a52dc0.pth", "lpips-v0.1-squeeze.pth", "inception-2015-12-05.pt")
    assert all(f"{name} (" in err for name in files)  # every missing file, at once
    assert err.count("inception-2015-12-05.pt (clean-fid") == 1  # FID and KID share it
    assert "pip download lpips==0.1.4" in err and err.endswith("--metrics ssim,shop\n")
    assert not out.exists()


def test_command_line_refuses_bad_usage(
    dataset_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", str(dataset_dir)]) == 2
    assert "--engine E" in capsys.readouterr().err
    assert main(["eval", str(dataset_dir), "--engine", "nope"]) == 2
    assert "unknown engine 'nope'" in capsys.readouterr().err
    assert main(["eval", str(dataset_dir), "--results", ".", "--metrics", "fid,bogus"]) == 2
    assert "choose from" in capsys.readouterr().err


def test_command_line_fid_and_kid_with_a_stand_in_inception_file(
    dataset_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The published file cannot be downloaded here: a TorchScript module of the same
    # interface, under the same name, takes the real file's path through the command.
    cache = tmp_path / "cache"
    cache.mkdir()
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.script(TinyInception()).save(str(cache / "inception-2015-12-05.pt"))
    results = tmp_path / "results"
    results.mkdir()
    for name in ("p1_studio", "p2_studio"):  # half-size results: resized, and said so
        with Image.open(dataset_dir / "test" / "image" / f"{name}.jpg") as photo:
            photo.resize((192, 256)).save(results / f"{name}.png")
    out = tmp_path / "report"
    args = ["eval", str(dataset_dir), "--results", str(results), "--pairs", "unpaired"]
    options = ["--metrics", "fid,kid,shop", "--cache", str(cache), "--quiet"]
    code = main([*args, *options, "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    document = json.loads((out / "metrics.json").read_text())
    summary = document["systems"]["results"]["summary"]
    assert summary["fid"] is not None and summary["fid"] >= 0
    assert summary["kid_x1000"] is not None
    assert math.isfinite(summary["kid_x1000"])  # a failed KID is written as NaN
    assert document["dataset"]["real_images_for_fid"] == 3
    assert any("resized" in note for note in document["notes"])
    assert "299 x 299 resize" in (out / "report.md").read_text()
