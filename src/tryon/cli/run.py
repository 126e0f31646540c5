"""``tryon run --person P --garment G --out OUT``: dresses one person photo."""

from __future__ import annotations

import argparse
import os
import sys
import time
from contextlib import closing
from pathlib import Path

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
from tryon.pipeline import TryOn
from tryon.types import Image, TryOnResult

OUTPUT_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")

DESCRIPTION = """\
Dresses the person in --person in the garment in --garment and writes the
result to --out. Photos may be JPEG, PNG or WebP; EXIF rotation is applied.
The person photo works best with one person facing the camera, full body or at
least head to hips. The garment photo may be a product photo (flat lay or ghost
mannequin on a plain background) or a photo of someone wearing the garment."""

EPILOG = """\
category auto:
  product photos: trousers (a crotch notch in the outline) are "lower", a
  garment much taller than wide is "overall", anything else is "upper".
  Photos of someone wearing the garment: their upper garment.
  Pass a category to override the guess.

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
        "--garment", required=True, metavar="G", help="photo of the garment (product or worn)"
    )
    add_shared_option(
        run,
        "--category",
        "what the garment replaces: upper (tops, jackets), lower (trousers, skirts), "
        "overall (dresses, jumpsuits) or auto, guessed from the garment photo (default: auto)",
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
    out = output_path(args.out, inputs=(args.person, args.garment))
    steps = Path(args.save_steps) if args.save_steps else None
    if steps is not None:
        check_writable_dir(steps, "--save-steps")
    check_readable_file(args.person, "--person")
    check_readable_file(args.garment, "--garment")
    person = load_image(args.person, role="person photo")
    garment = load_image(args.garment, role="garment photo")
    result = dress(person, garment, args.category, args.engine, args.weights, args.attention)
    save_image(result.image, out)
    if steps is not None:
        save_steps(result, steps)
    if not args.quiet:
        for warning in result.warnings:
            print(f"note: {one_line(warning)}", file=sys.stderr)
        also = f"; steps in {steps}{os.sep}" if steps is not None else ""
        print(f"wrote {out} in {time.perf_counter() - start:.1f} s{also}")
    return EXIT_OK


def dress(
    person: Image,
    garment: Image,
    category: str,
    engine: str,
    weights: str | None = None,
    attention: str | None = None,
) -> TryOnResult:
    """Loads the models, runs the try-on and closes the models' threads again.

    Closing waits for every MediaPipe call still running (the face detector runs beside
    the pose model, and goes on when the pose model finds nobody), so none of them logs
    after the command line's filter of native log lines ends.

    Args:
        person: The person photo, upright RGB.
        garment: The garment photo, upright RGB.
        category: ``--category``: upper, lower, overall or auto.
        engine: ``--engine``: a name of ``tryon.engines.ENGINES``.
        weights: ``--weights``: the diffusion weights folder, if given.
        attention: ``--attention``: the diffusion engines' attention weights, if given.

    Returns:
        The try-on's result.
    """
    chosen: str | Engine = engine
    if attention is not None:
        folder = Path(weights) if weights is not None else None
        chosen = create_engine(engine, folder, attention=attention)
    with closing(TryOn(engine=chosen, weights=weights)) as tryon:
        return tryon.run(person, garment, category=category)


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
