"""``create_app``: the one place the HTTP service is assembled.

Routes live in ``tryon.service.routes`` (meta, garments, tryon, jobs); what they share
comes through FastAPI dependencies (``tryon.service.deps``); errors become JSON in
``tryon.service.api_errors``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from PIL import Image as PILImage

from tryon import __version__
from tryon.pipeline import TryOn
from tryon.process import configure_process
from tryon.service.api_errors import install_error_handlers
from tryon.service.deps import build_services
from tryon.service.metrics import MetricsMiddleware
from tryon.service.routes import garments, jobs, mask, meta, tryon
from tryon.service.settings import ServiceSettings

if TYPE_CHECKING:
    from tryon.service.diffusion_jobs import Backends

log = logging.getLogger("tryon.service")

DESCRIPTION = """\
Virtual try-on over HTTP. Catalogue garments once (`POST /v1/garments`), then dress
person photos in them: `POST /v1/tryon` answers with the image (warp engine), `POST
/v1/jobs` runs a try-on in the background with progress as server-sent events (diffusion
engines). `POST /v1/garments/{id}/adapter` tunes a garment's own adapter on photos of
people wearing it, as a job. Errors are JSON: `{"error": {"type", "message"}}` with a 4xx
status."""

DOCS_ASSETS = "/docs-assets"
"""Where Swagger UI's script, style and icon are served from (this server, never a CDN:
/docs must work without internet). They come from the ``fastapi-swagger`` package."""


def create_app(
    settings: ServiceSettings | None = None,
    tryon_engine: TryOn | None = None,
    backends: Backends | None = None,
) -> FastAPI:
    """Builds the service.

    Args:
        settings: how it runs (default: ``ServiceSettings()``).
        tryon_engine: an existing ``TryOn`` to share (tests); by default one is created
            here, once per process (loading the models takes about a second).
        backends: where diffusion jobs run (Ray Serve deployments, see ``tryon.scale``);
            by default in this process when weights are configured.
    """
    settings = settings or ServiceSettings()
    # Pillow registers its image plugins lazily on first use; two request threads doing
    # that at once can see a half-filled registry (KeyError: 'MPO' on a bad upload).
    # Registering them all here, before any thread starts, removes the race.
    PILImage.init()
    services = build_services(settings, tryon_engine, backends)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        services.close()

    app = FastAPI(
        title="tryon",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served below, with Swagger UI's assets from this server
        redoc_url=None,  # ReDoc exists only on a CDN: it would be blank offline
    )
    app.state.services = services
    install_error_handlers(app)
    app.add_middleware(MetricsMiddleware, metrics=services.metrics)
    for module in (meta, garments, tryon, mask, jobs):
        app.include_router(module.router)
    app.include_router(meta.v1)
    app.mount("/static", StaticFiles(directory=settings.static_dir, check_dir=False), name="static")
    add_docs(app)
    return app


def add_docs(app: FastAPI) -> None:
    """Serves the API reference at ``/docs`` with Swagger UI's files from this server."""
    from importlib.resources import files

    assets = files("fastapi_swagger") / "resources"
    app.mount(DOCS_ASSETS, StaticFiles(directory=str(assets)), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title}: API reference",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
            # The default validator badge is an image from the internet.
            swagger_ui_parameters={"validatorUrl": None},
        )


def create_app_from_env() -> FastAPI:
    """The app with the settings in ``$TRYON_SERVICE_SETTINGS`` (``tryon serve
    --workers N`` starts each worker process with this factory). A worker process
    takes the process settings ``tryon serve`` takes (see ``tryon.process``)."""
    configure_process()
    return create_app(ServiceSettings.from_env())
