"""``/v1/jobs``: try-ons run in the background, with progress as server-sent events."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from tryon.imageio import upright_shape
from tryon.pipeline import OUTFIT_MOST
from tryon.service.api_errors import APIError
from tryon.service.deps import Services, ServicesDep, require_api_key
from tryon.service.diffusion_jobs import DiffusionSettings
from tryon.service.jobs import TERMINAL, JobSpec, JobState
from tryon.service.mask_field import check_mask_size
from tryon.service.routes.tryon import TRYON_FIELDS, check_job_form
from tryon.service.uploads import UploadForm, multipart_schema, read_form
from tryon.service.work import FALSE_WORDS, TRUE_WORDS

router = APIRouter(prefix="/v1/jobs", dependencies=[Depends(require_api_key)], tags=["jobs"])

POLL_S = 0.05
"""How often an event stream looks for new events of its job."""
KEEPALIVE_S = 15.0
"""A comment line is sent after this much silence, so proxies keep the stream open."""
MAX_STEPS = 100
"""Most denoising (sampling) steps a job may ask for."""
MAX_SEED = 2**63 - 1

JOB_SCHEMA = multipart_schema(
    {
        **TRYON_FIELDS,
        "preset": {
            "type": "string",
            "description": "the diffusion engine's sampler preset (catvton: compat, fast, "
            "draft; fashn: compat, fast, quality); default: the server's",
        },
        "steps": {
            "type": "string",
            "description": "denoising (catvton) or sampling (fashn) steps, 1 to 100; "
            "default: the preset's (true/false: the show-steps flag of POST /v1/tryon, "
            "ignored here)",
        },
        "seed": {
            "type": "integer",
            "minimum": 0,
            "description": "seed of the diffusion noise; default: the server's",
        },
        "mask": {
            "type": "string",
            "format": "binary",
            "description": "the area the try-on may change, instead of the agnostic mask "
            "(catvton, hybrid, fashn): a PNG the size of the person photo, white inside "
            "(see POST /v1/mask)",
        },
    },
    required=["person"],
)


def check_key(key: str | None) -> str | None:
    """An idempotency key as clients may send it: 1-128 visible ASCII characters.

    Raises:
        APIError: 400 otherwise.
    """
    if key is None:
        return None
    if not 1 <= len(key) <= 128 or not all(33 <= ord(c) <= 126 for c in key):
        raise APIError(
            400,
            "ValidationError",
            "Idempotency-Key must be 1 to 128 visible ASCII characters (a UUID is a good key)",
        )
    return key


def job_spec(form: UploadForm, accept: str | None, services: Services) -> JobSpec:
    """The job a ``POST /v1/jobs`` form asks for (cheap: only the mask is decoded).

    Raises:
        APIError: 400 naming the field that is wrong (and every error of a try-on form).
    """
    steps = steps_field(form.text("steps"))
    if steps is not None:  # the number of steps, not the show-steps flag
        form = replace(form, fields={k: v for k, v in form.fields.items() if k != "steps"})
    wanted, mask = check_job_form(form, accept, services)
    settings = diffusion_settings(wanted.engine, form.text("preset"), steps, form.text("seed"))
    spec = replace(wanted.spec(), options=settings.as_options())
    data = form.file("mask")
    if mask is None or data is None:
        return spec
    check_mask_size(mask, upright_shape(wanted.person, role="person photo"))
    return replace(spec, photos=(data,))


def steps_field(value: str | None) -> int | None:
    """The ``steps`` field as a number of steps (None: absent, or the show-steps flag's
    true / false, which a job ignores).

    Raises:
        APIError: 400 when it is neither a flag nor a whole number from 1 to 100.
    """
    if value is None or (value.lower() in TRUE_WORDS + FALSE_WORDS and not value.isdigit()):
        return None
    if not value.isdigit() or not 1 <= int(value) <= MAX_STEPS:
        raise APIError(
            400,
            "ValidationError",
            f"steps: {value!r} is not a number of steps; send a whole number from 1 to "
            f"{MAX_STEPS}, or leave it out for the preset's",
        )
    return int(value)


def diffusion_settings(
    engine: str, preset: str | None, steps: int | None, seed: str | None
) -> DiffusionSettings:
    """A job's own diffusion settings, checked for its engine.

    Raises:
        APIError: 400 naming the field: a preset the engine does not have (listing its
            presets), a seed that is not a whole number from 0 to 2**63 - 1, or any of
            them with an engine that is not a diffusion engine.
    """
    given = [name for name, v in (("preset", preset), ("steps", steps), ("seed", seed)) if v]
    if engine not in ("catvton", "hybrid", "fashn"):
        if given:
            raise APIError(
                400,
                "ValidationError",
                f"{given[0]}: only the diffusion engines (catvton, fashn) take it; the "
                f"{engine} engine has no sampler",
            )
        return DiffusionSettings()
    names = engine_presets(engine)
    if preset is not None and preset not in names:
        raise APIError(
            400,
            "ValidationError",
            f"preset: the {engine} engine has no preset {preset!r}; use one of {', '.join(names)}",
        )
    number = None
    if seed is not None:
        if not seed.isdigit() or int(seed) > MAX_SEED:
            raise APIError(
                400,
                "ValidationError",
                f"seed: {seed!r} is not a seed; send a whole number from 0 to {MAX_SEED}",
            )
        number = int(seed)
    return DiffusionSettings(preset, steps, number)


def engine_presets(engine: str) -> tuple[str, ...]:
    """The sampler presets of a diffusion engine."""
    if engine == "fashn":
        from tryon.fashn.sampler import PRESETS as FASHN_PRESETS

        return tuple(FASHN_PRESETS)
    from tryon.diffusion.sampling import PRESETS

    return tuple(PRESETS)


def urls(job_id: str) -> dict[str, str]:
    base = f"/v1/jobs/{job_id}"
    return {"url": base, "events_url": f"{base}/events", "result_url": f"{base}/result"}


def job_json(state: JobState) -> dict[str, Any]:
    """A job as ``GET /v1/jobs/{id}`` shows it."""
    error = {"type": state.error[0], "message": state.error[1]} if state.error else None
    return {
        "id": state.id,
        "kind": state.kind,
        "status": state.status,
        "position": state.position,
        "progress": {"step": state.step, "total": state.total},
        "error": error,
        "attempt": state.attempt,
        "result_url": urls(state.id)["result_url"],
    }


def unknown_job(job_id: str) -> APIError:
    shown = job_id if len(job_id) <= 64 else job_id[:64] + "..."
    return APIError(
        404,
        "UnknownJobError",
        f"no job {shown!r}: it never existed or it expired (finished jobs are kept for a "
        "limited time); submit it again with POST /v1/jobs",
    )


@router.post("", status_code=202, openapi_extra=JOB_SCHEMA)
async def submit_job(
    request: Request,
    services: ServicesDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            description="a key of the client's choosing (a UUID): sending the same request "
            "again with the same key returns the same job instead of a new one"
        ),
    ] = None,
) -> JSONResponse:
    """Queues a try-on (any engine; diffusion engines only run this way): 202 and where
    to follow it. Diffusion jobs take their own ``preset``, ``steps`` and ``seed``, and a
    ``mask`` used instead of the agnostic mask. With ``Idempotency-Key``, a retried
    submission (a lost answer, a timeout) returns the job already created; the same key
    with a different request is refused with 409."""
    key = check_key(idempotency_key)
    form = await read_form(request, services.settings, max_files=2 + OUTFIT_MOST)
    spec = job_spec(form, request.headers.get("accept"), services)
    # A shared store is a network round trip (seconds while Redis restarts): off the loop.
    state = await run_in_threadpool(services.jobs.submit, spec, key)
    links = urls(state.id)
    return JSONResponse(
        {"id": state.id, "status": state.status, "position": state.position, **links},
        status_code=202,
        headers={"Location": links["url"]},
    )


@router.get("/{job_id}")
def get_job(job_id: str, services: ServicesDep) -> dict[str, Any]:
    """The job's status, queue position, progress and error."""
    state = services.store.get(job_id)
    if state is None:
        raise unknown_job(job_id)
    return job_json(state)


