"""Cut-outs: a garment photo with a transparent backdrop is cut out by its alpha."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.photos import GARMENT, PERSON
from tryon import Category, GarmentNotFoundError, TryOn
from tryon.catalog import Catalog
from tryon.imageio import load_cutout


def _png(rgba: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def white_cutout(tryon: TryOn) -> tuple[bytes, np.ndarray]:
    """A near-white shirt (the sample shirt, lightened) on a transparent backdrop, and
    the shirt's mask: on a white backdrop it could not be told from the backdrop."""
    shirt = tryon.analyze_garment(GARMENT)
    light = 255 - ((255 - shirt.image.astype(np.float32)) * 0.12)
    rgba = np.zeros((*shirt.mask.shape, 4), np.uint8)
    rgba[..., :3] = np.where(shirt.mask[..., None], light, 255).astype(np.uint8)
    rgba[..., 3] = np.where(shirt.mask, 255, 0)
    return _png(rgba), shirt.mask


def test_the_alpha_channel_is_the_garment_mask(
    tryon: TryOn, white_cutout: tuple[bytes, np.ndarray]
) -> None:
    photo, mask = white_cutout
    analysis = tryon.analyze_garment(photo)
    iou = (analysis.mask & mask).sum() / (analysis.mask | mask).sum()
    assert iou > 0.97
    assert analysis.category is Category.UPPER
    assert analysis.landmarks.sleeve_end_r is not None
    # The cut-out is the sample shirt: its sleeves end where the opaque shirt's do.
    opaque = tryon.analyze_garment(GARMENT).landmarks
    for name in ("sleeve_end_r", "sleeve_end_l"):
        found, expected = getattr(analysis.landmarks, name), getattr(opaque, name)
        assert np.hypot(*np.subtract(found, expected)) < 0.01 * mask.shape[1], (name, found)
    assert analysis.landmarks.sleeve_end_r[0] < mask.shape[1] / 2  # the wearer's right


def test_the_same_garment_flattened_on_white_is_cut_along_its_outline(
    tryon: TryOn, white_cutout: tuple[bytes, np.ndarray]
) -> None:
    """Without its alpha, the light shirt on white is cut along its visible outline."""
    flat = np.asarray(Image.open(io.BytesIO(white_cutout[0])).convert("RGB"))
    mask = white_cutout[1]
    found = tryon.analyze_garment(flat).mask
    assert (found & mask).sum() / (found | mask).sum() > 0.95


def test_a_cutout_is_tried_on_and_catalogued(
    tryon: TryOn, white_cutout: tuple[bytes, np.ndarray], tmp_path: Path
) -> None:
    photo = white_cutout[0]
    result = tryon.run(PERSON, photo)
    changed = (result.image != result.person).any(-1)
    assert changed.sum() > 0.05 * changed.size
    catalog = Catalog(tmp_path, tryon=tryon)
    record = catalog.add(photo, name="white shirt").record
    assert np.array_equal(catalog.analysis(record.id).mask, tryon.analyze_garment(photo).mask)


def test_a_cutout_with_almost_nothing_opaque_is_refused(tryon: TryOn) -> None:
    rgba = np.full((400, 300, 4), 255, np.uint8)
    rgba[..., 3] = 0
    rgba[190:200, 140:150, 3] = 255
    with pytest.raises(GarmentNotFoundError, match=r"only .* of it is opaque"):
        tryon.analyze_garment(_png(rgba))


@pytest.mark.parametrize(
    ("mode", "cutout"),
    [("RGB", False), ("RGBA-opaque", False), ("RGBA", True), ("LA", True)],
)
def test_only_photos_with_clear_and_opaque_pixels_are_cutouts(mode: str, cutout: bool) -> None:
    rgba = np.full((80, 80, 4), 200, np.uint8)
    if mode != "RGBA-opaque":
        rgba[:40, :, 3] = 0
    picture = Image.fromarray(rgba, "RGBA")
    if mode == "RGB":
        picture = picture.convert("RGB")
    elif mode == "LA":
        picture = picture.convert("LA")
    buf = io.BytesIO()
    picture.save(buf, format="PNG")
    image, opaque = load_cutout(buf.getvalue())
    assert image.shape == (80, 80, 3)
    assert (opaque is not None) is cutout
    if opaque is not None:
        assert opaque[:40].sum() == 0 and opaque[40:].all()
        assert (image[:40] == 255).all()  # clear pixels on white, as before
