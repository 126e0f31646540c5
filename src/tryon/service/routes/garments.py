"""``/v1/garments``: the catalog over HTTP."""

from __future__ import annotations

import io
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from PIL import Image as PILImage

from tryon.catalog import GarmentRecord
from tryon.service.api_errors import APIError
from tryon.service.deps import ServicesDep, require_api_key
from tryon.service.uploads import check_image, multipart_schema, read_form

router = APIRouter(
    prefix="/v1/garments", dependencies=[Depends(require_api_key)], tags=["garments"]
)

UPLOAD_SCHEMA = multipart_schema(
    {
        "photo": {"type": "string", "format": "binary", "description": "the garment photo"},
        "category": {
            "type": "string",
            "enum": ["upper", "lower", "overall", "auto"],
            "default": "auto",
        },
        "name": {"type": "string", "description": "a label (default: 'garment <id>')"},
    },
    required=["photo"],
)


def garment_json(record: GarmentRecord) -> dict[str, Any]:
    """A garment as the API shows it."""
    return {
        "id": record.id,
        "name": record.name,
        "category": record.category.value,
        "source": record.source,
        "width": record.width,
        "height": record.height,
        "created": record.created.isoformat(),
        "photo_url": f"/v1/garments/{record.id}/photo",
        "mask_url": f"/v1/garments/{record.id}/mask",
    }


@router.post("", status_code=201, openapi_extra=UPLOAD_SCHEMA)
async def add_garment(request: Request, services: ServicesDep) -> JSONResponse:
    """Analyses a garment photo and catalogues it: 201, or 200 when already catalogued."""
    form = await read_form(request, services.settings, max_files=1)
    photo = form.files.get("photo")
    if photo is None:
        raise APIError(
            400, "MissingFieldError", "photo is missing: send the garment photo as 'photo'"
        )
    check_image(photo, "garment photo", services.settings)
    category = form.text("category") or "auto"
    added = await services.pool.run(services.catalog.add, photo, category, form.text("name"))
    return JSONResponse(garment_json(added.record), status_code=201 if added.created else 200)


@router.get("")
def list_garments(services: ServicesDep) -> dict[str, Any]:
    """Every catalogued garment, oldest first."""
    return {"garments": [garment_json(record) for record in services.catalog.list()]}


@router.get("/{garment_id}")
def get_garment(garment_id: str, services: ServicesDep) -> dict[str, Any]:
    """One garment."""
    return garment_json(services.catalog.get(garment_id))


@router.delete("/{garment_id}", status_code=204, response_class=Response)
def delete_garment(garment_id: str, services: ServicesDep) -> Response:
    """Removes a garment and everything cached for it."""
    services.catalog.remove(garment_id)
    return Response(status_code=204)


@router.get("/{garment_id}/photo", response_class=Response)
def garment_photo(garment_id: str, services: ServicesDep) -> Response:
    """The garment photo: as added when JPEG or PNG, else converted to PNG."""
    record = services.catalog.get(garment_id)
    data = services.catalog.photo(garment_id)
    if record.photo_format in ("JPEG", "MPO"):
        return Response(data, media_type="image/jpeg")
    if record.photo_format != "PNG":
        buf = io.BytesIO()
        with PILImage.open(io.BytesIO(data)) as pil:
            pil.save(buf, format="PNG")
        data = buf.getvalue()
    return Response(data, media_type="image/png")


@router.get("/{garment_id}/mask", response_class=Response)
def garment_mask(garment_id: str, services: ServicesDep) -> Response:
    """The garment mask: 8-bit grey PNG, 255 on the garment."""
    return Response(services.catalog.mask_png(garment_id), media_type="image/png")
