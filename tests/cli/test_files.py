"""Output folders and input files the commands cannot use: found before any model loads,
exit code 2, one line on stderr naming the option and what to do."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.photos import GARMENT, PERSON
from tryon import cli
from tryon.cli import run
from tryon.cli.common import check_readable_file, check_writable_dir
from tryon.errors import TryOnError

# /proc refuses new files even to root, whose writes permission bits never stop.
UNWRITABLE = Path("/proc/tryon-nowhere")
# Its first byte cannot be read (EIO), whoever reads it.
UNREADABLE = Path("/proc/self/mem")

needs_proc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not UNREADABLE.is_file(),
    reason="needs Linux's /proc",
)
not_as_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="root reads and writes whatever the permission bits say",
)


def run_args(out: Path, *extra: str, person: Path = PERSON) -> list[str]:
    return ["run", "--person", str(person), "--garment", str(GARMENT), "--out", str(out), *extra]


@pytest.fixture
def no_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fails the test if ``tryon run`` gets as far as loading models."""
    monkeypatch.delenv("TRYON_DEBUG", raising=False)
    monkeypatch.setattr(run, "dress", lambda *args: pytest.fail("dressed despite bad input"))


def one_error(capsys: pytest.CaptureFixture[str]) -> str:
    stdout, stderr = capsys.readouterr()
    (line,) = stderr.splitlines()
    assert line.startswith("tryon: error: ") and stdout == ""
    return line


# --- tryon run --------------------------------------------------------------------------


@needs_proc
@pytest.mark.usefixtures("no_models")
@pytest.mark.parametrize("option", ["--out", "--save-steps"])
def test_run_refuses_an_output_where_no_file_can_be_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    if option == "--out":
        argv = run_args(UNWRITABLE / "out.png")
    else:
        argv = run_args(tmp_path / "out.png", "--save-steps", str(UNWRITABLE / "steps"))
    assert cli.main(argv) == 2
    line = one_error(capsys)
    assert line.startswith(f"tryon: error: {option}: files cannot be created in '/proc'")
    assert "choose a folder you can write to" in line
    assert not (tmp_path / "out.png").exists()


@not_as_root
@pytest.mark.usefixtures("no_models")
def test_run_refuses_a_read_only_output_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    assert cli.main(run_args(folder / "sub" / "out.png")) == 2
    assert "files cannot be created in" in one_error(capsys)


@needs_proc
@pytest.mark.usefixtures("no_models")
def test_run_refuses_an_unreadable_photo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(run_args(tmp_path / "out.png", person=UNREADABLE)) == 2
    line = one_error(capsys)
    assert line.startswith("tryon: error: --person '/proc/self/mem' cannot be read")


@not_as_root
@pytest.mark.usefixtures("no_models")
def test_run_refuses_a_photo_without_read_permission(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photo = tmp_path / "locked.jpg"
    photo.write_bytes(GARMENT.read_bytes())
    photo.chmod(0)
    argv = ["run", "--person", str(PERSON), "--garment", str(photo), "--out", "x.png"]
    assert cli.main(argv) == 2
    assert "--garment" in (line := one_error(capsys)) and "permission denied" in line


# --- the other commands that write ------------------------------------------------------


@needs_proc
@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["eval", str(PERSON.parent), "--engine", "warp", "--out", str(UNWRITABLE)], "--out"),
        (["dataset", "build", str(PERSON.parent), str(UNWRITABLE)], "OUT"),
        (["train", str(PERSON.parent), "--out", str(UNWRITABLE)], "--out"),
    ],
    ids=["eval", "dataset build", "train"],
)
def test_commands_refuse_an_output_folder_where_no_file_can_be_created(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    option: str,
) -> None:
    monkeypatch.delenv("TRYON_DEBUG", raising=False)
    assert cli.main(argv) == 2
    assert one_error(capsys).startswith(f"tryon: error: {option}: files cannot be created in")


@needs_proc
def test_dataset_masks_refuses_a_masks_folder_where_no_file_can_be_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = tmp_path / "ds"
    for folder in ("image", "cloth"):
        (dataset / "test" / folder).mkdir(parents=True)
    (dataset / "test_pairs.txt").write_text("")
    argv = ["dataset", "masks", str(dataset), "--split", "test", "--masks", str(UNWRITABLE)]
    assert cli.main(argv) == 2
    assert one_error(capsys).startswith("tryon: error: --masks: files cannot be created in")


@needs_proc
def test_catalog_add_reports_an_unreadable_photo_and_loads_no_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tryon.cli import catalog

    monkeypatch.setattr(catalog, "TryOn", lambda **kw: pytest.fail("models loaded"))
    argv = ["catalog", "add", str(UNREADABLE), "--dir", str(tmp_path / "catalog")]
    assert cli.main(argv) == 2
    assert "PHOTO '/proc/self/mem' cannot be read" in one_error(capsys)


# --- the shared checks --------------------------------------------------------------------


def test_a_missing_folder_under_a_writable_one_passes_and_leaves_nothing(tmp_path: Path) -> None:
    check_writable_dir(tmp_path / "a" / "b", "--out")
    assert list(tmp_path.iterdir()) == []


def test_a_folder_inside_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(TryOnError, match=r"^OUT: '.*notes.txt' is a file, not a folder"):
        check_writable_dir(tmp_path / "notes.txt" / "sub", "OUT")


def test_readable_file_errors_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(TryOnError, match=r"no such file; check the path$"):
        check_readable_file(tmp_path / "nowhere.jpg", "--person")
    with pytest.raises(TryOnError, match=r"is a folder; give the path of a photo$"):
        check_readable_file(tmp_path, "--person")
    check_readable_file(PERSON, "--person")
