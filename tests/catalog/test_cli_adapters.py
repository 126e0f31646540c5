"""``tryon catalog tune``, ``untune`` and the adapter in ``show`` (tiny weights)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.catalog.lora import SHIRT
from tests.photos import FULL_BODY
from tryon.cli import main


def test_tune_show_untune(
    tmp_path: Path, tiny_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = ["--dir", str(tmp_path)]
    assert main(["catalog", "add", str(SHIRT), "--json", *folder]) == 0
    gid = json.loads(capsys.readouterr().out)["id"]
    photos = ["--photos", *(str(p) for p in FULL_BODY[:3])]
    options = ["--steps", "2", "--rank", "2", "--size", "64x48", "--device", "cpu"]
    weights = ["--weights", str(tiny_weights)]
    assert main(["catalog", "tune", gid, *photos, *options, *weights, *folder]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(f"tuned {gid}: rank 2, 2 steps on 3 photos")
    assert "step 2/2  loss " in captured.err
    assert main(["catalog", "show", gid, *folder]) == 0
    assert "adapter:            rank 2, 2 steps" in capsys.readouterr().out
    assert main(["catalog", "show", gid, "--json", *folder]) == 0
    adapter = json.loads(capsys.readouterr().out)["adapter"]
    assert adapter["rank"] == 2 and adapter["photos"] == [p.name for p in FULL_BODY[:3]]
    assert Path(adapter["path"]).is_file()
    assert main(["catalog", "untune", gid, *folder]) == 0
    assert capsys.readouterr().out.startswith(f"removed the adapter of {gid}")
    assert main(["catalog", "show", gid, *folder]) == 0
    assert "adapter:            none" in capsys.readouterr().out
    assert main(["catalog", "untune", gid, *folder]) == 2
    assert "has no adapter; tune one with 'tryon catalog tune" in capsys.readouterr().err


def test_tune_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = ["--dir", str(tmp_path)]
    photos = ["--photos", *(str(p) for p in FULL_BODY[:3])]
    assert main(["catalog", "tune", "0" * 20, *photos, *folder]) == 2
    assert "no garment with id" in capsys.readouterr().err
    assert main(["catalog", "add", str(SHIRT), "--json", *folder]) == 0
    gid = json.loads(capsys.readouterr().out)["id"]
    assert main(["catalog", "tune", gid, "--photos", str(FULL_BODY[0]), *folder]) == 2
    assert "at least 3 on-model photos" in capsys.readouterr().err
    assert main(["catalog", "tune", gid, *photos, "--rank", "0", *folder]) == 2
    assert "rank must be at least 1" in capsys.readouterr().err
    assert main(["catalog", "tune", gid, *photos, "--size", "big", *folder]) == 2
    assert "is not HxW" in capsys.readouterr().err
    missing = ["--weights", str(tmp_path / "none")]
    assert main(["catalog", "tune", gid, *photos, *missing, *folder]) == 2
    assert "tryon weights fetch" in capsys.readouterr().err
