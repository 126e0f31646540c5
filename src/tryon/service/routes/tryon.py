"""``POST /v1/tryon``: the synchronous try-on."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from tryon.catalog import Catalog, CatalogError
from tryon.catalog.store import requested_category
from tryon.engines.warp import PreparedPerson
from tryon.pipeline import OUTFIT_MOST, OutfitError, OutfitResult, refuse_clashes
from tryon.service.api_errors import APIError
from tryon.service.deps import Services, ServicesDep, require_api_key
from tryon.service.garment_lookup import garment_analysis
from tryon.service.mask_field import mask_field
from tryon.service.offered_engines import JOB_ENGINES, find_engine
from tryon.service.people import PersonCache
from tryon.service.routes.mask import MaskedPeople
from tryon.service.settings import ServiceSettings
from tryon.service.uploads import (
    PERSON_GARMENT_FIELDS,
    UploadForm,
    check_image,
    multipart_schema,
    read_form,
)
from tryon.service.work import (
    TryOnRequest,
    encode_result,
    parse_tryon_form,
    run_tryon,
    steps_document,
)
from tryon.types import Category, Mask, TryOnResult

router = APIRouter(prefix="/v1", dependencies=[Depends(require_api_key)], tags=["try-on"])

TRYON_FIELDS: dict[str, dict[str, Any]] = {
    **PERSON_GARMENT_FIELDS,
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
        "garment_ids": {
            "type": "string",
            "description": "an outfit (a top and a bottom): catalogued garments' ids, "
            "comma-separated or the field repeated; with garment_id and garment files, the "
            "garments are garment_id, then garment_ids, then the garment files, in order",
        },
        "garment": {
            "type": "string",
            "format": "binary",
            "description": "a garment photo; repeat the field for an outfit (a top and a "
            "bottom photo)",
        },
        "category": {
            "type": "string",
            "enum": ["upper", "lower", "overall", "auto"],
            "default": "auto",
            "description": "what the garment replaces; for an outfit, repeat it once per "
            "garment in the garments' order, or leave it out (auto for each)",
        },
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


GARMENT_FIELDS = ("garment_id", "garment_ids", "garment", "category")


@dataclass(frozen=True)
class OutfitPiece:
    """One garment of a request: catalogued (``garment_id``) or uploaded (``garment``).

    Attributes:
        garment: the photo's bytes (checked to be an image), or None.
        garment_id: a catalogued garment's id (known to the catalog), or None.
        category: "auto" or a category's name.
    """

    garment: bytes | None
    garment_id: str | None
    category: str


@dataclass(frozen=True)
class Outfit:
    """The garments of a request with more than one.

    Attributes:
        pieces: the garments, in the order sent (garment_id, garment_ids, garment files).
        fields: the fields that named them, for error messages ("garment_ids").
    """

    pieces: tuple[OutfitPiece, ...]
    fields: str


def check_job_form(
    form: UploadForm, accept: str | None, services: Services
) -> tuple[TryOnRequest, Mask | None]:
    """Checks the form of a try-on job (/v1/jobs): one garment, and a ``mask`` for the
    diffusion engines (decoded; None when absent)."""
    wanted, outfit, mask = check_tryon_form(form, accept, services, JOB_ENGINES)
    if outfit is not None:
        raise APIError(
            400,
            "ValidationError",
            f"{outfit.fields}: an outfit of several garments is tried on by POST /v1/tryon "
            "(warp engine), not as a job; send one garment here",
        )
    return wanted, mask


async def read_tryon_form(
    request: Request, services: ServicesDep
) -> tuple[TryOnRequest, Outfit | None, Mask | None]:
    """The checked try-on request (of its first garment), its outfit when it names
    several garments, and its ``mask`` field, decoded (None when absent).

    Raises:
        APIError: 400 for more than two garments, categories not one per garment, a
            mask that is empty, sent with an engine other than warp or with an outfit.
    """
    # Person and two garments, or person, garment and mask (an outfit takes no mask).
    form = await read_form(request, services.settings, max_files=1 + OUTFIT_MOST)
    return check_tryon_form(form, request.headers.get("accept"), services)


def check_tryon_form(
    form: UploadForm,
    accept: str | None,
    services: Services,
    mask_engines: tuple[str, ...] = ("warp",),
) -> tuple[TryOnRequest, Outfit | None, Mask | None]:
    """``read_tryon_form`` on a form already read; ``mask_engines``: the engines that
    take a ``mask`` on this route."""
    pieces = garment_pieces(form, services.settings, services.catalog)
    one = form if not pieces else first_garment_form(form, pieces[0])
    wanted = parse_tryon_form(one, accept, services.settings, services.catalog)
    outfit = Outfit(tuple(pieces), garment_fields(form)) if len(pieces) > 1 else None
    if form.file("mask") is None:
        return wanted, outfit, None
    if wanted.engine not in mask_engines:
        names = ", ".join(mask_engines)
        takes = "engine takes" if len(mask_engines) == 1 else "engines take"
        raise APIError(400, "ValidationError", f"mask: only the {names} {takes} a mask here")
    if outfit is not None:
        raise APIError(
            400,
            "ValidationError",
            "mask: an area is drawn for one garment; send one garment with it (an outfit's "
            "area is found per garment)",
        )
    found = mask_field(form, services.settings)
    return wanted, outfit, found[1] if found is not None else None


def garment_pieces(
    form: UploadForm, settings: ServiceSettings, catalog: Catalog
) -> list[OutfitPiece]:
    """Every garment of the form with its category: ``garment_id``, then ``garment_ids``
    (comma-separated or repeated), then the ``garment`` files, in the order sent.

    Raises:
        APIError: 400 for more than ``OUTFIT_MOST`` garments or categories not one per
            garment (or a bad one), a garment photo that is no image, 404 for an unknown
            garment id (checked only for an outfit; one garment is checked as before).
    """
    single = form.text("garment_id")
    ids = [single] if single is not None else []
    ids += [i.strip() for value in form.texts("garment_ids") for i in value.split(",") if i.strip()]
    files = form.every_file.get("garment", [])
    count = len(ids) + len(files)
    if count > OUTFIT_MOST:
        raise APIError(
            400,
            "OutfitError",
            f"{garment_fields(form)}: {count} garments were sent; an outfit is one top and "
            "one bottom, or a dress alone",
        )
    categories = form.texts("category") or ["auto"] * count
    if count and len(categories) != count:
        raise APIError(
            400,
            "ValidationError",
            f"category: {len(categories)} values for {count} garments; send one per garment "
            "in the garments' order (garment_id, garment_ids, then garment files), or none "
            "for auto",
        )
    if count > 1:  # one garment is checked as a try-on of one garment always was
        for data in files:
            check_image(data, "garment photo", settings)
        for garment_id in ids:
            if catalog.find(garment_id) is None:
                catalog.get(garment_id)  # raises UnknownGarmentError with its message: 404
        categories = [category_value(c) for c in categories]
        try:  # the categories given clash before any garment is analysed
            refuse_clashes([Category(c) for c in categories if c != "auto"], count)
        except OutfitError as exc:
            raise APIError(400, "OutfitError", f"{garment_fields(form)}: {exc}") from None
    return [OutfitPiece(None, i, c) for i, c in zip(ids, categories, strict=False)] + [
        OutfitPiece(f, None, c) for f, c in zip(files, categories[len(ids) :], strict=False)
    ]


def category_value(value: str) -> str:
    """One ``category`` value: "auto" (also when empty) or a category's name.

    Raises:
        APIError: 400 naming the field when it names no category.
    """
    try:
        return requested_category(value or "auto")
    except CatalogError as exc:
        raise APIError(400, "ValidationError", f"category: {exc}") from None


def garment_fields(form: UploadForm) -> str:
    """The garment fields the form sent, as error messages name them."""
    sent = [n for n in ("garment_id", "garment_ids") if form.texts(n)]
    sent += ["garment"] if form.every_file.get("garment") else []
    return " and ".join(sent) or "garment_ids"


def first_garment_form(form: UploadForm, piece: OutfitPiece) -> UploadForm:
    """``form`` with ``piece`` as its one garment (the fields of a single try-on)."""
    fields = {k: v for k, v in form.fields.items() if k not in GARMENT_FIELDS}
    files = {k: v for k, v in form.files.items() if k not in GARMENT_FIELDS}
    every_file = {k: v for k, v in form.every_file.items() if k not in GARMENT_FIELDS}
    fields["category"] = piece.category
    if piece.garment is not None:
        files["garment"] = piece.garment
        every_file["garment"] = [piece.garment]
    elif piece.garment_id is not None:
        fields["garment_id"] = piece.garment_id
    return UploadForm(fields=fields, files=files, every_file=every_file)


@router.post(
    "/tryon",
    openapi_extra=SYNC_SCHEMA,
    response_class=Response,
    responses={200: {"content": {"image/webp": {}, "application/json": {}}}},
)
async def tryon(request: Request, services: ServicesDep) -> Response:
    """Dresses the person in the garment and answers with the image (or, with
    ``steps=true``, JSON holding the image and every intermediate picture). With
    ``mask``, the try-on changes only the pixels inside it.

    An outfit: two garments (``garment_ids``, ``garment_id`` and ``garment`` files
    together), a top and a bottom, are put on in one try-on, the bottom first and the
    top over it; ``X-Tryon-Outfit`` (and ``outfit`` with ``steps=true``) lists their
    categories in that order. Two tops, two bottoms or a dress with anything else are a
    400 ``OutfitError``."""
    wanted, outfit, mask = await read_tryon_form(request, services)
    if find_engine(services.settings, wanted.engine).mode != "sync":
        raise APIError(
            400,
            "JobEngineError",
            f"engine {wanted.engine} runs as a job: POST the same fields to /v1/jobs",
        )
    people = services.people if mask is None else MaskedPeople(services.people, mask)
    if wanted.steps:
        document = await services.pool.run(_steps, services, wanted, outfit, people)
        return JSONResponse(document)
    data, headers = await services.pool.run(_image, services, wanted, outfit, people)
    return Response(data, media_type=wanted.output.media_type, headers=headers)


def _image(
    services: Services, wanted: TryOnRequest, outfit: Outfit | None, people: PersonCache
) -> tuple[bytes, dict[str, str]]:
    result = _result(services, wanted, outfit, people)
    data, headers = encode_result(
        result,
        wanted.output,
        quality=services.settings.output_quality,
        metrics=services.metrics,
        engine=wanted.engine,
    )
    if isinstance(result, OutfitResult):
        headers["X-Tryon-Outfit"] = json.dumps([p.category.value for p in result.pieces])
    return data, headers


def _steps(
    services: Services, wanted: TryOnRequest, outfit: Outfit | None, people: PersonCache
) -> dict[str, object]:
    result = _result(services, wanted, outfit, people)
    document = steps_document(
        result,
        wanted.output,
        quality=services.settings.output_quality,
        metrics=services.metrics,
        engine=wanted.engine,
    )
    if isinstance(result, OutfitResult):
        document["outfit"] = [p.category.value for p in result.pieces]
    return document


def _result(
    services: Services, wanted: TryOnRequest, outfit: Outfit | None, people: PersonCache
) -> TryOnResult:
    tryon = services.engine(wanted.engine)
    if outfit is None:
        return run_tryon(tryon, services.catalog, wanted, people=people)
    start = time.perf_counter()
    analyses = [
        garment_analysis(tryon, services.catalog, p.garment, p.garment_id, p.category)
        for p in outfit.pieces
    ]
    timings = {"garment": time.perf_counter() - start}
    person: bytes | PreparedPerson = wanted.person
    if wanted.engine == "warp":
        t0 = time.perf_counter()
        person, fresh = people.get(wanted.person, tryon.prepare_person)
        if fresh:
            timings["body"] = time.perf_counter() - t0
    try:
        result = tryon.run_outfit(person, analyses, [p.category for p in outfit.pieces])
    except OutfitError as exc:
        raise APIError(400, "OutfitError", f"{outfit.fields}: {exc}") from None
    # The garments were analysed, and the person maybe, outside the run: their time first.
    stages = {**result.timings, **timings}
    stages["total"] = result.timings["total"] + sum(timings.values())
    result.timings.clear()
    result.timings.update({**timings, **stages})
    return result
