"""Where the diffusion engines' weights come from, how they lie on disk, strict checks.

The weights directory holds the Hugging Face layouts exactly as a user downloads them
(``tryon weights fetch`` writes them there)::

    DIR/
      stable-diffusion-inpainting/      SD-1.5 inpainting base
        unet/config.json
        unet/diffusion_pytorch_model.safetensors
        scheduler/scheduler_config.json
      sd-vae-ft-mse/                    the VAE CatVTON uses (not the base's)
        config.json
        diffusion_pytorch_model.safetensors
      CatVTON/                          CatVTON's fine-tuned self-attention
        mix-48k-1024/attention/model.safetensors
        vitonhd-16k-512/attention/model.safetensors
        dresscode-16k-512/attention/model.safetensors

Only the files listed in the records below are needed. Licence of CatVTON's weights and
code: CC BY-NC-SA 4.0 (non-commercial use only).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tryon.errors import TryOnError

FETCH_COMMAND = "tryon weights fetch --dir {dir}"
LICENCE_NOTE = "CatVTON's weights are CC BY-NC-SA 4.0: non-commercial use only"


class WeightsError(TryOnError):
    """Diffusion weights are missing, incomplete or do not fit the architecture."""


@dataclass(frozen=True)
class WeightsRecord:
    """One downloadable component.

    Attributes:
        name: what it is, for messages.
        repo_id: Hugging Face model repository it comes from.
        folder: sub-folder of the weights directory it is stored in.
        files: files (relative to ``folder``, as in the repository) that are needed.
        licence: licence of the weights.
    """

    name: str
    repo_id: str
    folder: str
    files: tuple[str, ...]
    licence: str


BASE = WeightsRecord(
    name="SD-1.5 inpainting UNet and scheduler",
    # A copy of the deleted runwayml/stable-diffusion-inpainting, as CatVTON uses.
    repo_id="booksforcharlie/stable-diffusion-inpainting",
    folder="stable-diffusion-inpainting",
    files=(
        "unet/config.json",
        "unet/diffusion_pytorch_model.safetensors",
        "scheduler/scheduler_config.json",
    ),
    licence="CreativeML OpenRAIL-M",
)

VAE = WeightsRecord(
    name="sd-vae-ft-mse VAE",
    repo_id="stabilityai/sd-vae-ft-mse",
    folder="sd-vae-ft-mse",
    files=("config.json", "diffusion_pytorch_model.safetensors"),
    licence="MIT",
)


@dataclass(frozen=True)
class CatVTONVersion:
    """One published CatVTON attention checkpoint and the input it was trained on.

    Attributes:
        name: sub-folder in CatVTON's repository.
        height: training image height, pixels.
        width: training image width, pixels.
        categories: what it was trained to dress.
    """

    name: str
    height: int
    width: int
    categories: str

    @property
    def record(self) -> WeightsRecord:
        """The download record of this version's attention weights."""
        return WeightsRecord(
            name=f"CatVTON attention weights {self.name}",
            repo_id="zhengchong/CatVTON",
            folder=VERSIONS_FOLDER,
            files=(f"{self.name}/attention/model.safetensors",),
            licence="CC BY-NC-SA 4.0",
        )


VERSIONS: dict[str, CatVTONVersion] = {
    v.name: v
    for v in (
        CatVTONVersion("mix-48k-1024", 1024, 768, "upper, lower, overall"),
        CatVTONVersion("vitonhd-16k-512", 512, 384, "upper"),
        CatVTONVersion("dresscode-16k-512", 512, 384, "upper, lower, overall"),
    )
}
DEFAULT_VERSION = "mix-48k-1024"
VERSIONS_FOLDER = "CatVTON"
"""Sub-folder of the weights directory holding CatVTON's attention versions."""


def version(name: str) -> CatVTONVersion:
    """Returns the CatVTON version called ``name``.

    Raises:
        WeightsError: no such version.
    """
    try:
        return VERSIONS[name]
    except KeyError:
        known = ", ".join(VERSIONS)
        raise WeightsError(f"unknown CatVTON version {name!r}: use one of {known}") from None


ATTENTION_FILE = Path("attention") / "model.safetensors"
"""Where attention weights lie inside their version folder (CatVTON's layout; a training
run writes ``OUT/<name>/attention/model.safetensors``)."""

