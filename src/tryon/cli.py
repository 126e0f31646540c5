"""The ``tryon`` command line: ``tryon run --person P --garment G --out OUT``.

Exit codes: 0 success, 2 bad input or usage (one ``tryon: error: ...`` line on stderr),
1 unexpected error (one line; ``TRYON_DEBUG=1`` adds the traceback).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from tryon import __version__
from tryon.catalog.cli import register as register_catalog
from tryon.dataset.cli import register as register_dataset
from tryon.engines import ENGINES
from tryon.errors import TryOnError
from tryon.evaluation.cli import register as register_eval
from tryon.imageio import load_image, save_image
from tryon.pipeline import TryOn
from tryon.service.cli import register as register_serve
from tryon.steps import save_steps
from tryon.types import Image, TryOnResult
from tryon.weights_cli import register as register_weights

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

OUTPUT_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
CATEGORIES = ("upper", "lower", "overall", "auto")
DEBUG_VARIABLE = "TRYON_DEBUG"

# Lines MediaPipe's C++ code writes straight to file descriptor 2: absl INFO / WARNING
# lines ("W0000 00:00:1731930035.66 28339 inference_feedback_manager.cc:114] ..."),
# absl's note that logging is not initialised, and TensorFlow Lite's delegate banner.
# Errors (E..., F...) and anything else still reach the user.
NATIVE_NOISE = re.compile(
    rb"^(?:[IW]\d{4} [\d:.]+\s+\d+ [\w./-]+:\d+\] "
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    rb"|INFO: Created TensorFlow Lite XNNPACK delegate)"
)

# The other commands. Each module's ``register(commands)`` adds its parser to the
# subparsers object and sets ``handler`` (parsed arguments -> exit code); a TryOnError
# it raises becomes the usual one-line error with exit code 2.
Register = Callable[["argparse._SubParsersAction[Any]"], None]
SUBCOMMANDS: tuple[Register, ...] = (
    register_catalog,
    register_serve,
    register_weights,
    register_dataset,
    register_eval,
)

DESCRIPTION = """\
Virtual try-on: dresses the person in one photo in the garment shown in
another photo. The result has the person photo's size; only the pixels of the
garment being replaced change."""

EPILOG = """\
exit codes:
  0  success
  2  bad input or usage: unreadable or too small photo, no person found, the
     body parts the garment needs not visible, unknown option or output type
  1  unexpected error (rerun with TRYON_DEBUG=1 to see the traceback)

example:
  tryon run --person me.jpg --garment shirt.jpg --out me_in_shirt.png

'tryon run --help' lists the options of run.
"""

RUN_DESCRIPTION = """\
Dresses the person in --person in the garment in --garment and writes the
result to --out. Photos may be JPEG, PNG or WebP; EXIF rotation is applied.
The person photo works best with one person facing the camera, full body or at
least head to hips. The garment photo may be a product photo (flat lay or ghost
mannequin on a plain background) or a photo of someone wearing the garment."""

RUN_EPILOG = """\
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


