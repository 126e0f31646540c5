"""The VITON-HD and DressCode folder layouts: where each file of a try-on pair lives.

VITON-HD (``ROOT/test_pairs.txt`` and ``ROOT/test/``)::

    test/image/00006_00.jpg                      person photo (also the paired ground truth)
    test/cloth/00006_00.jpg                      product photo of the garment
    test/cloth-mask/00006_00.jpg                 garment mask (white = garment)
    test/agnostic-mask/00006_00_mask.png         region a try-on may change
    test/openpose_json/00006_00_keypoints.json   OpenPose-18 keypoints (OpenPose 1.3 JSON)
    test/openpose_img/00006_00_rendered.png      the skeleton drawn on black
    test/image-densepose/00006_00.jpg            DensePose (not written by our builder)
    test/image-parse-v3/00006_00.png             human parsing (not written by our builder)

Paired pairs are a person with the cloth of the same name (the garment they wear);
unpaired ones are the lines of ``test_pairs.txt`` (``person cloth``). The train split is
``ROOT/train/`` (the same sub-folders) and ``ROOT/train_pairs.txt``, whose lines are
paired pairs (``00000_00.jpg 00000_00.jpg``): a train split has no unpaired pairs.

DressCode (``ROOT/{upper_body,lower_body,dresses}/``)::

    upper_body/images/013563_0.jpg               person photo
    upper_body/images/013563_1.jpg               the garment they wear (product photo)
    upper_body/keypoints/013563_2.json           {"keypoints": [[x, y, score, joint], ...]}
    upper_body/skeletons/013563_5.jpg            the skeleton drawn on black
    upper_body/cloth_mask/013563_1.png           garment mask (community addition)
    upper_body/agnostic_masks/013563_0.png       region a try-on may change (our addition)
    upper_body/test_pairs_paired.txt             "013563_0.jpg 013563_1.jpg" per line
    upper_body/test_pairs_unpaired.txt           "013563_0.jpg 048392_1.jpg" per line

The root may also hold ``test_pairs_paired.txt`` / ``test_pairs_unpaired.txt`` with a
third column, the category index (0 upper body, 1 lower body, 2 dresses). Both splits
share the category folders; the train split is the paired pairs of
``<category>/train_pairs.txt`` (or the root's ``train_pairs.txt`` with the category column).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from tryon.dataset.openpose import Keypoints, read_dresscode_keypoints, read_openpose
from tryon.errors import TryOnError
from tryon.types import Category

SPLIT = "test"
"""The split read and written unless one is named: the test split."""
SPLITS = ("train", "test")

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")

DRESSCODE_FOLDERS: dict[Category, str] = {
    Category.UPPER: "upper_body",
    Category.LOWER: "lower_body",
    Category.OVERALL: "dresses",
}
DRESSCODE_INDEX: dict[Category, int] = {Category.UPPER: 0, Category.LOWER: 1, Category.OVERALL: 2}


class DatasetError(TryOnError):
    """A dataset's folder or files are missing, unreadable or inconsistent."""


class PairMode(StrEnum):
    """Paired: the garment the person wears (ground truth exists). Unpaired: another one."""

    PAIRED = "paired"
    UNPAIRED = "unpaired"


@dataclass(frozen=True)
class Pair:
    """One try-on of a dataset: a person photo and a garment photo, by file name.

    Attributes:
        person: the person photo's file name (e.g. ``00006_00.jpg``).
        garment: the garment photo's file name.
        category: what the garment replaces.
    """

    person: str
    garment: str
    category: Category

    @property
    def key(self) -> str:
        """A name for the pair's result file: ``<person stem>_<garment stem>``."""
        return f"{Path(self.person).stem}_{Path(self.garment).stem}"


@dataclass(frozen=True)
class PairFiles:
    """Where the files of one pair are; None for what the dataset does not have.

    Attributes:
        person: the person photo; for a paired pair also the ground truth.
        garment: the garment photo.
        garment_mask: the garment's mask (white = garment).
        agnostic_mask: the region a try-on may change on the person photo.
        keypoints: the person's keypoint file.
    """

    person: Path
    garment: Path
    garment_mask: Path | None
    agnostic_mask: Path | None
    keypoints: Path | None


