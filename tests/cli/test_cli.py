"""The ``tryon`` command line: real runs on real photos, bad input, exit codes, clean stderr."""

from __future__ import annotations

import json
import os
import runpy
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image as PILImage

from tests import photos
from tests.photos import GARMENT, PERSON
from tryon import TryOn, TryOnResult, cli
from tryon.cli import run
from tryon.cli.common import quiet_native_logs
from tryon.imageio import load_image

NOISE = ("W0000", "I0000", "absl::InitializeLog", "XNNPACK", "Traceback")


def run_args(out: Path, *extra: str, person: Path = PERSON, garment: Path = GARMENT) -> list[str]:
    return ["run", "--person", str(person), "--garment", str(garment), "--out", str(out), *extra]


def error_lines(stderr: str) -> list[str]:
    return stderr.splitlines()


@pytest.fixture(scope="module")
def canned(tryon: TryOn) -> TryOnResult:
    """One real result with a warning, for the tests of what the CLI prints."""
    result = tryon.run(PERSON, GARMENT)
    return replace(result, warnings=["2 other people are in the photo"])


@pytest.fixture
def fake_dress(monkeypatch: pytest.MonkeyPatch, canned: TryOnResult) -> None:
    """Makes the CLI return ``canned`` instead of loading models and dressing."""
    monkeypatch.setattr(run, "dress", lambda *args: canned)


# --- a real run ----------------------------------------------------------------------


def test_run_writes_the_result_and_the_steps(tmp_path: Path, capfd) -> None:
    out = tmp_path / "out" / "dressed.png"
    steps = tmp_path / "steps"
    assert cli.main(run_args(out, "--save-steps", str(steps))) == 0
    stdout, stderr = capfd.readouterr()
    # Captured at file-descriptor level: MediaPipe's C++ log lines are gone too.
    assert stderr == ""
    (line,) = stdout.splitlines()
    assert line.startswith(f"wrote {out} in ") and " s; steps in " in line
    with PILImage.open(out) as picture:
        assert picture.format == "PNG"
        assert picture.size[::-1] == load_image(PERSON).shape[:2]
    keypoints = json.loads((steps / "keypoints.json").read_text())
    flat = keypoints["people"][0]["pose_keypoints_2d"]
    assert keypoints["version"] == 1.3 and len(flat) == 54
    assert all(isinstance(v, int | float) for v in flat)
    xs, ys, confidences = flat[0::3], flat[1::3], flat[2::3]
    height, width = load_image(PERSON).shape[:2]
    assert all(0 < c <= 1 for c in confidences)  # the whole body is in the studio photo
    assert all(0 <= x < width for x in xs) and all(0 <= y < height for y in ys)
    # OpenPose-18 order: nose 0, neck 1, right hip 8, knee 9 and ankle 10, top to bottom.
    assert ys[0] < ys[1] < ys[8] < ys[9] < ys[10]
    with PILImage.open(steps / "agnostic_mask.png") as mask:
        assert mask.mode == "L" and mask.size == picture.size
    with PILImage.open(steps / "steps.png") as sheet:
        assert sheet.width > sheet.height


