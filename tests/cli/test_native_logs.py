"""MediaPipe's C++ log lines never reach the command line's stderr, even when a command
fails while a model call is still running on another thread."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from PIL import Image as PILImage

from tests.photos import GARMENT, PERSON
from tryon.cli.common import quiet_native_logs

# A fresh ``tryon`` process whose face detector, like MediaPipe's graphs on their first
# inference, writes a native log line to file descriptor 2 from its own thread, late: as
# on a busy machine, where it is still running when the pose model has found nobody.
LATE_NATIVE_LINE = textwrap.dedent(
    """
    import os, sys, time
    from tryon.body.models import BodyModels
    from tryon.cli import main

    detect = BodyModels.face_boxes

    def slow_face_boxes(self, image):
        time.sleep(0.5)
        os.write(2, b"W0000 00:00:1.0 1 inference_feedback_manager.cc:114] late line\\n")
        return detect(self, image)

    BodyModels.face_boxes = slow_face_boxes
    sys.exit(main(sys.argv[1:]))
    """
)


def tryon_process(*argv: str, code: str | None = None) -> subprocess.CompletedProcess[str]:
    """Runs ``tryon ARGV`` (or ``code`` with ARGV) in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if k not in ("TRYON_DEBUG", "GLOG_minloglevel")}
    head = ["-c", code] if code else ["-m", "tryon"]
    return subprocess.run(
        [sys.executable, *head, *argv], capture_output=True, text=True, env=env, timeout=300
    )


@pytest.fixture(scope="module")
def nobody(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A photo with no person in it: a plain wall."""
    path = tmp_path_factory.mktemp("nobody") / "wall.png"
    PILImage.new("RGB", (600, 800), (200, 180, 150)).save(path)
    return path


@pytest.fixture(scope="module")
def blank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A white "garment photo": refused before any model has run."""
    path = tmp_path_factory.mktemp("blank") / "white.png"
    PILImage.new("RGB", (600, 800), (255, 255, 255)).save(path)
    return path


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("garment photo as the person", "tryon: error: no "),
        ("nobody in the photo", "tryon: error: no person found"),
        # The models' graphs start on MediaPipe's threads and log from there: here the
        # run fails before any of them has been used.
        ("blank garment photo", "tryon: error: the garment photo is blank"),
    ],
)
def test_a_failing_run_prints_only_its_error_line(
    tmp_path: Path, nobody: Path, blank: Path, case: str, error: str
) -> None:
    person = {"garment photo as the person": GARMENT, "nobody in the photo": nobody}
    garment = blank if case == "blank garment photo" else GARMENT
    argv = ["run", "--person", str(person.get(case, PERSON)), "--garment", str(garment)]
    done = tryon_process(*argv, "--out", str(tmp_path / "out.png"))
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith(error)
    assert done.stdout == ""


def test_a_model_call_still_running_when_the_run_fails_logs_nothing(
    tmp_path: Path, nobody: Path
) -> None:
    argv = ["run", "--person", str(nobody), "--garment", str(GARMENT)]
    done = tryon_process(*argv, "--out", str(tmp_path / "out.png"), code=LATE_NATIVE_LINE)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "tryon: error: no person found in the person photo: use a photo in which one person "
        "is clearly visible from the head down, facing the camera"
    ]


def test_a_successful_run_prints_nothing_on_stderr(tmp_path: Path) -> None:
    argv = ["run", "--person", str(PERSON), "--garment", str(GARMENT)]
    done = tryon_process(*argv, "--out", str(tmp_path / "out.png"), code=LATE_NATIVE_LINE)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_partial_lines_pass_at_once_and_native_lines_split_across_writes_are_dropped(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TRYON_DEBUG", raising=False)
    with quiet_native_logs():
        os.write(2, b"\rbuild [###.....] 3/8")  # a progress line redrawn in place
        deadline = time.monotonic() + 5
        while "3/8" not in (seen := capfd.readouterr().err) and time.monotonic() < deadline:
            time.sleep(0.01)
        os.write(2, b"W0000 00:00:1.0 1 inference_feed")
        os.write(2, b"back_manager.cc:114] split in two\n")
        os.write(2, b"Warm: kept\n")
    assert seen == "\rbuild [###.....] 3/8"
    assert capfd.readouterr().err == "Warm: kept\n"
