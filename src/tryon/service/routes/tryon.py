"""``POST /v1/tryon``: the synchronous try-on."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from tryon.service.api_errors import APIError
from tryon.service.deps import Services, ServicesDep, require_api_key
from tryon.service.offered_engines import find_engine
from tryon.service.uploads import multipart_schema, read_form
from tryon.service.work import (
    TryOnRequest,
    encode_result,
    parse_tryon_form,
    run_tryon,
    steps_document,
)

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


async def read_tryon_request(request: Request, services: ServicesDep) -> TryOnRequest:
    """Reads and checks the form of a try-on (shared by /v1/tryon and /v1/jobs)."""
    form = await read_form(request, services.settings, max_files=2)
    return parse_tryon_form(
        form, request.headers.get("accept"), services.settings, services.catalog
    )


@router.post(
    "/tryon",
    openapi_extra=TRYON_SCHEMA,
    response_class=Response,
    responses={200: {"content": {"image/webp": {}, "application/json": {}}}},
)
async def tryon(request: Request, services: ServicesDep) -> Response:
    """Dresses the person in the garment and answers with the image (or, with
    ``steps=true``, JSON holding the image and every intermediate picture)."""
    wanted = await read_tryon_request(request, services)
    if find_engine(services.settings, wanted.engine).mode != "sync":
        raise APIError(
            400,
            "JobEngineError",
            f"engine {wanted.engine} runs as a job: POST the same fields to /v1/jobs",
        )
    if wanted.steps:
        document = await services.pool.run(_steps, services, wanted)
        return JSONResponse(document)
    data, headers = await services.pool.run(_image, services, wanted)
    return Response(data, media_type=wanted.output.media_type, headers=headers)


def _image(services: Services, wanted: TryOnRequest) -> tuple[bytes, dict[str, str]]:
    result = run_tryon(
        services.engine(wanted.engine), services.catalog, wanted, people=services.people
    )
    return encode_result(
        result,
        wanted.output,
        quality=services.settings.output_quality,
        metrics=services.metrics,
        engine=wanted.engine,
    )


def _steps(services: Services, wanted: TryOnRequest) -> dict[str, object]:
    result = run_tryon(
        services.engine(wanted.engine), services.catalog, wanted, people=services.people
    )
    return steps_document(
        result,
        wanted.output,
        quality=services.settings.output_quality,
        metrics=services.metrics,
        engine=wanted.engine,
    )