class Dataset(Protocol):
    """A try-on dataset on disk, in one of the known layouts."""

    root: Path
    layout: str
    split: str

    def pairs(self, mode: PairMode) -> list[Pair]:
        """The dataset's pairs of this mode, in file order."""
        ...

    def files(self, pair: Pair) -> PairFiles:
        """Where the pair's files are."""
        ...

    def keypoints(self, pair: Pair, image_size: tuple[int, int]) -> Keypoints | None:
        """The person's OpenPose-18 rows in pixels of an image of ``image_size``, if any."""
        ...

    def person_photos(self) -> list[Path]:
        """Every person photo: the real images FID and KID compare results with."""
        ...


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}: use one of {', '.join(SPLITS)}")
    return split


def open_dataset(root: Path, split: str = SPLIT) -> Dataset:
    """Opens a VITON-HD or DressCode folder, recognised by its sub-folders.

    Args:
        root: the dataset folder (for VITON-HD also the split folder itself).
        split: "test" (the default) or "train".

    Raises:
        DatasetError: the folder is missing, in neither layout, or has no such split.
    """
    root = Path(root)
    check_split(split)
    if not root.is_dir():
        raise DatasetError(f"dataset {str(root)!r}: no such folder")
    if any((root / name / "image").is_dir() for name in SPLITS) or (root / "image").is_dir():
        return VitonHD(root, split)
    if any((root / folder / "images").is_dir() for folder in DRESSCODE_FOLDERS.values()):
        return DressCode(root, split)
    raise DatasetError(
        f"dataset {str(root)!r} is neither VITON-HD (test/image/, test/cloth/, "
        "test_pairs.txt, or train/...) nor DressCode (upper_body/images/, ...); build one "
        "with 'tryon dataset build'"
    )


def read_pairs(path: Path, default: Category | None = None) -> list[tuple[str, str, Category]]:
    """Reads a pairs file: ``person garment [category index]`` per line.

    Args:
        path: the file.
        default: the category of lines without a third column (None: that is an error).
    """
    by_index = {index: category for category, index in DRESSCODE_INDEX.items()}
    out: list[tuple[str, str, Category]] = []
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such pairs file") from None
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) == 3 and fields[2].isdigit() and int(fields[2]) in by_index:
            category = by_index[int(fields[2])]
        elif len(fields) == 2 and default is not None:
            category = default
        else:
            raise DatasetError(f"{path}, line {number}: expected 'person garment', got {line!r}")
        out.append((fields[0], fields[1], category))
    return out


