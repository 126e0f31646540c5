"""The ``mask`` field of ``POST /v1/tryon`` and ``POST /v1/jobs``: a try-on area drawn
by the client (a PNG the size of the person photo, white where the try-on may change it),
read, decoded and checked the same way by both routes and by the job that uses it."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image as PILImage

from tryon.service.api_errors import APIError
from tryon.service.settings import ServiceSettings
from tryon.service.uploads import UploadForm, check_image
from tryon.types import Mask


def mask_field(form: UploadForm, settings: ServiceSettings) -> tuple[bytes, Mask] | None:
    """The form's ``mask`` file, checked and decoded (None when absent).

    Returns:
        The file's bytes and the (H, W) bool mask it holds.

    Raises:
        APIError: 400 when it is empty or no pixel is white; 4xx when it is no image.
    """
    data = form.file("mask")
    if data is None:
        return None
    check_image(data, "mask", settings)
    return data, decode_mask(data)


def decode_mask(data: bytes) -> Mask:
    """A mask sent by a client: any image, white (grey >= 128) inside.

    Raises:
        APIError: 400 when no pixel is inside.
    """
    with PILImage.open(io.BytesIO(data)) as pil:
        grey = np.asarray(pil.convert("L"))
    mask = grey >= 128
    if not mask.any():
        raise APIError(
            400,
            "ValidationError",
            "mask: no pixel is white; paint the area the try-on may change in white",
        )
    return mask


def check_mask_size(mask: Mask, shape: tuple[int, int]) -> None:
    """Raises APIError 400 unless ``mask`` (H, W) has the photo's upright ``shape``
    (height, width)."""
    if mask.shape != shape:
        height, width = mask.shape
        photo_h, photo_w = shape
        raise APIError(
            400,
            "ValidationError",
            f"mask: {width}x{height} pixels, but the person photo is {photo_w}x{photo_h} "
            "(upright); send a mask the size of the photo",
        )
