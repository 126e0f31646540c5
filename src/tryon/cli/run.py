"""``tryon run --person P --garment G --out OUT``: dresses one person photo."""

from __future__ import annotations

import argparse
import os
import sys
import time
from contextlib import closing
from pathlib import Path

import numpy as np

from tryon.cli.common import (
    EXIT_OK,
    Commands,
    add_shared_option,
    check_readable_file,
    check_writable_dir,
    command_parser,
    one_line,
)
from tryon.debug.steps import save_steps
from tryon.engines import ENGINES, Engine, create_engine
from tryon.errors import TryOnError
from tryon.imageio import load_image, save_image
from tryon.pipeline import OUTFIT_MOST, OutfitError, TryOn, with_area
from tryon.types import Image, Mask, TryOnResult

OUTPUT_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")

DESCRIPTION = """\
Dresses the person in --person in the garment in --garment and writes the
result to --out. Photos may be JPEG, PNG or WebP; EXIF rotation is applied.
The person photo works best with one person facing the camera, full body or at
least head to hips. The garment photo may be a product photo (flat lay or ghost
mannequin on a plain background) or a photo of someone wearing the garment.

An outfit: give --garment twice, a top and a bottom (a dress is worn alone). The
bottom is put on first and the top over it, so the top's hem lies over the
waistband; only the pixels inside the two garments' areas change."""

EPILOG = """\
category auto:
  product photos: trousers (a crotch notch in the outline) are "lower", a
  garment much taller than wide is "overall", anything else is "upper".
  Photos of someone wearing the garment: their upper garment.
  Pass a category to override the guess; with two --garment, pass --category
  twice, in the same order (auto for one that should be guessed).

--mask PNG: the area the try-on may change, instead of the one the warp engine
  finds: a picture the size of the person photo (upright), white where the
  garment may go (grey 128 or lighter). Every pixel outside it stays the photo's.

--save-steps DIR writes every intermediate stage into DIR:
  steps.png                 contact sheet of the main stages, captioned
  person.png, garment.png   the photos as read (upright RGB)
  garment_mask.png, garment_pieces.png, garment_landmarks.png/.json
                            garment segmentation, pieces (torso, sleeves,
                            legs) and named landmarks (neckline, hems, ...)
  keypoints.json            body pose as OpenPose-18 JSON (as used by VITON-HD)
  keypoints_mediapipe33.json, keypoints.png
                            MediaPipe's 33 landmarks; the skeleton drawn
                            over the person
  person_mask.png, face_mask.png, head_mask.png, hands_mask.png
                            body regions (white = inside)
  agnostic_mask.png, agnostic.png
                            the region the try-on may change (white / grey)
  warped_garment.png, warped_landmarks.png
                            the garment moved onto the body (RGBA), and
                            with its landmarks over agnostic.png
  shading.png, fill_mask.png
                            shading taken from the photo (mid grey = none),
                            old-garment pixels that were filled in
  result.png, timings.json, config/summary.json
                            the result, seconds per stage, and the category,
                            sizes and warnings

exit codes: 0 success, 2 bad input or usage, 1 unexpected error (rerun with
TRYON_DEBUG=1 to see the traceback).

examples:
  tryon run --person me.jpg --garment shirt.jpg --out me_in_shirt.png
  tryon run --person me.jpg --garment jeans.jpg --category lower \\
      --out out.jpg --save-steps steps/
  tryon run --person me.jpg --garment shirt.jpg --garment jeans.jpg --out outfit.png
  tryon run --person me.jpg --garment shirt.jpg --mask area.png --out out.png
"""