@router.get(
    "/{job_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
def job_events(
    job_id: str,
    services: ServicesDep,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Server-sent events: queued {position}, started, progress {step, total}, then one
    of done {result_url}, error {type, message} or cancelled, after which the stream
    ends. Every event from the job's start is sent (from after ``Last-Event-ID`` when a
    client reconnects)."""
    if services.store.get(job_id) is None:
        raise unknown_job(job_id)
    since = int(last_event_id) + 1 if last_event_id and last_event_id.isdigit() else 0
    return StreamingResponse(
        event_stream(services, job_id, since),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def event_stream(services: Services, job_id: str, since: int) -> AsyncIterator[str]:
    quiet_since = time.monotonic()
    while True:
        events = await run_in_threadpool(services.store.events, job_id, since)
        if events is None:  # expired or deleted while streaming
            error = unknown_job(job_id)
            yield sse(since, "error", {"type": error.type, "message": error.message})
            return
        for event in events:
            data = dict(event.data)
            if event.name == "done":
                data["result_url"] = urls(job_id)["result_url"]
            yield sse(event.seq, event.name, data)
            since = event.seq + 1
            quiet_since = time.monotonic()
            if event.name in ("done", "error", "cancelled"):
                return
        if time.monotonic() - quiet_since > KEEPALIVE_S:
            yield ": keep-alive\n\n"
            quiet_since = time.monotonic()
        await asyncio.sleep(POLL_S)


def sse(seq: int, name: str, data: dict[str, Any]) -> str:
    """One server-sent event."""
    return f"id: {seq}\nevent: {name}\ndata: {json.dumps(data)}\n\n"


@router.get(
    "/{job_id}/result",
    response_class=Response,
    responses={
        200: {"content": {"image/webp": {}, "application/json": {}}},
        409: {"description": "not done"},
    },
)
def job_result(job_id: str, services: ServicesDep) -> Response:
    """The finished job's image; a tuning job's: the adapter's record, JSON (409 while
    it is not done)."""
    state = services.store.get(job_id)
    if state is None:
        raise unknown_job(job_id)
    result = services.store.result(job_id)
    if state.status != "done" or result is None:
        if state.status == "failed" and state.error:
            detail = f"it failed: {state.error[1]}"
        elif state.status in TERMINAL:
            detail = f"it was {state.status}"
        else:
            detail = f"it is {state.status}; follow {urls(job_id)['events_url']} for its done event"
        raise APIError(409, "JobNotDoneError", f"job {job_id} has no result: {detail}")
    return Response(result.data, media_type=result.media_type, headers=result.headers)


@router.delete("/{job_id}", status_code=204, response_class=Response)
def delete_job(job_id: str, services: ServicesDep) -> Response:
    """Cancels a queued or running job; forgets a finished one and its result."""
    state = services.store.get(job_id)
    if state is None:
        raise unknown_job(job_id)
    if state.status in TERMINAL:
        services.store.delete(job_id)
    else:
        services.store.cancel(job_id)
    return Response(status_code=204)
