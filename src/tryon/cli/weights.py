"""``tryon weights fetch|check``: download and verify the diffusion engines' weights.

``fetch`` needs internet access and the ``huggingface_hub`` package (the ``diffusion``
extra); it writes the layout described in ``tryon.diffusion.weights``. ``check`` loads
everything strictly on the CPU and reports what it found. Nothing here runs on import.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from tryon.body.dwpose import DWPOSE_WEIGHTS, DWPose, DWPoseWeights
from tryon.cli.common import EXIT_OK, Commands, command_parser
from tryon.diffusion.weights import (
    BASE,
    DEFAULT_VERSION,
    LICENCE_NOTE,
    TRAINING_INFO,
    VAE,
    VERSIONS,
    WEIGHTS_VARIABLE,
    AttentionWeights,
    WeightsError,
    WeightsRecord,
    attention_weights,
    default_weights_dir,
    version,
)
from tryon.errors import TryOnError

DESCRIPTION = f"""\
Download (fetch) or verify (check) the weights of the catvton and hybrid
engines: the SD-1.5 inpainting UNet and scheduler, the sd-vae-ft-mse VAE and
CatVTON's attention weights, in the Hugging Face layout; with --engine fashn,
those of the fashn engine: FASHN VTON v1.5 (fashn-ai/fashn-vton-1.5) and DWPose
(fashn-ai/DWPose), both Apache-2.0. The default folder is ${WEIGHTS_VARIABLE},
else ~/.cache/tryon/weights. {LICENCE_NOTE}."""

WEIGHTS_ENGINES = ("catvton", "fashn")
"""The engines whose weights these commands handle (hybrid uses catvton's)."""
FASHN_LICENCE_NOTE = "FASHN VTON v1.5 and DWPose weights are Apache-2.0"

VERSION_CHOICES = (*VERSIONS, "all")


def register(commands: Commands) -> None:
    """Adds ``tryon weights`` to the command line."""
    parser = command_parser(
        commands,
        "weights",
        summary="download or verify the diffusion engines' weights",
        description=DESCRIPTION,
    )
    actions = parser.add_subparsers(title="actions", dest="action", metavar="ACTION", required=True)
    for name, help_text, handler in (
        ("fetch", "download the weights (needs internet access)", fetch_command),
        ("check", "verify the weights: every file, key and shape", check_command),
    ):
        action = actions.add_parser(name, help=help_text, description=help_text)
        action.add_argument(
            "--dir",
            type=Path,
            default=None,
            metavar="DIR",
            help=f"weights folder (default: ${WEIGHTS_VARIABLE} or ~/.cache/tryon/weights)",
        )
        action.add_argument(
            "--engine",
            choices=WEIGHTS_ENGINES,
            default="catvton",
            help="whose weights: catvton (also used by hybrid) or fashn (default: catvton)",
        )
        action.set_defaults(handler=handler)
    fetch, check = actions.choices["fetch"], actions.choices["check"]
    fetch.add_argument(
        "--version",
        choices=VERSION_CHOICES,
        default=DEFAULT_VERSION,
        help=f"CatVTON attention weights (default: {DEFAULT_VERSION})",
    )
    check.add_argument(
        "--version",
        "--attention",
        dest="version",
        default=DEFAULT_VERSION,
        metavar="NAME|PATH",
        help=f"attention weights: a published CatVTON version ({', '.join(VERSION_CHOICES)}; "
        f"default: {DEFAULT_VERSION}), trained weights' folder name under the weights folder, "
        "or their path (a folder holding attention/model.safetensors, or the file)",
    )


def fetch_command(args: argparse.Namespace) -> int:
    """Downloads every file the chosen version needs that is not there yet."""
    root = _root(args)
    records: Sequence[WeightsRecord | DWPoseWeights]
    if args.engine == "fashn":
        from tryon.fashn.weights import FASHN_WEIGHTS  # imports torch: only when asked

        records, note = [FASHN_WEIGHTS, DWPOSE_WEIGHTS], FASHN_LICENCE_NOTE
    else:
        records = [BASE, VAE, *(version(v).record for v in _versions(args))]
        note = LICENCE_NOTE
    print(f"note: {note}")
    for record in records:
        for file in record.files:
            target = root / record.folder / file
            if target.is_file() and target.stat().st_size > 0:
                print(f"have {target}")
                continue
            print(f"fetching {record.repo_id}/{file} ({record.name}, {record.licence})")
            try:
                download(record.repo_id, file, root / record.folder)
            except Exception as exc:  # network, auth, missing file: all end the same way
                message = " ".join(str(exc).split())[:300]
                raise WeightsError(
                    f"could not download {record.repo_id}/{file} into {root / record.folder}: "
                    f"{message}; check the internet connection and run the command again"
                ) from None
    print(f"fetched into {root}; verify with 'tryon weights check --dir {root}'")
    return EXIT_OK


def download(repo_id: str, file: str, folder: Path) -> None:
    """Downloads ``file`` of the Hugging Face repository ``repo_id`` into ``folder``."""
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise TryOnError(
            "fetching weights needs huggingface_hub: pip install 'tryon[diffusion]'"
        ) from None
    hf_hub_download(repo_id, file, local_dir=folder)


def check_command(args: argparse.Namespace) -> int:
    """Loads the weights of each chosen version strictly and reports them."""
    from tryon.diffusion.models import load_models

    root = _root(args)
    if args.engine == "fashn":
        return _check_fashn(root)
    for name in _versions(args):
        found = attention_weights(name, root)
        models = load_models(root, name)
        report = models.attention
        assert report is not None  # load_models always loads the attention weights
        unet = sum(p.numel() for p in models.unet.parameters()) / 1e6
        vae = sum(p.numel() for p in models.vae.parameters()) / 1e6
        print(
            f"ok {found.name}: UNet {unet:.1f}M parameters, VAE {vae:.1f}M, CatVTON attention "
            f"{report.loaded} tensors into {report.modules} self-attention modules "
            f"({report.parameters / 1e6:.1f}M parameters)"
        )
        if not found.published:
            print(_trained_note(found))
    return EXIT_OK


def _check_fashn(root: Path) -> int:
    """Loads the fashn engine's transformer strictly and DWPose's two models."""
    from tryon.engines.fashn import model_path
    from tryon.fashn.weights import load_fashn_transformer

    model = load_fashn_transformer(model_path(root))
    size = sum(p.numel() for p in model.parameters()) / 1e6
    print(f"ok FASHN VTON v1.5: {size:.1f}M parameters ({FASHN_LICENCE_NOTE})")
    detector, pose_model = DWPOSE_WEIGHTS.paths(root)
    if not (detector.is_file() and pose_model.is_file()):
        print(
            f"no DWPose ({detector}, {pose_model}): the fashn engine falls back to "
            "approximate MediaPipe poses; run 'tryon weights fetch --engine fashn'"
        )
        return EXIT_OK
    DWPose(detector, pose_model).close()
    print(f"ok DWPose: {detector.name}, {pose_model.name}")
    return EXIT_OK


def _trained_note(found: AttentionWeights) -> str:
    """What ``check`` says of trained attention weights: file, start, size, licence."""
    if found.info is None:
        origin = f"no {TRAINING_INFO} beside them: start and training size unknown"
    else:
        origin = f"started from {found.start or 'an unknown start'} (from {found.info})"
    return (
        f"  trained weights {found.file}; {origin}; run at {found.height}x{found.width}; "
        f"licence: {found.licence}"
    )


def _root(args: argparse.Namespace) -> Path:
    """The weights folder: ``--dir``, else the default one."""
    return Path(args.dir).expanduser() if args.dir is not None else default_weights_dir()


def _versions(args: argparse.Namespace) -> list[str]:
    """The attention weights ``--version`` chooses ("all": every published version)."""
    return list(VERSIONS) if args.version == "all" else [args.version]
