"""Where the metric backbones' weights come from, and the one error when they are missing.

The published weights cannot be downloaded by this package (no model hubs here); they are
read from a local cache folder: ``--cache DIR``, else ``$TRYON_EVAL_WEIGHTS``, else
``~/.cache/tryon/eval``. Each file is named as its publisher names it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from tryon.errors import TryOnError

CACHE_VARIABLE = "TRYON_EVAL_WEIGHTS"


class MissingWeightsError(TryOnError):
    """A metric's backbone weights are not in the cache folder (or are not the right file)."""


@dataclass(frozen=True)
class WeightsRecord:
    """One weights file a metric needs.

    Attributes:
        file: the file name in the cache folder (the publisher's own name).
        what: what the file is, for messages.
        how: how to get the file on a machine with internet access.
        sha256: the file's SHA-256, or its leading hex digits (torchvision's file names
            carry the first 8); "" where no published hash exists.
    """

    file: str
    what: str
    how: str
    sha256: str = ""


TORCHVISION_HOW = (
    "on a machine with torchvision and internet access run "
    "python -c \"import torchvision.models as m; m.{builder}(weights='DEFAULT')\" "
    "and copy {file} from ~/.cache/torch/hub/checkpoints/"
)
LPIPS_HOW = (
    "run 'pip download lpips==0.1.4 --no-deps' and take lpips/weights/v0.1/{net}.pth "
    "out of the wheel (a zip file), saved under this name"
)

INCEPTION = WeightsRecord(
    file="inception-2015-12-05.pt",
    what="clean-fid's Inception-v3 (the TorchScript port of the 2015 TensorFlow FID network)",
    how="on a machine with internet access, any clean-fid computation downloads it to "
    '/tmp/inception-2015-12-05.pt (pip install clean-fid; python -c "from cleanfid '
    "import fid; fid.compute_fid('a/', 'b/', device='cpu')\"): copy that file",
)

BACKBONES: dict[str, WeightsRecord] = {
    "squeeze": WeightsRecord(
        file="squeezenet1_1-b8a52dc0.pth",
        what="torchvision's SqueezeNet 1.1 ImageNet weights",
        how=TORCHVISION_HOW.format(builder="squeezenet1_1", file="squeezenet1_1-b8a52dc0.pth"),
        sha256="b8a52dc0",
    ),
    "alex": WeightsRecord(
        file="alexnet-owt-7be5be79.pth",
        what="torchvision's AlexNet ImageNet weights",
        how=TORCHVISION_HOW.format(builder="alexnet", file="alexnet-owt-7be5be79.pth"),
        sha256="7be5be79",
    ),
    "vgg": WeightsRecord(
        file="vgg16-397923af.pth",
        what="torchvision's VGG-16 ImageNet weights",
        how=TORCHVISION_HOW.format(builder="vgg16", file="vgg16-397923af.pth"),
        sha256="397923af",
    ),
}

LPIPS_LINEAR: dict[str, WeightsRecord] = {
    net: WeightsRecord(
        file=f"lpips-v0.1-{net}.pth",
        what=f"LPIPS v0.1 linear layers for {net} (from the lpips package)",
        how=LPIPS_HOW.format(net=net),
        sha256=sha,
    )
    for net, sha in (
        ("squeeze", "4a5350f23600cb79923ce65bb07cbf57dca461329894153e05a1346bd531cf76"),
        ("alex", "df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0"),
        ("vgg", "a78928a0af1e5f0fcb1f3b9e8f8c3a2a5a3de244d830ad5c1feddc79b8432868"),
    )
}


def default_cache_dir() -> Path:
    """``$TRYON_EVAL_WEIGHTS``, else ``~/.cache/tryon/eval``."""
    value = os.environ.get(CACHE_VARIABLE)
    return Path(value).expanduser() if value else Path.home() / ".cache" / "tryon" / "eval"


def missing(cache: Path, records: list[WeightsRecord]) -> list[WeightsRecord]:
    """The records whose file is not in ``cache``."""
    return [r for r in records if not (Path(cache) / r.file).is_file()]


def metric_weights(metric: str, lpips_net: str = "squeeze") -> list[WeightsRecord]:
    """The weights files ``metric`` reads: LPIPS its trunk and linear layers, FID and KID
    the Inception network, SSIM and the shop metrics none."""
    if metric == "lpips":
        return [BACKBONES[lpips_net], LPIPS_LINEAR[lpips_net]]
    if metric in ("fid", "kid"):
        return [INCEPTION]
    return []


def absent_message(cache: Path, absent: list[WeightsRecord]) -> str:
    """``absent``'s files, what each is and how to get it, and where to put them."""
    files = "; ".join(f"{r.file} ({r.what}; to get it, {r.how})" for r in absent)
    return (
        f"metric weights missing from {cache}: {files}. Put them there, or point "
        f"--cache / ${CACHE_VARIABLE} at their folder"
    )


def require_present(cache: Path, records: list[WeightsRecord]) -> None:
    """Raises one error naming every file of ``records`` missing from ``cache``.

    Raises:
        MissingWeightsError: each missing file with what it is and how to get it.
    """
    absent = missing(cache, records)
    if absent:
        raise MissingWeightsError(absent_message(cache, absent))


def unavailable_metrics(cache: Path, metrics: list[str], lpips_net: str) -> dict[str, str]:
    """The metrics of ``metrics`` whose weights files are missing from ``cache``.

    Args:
        cache: The weights folder.
        metrics: Metric names (``"lpips"``, ``"fid"``, ...).
        lpips_net: LPIPS trunk: "squeeze", "alex" or "vgg".

    Returns:
        For each such metric, in the order given, why it cannot be computed and how to
        get its weights.
    """
    reasons = {}
    for metric in metrics:
        absent = missing(cache, metric_weights(metric, lpips_net))
        if absent:
            reasons[metric] = absent_message(cache, absent)
    return reasons


def require(cache: Path, record: WeightsRecord) -> Path:
    """The path of ``record``'s file in ``cache``, its hash checked.

    Raises:
        MissingWeightsError: the file is missing or is another file; the message names
            the file, the folder and how to get it.
    """
    path = Path(cache) / record.file
    if not path.is_file():
        raise MissingWeightsError(
            f"{record.what} not found: {path} is missing. To get it, {record.how}; then put it "
            f"in {cache} (or point --cache / ${CACHE_VARIABLE} at its folder)"
        )
    if record.sha256:
        digest = sha256(path)
        if not digest.startswith(record.sha256):
            raise MissingWeightsError(
                f"{path} is not {record.what}: its SHA-256 starts {digest[:12]}, expected "
                f"{record.sha256[:12]}; to get the right file, {record.how}"
            )
    return path


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
