"""``tryon train``: CatVTON's attention-only recipe on a dataset's paired pairs.

The training code (``tryon.training``) and its packages (torch, accelerate) load only
when the command runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tryon.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    Commands,
    add_shared_option,
    check_writable_dir,
    command_parser,
    parse_height_width,
)
from tryon.dataset.training_pairs import MaskSource
from tryon.diffusion.weights import default_weights_dir
from tryon.training.config import BASE_START, TrainConfig

DESCRIPTION = """\
Train the catvton engine's self-attention on a dataset's paired pairs (a person
photo and the garment that person wears), as CatVTON was trained: VAE frozen,
only the 16 self-attention modules trained (--trainable), epsilon MSE over the
person-and-garment latent, 10% garment dropout, DREAM, AdamW at a constant 1e-5.

The output, OUT/NAME/attention/model.safetensors, is in CatVTON's exact format:
the catvton and hybrid engines load it by path or name (tryon run --engine
catvton --attention OUT/NAME), and so does CatVTON's own code; tryon weights
check --attention OUT/NAME checks it.

--start base trains from the SD-1.5 inpainting base's own attention: commercial
use is allowed under the base's CreativeML OpenRAIL-M use-based restrictions
(the VAE is MIT), and your photos' terms apply. --start VERSION fine-tunes a
CatVTON version: the result inherits its CC BY-NC-SA 4.0 licence (non-commercial)."""

EPILOG = """\
examples:
  tryon train data/shop --weights ~/.cache/tryon/weights --out runs --steps 2000
  tryon train data/shop --out runs --resume latest          # continue after Ctrl-C
  accelerate launch -m tryon train data/shop --out runs --mixed-precision bf16

Ctrl-C or SIGTERM stops after the current step, saves a checkpoint and the
attention, and exits with 130; --resume latest continues the same loss curve.

exit codes: 0 trained, 2 bad input (the message says what to change), 130
interrupted (checkpoint and attention saved)."""


def register(commands: Commands) -> None:
    """Adds ``tryon train`` to the command line."""
    parser = command_parser(
        commands,
        "train",
        summary="train the catvton engine's attention on a dataset",
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    parser.add_argument(
        "dataset", type=Path, metavar="DATASET", help="VITON-HD or DressCode folder"
    )
    add_shared_option(parser, "--weights", "weights folder (default: $TRYON_WEIGHTS)")
    parser.add_argument("--out", type=Path, required=True, metavar="OUT", help="output folder")
    parser.add_argument("--split", default="train", choices=("train", "test"), help="dataset split")
    parser.add_argument("--resume", metavar="latest|DIR", help="continue a run")
    parser.add_argument("--device", choices=("cpu",), help="force the CPU")
    _add_recipe_options(parser)
    add_shared_option(parser, "--quiet", "no progress bar")
    parser.set_defaults(handler=train_command)


def _add_recipe_options(parser: argparse.ArgumentParser) -> None:
    defaults = TrainConfig()
    recipe = parser.add_argument_group("recipe")
    recipe.add_argument("--name", default=defaults.name, help="run name (default: %(default)s)")
    recipe.add_argument(
        "--start",
        default=BASE_START,
        metavar="base|VERSION",
        help="the base's attention (default) or a CatVTON version to fine-tune",
    )
    recipe.add_argument(
        "--trainable", choices=("attention", "transformer", "unet"), default=defaults.trainable
    )
    for flag, kind, value, text in (
        ("--steps", int, defaults.steps, "optimiser steps"),
        ("--batch-size", int, defaults.batch_size, "pairs per step and process"),
        ("--gradient-accumulation", int, defaults.gradient_accumulation, "batches per step"),
        ("--lr", float, defaults.learning_rate, "AdamW learning rate"),
        ("--garment-dropout", float, defaults.garment_dropout, "share of dropped garments"),
        ("--dream", float, defaults.dream_power, "DREAM's exponent (0: off)"),
        ("--seed", int, defaults.seed, "seed of every draw"),
        ("--checkpoint-every", int, defaults.checkpoint_every, "steps between checkpoints"),
        ("--keep-checkpoints", int, defaults.keep_checkpoints, "checkpoints kept"),
        ("--validate-every", int, defaults.validate_every, "steps between validation grids"),
        ("--validation-pairs", int, defaults.validation_pairs, "pairs in each grid"),
        ("--log-every", int, defaults.log_every, "steps between log lines"),
    ):
        recipe.add_argument(flag, type=kind, default=value, help=f"{text} (default: %(default)s)")
    recipe.add_argument(
        "--size",
        type=parse_height_width,
        default=f"{defaults.height}x{defaults.width}",
        metavar="HxW",
        help="(default: %(default)s)",
    )
    recipe.add_argument("--mixed-precision", choices=("no", "fp16", "bf16"), default="no")
    recipe.add_argument("--gradient-checkpointing", action="store_true")
    recipe.add_argument(
        "--masks",
        choices=("project", "dataset"),
        default="project",
        help="the engines' own agnostic masks (default; for a dataset not built by tryon, "
        "make them first with 'tryon dataset masks') or the dataset's",
    )
    recipe.add_argument(
        "--masks-dir", type=Path, help="where 'tryon dataset masks' wrote the project's masks"
    )


def train_command(args: argparse.Namespace) -> int:
    from tryon.training.loop import TrainInputs, train

    check_writable_dir(args.out, "--out")
    config = TrainConfig(
        name=args.name,
        start=args.start,
        trainable=args.trainable,
        steps=args.steps,
        batch_size=args.batch_size,
        gradient_accumulation=args.gradient_accumulation,
        learning_rate=args.lr,
        garment_dropout=args.garment_dropout,
        dream_power=args.dream,
        height=args.size[0],
        width=args.size[1],
        mixed_precision=args.mixed_precision,
        gradient_checkpointing=args.gradient_checkpointing,
        masks=MaskSource(args.masks),
        seed=args.seed,
        checkpoint_every=args.checkpoint_every,
        keep_checkpoints=args.keep_checkpoints,
        validate_every=args.validate_every,
        validation_pairs=args.validation_pairs,
        log_every=args.log_every,
    )
    weights = args.weights or default_weights_dir()
    inputs = TrainInputs(
        args.dataset, Path(weights).expanduser(), args.out, args.split, args.masks_dir
    )
    result = train(
        inputs, config, resume=args.resume, device=args.device, show_progress=not args.quiet
    )
    state = "interrupted at" if result.interrupted else "trained"
    print(f"{state} step {result.step} (loss {result.loss:.4f}): {result.attention}")
    return EXIT_INTERRUPTED if result.interrupted else EXIT_OK
