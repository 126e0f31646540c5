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
            folder="CatVTON",
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


@dataclass(frozen=True)
class WeightsPaths:
    """The files one engine loads, resolved inside a weights directory."""

    unet: Path
    unet_config: Path
    scheduler_config: Path
    vae: Path
    vae_config: Path
    attention: Path


def weights_paths(root: Path, version_name: str = DEFAULT_VERSION) -> WeightsPaths:
    """Where each file of ``version_name`` lies under the weights directory ``root``."""
    base, vae = root / BASE.folder, root / VAE.folder
    v = version(version_name)
    return WeightsPaths(
        unet=base / "unet" / "diffusion_pytorch_model.safetensors",
        unet_config=base / "unet" / "config.json",
        scheduler_config=base / "scheduler" / "scheduler_config.json",
        vae=vae / "diffusion_pytorch_model.safetensors",
        vae_config=vae / "config.json",
        attention=root / v.record.folder / v.record.files[0],
    )


def missing_files(root: Path, version_name: str | None = DEFAULT_VERSION) -> list[Path]:
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


def require_files(root: Path, version_name: str | None = DEFAULT_VERSION) -> WeightsPaths:
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