class UsageError(Exception):
    """A command line argparse rejected; reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """An argument parser that raises instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    """The ``tryon`` argument parser."""
    parser = _Parser(
        prog="tryon",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tryon {__version__}")
    commands = parser.add_subparsers(
        title="commands", dest="command", metavar="COMMAND", required=True
    )
    run = commands.add_parser(
        "run",
        help="dress a person photo in a garment",
        description=RUN_DESCRIPTION,
        epilog=RUN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("--person", required=True, metavar="P", help="photo of the person to dress")
    run.add_argument(
        "--garment", required=True, metavar="G", help="photo of the garment (product or worn)"
    )
    run.add_argument(
        "--category",
        type=str.lower,
        choices=CATEGORIES,
        default="auto",
        help="what the garment replaces: upper (tops, jackets), lower (trousers, skirts), "
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
    run.add_argument(
        "--weights",
        metavar="DIR",
        help="diffusion weights folder for catvton and hybrid (default: $TRYON_WEIGHTS or "
        "~/.cache/tryon/weights; get them with 'tryon weights fetch')",
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
    run.add_argument(
        "--quiet", action="store_true", help="print nothing on success (errors are still printed)"
    )
    run.set_defaults(handler=run_command)
    for register in SUBCOMMANDS:
        register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs the command line; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        return report_error(str(exc))
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    try:
        handler: Callable[[argparse.Namespace], int] = args.handler
        return handler(args)
    except TryOnError as exc:
        return report_error(str(exc))
    except KeyboardInterrupt:
        print("tryon: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if debugging():
            traceback.print_exc()
        hint = "" if debugging() else f" (rerun with {DEBUG_VARIABLE}=1 to see the traceback)"
        message = one_line(f"{type(exc).__name__}: {exc}")
        print(f"tryon: unexpected error: {message}{hint}", file=sys.stderr)
        return EXIT_UNEXPECTED


def run_command(args: argparse.Namespace) -> int:
    """``tryon run``: checks the arguments, dresses the person, writes the files."""
    start = time.perf_counter()
    out = output_path(args.out, inputs=(args.person, args.garment))
    steps = Path(args.save_steps) if args.save_steps else None
    if steps is not None:
        check_writable_dir(steps, "--save-steps")
    person = load_image(args.person, role="person photo")
    garment = load_image(args.garment, role="garment photo")
    result = dress(person, garment, args.category, args.engine, args.weights)
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
    person: Image, garment: Image, category: str, engine: str, weights: str | None = None
) -> TryOnResult:
    """Loads the models and runs the try-on, keeping MediaPipe's log lines off stderr."""
    # Read when MediaPipe is imported (inside TryOn) by the glog and TensorFlow code it
    # bundles. The lines MediaPipe 0.10.21 actually prints come from absl logging and
    # TensorFlow Lite, which ignore both (checked), hence quiet_native_logs.
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with quiet_native_logs():
        # The models live only inside this block, so lines they log on teardown are
        # filtered too.
        return TryOn(engine=engine, weights=weights).run(person, garment, category=category)


def output_path(value: str, inputs: tuple[str, ...]) -> Path:
    """Checks --out before any work: known image type, writable, not an input photo."""
    path = Path(value).expanduser()
    if path.suffix.lower() not in OUTPUT_SUFFIXES:
        kind = f"{path.suffix} is not a supported output type" if path.suffix else "no type"
        raise TryOnError(f"--out {value!r}: {kind}; end the name with .png, .jpg or .webp")
    if path.is_dir():
        raise TryOnError(f"--out {value!r} is a folder; give a file name such as result.png")
    if any(path.exists() and Path(p).exists() and path.samefile(p) for p in inputs):
        raise TryOnError(f"--out {value!r} is one of the input photos; choose another name")
    check_writable_dir(path.parent, "--out")
    if path.exists() and not os.access(path, os.W_OK):
        raise TryOnError(f"--out {value!r}: the file exists and is read-only")
    return path


def check_writable_dir(directory: Path, option: str) -> None:
    """Raises TryOnError unless ``directory`` exists writable or could be created."""
    existing = directory.expanduser().absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise TryOnError(f"{option}: {str(existing)!r} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise TryOnError(f"{option}: the folder {str(existing)!r} is not writable")


@contextmanager
def quiet_native_logs() -> Iterator[None]:
    """Drops MediaPipe's C++ INFO / WARNING lines from stderr while the block runs.

    They are written to file descriptor 2 directly, so Python's logging and MediaPipe's
    environment variables cannot stop them. For the block, descriptor 2 is a pipe; a
    thread copies each line to the real stderr unless it matches ``NATIVE_NOISE``, so
    everything else (Python warnings, C++ errors) still shows, in order. Does nothing
    when ``TRYON_DEBUG`` is set or descriptor 2 is closed.
    """
    if debugging():
        yield
        return
    try:
        real_stderr = os.dup(2)
    except OSError:
        yield
        return
    read_end, write_end = os.pipe()
    sys.stderr.flush()
    os.dup2(write_end, 2)
    os.close(write_end)
    copier = threading.Thread(target=copy_lines, args=(read_end, real_stderr), daemon=True)
    copier.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(real_stderr, 2)  # closes the pipe's last write end: the copier sees EOF
        copier.join(timeout=5)
        os.close(real_stderr)


def copy_lines(source: int, target: int) -> None:
    """Copies lines from ``source`` to ``target`` until EOF, except native log noise."""
    pending = b""
    with os.fdopen(source, "rb", buffering=0) as pipe:
        while chunk := pipe.read(65536):
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                if not NATIVE_NOISE.match(line):
                    write_all(target, line + b"\n")
    if pending and not NATIVE_NOISE.match(pending):
        write_all(target, pending)


def write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]


def report_error(message: str) -> int:
    """Prints ``tryon: error: <message>`` as one line; returns the bad-input exit code."""
    print(f"tryon: error: {one_line(message)}", file=sys.stderr)
    if debugging():
        traceback.print_exc()
    return EXIT_BAD_INPUT


def one_line(text: str) -> str:
    return " ".join(text.split()) or "(no message)"


def debugging() -> bool:
    return os.environ.get(DEBUG_VARIABLE, "") not in ("", "0")


if __name__ == "__main__":
    sys.exit(main())
