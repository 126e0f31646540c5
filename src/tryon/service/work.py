"""A try-on request, from form fields to encoded answer; shared by /v1/tryon and jobs.

Everything here except ``parse_tryon_form`` blocks (decoding, analysis, the engine,
encoding) and runs on a worker thread, never on the event loop.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image as PILImage

from tryon.allocator import release_after_large_photo, release_free_memory
from tryon.catalog import Catalog, CatalogError, UnknownGarmentError
from tryon.catalog.store import requested_category
from tryon.debug.steps import mask_image, step_images
from tryon.engines.warp import PreparedPerson
from tryon.ops.working_size import WORKING_PIXELS, working_view
from tryon.pipeline import TryOn
from tryon.service.api_errors import APIError
from tryon.service.formats import FORMATS, OutputFormat, choose_format, data_uri, encode
from tryon.service.garment_lookup import garment_analysis
from tryon.service.jobs import JobResult, JobSpec, Progress
from tryon.service.metrics import Metrics
from tryon.service.offered_engines import find_engine
from tryon.service.people import PersonCache
from tryon.service.settings import ServiceSettings
from tryon.service.uploads import UploadForm, check_image
from tryon.types import TryOnResult

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("", "0", "false", "no", "off")
PROGRESS_STEPS = 3
"""Progress steps of a warp try-on: garment ready, try-on done, image encoded."""

# Pictures of the "show steps" view, by the name they are sent under (stage order).
STEP_NAMES = (
    ("person", "person.png"),
    ("garment", "garment.png"),
    ("garment_pieces", "garment_pieces.png"),
    ("garment_landmarks", "garment_landmarks.png"),
    ("keypoints", "keypoints.png"),
    ("agnostic", "agnostic.png"),
    ("warped_garment", "warped_garment.png"),
    ("warped_landmarks", "warped_landmarks.png"),
    ("shading", "shading.png"),
)


@dataclass(frozen=True)
class TryOnRequest:
    """A checked try-on request.

    Attributes:
        person: the person photo's bytes (checked to be an image of a sane size).
        garment: the garment photo's bytes, or None when ``garment_id`` is given.
        garment_id: a catalogued garment's id, or None.
        category: "auto" or a category name.
        engine: the engine's name.
        output: the format of the answer.
        steps: whether the answer is JSON with the intermediate pictures.
    """

    person: bytes
    garment: bytes | None
    garment_id: str | None
    category: str
    engine: str
    output: OutputFormat
    steps: bool

    def spec(self) -> JobSpec:
        """The request as a job."""
        return JobSpec(
            engine=self.engine,
            person=self.person,
            garment=self.garment,
            garment_id=self.garment_id,
            category=self.category,
            output=self.output.name,
        )

    @classmethod
    def from_spec(cls, spec: JobSpec) -> TryOnRequest:
        return cls(
            person=spec.person,
            garment=spec.garment,
            garment_id=spec.garment_id,
            category=spec.category,
            engine=spec.engine,
            output=FORMATS[spec.output],
            steps=False,
        )


def parse_tryon_form(
    form: UploadForm, accept: str | None, settings: ServiceSettings, catalog: Catalog
) -> TryOnRequest:
    """Checks the fields of ``POST /v1/tryon`` and ``POST /v1/jobs`` (cheap: no decoding).

    Raises:
        APIError, TryOnError: what is wrong with the request (4xx).
    """
    person = form.file("person")
    if person is None:
        raise missing_field("person", "the person photo as a file field named 'person'")
    check_image(person, "person photo", settings)
    garment_id = form.text("garment_id")
    garment = form.file("garment")
    if garment_id is not None and garment is not None:
        raise APIError(
            400,
            "ValidationError",
            "send either garment_id (a catalogued garment) or garment (a photo), not both",
        )
    if garment_id is None and garment is None:
        raise missing_field(
            "garment_id", "garment_id (see GET /v1/garments) or a garment photo as 'garment'"
        )
    if garment is not None:
        check_image(garment, "garment photo", settings)
    elif garment_id is not None and catalog.find(garment_id) is None:
        catalog.get(garment_id)  # raises UnknownGarmentError with its message: 404
    category = category_field(form)
    engine = find_engine(settings, form.text("engine") or "warp").name
    output = choose_format(form.text("format"), accept)
    steps = flag(form, "steps")
    if settings.keep_uploads_dir is not None:
        keep_upload(person, settings.keep_uploads_dir)
    return TryOnRequest(person, garment, garment_id, category, engine, output, steps)


def category_field(form: UploadForm) -> str:
    """The ``category`` field: "auto" (also when absent) or a category's name.

    Raises:
        APIError: 400 ValidationError naming the field when it names no category.
    """
    try:
        return requested_category(form.text("category") or "auto")
    except CatalogError as exc:
        raise APIError(400, "ValidationError", f"category: {exc}") from None


def missing_field(name: str, what: str) -> APIError:
    return APIError(400, "MissingFieldError", f"{name} is missing: send {what}")


def flag(form: UploadForm, name: str) -> bool:
    """A yes/no field: "true"/"1"/"yes"/"on" or "false"/"0"/"no"/"off"/absent."""
    value = (form.text(name) or "").lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise APIError(400, "ValidationError", f"{name} must be true or false, got {value!r}")


def keep_upload(photo: bytes, folder: Path) -> None:
    """Writes a person photo to ``folder`` (only when the settings ask for it)."""
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(photo).hexdigest()[:16]
    (folder / f"{time.strftime('%Y%m%dT%H%M%S')}-{digest}").write_bytes(photo)


def run_tryon(
    tryon: TryOn,
    catalog: Catalog,
    request: TryOnRequest,
    *,
    progress: Progress | None = None,
    people: PersonCache | None = None,
) -> TryOnResult:
    """Runs the try-on (blocking). A catalogued garment is not analysed again unless the
    request asks for another category than the one it was analysed as; with ``people``,
    a person photo tried on before is not either (warp engine).

    Raises:
        TryOnError: bad input (no person, garment not separable, ...).
        ValueError: the request has neither a garment photo nor a garment id.
    """
    report = progress or (lambda step, total: None)
    report(0, PROGRESS_STEPS)
    start = time.perf_counter()
    analysis = garment_analysis(
        tryon, catalog, request.garment, request.garment_id, request.category
    )
    analysed = time.perf_counter() - start
    report(1, PROGRESS_STEPS)
    person: bytes | PreparedPerson = request.person
    body_s = 0.0
    if people is not None and request.engine == "warp":
        t0 = time.perf_counter()
        person, fresh = people.get(request.person, tryon.prepare_person)
        body_s = time.perf_counter() - t0 if fresh else 0.0
    result = tryon.run(person, analysis, request.category)
    if body_s:  # analysed now, outside the run: its time goes before the run's stages
        stages = dict(result.timings)
        result.timings.clear()
        result.timings.update({"body": body_s, **stages})
        result.timings["total"] += body_s
    result.timings["garment"] = analysed
    result.timings["total"] += analysed
    report(2, PROGRESS_STEPS)
    return result


def encode_result(
    result: TryOnResult, output: OutputFormat, *, quality: int, metrics: Metrics, engine: str
) -> tuple[bytes, dict[str, str]]:
    """The result image in ``output`` and its ``X-Tryon-*`` headers; records the timings."""
    start = time.perf_counter()
    data = encode(result.image, output, quality)
    result.timings["encode"] = time.perf_counter() - start
    metrics.observe_stages(engine, result.timings)
    if over_working_size(result):  # the next release (the pool idle) hands all back
        release_after_large_photo()
    return data, result_headers(result)


def over_working_size(result: TryOnResult) -> bool:
    """Whether ``result`` is of a photo over the working size (its work leaves hundreds
    of MB free that ordinary try-ons would not reuse)."""
    height, width = result.image.shape[:2]
    return height * width > WORKING_PIXELS


def result_headers(result: TryOnResult) -> dict[str, str]:
    """``X-Tryon-Category``, ``X-Tryon-Timings`` (JSON seconds), ``X-Tryon-Warnings``."""
    timings = {stage: round(seconds, 4) for stage, seconds in result.timings.items()}
    return {
        "X-Tryon-Category": result.category.value,
        "X-Tryon-Timings": json.dumps(timings),
        "X-Tryon-Warnings": json.dumps(result.warnings),  # ASCII: fit for a header
    }


def steps_document(
    result: TryOnResult, output: OutputFormat, *, quality: int, metrics: Metrics, engine: str
) -> dict[str, object]:
    """The JSON answer with ``steps=true``: the image and every intermediate picture.

    Masks and pictures with transparency are PNG; photos are WebP (small and quick to
    encode, whatever the main image's format). The image is the try-on at the photo's
    size; the pictures are at the engine's working size (smaller for a photo over
    ``tryon.ops.working_size.WORKING_PIXELS``).
    """
    data, _ = encode_result(result, output, quality=quality, metrics=metrics, engine=engine)
    # A photo over the working size: the pictures are drawn at the size the engine
    # worked at, which its intermediates have.
    fill_mask = result.warp_details.fill_mask
    view = working_view(result, (fill_mask.shape[0], fill_mask.shape[1]))
    pictures = step_images(view)
    named: list[tuple[str, PILImage.Image]] = [
        ("agnostic_mask", mask_image(view.agnostic_mask)),
        ("garment_mask", mask_image(result.garment.mask)),
        *((name, pictures[file]) for name, file in STEP_NAMES),
        ("fill_mask", mask_image(fill_mask)),
    ]
    steps = []
    for name, picture in named:
        fmt = FORMATS["webp"] if picture.mode == "RGB" else FORMATS["png"]
        steps.append({"name": name, "image": data_uri(encode(picture, fmt, quality), fmt)})
    height, width = result.image.shape[:2]
    return {
        "image": data_uri(data, output),
        "width": width,
        "height": height,
        "category": result.category.value,
        "timings": {stage: round(seconds, 4) for stage, seconds in result.timings.items()},
        "warnings": result.warnings,
        "steps": steps,
    }


def run_job(
    spec: JobSpec,
    progress: Progress,
    *,
    tryon: TryOn,
    catalog: Catalog,
    settings: ServiceSettings,
    metrics: Metrics,
    people: PersonCache | None = None,
) -> JobResult:
    """Runs one job (blocking): the try-on, then the image in the requested format."""
    request = TryOnRequest.from_spec(spec)
    try:
        result = run_tryon(tryon, catalog, request, progress=progress, people=people)
    except UnknownGarmentError as exc:  # removed from the catalog while queued
        raise APIError(404, "UnknownGarmentError", str(exc)) from None
    data, headers = encode_result(
        result,
        request.output,
        quality=settings.output_quality,
        metrics=metrics,
        engine=spec.engine,
    )
    progress(PROGRESS_STEPS, PROGRESS_STEPS)
    if over_working_size(result):  # job threads are not the pool's: release here
        del result
        release_free_memory()
    return JobResult(data, request.output.media_type, headers)
