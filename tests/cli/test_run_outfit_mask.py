"""``tryon run`` with two ``--garment`` (an outfit) and with ``--mask`` (a drawn area)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image as PILImage

from tests import photos
from tryon import TryOn, cli
from tryon.cli import run
from tryon.imageio import load_image
from tryon.ops.working_size import WORKING_PIXELS

PERSON = photos.person("p1_studio.jpg")
SHIRT = photos.garment("shirts_1_front.jpg")
PANTS = photos.garment("pants_1_front.jpg")


def outfit_args(out: Path, *extra: str, garments: tuple[Path, ...] = (SHIRT, PANTS)) -> list[str]:
    chosen = [arg for g in garments for arg in ("--garment", str(g))]
    return ["run", "--person", str(PERSON), *chosen, "--out", str(out), *extra]


def write_mask(path: Path, mask: np.ndarray) -> Path:
    PILImage.fromarray(np.where(mask, 255, 0).astype(np.uint8)).save(path)
    return path


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    (line,) = capsys.readouterr().err.splitlines()
    return line


def test_two_garments_make_the_outfit_the_library_makes(
    tryon: TryOn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "outfit.png"
    argv = outfit_args(out, "--category", "upper", "--category", "auto")
    assert cli.main(argv) == 0
    assert capsys.readouterr().out.startswith(f"wrote {out} in ")
    expected = tryon.run_outfit(PERSON, [SHIRT, PANTS], ["upper", "auto"])
    written = load_image(out)
    assert np.array_equal(written, expected.image)
    photo = load_image(PERSON)
    changed = np.any(written != photo, axis=2)
    assert not (changed & ~expected.agnostic_mask).any()
    assert changed[expected.pieces[0].agnostic_mask].mean() > 0.3  # the trousers went on


@pytest.mark.parametrize(
    ("case", "line"),
    [
        ("three", "tryon: error: --garment: 3 given; an outfit is one top and one bottom"),
        ("categories", "tryon: error: --category: 1 given for 2 --garment; give one per"),
        ("dress", "tryon: error: --garment: a dress or other one-piece (overall) is worn alone"),
        ("mask with outfit", "tryon: error: --mask: an area is drawn for one --garment"),
    ],
)
def test_outfits_that_cannot_be_tried_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    line: str,
) -> None:
    out = tmp_path / "out.png"
    argv = {
        "three": outfit_args(out, garments=(SHIRT, PANTS, SHIRT)),
        "categories": outfit_args(out, "--category", "upper"),
        "dress": outfit_args(out, "--category", "overall", "--category", "lower"),
        "mask with outfit": outfit_args(out, "--mask", str(PERSON)),
    }[case]
    if case != "dress":  # the others fail before any model loads
        monkeypatch.setattr(run, "dress", lambda *args: pytest.fail("dressed despite bad input"))
    assert cli.main(argv) == 2
    assert error_line(capsys).startswith(line)
    assert not out.exists()


def test_two_tops_exit_2_naming_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = outfit_args(tmp_path / "out.png", garments=(SHIRT, photos.garment("shirts_2_front.jpg")))
    assert cli.main(argv) == 2
    assert error_line(capsys).startswith("tryon: error: --garment: 2 garments are tops (upper)")


@pytest.fixture(scope="module")
def large_person(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample person at about 4 megapixels (over the working size), as a PNG."""
    image = cv2.resize(load_image(PERSON), (1536, 2752), interpolation=cv2.INTER_CUBIC)
    assert image.shape[0] * image.shape[1] > WORKING_PIXELS
    path = tmp_path_factory.mktemp("large") / "large.png"
    PILImage.fromarray(image).save(path)
    return path


def test_a_mask_bounds_the_change_of_a_large_photo(
    tryon: TryOn, large_person: Path, tmp_path: Path
) -> None:
    photo = load_image(large_person)
    found = tryon.run(photo, SHIRT).agnostic_mask  # at the full size
    area = found.copy()
    area[: area.shape[0] // 3] = False  # the neck and shoulders stay
    area[:, : area.shape[1] // 2] = False  # and the person's left half
    mask = write_mask(tmp_path / "area.png", area)
    out = tmp_path / "out.png"
    argv = ["run", "--person", str(large_person), "--garment", str(SHIRT), "--out", str(out)]
    assert cli.main([*argv, "--mask", str(mask), "--quiet"]) == 0
    written = load_image(out)
    assert written.shape == photo.shape
    changed = np.any(written != photo, axis=2)
    assert not (changed & ~area).any(), "pixels outside the mask changed"
    assert changed[area].mean() > 0.3


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("empty", ": no pixel is white; paint the area"),
        ("size", ": 80x100 pixels, but the --person photo is 768x1376 (upright)"),
        ("not a picture", ": "),
        ("engine", "--mask: only the warp engine takes a mask (not --engine catvton)"),
        ("missing", "--mask"),
    ],
)
def test_a_bad_mask_exits_2_naming_the_flag(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    words: str,
) -> None:
    monkeypatch.setattr(run, "dress", lambda *args: pytest.fail("dressed despite bad input"))
    height, width = load_image(PERSON).shape[:2]
    path = tmp_path / "mask.png"
    extra: list[str] = []
    if case == "empty":
        write_mask(path, np.zeros((height, width), bool))
    elif case == "size":
        write_mask(path, np.ones((100, 80), bool))
    elif case == "not a picture":
        path.write_text("white,black\n")
    elif case == "engine":
        write_mask(path, np.ones((height, width), bool))
        extra = ["--engine", "catvton"]
    argv = [
        "run",
        "--person",
        str(PERSON),
        "--garment",
        str(SHIRT),
        "--out",
        str(tmp_path / "x.png"),
    ]
    assert cli.main([*argv, "--mask", str(path), *extra]) == 2
    line = error_line(capsys)
    assert line.startswith("tryon: error: --mask")
    assert words in line
