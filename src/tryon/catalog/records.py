"""What the catalog stores per garment, and how a ``GarmentAnalysis`` becomes files.

A garment's folder holds:

* ``photo.<ext>``: the photo exactly as added (its bytes are what the id hashes);
* ``image.npy``: the decoded photo, (H, W, 3) RGB uint8, upright;
* ``mask.png``: the garment mask, 8-bit grey, 255 inside and 0 outside;
* ``pieces.png``: the ``Piece`` label map, 8-bit grey (0 none, 1 torso, ...);
* ``analysis.json``: category, source, landmarks (pixels) and limb shapes;
* ``meta.json``: the ``GarmentRecord`` (written last: a folder without it is incomplete);
* ``artifacts/<name>``: opaque bytes that later engines cache (a VAE latent, ...);
* ``adapter/``: the garment's LoRA for the diffusion engines, when one was tuned:
  ``lora.safetensors`` and ``lora.json`` (its settings, the file's SHA-256 and size).

Arrays are stored as ``.npy`` (read with ``allow_pickle=False``) or PNG, everything else
as JSON: nothing is pickled, so a catalog folder can be shared without trusting it to run
code.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image as PILImage

from tryon.types import (
    Category,
    GarmentAdapter,
    GarmentAnalysis,
    GarmentLandmarks,
    LimbShape,
    Piece,
)

PREPROCESSING_VERSION = 3
"""Version of the garment analysis stored in the catalog. Raise it whenever the garment
analysis changes its output: records written under an older version are analysed again
from their photo the next time they are read (and their artifacts dropped)."""

META_FILE = "meta.json"
IMAGE_FILE = "image.npy"
MASK_FILE = "mask.png"
PIECES_FILE = "pieces.png"
ANALYSIS_FILE = "analysis.json"
ARTIFACTS_DIR = "artifacts"
ADAPTER_DIR = "adapter"
ADAPTER_WEIGHTS = "lora.safetensors"
ADAPTER_CONFIG = "lora.json"
ADAPTER_FIELDS = {"rank": int, "alpha": float, "version": str}
"""What an adapter's settings must hold for the engines to apply it, and their types."""

PHOTO_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp"}
"""Pillow format name -> file suffix of the stored photo (other formats: ``.img``)."""


@dataclass(frozen=True)
class GarmentRecord:
    """One catalogued garment.

    Attributes:
        id: content hash of the photo (and of the category, when one was given).
        name: a label for people (the file name by default).
        category: the category the analysis settled on.
        requested_category: what the caller asked for: "auto" or a category name.
        source: "product" (flat or ghost-mannequin photo) or "worn" (on a person).
        width: photo width in pixels (upright).
        height: photo height in pixels (upright).
        created: when the garment was added (UTC).
        photo_format: Pillow's name of the photo's format ("JPEG", "PNG", ...).
        version: the ``PREPROCESSING_VERSION`` the stored analysis was made with.
        path: the garment's folder.
    """

    id: str
    name: str
    category: Category
    requested_category: str
    source: str
    width: int
    height: int
    created: datetime
    photo_format: str
    version: int
    path: Path

    @property
    def photo_path(self) -> Path:
        """The photo exactly as it was added."""
        return self.path / photo_file_name(self.photo_format)

    @property
    def mask_path(self) -> Path:
        """The garment mask, 8-bit grey PNG."""
        return self.path / MASK_FILE

    @property
    def current(self) -> bool:
        """True when the stored analysis was made by this version of the analysis."""
        return self.version == PREPROCESSING_VERSION

    def to_json(self) -> dict[str, Any]:
        """The record as stored in ``meta.json`` (no path: folders can move)."""
        return {
            "id": self.id,
            "name": self.name,
            "category": self.category.value,
            "requested_category": self.requested_category,
            "source": self.source,
            "width": self.width,
            "height": self.height,
            "created": self.created.isoformat(),
            "photo_format": self.photo_format,
            "version": self.version,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], path: Path) -> GarmentRecord:
        """Reads a record written by ``to_json``; ``path`` is the garment's folder."""
        return cls(
            id=str(data["id"]),
            name=str(data["name"]),
            category=Category.parse(data["category"]),
            requested_category=str(data["requested_category"]),
            source=str(data["source"]),
            width=int(data["width"]),
            height=int(data["height"]),
            created=datetime.fromisoformat(data["created"]),
            photo_format=str(data["photo_format"]),
            version=int(data["version"]),
            path=path,
        )


@dataclass(frozen=True)
class AddResult:
    """What ``Catalog.add`` did.

    Attributes:
        record: the garment (new, or the one already catalogued with the same id).
        created: False when the same photo (and category) was already catalogued.
    """

    record: GarmentRecord
    created: bool


