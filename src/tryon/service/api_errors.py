"""Every error leaves the service as JSON: ``{"error": {"type": ..., "message": ...}}``.

Bad input gets a 4xx status and a message a developer can act on; a 500 only ever means
a bug, and its message says nothing of the request (the log has the traceback).

``APIError`` and the errors made of it (a busy server, a reused idempotency key, an
unreachable job store) are here, with the handlers that turn every error into that
document.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tryon.catalog import CatalogError, UnknownGarmentError
from tryon.errors import (
    BodyNotVisibleError,
    GarmentNotFoundError,
    ImageSizeError,
    InvalidImageError,
    NoPersonError,
    TryOnError,
    UnknownEngineError,
)

log = logging.getLogger("tryon.service")

STATUS_OF: tuple[tuple[type[Exception], int], ...] = (
    (UnknownGarmentError, 404),
    (InvalidImageError, 400),
    (ImageSizeError, 400),
    (NoPersonError, 400),
    (BodyNotVisibleError, 400),
    (GarmentNotFoundError, 400),
    (UnknownEngineError, 400),
    (CatalogError, 400),
    (TryOnError, 400),
)
"""HTTP status of each error the engines and the catalog raise for bad input."""


class APIError(Exception):
    """An error answered as JSON with its own status (and headers, e.g. Retry-After).

    Args:
        status: the HTTP status, 4xx.
        type: a short CamelCase name clients can branch on ("UploadTooLargeError").
        message: a sentence saying what was wrong and what to do.
        headers: extra response headers.
    """

    def __init__(
        self, status: int, type: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type
        self.message = message
        self.headers = headers or {}


def busy_error(what: str, retry_after_s: int) -> APIError:
    """503 with Retry-After."""
    return APIError(
        503,
        "ServiceBusyError",
        f"the server is busy ({what}); retry in {retry_after_s} s",
        headers={"Retry-After": str(retry_after_s)},
    )


class IdempotencyConflictError(APIError):
    """A key already used for a different request (409)."""

    def __init__(self, key: str) -> None:
        super().__init__(
            409,
            "IdempotencyKeyReusedError",
            f"Idempotency-Key {key[:64]!r} was already used for a different request; "
            "use a new key for a new request",
        )


class StoreUnavailableError(APIError):
    """The shared job store cannot be reached (503: the client should retry)."""

    def __init__(self, detail: str, retry_after_s: int = 2) -> None:
        super().__init__(
            503,
            "JobStoreUnavailableError",
            f"the job store cannot be reached ({detail}); retry in {retry_after_s} s",
            headers={"Retry-After": str(retry_after_s)},
        )


def error_response(
    status: int, type: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The JSON error document with ``status``."""
    return JSONResponse(
        {"error": {"type": type, "message": message}}, status_code=status, headers=headers
    )


def status_of(error: Exception) -> int:
    """The HTTP status for an error of the engines or the catalog."""
    return next((status for kind, status in STATUS_OF if isinstance(error, kind)), 400)


def install_error_handlers(app: FastAPI) -> None:
    """Makes every error, expected or not, a JSON error document."""

    @app.exception_handler(APIError)
    async def api_error(request: Request, error: APIError) -> JSONResponse:
        return error_response(error.status, error.type, error.message, error.headers)

    @app.exception_handler(TryOnError)
    async def tryon_error(request: Request, error: TryOnError) -> JSONResponse:
        return error_response(status_of(error), type(error).__name__, str(error))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = []
        for item in error.errors():
            where = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
            problems.append(f"{where}: {item.get('msg', 'invalid')}" if where else item["msg"])
        return error_response(
            400, "ValidationError", "; ".join(problems) or "the request is not valid"
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        try:
            phrase = HTTPStatus(error.status_code).phrase
        except ValueError:
            phrase = ""
        name = "".join(word.capitalize() for word in phrase.split()) or "HTTP"
        message = str(error.detail) if error.detail and error.detail != phrase else ""
        if error.status_code == 404 and not message:
            message = f"no such endpoint: {request.method} {request.url.path}; see /docs"
        elif error.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}; see /docs"
        return error_response(
            error.status_code,
            f"{name}Error",
            message or phrase,
            dict(error.headers) if error.headers else None,
        )

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, error: Exception) -> JSONResponse:
        # Only the type and message are logged with the traceback: never request data.
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(
            500,
            "InternalError",
            "the server failed unexpectedly; this is a bug, and the server log has the details",
        )
