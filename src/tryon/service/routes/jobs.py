"""``/v1/jobs``: try-ons run in the background, with progress as server-sent events."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from tryon.service.api_errors import APIError
from tryon.service.deps import Services, ServicesDep, require_api_key
from tryon.service.jobs import TERMINAL, JobState
from tryon.service.routes.tryon import TRYON_SCHEMA, read_tryon_request

router = APIRouter(prefix="/v1/jobs", dependencies=[Depends(require_api_key)], tags=["jobs"])

POLL_S = 0.05
"""How often an event stream looks for new events of its job."""
KEEPALIVE_S = 15.0
"""A comment line is sent after this much silence, so proxies keep the stream open."""


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


@router.post("", status_code=202, openapi_extra=TRYON_SCHEMA)
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
    to follow it. The ``steps`` field is ignored here. With ``Idempotency-Key``, a
    retried submission (a lost answer, a timeout) returns the job already created; the
    same key with a different request is refused with 409."""
    key = check_key(idempotency_key)
    wanted = await read_tryon_request(request, services)
    # A shared store is a network round trip (seconds while Redis restarts): off the loop.
    state = await run_in_threadpool(services.jobs.submit, wanted.spec(), key)
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
