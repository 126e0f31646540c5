"""``POST /v1/tryon``: the synchronous try-on."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from tryon.service.api_errors import APIError
from tryon.service.deps import Services, ServicesDep, require_api_key
from tryon.service.offered_engines import find_engine
from tryon.service.people import PersonCache
from tryon.service.routes.mask import MaskedPeople, decode_mask
from tryon.service.uploads import check_image, multipart_schema, read_form
from tryon.service.work import (
    TryOnRequest,
    encode_result,
    parse_tryon_form,
    run_tryon,
    steps_document,
)
from tryon.types import Mask

router = APIRouter(prefix="/v1", dependencies=[Depends(require_api_key)], tags=["try-on"])

TRYON_FIELDS: dict[str, dict[str, Any]] = {
    "person": {"type": "string", "format": "binary", "description": "the person photo"},
    "garment_id": {"type": "string", "description": "a catalogued garment (or send 'garment')"},
    "garment": {"type": "string", "format": "binary", "description": "a garment photo"},
    "category": {
        "type": "string",
        "enum": ["upper", "lower", "overall", "auto"],
        "default": "auto",
    },
    "engine": {"type": "string", "default": "warp", "description": "see GET /v1/engines"},
    "format": {
        "type": "string",
        "enum": ["webp", "png", "jpeg", "avif"],
        "description": "output format; without it, negotiated from Accept (default webp)",
    },
    "steps": {"type": "string", "enum": ["true", "false"], "default": "false"},
}
TRYON_SCHEMA = multipart_schema(TRYON_FIELDS, required=["person"])
SYNC_SCHEMA = multipart_schema(
    {
        **TRYON_FIELDS,
        "mask": {
            "type": "string",
            "format": "binary",
            "description": "the area the try-on may change, instead of the one the engine "
            "finds (warp engine): a PNG the size of the person photo, white inside (see "
            "POST /v1/mask)",
        },
    },
    required=["person"],
)


async def read_tryon_request(request: Request, services: ServicesDep) -> TryOnRequest:
    """Reads and checks the form of a try-on (shared by /v1/tryon and /v1/jobs)."""
    wanted, mask = await read_tryon_form(request, services)
    if mask is not None:
        raise APIError(
            400, "ValidationError", "mask: only POST /v1/tryon (warp engine) takes a mask"
        )
    return wanted


async def read_tryon_form(
    request: Request, services: ServicesDep
) -> tuple[TryOnRequest, Mask | None]:
    """The checked try-on request and its ``mask`` field, decoded (None when absent).

    Raises:
        APIError: 400 for a mask that is empty or sent with an engine other than warp.
    """
    form = await read_form(request, services.settings, max_files=3)
    wanted = parse_tryon_form(
        form, request.headers.get("accept"), services.settings, services.catalog
    )
    data = form.file("mask")
    if data is None:
        return wanted, None
    if wanted.engine != "warp":
        raise APIError(400, "ValidationError", "mask: only the warp engine takes a mask")
    check_image(data, "mask", services.settings)
    return wanted, decode_mask(data)


@router.post(
    "/tryon",
    openapi_extra=SYNC_SCHEMA,
    response_class=Response,
    responses={200: {"content": {"image/webp": {}, "application/json": {}}}},
)
async def tryon(request: Request, services: ServicesDep) -> Response:
    """Dresses the person in the garment and answers with the image (or, with
    ``steps=true``, JSON holding the image and every intermediate picture). With
    ``mask``, the try-on changes only the pixels inside it."""
    wanted, mask = await read_tryon_form(request, services)
    if find_engine(services.settings, wanted.engine).mode != "sync":
        raise APIError(
            400,
            "JobEngineError",
            f"engine {wanted.engine} runs as a job: POST the same fields to /v1/jobs",
        )
    people = services.people if mask is None else MaskedPeople(services.people, mask)
    if wanted.steps:
        document = await services.pool.run(_steps, services, wanted, people)
        return JSONResponse(document)
    data, headers = await services.pool.run(_image, services, wanted, people)
    return Response(data, media_type=wanted.output.media_type, headers=headers)


def _image(
    services: Services, wanted: TryOnRequest, people: PersonCache
) -> tuple[bytes, dict[str, str]]:
    result = run_tryon(services.engine(wanted.engine), services.catalog, wanted, people=people)
    return encode_result(
        result,
        wanted.output,
        quality=services.settings.output_quality,
        metrics=services.metrics,
        engine=wanted.engine,
    )


def _steps(services: Services, wanted: TryOnRequest, people: PersonCache) -> dict[str, object]:
    result = run_tryon(services.engine(wanted.engine), services.catalog, wanted, people=people)
    return steps_document(
        result,
        wanted.output,
        quality=services.settings.output_quality,
        metrics=services.metrics,
        engine=wanted.engine,
    )
