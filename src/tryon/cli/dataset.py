"""``tryon dataset build RAW OUT`` and ``tryon dataset info DATASET``."""

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
    quiet_native_logs,
)
from tryon.dataset.build import LAYOUTS, BuildConfig, build_dataset, raw_photos
from tryon.dataset.layout import PairMode, open_dataset
from tryon.dataset.progress import Progress
from tryon.errors import TryOnError
from tryon.types import Category

DESCRIPTION = """\
Builds a try-on dataset in the VITON-HD layout (or DressCode's) from folders of
raw photos: RAW/people/ (person photos) and RAW/garments/ (garment photos). Every
photo is analysed once with this package's own models: keypoints (OpenPose-18
JSON and the rendered skeleton), garment masks, agnostic masks, and the pairs
files. A garment photo with the same file stem as a person photo is the garment
that person wears (a paired pair, with ground truth). DensePose and human-parsing
maps cannot be produced here; OUT/README.md lists what is left out."""

EPILOG = """\
A bad file (not an image, no person, no garment) is reported and skipped; the
batch goes on. Run the same command again to resume: photos already built are
kept. OUT/manifest.json records every photo, every skipped file and why.

exit codes: 0 every photo built, 2 bad usage or some files skipped, 1 unexpected error.

examples:
  tryon dataset build photos/ data/mine
  tryon dataset build photos/ data/mine-dc --layout dresscode --category auto
  tryon dataset info data/mine
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
        summary="build a dataset from RAW/people and RAW/garments",
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    build.add_argument("raw", metavar="RAW", type=Path, help="folder with people/ and garments/")
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
    add_shared_option(build, "--quiet", "no progress bar")
    build.set_defaults(handler=build_command)

    info = actions.add_parser("info", help="describe a dataset folder: layout, photos, pairs")
    info.add_argument("dataset", metavar="DATASET", type=Path)
    info.set_defaults(handler=info_command)


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
    )


def build_command(args: argparse.Namespace) -> int:
    """``tryon dataset build``: a progress bar, one line per skipped file, a summary."""
    config = build_config(args)
    check_writable_dir(args.out, "OUT")
    people, garments = raw_photos(args.raw)
    progress = Progress(len(people) + len(garments), "build", enabled=not args.quiet)
    with quiet_native_logs():
        summary = build_dataset(args.raw, args.out, config, on_step=progress.step)
    progress.close()
    for name, why in sorted(summary.failed.items()):
        print(f"skipped {name}: {why}", file=sys.stderr)
    print(
        f"{summary.out}: built {summary.built} photos, kept {summary.kept} from an earlier run, "
        f"skipped {len(summary.failed)}; pairs: {summary.pairs['paired']} paired, "
        f"{summary.pairs['unpaired']} unpaired ({config.layout}, see README.md there)"
    )
    return EXIT_BAD_INPUT if summary.failed else EXIT_OK


def info_command(args: argparse.Namespace) -> int:
    """``tryon dataset info``: layout, person photos, pairs per mode."""
    dataset = open_dataset(args.dataset)
    print(f"{dataset.root}: {dataset.layout}, {len(dataset.person_photos())} person photos")
    for mode in PairMode:
        try:
            count = str(len(dataset.pairs(mode)))
        except TryOnError as exc:
            count = f"none ({exc})"
        print(f"  {mode.value} pairs: {count}")
    return EXIT_OK
