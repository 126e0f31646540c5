"""``/v1/mask``: the try-on area (the agnostic mask) of a person photo, and a region
picked in it with a click, for the web page's area editor; the ``mask`` field of
``POST /v1/tryon`` sends an edited area back."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
from fastapi import APIRouter, Depends, Request, Response
from PIL import Image as PILImage

from tryon.engines.warp import PreparedPerson, WarpEngine
from tryon.imageio import load_image
from tryon.ops.working_size import upscale_mask
from tryon.pipeline import ReducedPerson, photo_shape, with_area
from tryon.service.api_errors import APIError
from tryon.service.deps import Services, ServicesDep, require_api_key
from tryon.service.garment_lookup import garment_analysis
from tryon.service.mask_field import check_mask_size
from tryon.service.people import PersonCache
from tryon.service.settings import ServiceSettings
from tryon.service.uploads import (
    PERSON_GARMENT_FIELDS,
    UploadForm,
    check_image,
    multipart_schema,
    read_form,
)
from tryon.service.work import TryOnRequest, parse_tryon_form
from tryon.types import Category, Image, Mask

router = APIRouter(prefix="/v1/mask", dependencies=[Depends(require_api_key)], tags=["try-on"])

PNG: dict[int | str, dict[str, Any]] = {200: {"content": {"image/png": {}}}}
SELECT_WINDOW = 0.25
"""The region around a click is looked for within this share of the photo's longer
side on each side of the click."""
SELECT_SIDE = 320
"""The window is cut at this longer side at most (GrabCut's time grows with pixels)."""
SELECT_ITERATIONS = 4
FLOOD_STEP = 6
"""Largest colour difference between neighbours of one region in the first guess."""

AREA_SCHEMA = multipart_schema(PERSON_GARMENT_FIELDS, required=["person"])
SELECT_SCHEMA = multipart_schema(
    {
        "person": {"type": "string", "format": "binary", "description": "the person photo"},
        "mask": {
            "type": "string",
            "format": "binary",
            "description": "the current area: a PNG the size of the photo, white inside",
        },
        "x": {"type": "integer", "description": "the click, pixels from the photo's left"},
        "y": {"type": "integer", "description": "the click, pixels from the photo's top"},
    },
    required=["person", "mask", "x", "y"],
)


def png_of(mask: Mask) -> bytes:
    """A mask as an 8-bit grey PNG, 255 inside."""
    buf = io.BytesIO()
    PILImage.fromarray(np.where(mask, 255, 0).astype(np.uint8), "L").save(buf, format="PNG")
    return buf.getvalue()


class MaskedPeople(PersonCache):
    """The service's person cache, handing out each person with a drawn try-on area.

    Args:
        people: the cache of analysed photos (its entries are not changed).
        mask: (H, W) bool, the area, in the photo's upright frame at its full size (a
            photo over the working size is dressed on a reduced copy; see
            ``tryon.pipeline.with_area``).
    """

    def __init__(self, people: PersonCache, mask: Mask) -> None:
        super().__init__(0, 0.0)
        self.people = people
        self.mask = mask

    def get(
        self, photo: bytes, prepare: Callable[[bytes], PreparedPerson]
    ) -> tuple[PreparedPerson, bool]:
        """The analysed person, with its own sides and the drawn area.

        Raises:
            APIError: 400 when the area is not the photo's size.
        """
        person, fresh = self.people.get(photo, prepare)
        check_mask_size(self.mask, photo_shape(person))
        return with_area(person, self.mask), fresh


def warp_engine(services: Services) -> WarpEngine:
    engine = services.engine("warp").engine
    if not isinstance(engine, WarpEngine):  # a server built with another default engine
        raise APIError(400, "EngineUnavailableError", "the try-on area needs the warp engine")
    return engine


def agnostic_png(services: Services, wanted: TryOnRequest) -> bytes:
    """The area a warp try-on of ``wanted`` would change, as a PNG (blocking)."""
    tryon = services.engine("warp")
    engine = warp_engine(services)
    analysis = garment_analysis(
        tryon, services.catalog, wanted.garment, wanted.garment_id, wanted.category
    )
    person, _ = services.people.get(wanted.person, tryon.prepare_person)
    category = analysis.category if wanted.category == "auto" else Category(wanted.category)
    masked = engine.analyzers.mask_person(person.image, category, person.body)
    if isinstance(person, ReducedPerson):  # found on the working copy: sent at full size
        return png_of(upscale_mask(masked.agnostic_mask, person.original.shape))
    return png_of(masked.agnostic_mask)


@router.post("", response_class=Response, responses=PNG, openapi_extra=AREA_SCHEMA)
async def agnostic_mask(request: Request, services: ServicesDep) -> Response:
    """The area a warp try-on of the garment would change on the person photo (the
    agnostic mask): an 8-bit grey PNG the size of the photo, 255 inside. Edit it and
    send it back as ``mask`` to ``POST /v1/tryon``."""
    form = await read_form(request, services.settings, max_files=2)
    wanted = parse_tryon_form(
        form, request.headers.get("accept"), services.settings, services.catalog
    )
    data = await services.pool.run(agnostic_png, services, wanted)
    return Response(data, media_type="image/png")


def select_region(photo: Image, area: Mask, x: int, y: int) -> Mask:
    """The region of the photo around a click, cut along the photo's edges (GrabCut).

    A click outside ``area`` finds a region outside it (to add); a click inside finds
    one inside it (to remove): the other side is sure background. The cut runs on a
    window around the click, at most ``SELECT_SIDE`` pixels, seeded by a disk at the
    click as sure foreground; the region is the part connected to the click.

    Args:
        photo: (H, W, 3) RGB uint8.
        area: (H, W) bool, the current try-on area.
        x: the click's column, 0 <= x < W.
        y: the click's row, 0 <= y < H.

    Returns:
        (H, W) bool, the region (never outside the click's side of ``area``).
    """
    height, width = area.shape
    allowed = area if area[y, x] else ~area
    half = max(8, int(SELECT_WINDOW * max(height, width)))
    x0, x1 = max(0, x - half), min(width, x + half + 1)
    y0, y1 = max(0, y - half), min(height, y + half + 1)
    scale = min(1.0, SELECT_SIDE / max(x1 - x0, y1 - y0))
    size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
    crop = cv2.resize(photo[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA)
    side = cv2.resize(allowed[y0:y1, x0:x1].astype(np.uint8), size, cv2.INTER_NEAREST) > 0
    cx = min(size[0] - 1, int((x - x0) * scale))
    cy = min(size[1] - 1, int((y - y0) * scale))
    seeds = np.full(side.shape, cv2.GC_PR_BGD, np.uint8)
    # A point alone gives GrabCut's foreground model one colour: start it from the
    # colours connected to the click (a flood fill that follows soft gradients).
    seeds[similar_colours(crop, side, cx, cy)] = cv2.GC_PR_FGD
    cv2.circle(seeds, (cx, cy), max(2, round(0.015 * max(size))), int(cv2.GC_FGD), -1)
    seeds[~side] = cv2.GC_BGD
    seeds[cy, cx] = cv2.GC_FGD
    models = (np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64))
    bgr = np.ascontiguousarray(crop[..., ::-1])
    cv2.grabCut(bgr, seeds, None, *models, SELECT_ITERATIONS, cv2.GC_INIT_WITH_MASK)
    found = ((seeds == cv2.GC_FGD) | (seeds == cv2.GC_PR_FGD)) & side
    _, labels = cv2.connectedComponents(found.astype(np.uint8), connectivity=8)
    picked = (labels == labels[cy, cx]).astype(np.float32)
    full = cv2.resize(picked, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR) >= 0.5
    region = np.zeros_like(area)
    region[y0:y1, x0:x1] = full
    region &= allowed
    region[y, x] = True
    return region


def similar_colours(crop: Image, side: Mask, x: int, y: int) -> Mask:
    """The pixels of ``crop`` (h, w, 3 RGB uint8) connected to (x, y) through
    neighbours of similar colour (within ``FLOOD_STEP`` per channel), within ``side``."""
    blurred = cv2.GaussianBlur(crop, (5, 5), 0)
    blocked = np.pad((~side).astype(np.uint8), 1, constant_values=1)
    step = (FLOOD_STEP,) * 3
    flags = 8 | cv2.FLOODFILL_MASK_ONLY | (1 << 8)
    cv2.floodFill(blurred, blocked, (x, y), (0, 0, 0), step, step, flags)
    return (blocked[1:-1, 1:-1] == 1) & side


def coordinate(value: str | None, name: str, limit: int) -> int:
    """A click coordinate field, 0 <= value < limit.

    Raises:
        APIError: 400 naming the field.
    """
    try:
        number = int(value or "")
    except ValueError:
        raise APIError(400, "ValidationError", f"{name} must be a whole number of pixels") from None
    if not 0 <= number < limit:
        raise APIError(
            400, "ValidationError", f"{name}: {number} is outside the photo (0 to {limit - 1})"
        )
    return number


def selected_png(person: bytes, mask: bytes, x: str | None, y: str | None) -> bytes:
    """Decodes and checks the fields of a selection, then cuts it (blocking)."""
    photo = load_image(person, role="person photo")
    area = decode_area(mask)
    check_mask_size(area, (photo.shape[0], photo.shape[1]))
    height, width = area.shape
    return png_of(select_region(photo, area, coordinate(x, "x", width), coordinate(y, "y", height)))


def decode_area(data: bytes) -> Mask:
    """A current area as sent: like ``decode_mask``, but an empty one is allowed."""
    with PILImage.open(io.BytesIO(data)) as pil:
        return np.asarray(pil.convert("L")) >= 128


def required_image(form: UploadForm, name: str, role: str, settings: ServiceSettings) -> bytes:
    """The image file field ``name``.

    Raises:
        APIError: 400 when it is missing, 4xx when it is no image.
    """
    data = form.file(name)
    if data is None:
        raise APIError(400, "MissingFieldError", f"{name} is missing: send the {role} as a file")
    check_image(data, role, settings)
    return data


@router.post("/select", response_class=Response, responses=PNG, openapi_extra=SELECT_SCHEMA)
async def select(request: Request, services: ServicesDep) -> Response:
    """The region of the person photo around a click, cut along the photo's edges: a
    click outside the current area (``mask``) finds a region to add, a click inside it
    one to remove. An 8-bit grey PNG the size of the photo, 255 in the region."""
    form = await read_form(request, services.settings, max_files=2)
    person = required_image(form, "person", "person photo", services.settings)
    mask = required_image(form, "mask", "mask", services.settings)
    data = await services.pool.run(selected_png, person, mask, form.text("x"), form.text("y"))
    return Response(data, media_type="image/png")
