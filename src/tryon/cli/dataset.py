"""``tryon dataset build RAW OUT``, ``tryon dataset info DATASET`` and
``tryon dataset masks DATASET``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tryon.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    Commands,
    add_shared_option,
    check_writable_dir,
    command_parser,
)
from tryon.dataset.build import LAYOUTS, BuildConfig, build_dataset
from tryon.dataset.layout import SPLIT, SPLITS, PairMode, open_dataset
from tryon.dataset.masks import write_project_masks
from tryon.dataset.progress import Progress
from tryon.dataset.raw import raw_photos
from tryon.dataset.training_pairs import PROJECT_MASKS
from tryon.errors import TryOnError
from tryon.types import Category

DESCRIPTION = """\
Builds a try-on dataset in the VITON-HD layout (or DressCode's) from folders of
raw photos: RAW/people/ (person photos) and RAW/garments/ (garment photos), and/or
a shop's products:

  RAW/products/<product>/product.jpg     the product photo
  RAW/products/<product>/worn/*.jpg      photos of a model wearing that product

Every photo is analysed once with this package's own models: keypoints
(OpenPose-18 JSON and the rendered skeleton), garment masks, agnostic masks (the
engines' own), and the pairs files. A garment photo with the same file stem as a
person photo, or a product in one of its worn photos, is the garment that person
wears (a paired pair, with ground truth: what training needs). --split test (the
default) writes test/ and the unpaired and paired pairs; --split train writes
VITON-HD's train/ and train_pairs.txt (DressCode's train_pairs.txt), paired pairs
only, which 'tryon train' reads. DensePose and human-parsing maps cannot be
produced here; OUT/README.md lists what is left out."""

EPILOG = """\
A bad file (not an image, no person, no garment) is reported and skipped; the
batch goes on. Run the same command again to resume: photos already built are
kept. OUT/manifest.json records every photo, every skipped file and why.

exit codes: 0 every photo built, 2 bad usage or some files skipped, 1 unexpected error.

examples:
  tryon dataset build photos/ data/mine
  tryon dataset build photos/ data/mine-dc --layout dresscode --category auto
  tryon dataset build shop/ data/shop-train --split train
  tryon dataset info data/mine
  tryon dataset info data/shop-train --split train
"""


def register(commands: Commands) -> None:
    """Adds ``tryon dataset`` to the command line."""
    parser = command_parser(
        commands,
        "dataset",
        summary="build a VITON-HD / DressCode dataset from raw photos, or describe one",
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    actions = parser.add_subparsers(title="actions", dest="action", metavar="ACTION", required=True)
    build = command_parser(
        actions,
        "build",
        summary="build a dataset from RAW/people and RAW/garments, or RAW/products",
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    build.add_argument(
        "raw", metavar="RAW", type=Path, help="folder with people/ and garments/, or products/"
    )
    build.add_argument("out", metavar="OUT", type=Path, help="the dataset folder to write")
    build.add_argument(
        "--layout", choices=LAYOUTS, default="viton-hd", help="folder layout (default: viton-hd)"
    )
    build.add_argument(
        "--size",
        default="768x1024",
        metavar="WxH",
        help="image size, width x height (default: 768x1024, VITON-HD's)",
    )
    add_shared_option(
        build,
        "--category",
        "garment category: VITON-HD holds one (default: upper); DressCode sorts each "
        "garment into the folder of its guessed category (default: auto)",
        default=None,
    )
    build.add_argument(
        "--unpaired-per-person",
        type=int,
        default=1,
        metavar="N",
        help="garments tried on each person in the unpaired pairs (0: all; default: 1)",
    )
    build.add_argument(
        "--split",
        choices=SPLITS,
        default=SPLIT,
        help="test: unpaired and paired pairs; train: paired pairs only, for "
        "'tryon train' (default: test)",
    )
    add_shared_option(build, "--quiet", "no progress bar")
    build.set_defaults(handler=build_command)

    info = actions.add_parser("info", help="describe a dataset folder: layout, photos, pairs")
    info.add_argument("dataset", metavar="DATASET", type=Path)
    info.add_argument(
        "--split", choices=SPLITS, default=SPLIT, help="the split to describe (default: test)"
    )
    info.set_defaults(handler=info_command)

    masks = actions.add_parser(
        "masks",
        help="write the engines' agnostic masks for a dataset not built here (for training)",
        description="Writes, for the person of every paired pair of a VITON-HD or "
        "DressCode folder, the agnostic mask this project's engines make, in "
        "DATASET/tryon-agnostic-mask/<split>/<category>/<person>.png (or --masks): the "
        "masks training uses by default. Photos that cannot be analysed are reported "
        "and skipped; a second run writes only the missing masks.",
    )
    masks.add_argument("dataset", metavar="DATASET", type=Path)
    masks.add_argument(
        "--split", choices=SPLITS, default="train", help="the split to mask (default: train)"
    )
    masks.add_argument(
        "--masks", type=Path, default=None, metavar="DIR", help="write the masks here instead"
    )
    add_shared_option(masks, "--quiet", "no progress bar")
    masks.set_defaults(handler=masks_command)


def parse_size(value: str) -> tuple[int, int]:
    """``"768x1024"`` -> (1024, 768), (height, width)."""
    try:
        width, height = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise TryOnError(f"--size {value!r}: write width x height, e.g. 768x1024") from None
    return height, width


def build_config(args: argparse.Namespace) -> BuildConfig:
    """The ``BuildConfig`` the arguments of ``tryon dataset build`` describe."""
    if args.category in (None, "auto"):
        category = None if args.layout == "dresscode" else Category.UPPER
        if args.category == "auto" and args.layout == "viton-hd":
            raise TryOnError(
                "--category auto needs --layout dresscode (VITON-HD holds one category)"
            )
    else:
        category = Category(args.category)
    return BuildConfig(
        layout=args.layout,
        size=parse_size(args.size),
        category=category,
        unpaired_per_person=args.unpaired_per_person,
        split=args.split,
    )


def build_command(args: argparse.Namespace) -> int:
    """``tryon dataset build``: a progress bar, one line per skipped file, a summary."""
    config = build_config(args)
    check_writable_dir(args.out, "OUT")
    photos = raw_photos(args.raw)
    progress = Progress(len(photos.people) + len(photos.garments), "build", enabled=not args.quiet)
    summary = build_dataset(args.raw, args.out, config, on_step=progress.step)
    progress.close()
    for name, why in sorted(summary.failed.items()):
        print(f"skipped {name}: {why}", file=sys.stderr)
    print(
        f"{summary.out}: built {summary.built} photos, kept {summary.kept} from an earlier run, "
        f"skipped {len(summary.failed)}; pairs: {summary.pairs['paired']} paired, "
        f"{summary.pairs['unpaired']} unpaired ({config.layout}, {config.split} split, "
        "see README.md there)"
    )
    return EXIT_BAD_INPUT if summary.failed else EXIT_OK


def info_command(args: argparse.Namespace) -> int:
    """``tryon dataset info``: layout, person photos, pairs per mode."""
    dataset = open_dataset(args.dataset, args.split)
    print(
        f"{dataset.root}: {dataset.layout}, {dataset.split} split, "
        f"{len(dataset.person_photos())} person photos"
    )
    for mode in PairMode:
        try:
            count = str(len(dataset.pairs(mode)))
        except TryOnError as exc:
            count = f"none ({exc})"
        print(f"  {mode.value} pairs: {count}")
    return EXIT_OK


def masks_command(args: argparse.Namespace) -> int:
    """``tryon dataset masks``: a progress bar, one line per skipped photo, a summary."""
    dataset = open_dataset(args.dataset, args.split)
    if args.masks is None:
        check_writable_dir(dataset.root / PROJECT_MASKS, "DATASET")
    else:
        check_writable_dir(args.masks, "--masks")
    total = len(dataset.pairs(PairMode.PAIRED))
    progress = Progress(total, "masks", enabled=not args.quiet)
    summary = write_project_masks(dataset, args.masks, on_step=progress.step)
    progress.close()
    for name, why in sorted(summary.failed.items()):
        print(f"skipped {name}: {why}", file=sys.stderr)
    print(
        f"{summary.folder}: wrote {summary.written} masks, kept {summary.kept}, "
        f"skipped {len(summary.failed)}"
    )
    return EXIT_BAD_INPUT if summary.failed else EXIT_OK