@dataclass(frozen=True)
class AdapterRecord:
    """A garment's tuned adapter as the catalog stores it.

    Attributes:
        adapter: what the diffusion engines apply.
        config: the adapter's settings as stored in ``lora.json``: rank, alpha, version,
            and what tuning recorded (steps, learning rate, photos, losses, ...), plus
            ``digest``, ``bytes`` and ``created``.
    """

    adapter: GarmentAdapter
    config: dict[str, Any]

    @classmethod
    def from_json(cls, garment_id: str, config: dict[str, Any], folder: Path) -> AdapterRecord:
        """Reads ``lora.json``'s document; ``folder`` is the garment's adapter folder."""
        adapter = GarmentAdapter(
            garment=garment_id,
            weights=folder / ADAPTER_WEIGHTS,
            digest=str(config["digest"]),
            rank=int(config["rank"]),
            alpha=float(config["alpha"]),
            version=str(config["version"]),
        )
        return cls(adapter, config)


def photo_file_name(photo_format: str) -> str:
    """The stored photo's file name for a Pillow format name."""
    return f"photo.{PHOTO_FORMATS.get(photo_format, 'img')}"


# --- files ----------------------------------------------------------------------------


def write_atomic(path: Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` so that readers see the old file or the new, never half.

    The bytes go to a temporary file in the same folder, are flushed to disk, and the
    temporary file is renamed over ``path`` (``os.replace`` is atomic on one file system).
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, document: dict[str, Any]) -> None:
    """Writes a JSON document atomically (UTF-8, indented, keys in insertion order)."""
    write_atomic(path, (json.dumps(document, indent=2) + "\n").encode())


def read_json(path: Path) -> dict[str, Any]:
    """Reads a JSON object."""
    document = json.loads(path.read_text())
    if not isinstance(document, dict):
        raise ValueError(f"{path} does not hold a JSON object")
    return document


def png_bytes(array: np.ndarray) -> bytes:
    """An 8-bit grey (H, W) uint8 array as PNG bytes."""
    buf = io.BytesIO()
    PILImage.fromarray(np.ascontiguousarray(array, np.uint8), "L").save(buf, format="PNG")
    return buf.getvalue()


def npy_bytes(array: np.ndarray) -> bytes:
    """An array in NumPy's ``.npy`` format."""
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


# --- GarmentAnalysis <-> files ----------------------------------------------------------


def write_analysis(folder: Path, analysis: GarmentAnalysis) -> None:
    """Writes ``analysis`` into ``folder`` as image.npy, mask.png, pieces.png, analysis.json."""
    write_atomic(folder / IMAGE_FILE, npy_bytes(analysis.image))
    write_atomic(folder / MASK_FILE, png_bytes(np.where(analysis.mask, 255, 0).astype(np.uint8)))
    write_atomic(folder / PIECES_FILE, png_bytes(analysis.pieces))
    write_json(folder / ANALYSIS_FILE, analysis_json(analysis))


def read_analysis(folder: Path) -> GarmentAnalysis:
    """Reads what ``write_analysis`` wrote; the arrays come back bit for bit."""
    image = np.load(folder / IMAGE_FILE, allow_pickle=False)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{folder / IMAGE_FILE}: expected (H, W, 3) uint8, got {image.shape}")
    mask = np.asarray(PILImage.open(folder / MASK_FILE).convert("L")) > 127
    pieces = np.asarray(PILImage.open(folder / PIECES_FILE).convert("L"), np.uint8)
    document = read_json(folder / ANALYSIS_FILE)
    landmarks = GarmentLandmarks(
        **{name: (float(x), float(y)) for name, (x, y) in document["landmarks"].items()}
    )
    limbs = {
        Piece[name]: LimbShape(
            axis=np.asarray(limb["axis"], np.float32).reshape(-1, 2),
            widths=np.asarray(limb["widths"], np.float32),
        )
        for name, limb in document["limbs"].items()
    }
    return GarmentAnalysis(
        image=image,
        mask=mask,
        pieces=np.ascontiguousarray(pieces),
        category=Category.parse(document["category"]),
        landmarks=landmarks,
        limbs=limbs,
        source=str(document["source"]),
        neck_labels=tuple(
            (int(x0), int(y0), int(x1), int(y1)) for x0, y0, x1, y1 in document["neck_labels"]
        ),
    )


def analysis_json(analysis: GarmentAnalysis) -> dict[str, Any]:
    """The non-image part of an analysis as JSON (float32 values survive the round trip)."""
    return {
        "category": analysis.category.value,
        "source": analysis.source,
        "neck_labels": [list(box) for box in analysis.neck_labels],
        "landmarks": {
            name: [float(xy[0]), float(xy[1])] for name, xy in analysis.landmarks.as_dict().items()
        },
        "limbs": {
            piece.name: {
                "axis": [[float(x), float(y)] for x, y in limb.axis],
                "widths": [float(w) for w in limb.widths],
            }
            for piece, limb in analysis.limbs.items()
        },
    }