TRAINING_INFO = "training.json"
"""The training settings a run writes beside its ``attention/`` folder (optional here)."""

TRAINED_SIZE = (512, 384)
"""Training size assumed for trained weights without a ``training.json`` saying theirs."""

BASE_START = "base"
"""``training.json``'s ``start`` when a run started from the SD-1.5 inpainting base's own
self-attention; any other start names the CatVTON version it fine-tuned."""


@dataclass(frozen=True)
class AttentionWeights:
    """Self-attention weights in CatVTON's format: a published version or trained ones.

    Attributes:
        name: the published version's name, or the trained weights' folder name.
        file: their ``model.safetensors`` (None: a published version named without a
            weights folder).
        height: image height they were trained at, pixels.
        width: image width they were trained at, pixels.
        licence: licence of the weights.
        start: for trained weights, what the run started from (``training.json``'s
            ``start``: "base" or a CatVTON version; None when unknown); None for a
            published version.
        published: one of CatVTON's published versions.
        info: the file ``training.json`` was read from (None: none beside the weights).
    """

    name: str
    file: Path | None
    height: int
    width: int
    licence: str
    start: str | None = None
    published: bool = True
    info: Path | None = None


def attention_weights(source: str | Path, root: Path | None = None) -> AttentionWeights:
    """Finds the attention weights ``source`` names. ``source`` is one of:

    * a published CatVTON version (``VERSIONS``): ``root/CatVTON/<name>/attention/
      model.safetensors`` (not checked here: ``require_files`` says how to fetch it);
    * the path of trained weights: a ``.safetensors`` file, or a folder holding
      ``attention/model.safetensors`` (a training run's ``OUT/<name>``) or
      ``model.safetensors``;
    * the name of such a folder under ``root`` or ``root/CatVTON``.

    A ``training.json`` in the trained weights' folder, when there is one, gives their
    training size (``height``, ``width``), their start and licence.

    Raises:
        WeightsError: nothing found, naming the places looked in; an unreadable
            ``training.json``.
    """
    name = str(source)
    if name in VERSIONS:
        v = VERSIONS[name]
        record = v.record
        file = None if root is None else root / record.folder / record.files[0]
        return AttentionWeights(v.name, file, v.height, v.width, record.licence)
    looked = _attention_candidates(Path(name).expanduser(), root)
    for candidate in looked:
        if candidate.is_file():
            return _trained_weights(candidate)
    known = ", ".join(VERSIONS)
    raise WeightsError(
        f"no attention weights {name!r}: not a published CatVTON version ({known}) and no "
        f"file at {', '.join(repr(str(p)) for p in looked)}; give a version, the name of "
        "a folder under the weights folder holding attention/model.safetensors, or the "
        "path of trained weights (that folder or the .safetensors file)"
    )


def _attention_candidates(path: Path, root: Path | None) -> list[Path]:
    """Where trained weights called ``path`` may lie, in the order they are looked for."""
    if path.suffix == ".safetensors":
        return [path]
    found = [path / ATTENTION_FILE, path / ATTENTION_FILE.name]
    if root is not None and not path.is_absolute():
        found += [root / path / ATTENTION_FILE, root / VERSIONS_FOLDER / path / ATTENTION_FILE]
    return found


def _trained_weights(file: Path) -> AttentionWeights:
    """Trained weights at ``file``, described by the ``training.json`` of their folder."""
    folder = file.parent.parent if file.parent.name == ATTENTION_FILE.parent.name else file.parent
    info_file: Path | None = folder / TRAINING_INFO
    info: dict[str, Any] = {}
    if info_file is not None and info_file.is_file():
        try:
            data = json.loads(info_file.read_text())
        except (OSError, ValueError) as exc:
            raise WeightsError(f"cannot read {str(info_file)!r} ({exc})") from None
        info = data if isinstance(data, dict) else {}
    else:
        info_file = None
    settings = info.get("config", info)  # the run's settings, at the top or under "config"
    settings = settings if isinstance(settings, dict) else {}
    height, width = settings.get("height"), settings.get("width")
    if not (isinstance(height, int) and isinstance(width, int)):
        height, width = TRAINED_SIZE
    start = str(settings["start"]) if settings.get("start") is not None else None
    licence = str(info.get("licence") or start_licence(start))
    return AttentionWeights(folder.name, file, height, width, licence, start, False, info_file)


