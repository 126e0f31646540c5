"""Light garments on light backdrops are cut along their outline; blank photos are refused."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tests.garment.light_photos import LOOKS, iou, light_photo
from tests.photos import GARMENT, GARMENTS, garment
from tryon import Category, GarmentNotFoundError, TryOn
from tryon.garment import segment
from tryon.garment.light_backdrop import LightCutConfig, sharp_edges
from tryon.garment.segment import segment_product
from tryon.imageio import load_image

LOOK = {look.name: look for look in LOOKS}


@pytest.fixture(scope="module")
def shirt() -> tuple[np.ndarray, np.ndarray]:
    """The sample shirt photo and its mask (cut on its contrasting backdrop)."""
    photo = load_image(GARMENT)
    return photo, segment_product(photo)


@pytest.mark.parametrize(
    ("look", "shadow", "least_iou"),
    [
        # White on white is the hardest: where a sleeve's rim is as light as the
        # backdrop, the cut falls short of it (measured 0.88 and 0.81).
        ("white-on-white", True, 0.85),
        ("white-on-white", False, 0.78),
        ("cream-on-white", True, 0.95),
        ("light-grey-on-white", True, 0.95),
        ("light-grey-on-grey", False, 0.95),
        ("bright-white-on-grey", True, 0.93),
    ],
)
def test_a_light_garment_on_a_light_backdrop_is_cut_out(
    tryon: TryOn, shirt: tuple[np.ndarray, np.ndarray], look: str, shadow: bool, least_iou: float
) -> None:
    """The sample shirt made white / cream / light grey on a studio backdrop, with or
    without a soft drop shadow, with sensor noise and JPEG: the cut follows the shirt."""
    photo, truth = shirt
    light = light_photo(photo, truth, LOOK[look], shadow=shadow)
    analysis = tryon.analyze_garment(light)
    assert iou(analysis.mask, truth) > least_iou
    assert analysis.category is Category.UPPER
    assert analysis.landmarks.sleeve_end_r is not None


def test_light_trousers_keep_the_gap_between_their_legs(tryon: TryOn) -> None:
    photo = load_image(garment("pants_1_front.jpg"))
    truth = segment_product(photo)
    light = light_photo(photo, truth, LOOK["white-on-white"], shadow=True)
    analysis = tryon.analyze_garment(light)
    assert iou(analysis.mask, truth) > 0.85
    assert analysis.category is Category.LOWER


def test_garments_on_coloured_backdrops_keep_the_colour_cut(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A garment that stands out by colour never reaches the outline cut, so its mask is
    what it was before the outline cut existed."""

    def refuse(*args: object) -> None:
        raise AssertionError("the outline cut was used for a contrasting garment")

    monkeypatch.setattr(segment, "cut_light_garment", refuse)
    for path in GARMENTS:
        assert segment_product(load_image(path)).mean() > 0.1


def test_a_step_is_an_edge_and_a_soft_shadow_is_not() -> None:
    """Known values: a 4 L* step is found where it is; a 12 L* soft ramp (a drop shadow)
    and the flat backdrop give no edge."""
    lightness = np.full((120, 240), 95.0, np.float32)
    lightness[:, 20:60] = 91.0  # a garment: sharp steps at columns 20 and 60
    ramp = np.clip((np.arange(240) - 130) / 40, 0, 1).astype(np.float32)
    lightness -= 12.0 * ramp  # a shadow fading in over columns 130 to 170
    lightness += np.random.default_rng(0).normal(0, 0.3, lightness.shape).astype(np.float32)
    frame = np.zeros(lightness.shape, bool)
    frame[:5], frame[-5:] = True, True
    edges = sharp_edges(lightness, frame, LightCutConfig())
    columns = set(np.nonzero(edges[10:-10].mean(0) > 0.5)[0].tolist())
    assert columns & {19, 20, 21} and columns & {59, 60, 61}, columns
    assert columns <= {19, 20, 21, 59, 60, 61}, columns
    assert not edges[10:-10, 70:].any()


def test_a_faint_step_without_noise_is_refused(tryon: TryOn) -> None:
    """A step of 1.5 L* (246 to 250) is below what a person sees as an outline."""
    plain = np.full((600, 600, 3), 246, np.uint8)
    plain[100:500, 150:450] = 250
    with pytest.raises(GarmentNotFoundError, match="white garment on a white backdrop"):
        tryon.analyze_garment(plain)


@pytest.mark.parametrize("value", [255, 240])
def test_a_blank_photo_is_refused_as_blank(tryon: TryOn, value: int) -> None:
    with pytest.raises(GarmentNotFoundError, match="blank: every pixel has the same colour"):
        tryon.analyze_garment(np.full((500, 400, 3), value, np.uint8))


def test_a_fully_transparent_png_is_refused_as_such(tryon: TryOn) -> None:
    rgba = np.zeros((500, 400, 4), np.uint8)
    rgba[100:400, 100:300, :3] = 30  # colour under zero alpha is not shown
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG")
    with pytest.raises(GarmentNotFoundError, match="garment photo is fully transparent") as refused:
        tryon.analyze_garment(buf.getvalue())
    assert "white garment" not in str(refused.value)
