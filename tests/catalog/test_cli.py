"""``tryon catalog``: add, list, show, remove, and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import GARMENTS
from tryon.catalog import default_catalog_dir
from tryon.cli import main

SHIRT = next(g for g in GARMENTS if g.name.startswith("shirts"))
PANTS = next(g for g in GARMENTS if g.name.startswith("pants"))


def test_add_list_show_remove(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = ["--dir", str(tmp_path)]
    assert main(["catalog", "add", str(SHIRT), str(PANTS), *folder]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and all(line.startswith("added ") for line in out)
    assert main(["catalog", "add", str(SHIRT), "--json", *folder]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["created"] is False and again["name"] == SHIRT.stem
    assert main(["catalog", "list", "--json", *folder]) == 0
    garments = json.loads(capsys.readouterr().out)["garments"]
    assert {g["category"] for g in garments} == {"upper", "lower"}
    assert main(["catalog", "list", *folder]) == 0
    listing = capsys.readouterr().out
    assert again["id"] in listing and PANTS.stem in listing
    assert main(["catalog", "show", again["id"], *folder]) == 0
    shown = capsys.readouterr().out
    assert "requested_category: auto" in shown and "artifacts:" in shown
    assert main(["catalog", "remove", again["id"], *folder]) == 0
    assert capsys.readouterr().out.startswith(f"removed {again['id']}")
    assert main(["catalog", "show", again["id"], *folder]) == 2
    assert "no garment with id" in capsys.readouterr().err


def test_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = ["--dir", str(tmp_path)]
    text = tmp_path / "notes.txt"
    text.write_text("not a photo")
    assert main(["catalog", "add", str(text), *folder]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"tryon: error: {text}: ") and "not an image" in err
    assert main(["catalog", "add", str(SHIRT), str(PANTS), "--name", "x", *folder]) == 2
    assert "one at a time" in capsys.readouterr().err
    assert main(["catalog", "add", str(SHIRT), "--category", "hat", *folder]) == 2
    assert "invalid choice" in capsys.readouterr().err
    assert main(["catalog", "list", *folder]) == 0
    assert "no garments" in capsys.readouterr().out


def test_default_folder_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRYON_CATALOG", str(tmp_path / "env"))
    assert default_catalog_dir() == tmp_path / "env"
    monkeypatch.delenv("TRYON_CATALOG")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_catalog_dir() == tmp_path / "data" / "tryon" / "catalog"
