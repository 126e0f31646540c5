"""Health, metrics, engines, sample photos and the web page."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Response
from fastapi.responses import FileResponse

from tryon.service.api_errors import APIError
from tryon.service.deps import ServicesDep, require_api_key
from tryon.service.offered_engines import list_engines

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")

router = APIRouter()
v1 = APIRouter(prefix="/v1", dependencies=[Depends(require_api_key)], tags=["meta"])


@router.get("/healthz", tags=["meta"])
def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/metrics", tags=["meta"], response_class=Response)
def metrics(services: ServicesDep) -> Response:
    """Prometheus metrics of this process."""
    return Response(services.metrics.render(), media_type=services.metrics.content_type)


@router.get("/", include_in_schema=False)
def index(services: ServicesDep) -> FileResponse:
    """The web page."""
    page = services.settings.static_dir / "index.html"
    if not page.is_file():
        raise APIError(404, "NotFoundError", "the web page is not installed on this server")
    return FileResponse(page, media_type="text/html")


@v1.get("/engines")
def engines(services: ServicesDep) -> dict[str, Any]:
    """The engines, whether each answers synchronously or as a job, and if it can run."""
    return {"engines": [info.as_json() for info in list_engines(services.settings)]}


@v1.get("/samples")
def samples(services: ServicesDep) -> dict[str, Any]:
    """Person photos to try garments on (from the settings' samples folder)."""
    found = sample_photos(services.settings.samples_dir)
    return {"people": [{"name": name, "url": f"/v1/samples/{name}"} for name in found]}


@v1.get("/samples/{name}", response_class=FileResponse)
def sample(name: str, services: ServicesDep) -> FileResponse:
    """One sample person photo."""
    path = sample_photos(services.settings.samples_dir).get(name)
    if path is None:
        raise APIError(404, "UnknownSampleError", f"no sample photo {name!r}; see GET /v1/samples")
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media_type)


def sample_photos(folder: Path | None) -> dict[str, Path]:
    """Person photos under ``folder``, by file stem: garment photos (``*_front``,
    ``*_back``, or under a ``garments`` folder) are left out."""
    if folder is None or not folder.is_dir():
        return {}
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob("*")):
        if (
            path.suffix.lower() in IMAGE_SUFFIXES
            and path.is_file()
            and not path.stem.endswith(("_front", "_back"))
            and "garments" not in path.relative_to(folder).parts[:-1]
        ):
            found.setdefault(path.stem, path)
    return found
