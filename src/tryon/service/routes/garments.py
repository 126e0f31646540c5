"""``/v1/garments``: the catalog over HTTP, with the garments' adapters."""

from __future__ import annotations

import io
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import JSONResponse
from PIL import Image as PILImage
from starlette.concurrency import run_in_threadpool

from tryon.catalog import AdapterRecord, Catalog, GarmentRecord, NoAdapterError, UnknownGarmentError
from tryon.service.adapters import (
    MAX_PHOTOS,
    MAX_RANK,
    MAX_SIDE,
    MAX_STEPS,
    MIN_SIDE,
    adapter_json,
    parse_tune_form,
    tuning_unavailable,
)
from tryon.service.api_errors import APIError
from tryon.service.deps import ServicesDep, require_api_key
from tryon.service.routes.jobs import check_key, urls
from tryon.service.uploads import check_image, multipart_schema, read_form
from tryon.service.work import category_field
from tryon.training.adapter_config import MIN_PHOTOS, TuneConfig

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

_DEFAULTS = TuneConfig()
TUNE_SCHEMA = multipart_schema(
    {
        "photos": {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "minItems": MIN_PHOTOS,
            "maxItems": MAX_PHOTOS,
            "description": f"{MIN_PHOTOS} to {MAX_PHOTOS} photos of people wearing the garment "
            "(5 to 10 work best), each a file field named 'photos'",
        },
        "rank": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_RANK,
            "default": _DEFAULTS.rank,
            "description": "the LoRA rank",
        },
        "steps": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_STEPS,
            "default": _DEFAULTS.steps,
            "description": "optimiser steps (one photo each)",
        },
        "lr": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 1,
            "default": _DEFAULTS.learning_rate,
            "description": "the learning rate",
        },
        "size": {
            "type": "string",
            "pattern": "^[0-9]+x[0-9]+$",
            "description": f"HxW the photos are cropped to, multiples of 8 from {MIN_SIDE} to "
            f"{MAX_SIDE} (default: the size the served attention weights were trained at)",
        },
    },
    required=["photos"],
)


def garment_json(record: GarmentRecord, adapter: AdapterRecord | None) -> dict[str, Any]:
    """A garment as the API shows it, with its adapter (None when it has none)."""
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
        "adapter": None if adapter is None else adapter_json(adapter),
    }


def adapter_of(catalog: Catalog, garment_id: str) -> AdapterRecord | None:
    """The garment's adapter; None also when the garment was removed meanwhile."""
    try:
        return catalog.adapter(garment_id)
    except UnknownGarmentError:
        return None


@router.post("", status_code=201, openapi_extra=UPLOAD_SCHEMA)
async def add_garment(request: Request, services: ServicesDep) -> JSONResponse:
    """Analyses a garment photo and catalogues it: 201, or 200 when already catalogued."""
    form = await read_form(request, services.settings, max_files=1)
    photo = form.file("photo")
    if photo is None:
        raise APIError(
            400, "MissingFieldError", "photo is missing: send the garment photo as 'photo'"
        )
    check_image(photo, "garment photo", services.settings)
    category = category_field(form)
    added = await services.pool.run(services.catalog.add, photo, category, form.text("name"))
    adapter = adapter_of(services.catalog, added.record.id)
    return JSONResponse(
        garment_json(added.record, adapter), status_code=201 if added.created else 200
    )


@router.get("")
def list_garments(services: ServicesDep) -> dict[str, Any]:
    """Every catalogued garment, oldest first."""
    catalog = services.catalog
    return {"garments": [garment_json(r, adapter_of(catalog, r.id)) for r in catalog.list()]}


@router.get("/{garment_id}")
def get_garment(garment_id: str, services: ServicesDep) -> dict[str, Any]:
    """One garment, with its adapter (rank, steps, photos, date) when it has one."""
    record = services.catalog.get(garment_id)
    return garment_json(record, adapter_of(services.catalog, record.id))


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


@router.post("/{garment_id}/adapter", status_code=202, openapi_extra=TUNE_SCHEMA)
async def tune_adapter(
    garment_id: str,
    request: Request,
    services: ServicesDep,
    idempotency_key: Annotated[
        str | None,
        Header(description="as for POST /v1/jobs: a retried submission returns the same job"),
    ] = None,
) -> JSONResponse:
    """Queues the tuning of the garment's own adapter (a LoRA of the catvton model) on
    photos of people wearing it: 202 and where to follow the job, as ``POST /v1/jobs``.
    Its progress events are the optimiser's steps; its result is the adapter's record
    (JSON), also shown by ``GET /v1/garments/{id}`` from then on. A new adapter replaces
    the garment's old one. Needs a server started with ``--weights DIR`` (503 without)."""
    if services.settings.weights_dir is None:
        raise tuning_unavailable()  # before the photos are read
    key = check_key(idempotency_key)
    form = await read_form(request, services.settings, max_files=MAX_PHOTOS)
    spec = parse_tune_form(form, garment_id, services.settings, services.catalog)
    state = await run_in_threadpool(services.jobs.submit, spec, key)
    links = urls(state.id)
    return JSONResponse(
        {"id": state.id, "status": state.status, "position": state.position, **links},
        status_code=202,
        headers={"Location": links["url"]},
    )


@router.delete("/{garment_id}/adapter", status_code=204, response_class=Response)
def delete_adapter(garment_id: str, services: ServicesDep) -> Response:
    """Removes the garment's adapter: its try-ons are the base model's again (404 when
    it has none)."""
    try:
        services.catalog.remove_adapter(garment_id)
    except NoAdapterError:
        raise APIError(
            404,
            "NoAdapterError",
            f"garment {garment_id!r} has no adapter; tune one with "
            f"POST /v1/garments/{garment_id}/adapter",
        ) from None
    return Response(status_code=204)