def test_the_installed_console_script_runs_with_clean_stderr(tmp_path: Path) -> None:
    script = shutil.which("tryon", path=str(Path(sys.executable).parent))
    assert script is not None, "the tryon console script is not installed in the venv"
    out = tmp_path / "dressed.webp"
    env = {k: v for k, v in os.environ.items() if k != "TRYON_DEBUG"}
    done = subprocess.run(
        [script, *run_args(out)], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.startswith(f"wrote {out} in ") and done.stdout.count("\n") == 1
    with PILImage.open(out) as picture:
        assert picture.format == "WEBP"


# --- what the CLI prints, with the try-on itself stubbed ---------------------------------


@pytest.mark.usefixtures("fake_dress")
@pytest.mark.parametrize(
    ("suffix", "fmt"), [(".jpg", "JPEG"), (".JPEG", "JPEG"), (".webp", "WEBP")]
)
def test_output_format_follows_the_suffix(tmp_path: Path, capsys, suffix, fmt) -> None:
    out = tmp_path / f"dressed{suffix}"
    assert cli.main(run_args(out)) == 0
    with PILImage.open(out) as picture:
        assert picture.format == fmt


@pytest.mark.usefixtures("fake_dress")
def test_warnings_are_notes_on_stderr(tmp_path: Path, capsys) -> None:
    out = tmp_path / "dressed.png"
    assert cli.main(run_args(out, "--category", "UPPER")) == 0
    stdout, stderr = capsys.readouterr()
    assert stderr == "note: 2 other people are in the photo\n"
    assert stdout.startswith(f"wrote {out} in ")


@pytest.mark.usefixtures("fake_dress")
def test_quiet_prints_nothing(tmp_path: Path, capsys) -> None:
    assert cli.main(run_args(tmp_path / "dressed.png", "--quiet")) == 0
    assert capsys.readouterr() == ("", "")
    assert (tmp_path / "dressed.png").is_file()


def test_unexpected_error_is_one_line_with_a_hint(monkeypatch, tmp_path: Path, capsys) -> None:
    monkeypatch.delenv("TRYON_DEBUG", raising=False)
    monkeypatch.setattr(run, "dress", lambda *args: 1 / 0)
    assert cli.main(run_args(tmp_path / "dressed.png")) == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert line.startswith("tryon: unexpected error: ZeroDivisionError: division by zero")
    assert "TRYON_DEBUG=1" in line


def test_debug_shows_the_traceback(monkeypatch, tmp_path: Path, capsys) -> None:
    monkeypatch.setenv("TRYON_DEBUG", "1")
    monkeypatch.setattr(run, "dress", lambda *args: 1 / 0)
    assert cli.main(run_args(tmp_path / "dressed.png")) == 1
    stderr = capsys.readouterr().err
    assert "Traceback" in stderr and "ZeroDivisionError" in stderr


# --- bad input -----------------------------------------------------------------------


def text_file(tmp: Path) -> Path:
    path = tmp / "notes.txt"
    path.write_text("not a photo\n")
    return path


def tiny_png(tmp: Path) -> Path:
    path = tmp / "tiny.png"
    PILImage.new("RGB", (1, 1)).save(path)
    return path


# Command lines that must fail with exit code 2, each built in a fresh temporary folder.
BAD_INPUT: dict[str, Callable[[Path], list[str]]] = {
    "text file as person": lambda tmp: run_args(tmp / "out.png", person=text_file(tmp)),
    "missing person": lambda tmp: run_args(tmp / "out.png", person=tmp / "nowhere.jpg"),
    "missing garment": lambda tmp: run_args(tmp / "out.png", garment=tmp / "nowhere.jpg"),
    "1x1 person": lambda tmp: run_args(tmp / "out.png", person=tiny_png(tmp)),
    "bad category": lambda tmp: run_args(tmp / "out.png", "--category", "shoes"),
    "bad engine": lambda tmp: run_args(tmp / "out.png", "--engine", "diffusion"),
    "gif output": lambda tmp: run_args(tmp / "out.gif"),
    "output without suffix": lambda tmp: run_args(tmp / "out"),
    "output inside a file": lambda tmp: run_args(text_file(tmp) / "out.png"),
    "output over the person photo": lambda tmp: run_args(PERSON),
    "steps inside a file": lambda tmp: run_args(
        tmp / "out.png", "--save-steps", str(text_file(tmp) / "steps")
    ),
    "missing options": lambda tmp: ["run", "--person", str(PERSON)],
    "unknown option": lambda tmp: [*run_args(tmp / "out.png"), "--colour", "red"],
    "no command": lambda tmp: [],
    "unknown command": lambda tmp: ["fly"],
}


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_exits_2_with_one_error_line(tmp_path: Path, capsys, monkeypatch, case) -> None:
    monkeypatch.delenv("TRYON_DEBUG", raising=False)
    # No model may load for bad input: each of these fails before the try-on starts.
    monkeypatch.setattr(run, "dress", lambda *args: pytest.fail("dressed despite bad input"))
    argv = BAD_INPUT[case](tmp_path)
    assert cli.main(argv) == 2
    stdout, stderr = capsys.readouterr()
    (line,) = error_lines(stderr)
    assert line.startswith("tryon: error: ")
    assert not any(word in stderr for word in NOISE)
    assert stdout == ""
    assert not (tmp_path / "out.png").exists()


def test_a_photo_without_the_needed_body_parts_exits_2(tmp_path: Path, capsys) -> None:
    selfie, pants = photos.person("p2_selfie.jpg"), photos.garment("pants_1_front.jpg")
    argv = run_args(tmp_path / "out.png", "--category", "lower", person=selfie, garment=pants)
    assert cli.main(argv) == 2
    (line,) = error_lines(capsys.readouterr().err)
    assert line.startswith("tryon: error: a lower garment needs the hips and knees")


# --- help ----------------------------------------------------------------------------


def test_help_explains_the_commands_and_exit_codes(capsys) -> None:
    assert cli.main(["--help"]) == 0
    text = capsys.readouterr().out
    for words in ("usage: tryon", "run", "exit codes", "tryon run --person", "TRYON_DEBUG=1"):
        assert words in text


def test_run_help_explains_every_option(capsys) -> None:
    assert cli.main(["run", "--help"]) == 0
    text = capsys.readouterr().out
    options = ("--person", "--garment", "--category", "--engine", "--out", "--save-steps")
    topics = ("category auto:", "agnostic_mask.png", "steps.png", "keypoints.json", ".webp")
    for words in (*options, "--quiet", *topics, "exit codes", "examples:"):
        assert words in text


def test_version(capsys) -> None:
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("tryon 0.")


def test_python_dash_m_tryon_is_the_same_cli(monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "argv", ["tryon", "--help"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_module("tryon", run_name="__main__")
    assert exit_info.value.code == 0
    assert "usage: tryon" in capsys.readouterr().out


# --- the native log filter -------------------------------------------------------------


def test_native_log_filter_drops_mediapipe_noise_and_keeps_the_rest(monkeypatch, capfd) -> None:
    monkeypatch.delenv("TRYON_DEBUG", raising=False)
    noise = (
        b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n"
        b"W0000 00:00:1795254866.927539    4068 inference_feedback_manager.cc:114] Feedback\n"
        b"I0000 00:00:1714668459.875897  381002 gl_context_egl.cc:85] Successfully initialized\n"
    )
    kept = b"E0000 00:00:1795254866.927539    4068 calculator.cc:1] a real error\nplain line\n"
    with quiet_native_logs():
        os.write(2, noise + kept + b"no newline at the end")
    assert capfd.readouterr().err == (kept + b"no newline at the end").decode()
    os.write(2, b"W0000 00:00:1.0 1 after.cc:1] shown again\n")
    assert "shown again" in capfd.readouterr().err
