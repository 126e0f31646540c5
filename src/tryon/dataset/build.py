"""Builds a VITON-HD or DressCode folder from raw person and garment photos.

``build_dataset(RAW, OUT)`` reads ``RAW/people/*`` and ``RAW/garments/*`` and a shop's
``RAW/products/<product>/`` (``tryon.dataset.raw``), analyses every photo once with our
own models (MediaPipe pose and segmentation, the garment segmenter), and writes the
layout of ``tryon.dataset.layout``: person photos and garment photos at the dataset's
size, garment masks, agnostic masks, OpenPose-18 keypoints (JSON and the rendered
skeleton) and the pairs files of one split (test: unpaired and paired pairs; train:
paired pairs only, as VITON-HD's ``train_pairs.txt``). What we cannot produce faithfully
(DensePose, human parsing maps) is left out and listed in ``OUT/README.md`` and
``OUT/manifest.json``.

A bad file (not an image, no person, no garment found) is recorded and skipped; the
batch goes on. The manifest is rewritten after every photo, so a second run with the
same settings skips the photos already built (resumable).
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw

from tryon.dataset.layout import DRESSCODE_FOLDERS, SPLIT, SPLITS, Pair, write_pairs
from tryon.dataset.openpose import Keypoints, dresscode_document, openpose_document
from tryon.dataset.raw import RawPhoto, raw_photos
from tryon.debug.steps import LIMB_COLOURS, SKELETON
from tryon.engines.checks import check_visible
from tryon.engines.person import Analyzers
from tryon.errors import NoPersonError, TryOnError
from tryon.imageio import load_image
from tryon.types import BodyAnalysis, Category, Image, Mask

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "tryon-dataset-build/1"
LAYOUTS = ("viton-hd", "dresscode")
PERSON_BORDER = cv2.BORDER_REPLICATE
GARMENT_BACKGROUND = (255, 255, 255)
JPEG_QUALITY = 95

DENSEPOSE = "DensePose needs detectron2 and its weights, not available here"


def not_produced(layout: str, split: str) -> dict[str, str]:
    """What a build of this layout and split leaves out, and why."""
    other = next(s for s in SPLITS if s != split)
    one_split = f"one split per folder: build the {other} split into another folder"
    if layout == "viton-hd":
        return {
            f"{split}/image-densepose/": DENSEPOSE,
            f"{split}/image-parse-v3/": "a faithful LIP/ATR parse map needs a human-parsing "
            "model (SCHP / Graphonomy weights); our person and garment masks are not that "
            "labelling",
            f"{other}/": one_split,
        }
    other_pairs = "train_pairs.txt" if other == "train" else "test_pairs_*.txt"
    return {
        "*/dense/": DENSEPOSE,
        "*/label_maps/": "a faithful parse map needs a human-parsing model's weights",
        "*/parse/, */cloth_parse/": "as label_maps",
        other_pairs: one_split,
    }


@dataclass(frozen=True)
class BuildConfig:
    """How to build the dataset.

    Attributes:
        layout: "viton-hd" or "dresscode".
        size: (height, width) of every written image; photos are scaled to fit and padded
            (person photos by repeating their border, garments with white).
        category: VITON-HD: the garment category of the dataset (garments of another
            category are skipped). DressCode: None (each garment goes to the folder of its
            guessed category) or one category for every garment.
        unpaired_per_person: garments paired with each person in the unpaired pairs file
            (0: every garment of the category but the person's own).
        split: "test" (paired and unpaired pairs) or "train" (paired pairs only, in
            VITON-HD's ``train/`` and ``train_pairs.txt``, DressCode's ``train_pairs.txt``).
    """

    layout: str = "viton-hd"
    size: tuple[int, int] = (1024, 768)
    category: Category | None = Category.UPPER
    unpaired_per_person: int = 1
    split: str = SPLIT

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise TryOnError(f"unknown layout {self.layout!r}: use one of {', '.join(LAYOUTS)}")
        if self.layout == "viton-hd" and self.category is None:
            raise TryOnError(
                "a VITON-HD dataset holds one category: choose upper, lower or overall"
            )
        if min(self.size) < 64:
            raise TryOnError(f"image size {self.size} is too small (64 pixels at least)")
        if self.unpaired_per_person < 0:
            raise TryOnError("unpaired pairs per person must be 0 (all) or more")
        if self.split not in SPLITS:
            raise TryOnError(f"unknown split {self.split!r}: use one of {', '.join(SPLITS)}")

    def as_json(self) -> dict[str, Any]:
        return {
            "layout": self.layout,
            "size": {"height": self.size[0], "width": self.size[1]},
            "category": self.category.value if self.category else "auto",
            "unpaired_per_person": self.unpaired_per_person,
            "split": self.split,
        }


@dataclass
class BuildSummary:
    """What a build did.

    Attributes:
        out: the dataset folder.
        built: photos analysed and written by this run.
        kept: photos already built by an earlier run (skipped).
        failed: raw file (``people/x.jpg``, ``products/p/worn/a.jpg``) -> why it was skipped.
        pairs: pairs written per mode ("paired", "unpaired"; a train split: paired only).
    """

    out: Path
    built: int = 0
    kept: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    pairs: dict[str, int] = field(default_factory=dict)


class Analyzer(Protocol):
    """The analyses the builder needs (``PhotoAnalyzer``: the engines' own)."""

    def analyze_body(self, image: Image) -> BodyAnalysis: ...

    def agnostic_mask(self, image: Image, body: BodyAnalysis, category: Category) -> Mask: ...

    def analyze_garment(self, image: Image) -> tuple[Mask, Category]: ...


class PhotoAnalyzer:
    """The builder's analyses, done by the body and garment stages the engines use, so a
    dataset's agnostic masks are the engines' own."""

    def __init__(self, analyzers: Analyzers | None = None) -> None:
        self.owned = analyzers is None
        self.analyzers = analyzers or Analyzers()

    def close(self) -> None:
        """Closes the analysers if this made them (shared ones stay open)."""
        if self.owned:
            self.analyzers.close()

    def analyze_body(self, image: Image) -> BodyAnalysis:
        # The pose model also "finds" a person in a flat-lay shirt; a dataset's person
        # photos show a face, so one is required here.
        if not self.analyzers.garments.is_worn(image):
            raise NoPersonError(
                "no person found (no face detected): use a photo of one person facing the "
                "camera, head in the frame"
            )
        return self.analyzers.body.analyze(image)

    def agnostic_mask(self, image: Image, body: BodyAnalysis, category: Category) -> Mask:
        return self.analyzers.mask_person(image, category, body).agnostic_mask

    def analyze_garment(self, image: Image) -> tuple[Mask, Category]:
        analysis = self.analyzers.garments.analyze(image, None)
        return analysis.mask, analysis.category


@dataclass(frozen=True)
class PersonEntry:
    """One person photo, analysed, in the dataset's frame.

    Attributes:
        image: the photo as a reader of the dataset decodes it (RGB uint8).
        jpeg: the JPEG file written for it.
        keypoints: (18, 3) OpenPose-18 rows in pixels of ``image``.
        agnostic: the agnostic mask per category the person can take.
    """

    image: Image
    jpeg: bytes
    keypoints: Keypoints
    agnostic: dict[Category, Mask]


def build_dataset(
    raw: Path,
    out: Path,
    config: BuildConfig | None = None,
    analyzer: Analyzer | None = None,
    on_step: Callable[[str], None] | None = None,
) -> BuildSummary:
    """Builds (or resumes building) a dataset in ``out`` from the photos of ``raw``.

    Args:
        raw: folder with ``people/`` (person photos) and ``garments/`` (garment photos), or
            a shop's ``products/<product>/product.jpg`` and ``products/<product>/worn/*``
            (``tryon.dataset.raw``), or both. A garment with the same file stem as a
            person, or a product worn in a photo, is the garment that person wears: a
            paired (ground-truth) pair.
        out: the dataset folder (created).
        config: layout, size, pairing and split; defaults to VITON-HD's test split at
            768 x 1024.
        analyzer: the analyses (default: the warp engine's, loaded here).
        on_step: called after each photo with its raw name (a progress bar).

    Raises:
        TryOnError: ``raw`` lacks the folders, or ``out`` was built with other settings.
    """
    if analyzer is not None:
        return build_with(raw, out, config or BuildConfig(), analyzer, on_step)
    with closing(PhotoAnalyzer()) as own:
        return build_with(raw, out, config or BuildConfig(), own, on_step)


def build_with(
    raw: Path,
    out: Path,
    config: BuildConfig,
    analyzer: Analyzer,
    on_step: Callable[[str], None] | None,
) -> BuildSummary:
    """``build_dataset`` with its analyser."""
    photos = raw_photos(Path(raw))
    out = Path(out)
    manifest = open_manifest(out, config)
    writer = make_writer(out, config)
    summary = BuildSummary(out=out)
    step = on_step or (lambda name: None)

    def record(kind: str, photo: RawPhoto, entry: dict[str, Any] | None, error: str | None) -> None:
        if entry is not None:
            manifest[kind][photo.key] = entry
            manifest["failed"].pop(photo.label, None)
            summary.built += 1
        if error is not None:
            manifest["failed"][photo.label] = error
            summary.failed[photo.label] = error
        save_manifest(out, manifest)
        step(photo.label)

    ids = writer.assign_ids([p.stem for p in photos.people], [g.stem for g in photos.garments])
    prepared = GarmentPhotos(config, analyzer)
    for photo in photos.garments:
        done = manifest["garments"].get(photo.key)
        if done and all(p.is_file() for p in writer.garment_files(done)):
            summary.kept += 1
            step(photo.label)
            continue
        entry, error = attempt(partial(build_garment, photo, ids, prepared, writer))
        record("garments", photo, entry, error)

    categories = sorted(
        {Category(g["category"]) for g in manifest["garments"].values()}
        if config.category is None
        else {config.category},
        key=list(Category).index,
    )
    for photo in photos.people:
        done = manifest["people"].get(photo.key)
        wanted = person_categories(photo, manifest, categories)
        if done and person_built(done, wanted, writer):
            summary.kept += 1
            step(photo.label)
            continue
        entry, error = attempt(partial(build_person, photo, ids, wanted, analyzer, writer))
        record("people", photo, entry, error)

    drop_unworn(photos.people, manifest, writer)
    paired, unpaired = make_pairs(manifest, config.unpaired_per_person)
    writer.write_pairs(paired, unpaired)
    summary.pairs = {"paired": len(paired), "unpaired": len(unpaired)}
    manifest["pairs"] = summary.pairs
    save_manifest(out, manifest)
    write_readme(out, manifest)
    return summary


def person_built(done: dict[str, Any], wanted: list[Category], writer: Writer) -> bool:
    """Whether an earlier run built the person for these categories (files all there)."""
    tried = set(done.get("tried", done["categories"]))
    return tried >= {c.value for c in wanted} and all(
        p.is_file() for p in writer.person_files(done)
    )


def drop_unworn(people: list[RawPhoto], manifest: dict[str, Any], writer: Writer) -> None:
    """Removes the product photo written for a worn photo that was skipped (no person)."""
    for photo in people:
        entry = manifest["garments"].get(photo.garment or "")
        if entry is not None and photo.key not in manifest["people"]:
            for path in writer.garment_files(entry):
                path.unlink(missing_ok=True)
            del manifest["garments"][photo.garment]


def person_categories(
    photo: RawPhoto, manifest: dict[str, Any], categories: list[Category]
) -> list[Category]:
    """The categories a person photo is built for: a worn photo, only its product's
    (none when the product photo was skipped: the person is then skipped too)."""
    if photo.garment is None:
        return categories
    product = manifest["garments"].get(photo.garment)
    return [] if product is None else [Category(product["category"])]


def attempt(
    work: Callable[[], dict[str, Any]],
) -> tuple[dict[str, Any] | None, str | None]:
    """Runs one photo's work; a failure becomes its one-line reason (the batch goes on)."""
    try:
        return work(), None
    except TryOnError as exc:
        return None, " ".join(str(exc).split())
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # a bug or an odd photo must not stop a long batch
        return None, f"unexpected {type(exc).__name__}: {' '.join(str(exc).split())}"


@dataclass(frozen=True)
class GarmentPhoto:
    """A garment photo as written: its JPEG, mask and category."""

    jpeg: bytes
    mask: Mask
    category: Category


class GarmentPhotos:
    """Garment photos prepared once each: a product photo worn in several photos is
    written once per photo but analysed (or refused) once."""

    def __init__(self, config: BuildConfig, analyzer: Analyzer) -> None:
        self.config = config
        self.analyzer = analyzer
        self.done: dict[Path, GarmentPhoto | TryOnError] = {}

    def get(self, path: Path) -> GarmentPhoto:
        if path not in self.done:
            try:
                self.done[path] = self.prepare(path)
            except TryOnError as exc:
                self.done[path] = exc
        found = self.done[path]
        if isinstance(found, TryOnError):
            raise found
        return found

    def prepare(self, path: Path) -> GarmentPhoto:
        config = self.config
        image = load_image(path, role=f"garment photo {path.name}")
        jpeg, image = as_stored(fit(image, config.size, garment=True))
        mask, found = self.analyzer.analyze_garment(image)
        if config.layout == "viton-hd" and found is not config.category:
            raise TryOnError(
                f"the garment looks {found.value}, and this VITON-HD dataset is "
                f"{config.category}; build it with --category {found.value} or --layout "
                "dresscode"
            )
        return GarmentPhoto(jpeg, mask, config.category or found)


def build_garment(
    photo: RawPhoto,
    ids: dict[str, dict[str, str]],
    prepared: GarmentPhotos,
    writer: Writer,
) -> dict[str, Any]:
    garment = prepared.get(photo.path)
    entry = {
        "name": ids["garments"][photo.stem],
        "stem": photo.stem,
        "group": photo.group,
        "category": garment.category.value,
    }
    writer.write_garment(entry, garment.jpeg, garment.mask)
    return entry


def build_person(
    photo: RawPhoto,
    ids: dict[str, dict[str, str]],
    categories: list[Category],
    analyzer: Analyzer,
    writer: Writer,
) -> dict[str, Any]:
    if photo.garment is not None and not categories:
        product = photo.garment.rsplit("@", 1)[0]
        raise TryOnError(f"its product photo {product} was skipped")
    size = writer.config.size
    path = photo.path
    image = fit(load_image(path, role=f"person photo {path.name}"), size, garment=False)
    jpeg, image = as_stored(image)
    body = analyzer.analyze_body(image)
    usable: list[Category] = []
    problems: list[str] = []
    for category in categories:
        try:
            check_visible(body, category)
            usable.append(category)
        except TryOnError as exc:
            problems.append(str(exc))
    if categories and not usable:
        raise TryOnError(problems[0])
    person = PersonEntry(
        image=image,
        jpeg=jpeg,
        keypoints=body.keypoints.openpose18(),
        agnostic={c: analyzer.agnostic_mask(image, body, c) for c in usable},
    )
    entry = {
        "name": ids["people"][photo.stem],
        "stem": photo.stem,
        "group": photo.group,
        "categories": [c.value for c in usable],
        "tried": [c.value for c in categories],
    }
    writer.write_person(entry, person)
    return entry


def fit(image: Image, size: tuple[int, int], garment: bool) -> Image:
    """Scales ``image`` to fit (height, width) ``size`` and pads it to that size.

    Person photos are padded by repeating their border pixels (a plain backdrop stays
    plain); garment photos with white, the usual product-photo background.
    """
    height, width = size
    h, w = image.shape[:2]
    scale = min(height / h, width / w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    border = (top, height - new_h - top, left, width - new_w - left)
    if garment:
        padded = cv2.copyMakeBorder(resized, *border, cv2.BORDER_CONSTANT, value=GARMENT_BACKGROUND)
    else:
        padded = cv2.copyMakeBorder(resized, *border, PERSON_BORDER)
    return np.ascontiguousarray(padded, np.uint8)


def make_pairs(manifest: dict[str, Any], per_person: int) -> tuple[list[Pair], list[Pair]]:
    """Paired pairs (a garment with the person's stem) and unpaired ones (garments of the
    other groups, one photo per product, rotated); a train split has paired pairs only."""
    people = sorted(manifest["people"].values(), key=lambda e: e["name"])
    garments = sorted(manifest["garments"].values(), key=lambda e: e["name"])
    paired: list[Pair] = []
    unpaired: list[Pair] = []
    train = manifest["config"].get("split", SPLIT) == "train"
    for index, person in enumerate(people):
        group = person.get("group", person["stem"])
        for category in map(Category, person["categories"]):
            same = [g for g in garments if g["category"] == category.value]
            own = [g for g in same if g["stem"] == person["stem"]]
            paired += [Pair(person["name"], g["name"], category) for g in own]
            first: dict[str, dict[str, Any]] = {}
            for g in same:
                first.setdefault(g.get("group", g["stem"]), g)
            others = [] if train else [g for k, g in first.items() if k != group]
            if not others:
                continue
            count = len(others) if per_person == 0 else min(per_person, len(others))
            chosen = [others[(index + k) % len(others)] for k in range(count)]
            unpaired += [Pair(person["name"], g["name"], category) for g in chosen]
    return paired, unpaired


# --- manifest ----------------------------------------------------------------------


def open_manifest(out: Path, config: BuildConfig) -> dict[str, Any]:
    """The manifest of an earlier build of ``out`` with the same settings, or a new one."""
    path = out / MANIFEST
    fresh: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "config": config.as_json(),
        "people": {},
        "garments": {},
        "failed": {},
        "pairs": {},
        "not_produced": not_produced(config.layout, config.split),
    }
    if not path.is_file():
        if out.is_dir() and any(out.iterdir()):
            raise TryOnError(
                f"{str(out)!r} is not empty and was not made by 'tryon dataset build'; "
                "choose a new folder"
            )
        return fresh
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise TryOnError(f"{path} is unreadable ({exc}); remove it to rebuild") from None
    earlier = manifest.get("config")
    if isinstance(earlier, dict):
        earlier = {"split": SPLIT, **earlier}  # built before splits were recorded
    if manifest.get("format") != MANIFEST_FORMAT or earlier != config.as_json():
        raise TryOnError(
            f"{str(out)!r} was built with other settings ({manifest.get('config')}); "
            "use the same options to resume, or a new folder"
        )
    return {**fresh, **manifest, "config": config.as_json(), "not_produced": fresh["not_produced"]}


def save_manifest(out: Path, manifest: dict[str, Any]) -> None:
    """Writes the manifest atomically (a crash leaves the previous one whole)."""
    out.mkdir(parents=True, exist_ok=True)
    temporary = out / f".{MANIFEST}.tmp"
    temporary.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, out / MANIFEST)


def write_readme(out: Path, manifest: dict[str, Any]) -> None:
    """``OUT/README.md``: what the folder holds, how it was made, what is missing."""
    config = manifest["config"]
    lines = [
        "# Try-on dataset built by `tryon dataset build`",
        "",
        f"Layout: {config['layout']}, {config.get('split', SPLIT)} split, images "
        f"{config['size']['width']} x {config['size']['height']} (width x height), "
        f"category {config['category']}.",
        f"People: {len(manifest['people'])}; garments: {len(manifest['garments'])}; "
        f"pairs: {manifest['pairs'].get('paired', 0)} paired, "
        f"{manifest['pairs'].get('unpaired', 0)} unpaired.",
        "",
        "## How the files were made",
        "",
        "- Photos scaled to fit and padded (person photos by repeating their border, "
        "garments with white).",
        "- Keypoints: MediaPipe Pose's 33 landmarks mapped to OpenPose-18 (the neck is the "
        "shoulders' midpoint); a joint not confidently visible is (0, 0, 0).",
        "- Garment masks: our product-photo segmenter (or the worn garment's region).",
        "- Agnostic masks: our per-category agnostic mask (head, hands and feet kept).",
        "- Paired pairs: a garment photo with the same file stem as a person photo, and "
        "each photo of `products/<product>/worn/` with its `product` photo (written under "
        "that person's name or id).",
        "",
        "## Not produced",
        "",
        *(f"- `{name}`: {why}" for name, why in manifest["not_produced"].items()),
        "",
    ]
    if manifest["failed"]:
        lines += ["## Skipped raw files", ""]
        lines += [f"- `{name}`: {why}" for name, why in sorted(manifest["failed"].items())]
        lines.append("")
    (out / "README.md").write_text("\n".join(lines), encoding="utf-8")


# --- writers -----------------------------------------------------------------------


class Writer(Protocol):
    config: BuildConfig

    def assign_ids(self, people: list[str], garments: list[str]) -> dict[str, dict[str, str]]:
        """Output file name per raw stem, for people and garments."""
        ...

    def person_files(self, entry: dict[str, Any]) -> list[Path]: ...

    def garment_files(self, entry: dict[str, Any]) -> list[Path]: ...

    def write_person(self, entry: dict[str, Any], person: PersonEntry) -> None: ...

    def write_garment(self, entry: dict[str, Any], jpeg: bytes, mask: Mask) -> None: ...

    def write_pairs(self, paired: list[Pair], unpaired: list[Pair]) -> None: ...


def make_writer(out: Path, config: BuildConfig) -> Writer:
    return (
        VitonHDWriter(out, config) if config.layout == "viton-hd" else DressCodeWriter(out, config)
    )


def safe_stem(stem: str) -> str:
    """A file stem without whitespace (pairs files are split on it)."""
    return "_".join(stem.split()) or "photo"


def unique_names(stems: Iterable[str], suffix: str) -> dict[str, str]:
    names: dict[str, str] = {}
    taken: set[str] = set()
    for stem in stems:
        base = safe_stem(stem)
        name, n = f"{base}{suffix}", 1
        while name in taken:
            n += 1
            name = f"{base}-{n}{suffix}"
        names.setdefault(stem, name)
        taken.add(name)
    return names


class VitonHDWriter:
    """Writes ``OUT/<split>/...`` and ``OUT/<split>_pairs.txt`` (``tryon.dataset.layout``):
    ``test_pairs.txt`` lists the unpaired pairs, ``train_pairs.txt`` the paired ones."""

    def __init__(self, out: Path, config: BuildConfig) -> None:
        self.out = out
        self.split = out / config.split
        self.config = config

    def assign_ids(self, people: list[str], garments: list[str]) -> dict[str, dict[str, str]]:
        return {"people": unique_names(people, ".jpg"), "garments": unique_names(garments, ".jpg")}

    def person_files(self, entry: dict[str, Any]) -> list[Path]:
        stem = Path(entry["name"]).stem
        return [
            self.split / "image" / entry["name"],
            self.split / "agnostic-mask" / f"{stem}_mask.png",
            self.split / "openpose_json" / f"{stem}_keypoints.json",
            self.split / "openpose_img" / f"{stem}_rendered.png",
        ]

    def garment_files(self, entry: dict[str, Any]) -> list[Path]:
        return [self.split / "cloth" / entry["name"], self.split / "cloth-mask" / entry["name"]]

    def write_person(self, entry: dict[str, Any], person: PersonEntry) -> None:
        image, mask, keypoints, skeleton = self.person_files(entry)
        save_bytes(person.jpeg, image)
        save_mask(person.agnostic[self.config.category or Category.UPPER], mask)
        save_json(openpose_document(person.keypoints), keypoints)
        save_skeleton(person.keypoints, image_size(person.image), skeleton)

    def write_garment(self, entry: dict[str, Any], jpeg: bytes, mask: Mask) -> None:
        cloth, cloth_mask = self.garment_files(entry)
        save_bytes(jpeg, cloth)
        save_mask(mask, cloth_mask)

    def write_pairs(self, paired: list[Pair], unpaired: list[Pair]) -> None:
        chosen = paired if self.config.split == "train" else unpaired
        write_pairs(self.out / f"{self.config.split}_pairs.txt", chosen)
        for folder in ("image", "cloth"):  # a reader knows the split, even an empty one
            (self.split / folder).mkdir(parents=True, exist_ok=True)


class DressCodeWriter:
    """Writes ``OUT/<category>/...`` and the pairs files (see ``tryon.dataset.layout``).

    A person photo is ``<id>_0.jpg`` and the garment they wear ``<id>_1.jpg``; a garment
    photo with no person of the same stem gets an id of its own.
    """

    def __init__(self, out: Path, config: BuildConfig) -> None:
        self.out = out
        self.config = config

    def assign_ids(self, people: list[str], garments: list[str]) -> dict[str, dict[str, str]]:
        person_ids = {stem: f"{index:06d}" for index, stem in enumerate(dict.fromkeys(people))}
        garment_ids: dict[str, str] = {}
        next_id = len(person_ids)
        for stem in dict.fromkeys(garments):
            if stem in person_ids:
                garment_ids[stem] = person_ids[stem]
            else:
                garment_ids[stem], next_id = f"{next_id:06d}", next_id + 1
        return {
            "people": {s: f"{i}_0.jpg" for s, i in person_ids.items()},
            "garments": {s: f"{i}_1.jpg" for s, i in garment_ids.items()},
        }

    def folder(self, category: str) -> Path:
        return self.out / DRESSCODE_FOLDERS[Category(category)]

    def person_files(self, entry: dict[str, Any]) -> list[Path]:
        person_id = entry["name"].split("_")[0]
        return [
            path
            for category in entry["categories"]
            for path in (
                self.folder(category) / "images" / entry["name"],
                self.folder(category) / "agnostic_masks" / f"{person_id}_0.png",
                self.folder(category) / "keypoints" / f"{person_id}_2.json",
                self.folder(category) / "skeletons" / f"{person_id}_5.jpg",
            )
        ]

    def garment_files(self, entry: dict[str, Any]) -> list[Path]:
        folder = self.folder(entry["category"])
        return [
            folder / "images" / entry["name"],
            folder / "cloth_mask" / f"{Path(entry['name']).stem}.png",
        ]

    def write_person(self, entry: dict[str, Any], person: PersonEntry) -> None:
        files = self.person_files(entry)
        size = image_size(person.image)
        for index, category in enumerate(entry["categories"]):
            image, mask, keypoints, skeleton = files[4 * index : 4 * index + 4]
            save_bytes(person.jpeg, image)
            save_mask(person.agnostic[Category(category)], mask)
            save_json(dresscode_document(person.keypoints, size), keypoints)
            save_skeleton(person.keypoints, size, skeleton)

    def write_garment(self, entry: dict[str, Any], jpeg: bytes, mask: Mask) -> None:
        photo, cloth_mask = self.garment_files(entry)
        save_bytes(jpeg, photo)
        save_mask(mask, cloth_mask)

    def write_pairs(self, paired: list[Pair], unpaired: list[Pair]) -> None:
        """Test: ``test_pairs_{paired,unpaired}.txt``; train: ``train_pairs.txt`` (paired),
        at the root with the category column and in each category folder without."""
        if self.config.split == "train":
            files = [("train_pairs.txt", paired)]
        else:
            files = [
                (f"{SPLIT}_pairs_{mode}.txt", pairs)
                for mode, pairs in (("paired", paired), ("unpaired", unpaired))
            ]
        for file_name, pairs in files:
            write_pairs(self.out / file_name, pairs, with_category=True)
            for category, name in DRESSCODE_FOLDERS.items():
                if (self.out / name).is_dir():
                    chosen = [p for p in pairs if p.category is category]
                    write_pairs(self.out / name / file_name, chosen)


# --- files -------------------------------------------------------------------------


def as_stored(image: Image, quality: int = JPEG_QUALITY) -> tuple[bytes, Image]:
    """The JPEG written for ``image`` and the pixels a reader decodes from it.

    Masks and keypoints are computed on the decoded pixels, so that they belong to the
    photo exactly as the dataset's users (and ``tryon eval``) will read it.
    """
    buffer = io.BytesIO()
    PILImage.fromarray(image).save(buffer, format="JPEG", quality=quality)
    data = buffer.getvalue()
    return data, load_image(data)


def save_bytes(data: bytes, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def save_mask(mask: Mask, path: Path) -> None:
    """A mask as an 8-bit grey image, 255 inside (PNG, or JPEG for VITON-HD's cloth-mask)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    grey = PILImage.fromarray(np.where(mask, 255, 0).astype(np.uint8), "L")
    if path.suffix.lower() in (".jpg", ".jpeg"):
        grey.save(path, quality=95)
    else:
        grey.save(path)


def save_json(document: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document) + "\n", encoding="utf-8")


def skeleton_image(keypoints: Keypoints, size: tuple[int, int]) -> PILImage.Image:
    """The OpenPose-18 skeleton on black, OpenPose's colours (like VITON-HD's openpose_img).

    Args:
        keypoints: (18, 3) rows (x, y, confidence) in pixels.
        size: (height, width) of the picture.
    """
    picture = PILImage.new("RGB", (size[1], size[0]), "black")
    draw = ImageDraw.Draw(picture)
    width = max(2, round(min(size) / 150))
    seen = {j: (float(x), float(y)) for j, (x, y, c) in enumerate(keypoints) if c > 0}
    for (a, b), colour in zip(SKELETON, LIMB_COLOURS, strict=True):
        if a in seen and b in seen:
            draw.line([seen[a], seen[b]], fill=colour, width=width)
    for x, y in seen.values():
        draw.ellipse((x - width, y - width, x + width, y + width), fill=(255, 255, 255))
    return picture


def save_skeleton(keypoints: Keypoints, size: tuple[int, int], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    picture = skeleton_image(keypoints, size)
    if path.suffix.lower() == ".jpg":
        picture.save(path, quality=95)
    else:
        picture.save(path)


def image_size(image: Image) -> tuple[int, int]:
    """(height, width) of an image array."""
    return int(image.shape[0]), int(image.shape[1])