def register(commands: Commands) -> None:
    """Adds ``tryon run`` to the ``tryon`` parser."""
    run = command_parser(
        commands,
        "run",
        summary="dress a person photo in a garment",
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    run.add_argument("--person", required=True, metavar="P", help="photo of the person to dress")
    run.add_argument(
        "--garment",
        required=True,
        action="append",
        metavar="G",
        help="photo of the garment (product or worn); twice for an outfit: a top and a bottom",
    )
    add_shared_option(
        run,
        "--category",
        "what the garment replaces: upper (tops, jackets), lower (trousers, skirts), "
        "overall (dresses, jumpsuits) or auto, guessed from the garment photo (default: "
        "auto); once per --garment, in the same order, for an outfit",
        action="append",
        default=None,
    )
    run.add_argument(
        "--mask",
        metavar="PNG",
        help="the area the try-on may change (warp engine, one --garment): a picture the "
        "size of the person photo, white inside (see below)",
    )
    run.add_argument(
        "--engine",
        choices=sorted(ENGINES),
        default="warp",
        help="try-on engine; warp moves the garment photo onto the body (default: warp); "
        "catvton paints it with CatVTON's diffusion model; hybrid warps, then repaints the "
        "seams with it (both need --weights; CatVTON's weights are non-commercial)",
    )
    add_shared_option(
        run,
        "--weights",
        "diffusion weights folder for catvton and hybrid (default: $TRYON_WEIGHTS or "
        "~/.cache/tryon/weights; get them with 'tryon weights fetch')",
    )
    run.add_argument(
        "--attention",
        metavar="NAME|PATH",
        help="attention weights for catvton and hybrid: a published CatVTON version "
        "(default: mix-48k-1024), trained weights' folder name under the weights folder, "
        "or their path (a 'tryon train' output folder holding attention/model.safetensors, "
        "or the file)",
    )
    run.add_argument(
        "--out",
        required=True,
        metavar="OUT",
        help="result image; the type follows the suffix: .png, .jpg / .jpeg or .webp",
    )
    run.add_argument(
        "--save-steps",
        metavar="DIR",
        help="also write every intermediate stage and a contact sheet into DIR (see below)",
    )
    add_shared_option(run, "--quiet", "print nothing on success (errors are still printed)")
    run.set_defaults(handler=run_command)


def run_command(args: argparse.Namespace) -> int:
    """``tryon run``: checks the arguments, dresses the person, writes the files."""
    start = time.perf_counter()
    garments: list[str] = args.garment
    categories = outfit_categories(garments, args.category)
    inputs = (args.person, *garments, *([args.mask] if args.mask else []))
    out = output_path(args.out, inputs=inputs)
    steps = Path(args.save_steps) if args.save_steps else None
    if steps is not None:
        check_writable_dir(steps, "--save-steps")
    check_readable_file(args.person, "--person")
    for garment in garments:
        check_readable_file(garment, "--garment")
    person = load_image(args.person, role="person photo")
    mask = None if args.mask is None else read_mask(args.mask, person, args.engine, garments)
    photos = [load_image(garment, role="garment photo") for garment in garments]
    try:
        result = dress(person, photos, categories, args.engine, args.weights, args.attention, mask)
    except OutfitError as exc:
        raise TryOnError(f"--garment: {exc}") from None
    save_image(result.image, out)
    if steps is not None:
        save_steps(result, steps)
    if not args.quiet:
        for warning in result.warnings:
            print(f"note: {one_line(warning)}", file=sys.stderr)
        also = f"; steps in {steps}{os.sep}" if steps is not None else ""
        print(f"wrote {out} in {time.perf_counter() - start:.1f} s{also}")
    return EXIT_OK


def outfit_categories(garments: list[str], categories: list[str] | None) -> list[str]:
    """One ``--category`` per ``--garment`` (all auto when none is given).

    Raises:
        TryOnError: more garments than an outfit holds, or not one category each.
    """
    if len(garments) > OUTFIT_MOST:
        raise TryOnError(
            f"--garment: {len(garments)} given; an outfit is one top and one bottom, or a "
            "dress alone"
        )
    given = categories or ["auto"] * len(garments)
    if len(given) != len(garments):
        raise TryOnError(
            f"--category: {len(given)} given for {len(garments)} --garment; give one per "
            "--garment in the same order (auto to guess one), or none"
        )
    return given


def read_mask(path: str, person: Image, engine: str, garments: list[str]) -> Mask:
    """``--mask``: the area a try-on of ``person`` may change, white (grey >= 128) inside.

    Raises:
        TryOnError: naming --mask: not a readable picture, no white pixel, not the
            person photo's size, another engine than warp, or an outfit.
    """
    if engine != "warp":
        raise TryOnError(f"--mask: only the warp engine takes a mask (not --engine {engine})")
    if len(garments) > 1:
        raise TryOnError(
            "--mask: an area is drawn for one --garment; an outfit's area is found per garment"
        )
    check_readable_file(path, "--mask")
    try:
        picture = load_image(path, role="mask")
    except TryOnError as exc:
        raise TryOnError(f"--mask {path!r}: {exc}") from None
    mask: Mask = picture.max(axis=2) >= 128  # a grey picture is grey in every channel
    if not np.any(mask):
        raise TryOnError(
            f"--mask {path!r}: no pixel is white; paint the area the try-on may change in white"
        )
    if mask.shape != person.shape[:2]:
        height, width = mask.shape
        raise TryOnError(
            f"--mask {path!r}: {width}x{height} pixels, but the --person photo is "
            f"{person.shape[1]}x{person.shape[0]} (upright); give a mask the size of the photo"
        )
    return mask


def dress(
    person: Image,
    garments: list[Image],
    categories: list[str],
    engine: str,
    weights: str | None = None,
    attention: str | None = None,
    mask: Mask | None = None,
) -> TryOnResult:
    """Loads the models, runs the try-on and closes the models' threads again.

    Closing waits for every MediaPipe call still running (the face detector runs beside
    the pose model, and goes on when the pose model finds nobody), so none of them logs
    after the command line's filter of native log lines ends.

    Args:
        person: The person photo, upright RGB.
        garments: The garment photos, upright RGB: one, or two for an outfit.
        categories: ``--category`` per garment: upper, lower, overall or auto.
        engine: ``--engine``: a name of ``tryon.engines.ENGINES``.
        weights: ``--weights``: the diffusion weights folder, if given.
        attention: ``--attention``: the diffusion engines' attention weights, if given.
        mask: ``--mask``: (H, W) bool at the person photo's size, the area the warp
            engine may change (one garment), if given.

    Returns:
        The try-on's result (an ``OutfitResult`` for two garments).
    """
    chosen: str | Engine = engine
    if attention is not None:
        folder = Path(weights) if weights is not None else None
        chosen = create_engine(engine, folder, attention=attention)
    with closing(TryOn(engine=chosen, weights=weights)) as tryon:
        if len(garments) > 1:
            return tryon.run_outfit(person, garments, categories)
        if mask is not None:
            prepared = with_area(tryon.prepare_person(person), mask)
            return tryon.run(prepared, garments[0], category=categories[0])
        return tryon.run(person, garments[0], category=categories[0])


def output_path(value: str, inputs: tuple[str, ...]) -> Path:
    """Checks --out before any work: known image type, writable, not an input photo.

    Args:
        value: ``--out`` as given.
        inputs: The input photos' paths, which the result must not overwrite.

    Returns:
        The result's path, ``~`` expanded.
    """
    path = Path(value).expanduser()
    if path.suffix.lower() not in OUTPUT_SUFFIXES:
        kind = f"{path.suffix} is not a supported output type" if path.suffix else "no type"
        raise TryOnError(f"--out {value!r}: {kind}; end the name with .png, .jpg or .webp")
    if path.is_dir():
        raise TryOnError(f"--out {value!r} is a folder; give a file name such as result.png")
    if any(path.exists() and Path(p).exists() and path.samefile(p) for p in inputs):
        raise TryOnError(f"--out {value!r} is one of the input photos; choose another name")
    check_writable_dir(path.parent, "--out")
    if path.exists():
        try:
            open(path, "ab").close()  # opened to append, so nothing in it changes
        except OSError as exc:
            raise TryOnError(
                f"--out {value!r}: the file exists and cannot be written "
                f"({exc.strerror or exc}); choose another name"
            ) from None
    return path