def start_licence(start: str | None) -> str:
    """The licence trained attention weights carry from their ``start``, besides the
    terms of the data they were trained on (VITON-HD and DressCode: research only)."""
    if start == BASE_START:
        return (
            f"{BASE.licence} (started from the SD-1.5 inpainting base; commercial use "
            "allowed under its use-based restrictions) plus the training data's terms"
        )
    if start in VERSIONS:
        return (
            f"CC BY-NC-SA 4.0, non-commercial (fine-tuned from CatVTON {start}) plus the "
            "training data's terms"
        )
    return (
        "unknown (no training.json says what the training started from): that of the "
        "weights it started from and of its training data"
    )


@dataclass(frozen=True)
class WeightsPaths:
    """The files one engine loads, resolved inside a weights directory."""

    unet: Path
    unet_config: Path
    scheduler_config: Path
    vae: Path
    vae_config: Path
    attention: Path


def weights_paths(root: Path, version_name: str | Path = DEFAULT_VERSION) -> WeightsPaths:
    """Where each file lies under the weights directory ``root``, with the attention
    weights ``version_name`` names (see ``attention_weights``).

    Raises:
        WeightsError: ``version_name`` is neither a published version nor trained weights
            that exist.
    """
    base, vae = root / BASE.folder, root / VAE.folder
    attention = attention_weights(version_name, root).file
    assert attention is not None  # always set when a weights folder is given
    return WeightsPaths(
        unet=base / "unet" / "diffusion_pytorch_model.safetensors",
        unet_config=base / "unet" / "config.json",
        scheduler_config=base / "scheduler" / "scheduler_config.json",
        vae=vae / "diffusion_pytorch_model.safetensors",
        vae_config=vae / "config.json",
        attention=attention,
    )


def missing_files(root: Path, version_name: str | Path | None = DEFAULT_VERSION) -> list[Path]:
    """The needed files of ``version_name`` that are absent or empty under ``root``
    (None: the base model's and the VAE's only, without CatVTON's attention)."""
    p = weights_paths(root, version_name or DEFAULT_VERSION)
    files = [p.unet_config, p.unet, p.scheduler_config, p.vae_config, p.vae]
    if version_name is not None:
        files.append(p.attention)
    return [f for f in files if not f.is_file() or f.stat().st_size == 0]


def fetch_hint(root: Path) -> str:
    """The sentence telling the user how to get the weights into ``root``."""
    return f"run '{FETCH_COMMAND.format(dir=root)}' on a machine with internet access"


def require_files(root: Path, version_name: str | Path | None = DEFAULT_VERSION) -> WeightsPaths:
    """Checks every needed file exists; returns their paths (with None, the base model's
    and the VAE's files only: ``attention`` is then not checked and not to be read).

    Raises:
        WeightsError: naming the first missing file and the fetch command.
    """
    if not root.is_dir():
        raise WeightsError(
            f"the diffusion weights directory {str(root)!r} does not exist; {fetch_hint(root)} "
            "or pass --weights DIR"
        )
    missing = missing_files(root, version_name)
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise WeightsError(f"missing weights file {str(missing[0])!r}{more}; {fetch_hint(root)}")
    return weights_paths(root, version_name or DEFAULT_VERSION)


def read_json(path: Path, root: Path) -> dict[str, object]:
    """Reads a config file of the weights directory.

    Raises:
        WeightsError: unreadable or not a JSON object, naming the file and the fix.
    """
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise WeightsError(
            f"cannot read weights config {str(path)!r} ({exc}); it is damaged: delete it and "
            f"{fetch_hint(root)}"
        ) from None
    if not isinstance(data, dict):
        raise WeightsError(f"weights config {str(path)!r} is not a JSON object; {fetch_hint(root)}")
    return data


WEIGHTS_VARIABLE = "TRYON_WEIGHTS"


def default_weights_dir() -> Path:
    """``$TRYON_WEIGHTS`` when set, else ``~/.cache/tryon/weights``."""
    value = os.environ.get(WEIGHTS_VARIABLE, "")
    return Path(value).expanduser() if value else Path.home() / ".cache" / "tryon" / "weights"
