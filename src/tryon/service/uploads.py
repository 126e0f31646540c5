"""Reading uploads: multipart forms held in memory, image bytes checked before decoding.

Shoppers' photos must never touch the disk, but Starlette's form parser spools files
over 1 MB to a temporary file. So the body is read here, with a byte limit enforced while
it streams in, and parsed by a subclass of Starlette's parser whose spool never rolls
over to disk.
"""

from __future__ import annotations

import io
import sys
import warnings
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from PIL import Image as PILImage
from PIL import UnidentifiedImageError
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from tryon.imageio import MIN_SIDE
from tryon.service.api_errors import APIError
from tryon.service.settings import ServiceSettings

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "AVIF", "GIF", "BMP", "TIFF")
"""Image formats accepted as uploads (Pillow's names; JPEG covers phones' MPO files).
Other formats Pillow could open (EPS, PSD, ...) are refused: less code reached by
untrusted bytes."""

FORM_OVERHEAD = 64 * 1024
"""Bytes allowed in a form besides its files (boundaries, headers, text fields)."""


class InMemoryMultiPartParser(MultiPartParser):
    """Starlette's multipart parser with files kept in memory (never spooled to disk)."""

    spool_max_size = sys.maxsize


@dataclass(frozen=True)
class UploadForm:
    """A parsed multipart form.

    Attributes:
        fields: text fields by name (the last value when repeated).
        files: uploaded files' bytes by field name (the last file when repeated).
        every_file: every file of each field name, in the order sent (a field may
            carry several files: ``photos`` of ``POST /v1/garments/{id}/adapter``).
        every_text: every value of each text field name, in the order sent.
    """

    fields: dict[str, str]
    files: dict[str, bytes]
    every_file: dict[str, list[bytes]] = field(default_factory=dict)
    every_text: dict[str, list[str]] = field(default_factory=dict)

    def file(self, name: str) -> bytes | None:
        """The one file sent as ``name``; None when absent.

        Raises:
            APIError: 400 when the field carries several files (none is picked silently).
        """
        sent = self.every_file.get(name, [])
        if len(sent) > 1:
            raise APIError(
                400,
                "ValidationError",
                f"{name}: {len(sent)} files were sent in this field; send exactly one",
            )
        return sent[0] if sent else self.files.get(name)

    def text(self, name: str) -> str | None:
        """A text field, stripped; None when absent or empty."""
        value = self.fields.get(name, "").strip()
        return value or None

    def texts(self, name: str) -> list[str]:
        """Every value of a text field, in the order sent, stripped (empty ones too)."""
        sent = self.every_text.get(name)
        if sent is None:
            sent = [self.fields[name]] if name in self.fields else []
        return [value.strip() for value in sent]


async def read_form(request: Request, settings: ServiceSettings, max_files: int) -> UploadForm:
    """Reads a ``multipart/form-data`` body into memory.

    Raises:
        APIError: 415 when the body is not multipart, 413 when it or a file is larger
            than the settings allow, 400 when it is malformed.
    """
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise APIError(
            415,
            "UnsupportedMediaTypeError",
            f"send the fields as multipart/form-data (got {content_type or 'no Content-Type'})",
        )
    limit = max_files * settings.max_upload_bytes + FORM_OVERHEAD
    body = await read_body(request, limit, settings)
    parser = InMemoryMultiPartParser(
        request.headers,
        _single_chunk(body),
        max_files=max_files,
        max_fields=32,
        max_part_size=FORM_OVERHEAD,
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise APIError(
            400, "MalformedFormError", f"the multipart form is malformed: {exc}"
        ) from None
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    every_file: dict[str, list[bytes]] = {}
    every_text: dict[str, list[str]] = {}
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            data = await value.read()
            await value.close()
            if len(data) > settings.max_upload_bytes:
                raise too_large(name, len(data), settings)
            files[name] = data
            every_file.setdefault(name, []).append(data)
        else:
            fields[name] = str(value)
            every_text.setdefault(name, []).append(str(value))
    return UploadForm(fields=fields, files=files, every_file=every_file, every_text=every_text)


async def read_body(request: Request, limit: int, settings: ServiceSettings) -> bytes:
    """The request body; 413 as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large("the request", int(declared), settings)
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            # Only part of the body has been read: its size so far says nothing useful.
            raise over_limit(limit, settings)
        chunks.append(chunk)
    return b"".join(chunks)


def too_large(what: str, size: int, settings: ServiceSettings) -> APIError:
    mib = settings.max_upload_bytes / 2**20
    return APIError(
        413,
        "UploadTooLargeError",
        f"{what} is {size / 2**20:.1f} MiB; each photo may be at most {mib:.0f} MiB, so "
        "send a smaller JPEG or WebP",
    )


def over_limit(limit: int, settings: ServiceSettings) -> APIError:
    """413 for a body found over ``limit`` while it streamed in (its full size unknown)."""
    mib = settings.max_upload_bytes / 2**20
    return APIError(
        413,
        "UploadTooLargeError",
        f"the request is over its {limit / 2**20:.1f} MiB limit; each photo may be at most "
        f"{mib:.0f} MiB, so send a smaller JPEG or WebP",
    )


def check_image(data: bytes, role: str, settings: ServiceSettings) -> None:
    """Checks uploaded bytes from their header alone: a known image format of a sane size.

    The Content-Type the client sent is ignored; the bytes say what they are.

    Raises:
        APIError: 400 empty or too small, 415 not an image of an accepted format, 413
            more pixels than the settings allow (nothing is decoded).
    """
    if not data:
        raise APIError(400, "InvalidImageError", f"{role}: the file is empty; send a photo")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as pil:
                width, height = pil.size
    except PILImage.DecompressionBombError:
        raise pixels_error(role, None, settings) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        accepted = ", ".join(ACCEPTED_FORMATS)
        raise APIError(
            415,
            "InvalidImageError",
            f"{role}: the file is not an image in a format this service reads ({accepted}); "
            "send a JPEG, PNG or WebP photo",
        ) from None
    if width * height > settings.max_pixels:
        raise pixels_error(role, (width, height), settings)
    if min(width, height) < MIN_SIDE:
        raise APIError(
            400,
            "ImageSizeError",
            f"{role} is {width}x{height} pixels; at least {MIN_SIDE} pixels on each side are "
            "needed (a full-body photo of 768x1024 or more works best)",
        )


def pixels_error(role: str, size: tuple[int, int] | None, settings: ServiceSettings) -> APIError:
    limit = settings.max_pixels / 1e6
    what = f"is {size[0]}x{size[1]} pixels" if size else "has too many pixels"
    return APIError(
        413,
        "ImageSizeError",
        f"{role} {what}; the limit is {limit:g} megapixels, so downscale it first",
    )


async def _single_chunk(body: bytes) -> AsyncGenerator[bytes, None]:
    yield body


PERSON_GARMENT_FIELDS: dict[str, dict[str, Any]] = {
    "person": {"type": "string", "format": "binary", "description": "the person photo"},
    "garment_id": {"type": "string", "description": "a catalogued garment (or send 'garment')"},
    "garment": {"type": "string", "format": "binary", "description": "a garment photo"},
    "category": {
        "type": "string",
        "enum": ["upper", "lower", "overall", "auto"],
        "default": "auto",
    },
}
"""The form fields every route that dresses or masks a person takes (OpenAPI)."""


def multipart_schema(properties: dict[str, dict[str, Any]], required: list[str]) -> dict[str, Any]:
    """An OpenAPI ``requestBody`` for a multipart form (the form is parsed by hand)."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {"type": "object", "properties": properties, "required": required}
                }
            },
        }
    }