def write_pairs(path: Path, pairs: list[Pair], with_category: bool = False) -> None:
    """Writes ``person garment`` lines (plus DressCode's category index if asked)."""
    lines = [
        f"{p.person} {p.garment}" + (f" {DRESSCODE_INDEX[p.category]}" if with_category else "")
        for p in pairs
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def first_existing(folder: Path, stem: str, suffixes: tuple[str, ...] = IMAGE_SUFFIXES) -> Path:
    """``folder/stem`` with the first suffix that exists (the first suffix if none)."""
    for suffix in suffixes:
        if (folder / f"{stem}{suffix}").is_file():
            return folder / f"{stem}{suffix}"
    return folder / f"{stem}{suffixes[0]}"


def optional(path: Path) -> Path | None:
    return path if path.is_file() else None


class VitonHD:
    """A VITON-HD folder (see the module docstring); upper-body garments only.

    Args:
        root: the folder holding ``<split>_pairs.txt`` and ``<split>/``, or ``<split>/``
            itself.
        split: "test" or "train".

    Raises:
        DatasetError: the root has neither ``<split>/image/`` nor ``image/``.
    """

    layout = "viton-hd"

    def __init__(self, root: Path, split: str = SPLIT) -> None:
        self.root = Path(root)
        self.split = check_split(split)
        if (self.root / split / "image").is_dir():
            self.split_root = self.root / split
        elif (self.root / "image").is_dir():
            self.split_root = self.root
        else:
            raise DatasetError(
                f"dataset {str(self.root)!r} has no {split} split (no {split}/image/ folder)"
            )

    def folder(self, name: str) -> Path:
        return self.split_root / name

    def pairs_file(self) -> Path:
        name = f"{self.split}_pairs.txt"
        candidates = (self.root / name, self.split_root / name)
        return next((p for p in candidates if p.is_file()), candidates[0])

    def pairs(self, mode: PairMode) -> list[Pair]:
        """Test split: paired by name, unpaired from ``test_pairs.txt``. Train split:
        ``train_pairs.txt`` (paired by name when there is none); no unpaired pairs."""
        train = self.split == "train"
        if mode is PairMode.PAIRED and not (train and self.pairs_file().is_file()):
            cloth = {p.name for p in self.folder("cloth").glob("*")}
            people = sorted(p.name for p in self.folder("image").glob("*") if p.name in cloth)
            return [Pair(name, name, Category.UPPER) for name in people]
        if mode is PairMode.UNPAIRED and train:
            raise DatasetError(f"{self.root}: a train split has paired pairs only")
        path = self.pairs_file()
        return [Pair(a, b, c) for a, b, c in read_pairs(path, default=Category.UPPER)]

    def files(self, pair: Pair) -> PairFiles:
        person, garment = Path(pair.person).stem, Path(pair.garment).stem
        return PairFiles(
            person=self.folder("image") / pair.person,
            garment=self.folder("cloth") / pair.garment,
            garment_mask=optional(first_existing(self.folder("cloth-mask"), garment)),
            agnostic_mask=optional(self.folder("agnostic-mask") / f"{person}_mask.png"),
            keypoints=optional(self.folder("openpose_json") / f"{person}_keypoints.json"),
        )

    def keypoints(self, pair: Pair, image_size: tuple[int, int]) -> Keypoints | None:
        path = self.files(pair).keypoints
        return read_openpose(path) if path is not None else None

    def person_photos(self) -> list[Path]:
        folder = self.folder("image")
        return sorted(p for p in folder.glob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


class DressCode:
    """A DressCode folder (see the module docstring): one sub-folder per category."""

    layout = "dresscode"

    def __init__(self, root: Path, split: str = SPLIT) -> None:
        self.root = Path(root)
        self.split = check_split(split)

    def category_folders(self) -> dict[Category, Path]:
        return {
            category: self.root / name
            for category, name in DRESSCODE_FOLDERS.items()
            if (self.root / name / "images").is_dir()
        }

    def pairs(self, mode: PairMode) -> list[Pair]:
        """The category folders' pairs files, else the root's (with the category column).

        The train split's are ``train_pairs.txt``, paired pairs only.
        """
        if self.split == "train" and mode is PairMode.UNPAIRED:
            raise DatasetError(f"{self.root}: a train split has paired pairs only")
        name = "train_pairs.txt" if self.split == "train" else f"{SPLIT}_pairs_{mode.value}.txt"
        files = {c: f / name for c, f in self.category_folders().items() if (f / name).is_file()}
        if files:
            return [
                Pair(a, b, c)
                for category, path in files.items()
                for a, b, c in read_pairs(path, default=category)
            ]
        if (self.root / name).is_file():
            return [Pair(a, b, c) for a, b, c in read_pairs(self.root / name)]
        raise DatasetError(f"{self.root}: no {name} in a category folder or at the root")

    def files(self, pair: Pair) -> PairFiles:
        folder = self.root / DRESSCODE_FOLDERS[pair.category]
        person_id = Path(pair.person).stem.rsplit("_", 1)[0]
        garment = Path(pair.garment).stem
        return PairFiles(
            person=folder / "images" / pair.person,
            garment=folder / "images" / pair.garment,
            garment_mask=optional(first_existing(folder / "cloth_mask", garment)),
            agnostic_mask=optional(folder / "agnostic_masks" / f"{Path(pair.person).stem}.png"),
            keypoints=optional(folder / "keypoints" / f"{person_id}_2.json"),
        )

    def keypoints(self, pair: Pair, image_size: tuple[int, int]) -> Keypoints | None:
        path = self.files(pair).keypoints
        return read_dresscode_keypoints(path, image_size) if path is not None else None

    def person_photos(self) -> list[Path]:
        return sorted(
            p
            for folder in self.category_folders().values()
            for p in (folder / "images").glob("*_0.*")
            if p.suffix.lower() in IMAGE_SUFFIXES
        )
