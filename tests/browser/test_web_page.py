"""The web page end to end in headless Chromium against the real app.

Upload a person photo, add or pick a garment, try on, and check that the result
image appears at the person photo's size; a photo the API refuses shows the API's
error message; a job shows its progress until done. Screenshots land in
``out/browser/``.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import httpx
import pytest
from PIL import Image

from tests.browser.conftest import SCREENSHOTS, LiveServer, skip_without_browser
from tests.photos import garment, person

skip_without_browser()

if TYPE_CHECKING:
    from playwright.sync_api import Page

PERSON = person("p1_studio.jpg")
GARMENT = garment("shirts_2_front.jpg")

RESULT_SHOWN = "(() => { const img = document.getElementById('result-image');"
RESULT_SHOWN += " return !img.hidden && img.complete && img.naturalWidth > 0; })()"


def natural_size(page: Page, selector: str) -> tuple[int, int]:
    width, height = page.eval_on_selector(selector, "img => [img.naturalWidth, img.naturalHeight]")
    return int(width), int(height)


def catalogue(server: LiveServer, photo: str = "shirts_1_front.jpg") -> dict[str, str]:
    """Adds a garment over HTTP (not through the page); returns its JSON."""
    path = garment(photo)
    response = httpx.post(
        f"{server.url}/v1/garments",
        files={"photo": (path.name, path.read_bytes(), "image/jpeg")},
        data={"name": path.stem},
        timeout=120,
    )
    assert response.status_code in (200, 201), response.text
    return response.json()


def pick_garment(page: Page, garment_id: str) -> None:
    choice = page.locator(f'#garments-list input[value="{garment_id}"]')
    choice.wait_for(state="attached")
    choice.check()


def save_screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def test_upload_person_and_garment_then_try_on(page: Page) -> None:
    # Upload a garment through the page: it is catalogued and selected.
    page.click("#garment-upload summary")
    page.set_input_files("#garment-file", str(GARMENT))
    page.click("#garment-add")
    page.locator("#garments-list input:checked").wait_for(state="attached")
    assert page.inner_text("#garment-chosen") == "Garment: shirts_2_front"  # its catalogue name

    page.set_input_files("#person-file", str(PERSON))
    page.click("#tryon-button")
    page.wait_for_function(RESULT_SHOWN)

    with Image.open(PERSON) as photo:
        assert natural_size(page, "#result-image") == photo.size
        assert natural_size(page, "#original-image") == photo.size
    assert page.get_attribute("#result-image", "alt") == "The person wearing shirts_2_front"
    assert "(Top)" in page.inner_text("#result-caption")
    # The timings are there, folded away behind their toggle.
    assert page.is_visible("#timings-box summary") and page.is_hidden("#timings")
    page.click("#timings-box summary")
    timings = page.inner_text("#timings")
    # "body" only when the photo is new to the server: other tests may have sent it.
    assert "warp" in timings and "round trip" in timings and "ms" in timings
    assert page.is_hidden("#message") or "Added" in page.inner_text("#message")
    save_screenshot(page, "tryon.png")
    page.set_viewport_size({"width": 390, "height": 844})
    save_screenshot(page, "tryon-phone.png")


def test_sample_person_catalog_garment_and_steps(page: Page, live_server: LiveServer) -> None:
    shirt = catalogue(live_server)
    page.reload()
    pick_garment(page, shirt["id"])
    samples = page.locator("#samples-list input[name=sample]")
    if samples.count() == 0:
        pytest.skip("the app lists no sample people (no samples folder configured)")
    # By keyboard: focus the first sample and select it with the space bar.
    samples.first.focus()
    page.keyboard.press("Space")
    page.wait_for_function(
        "document.getElementById('person-chosen').textContent.includes('sample')"
    )
    page.check("#show-steps")
    page.click("#tryon-button")
    page.wait_for_function(RESULT_SHOWN)

    steps = page.locator("#steps-list img")
    assert steps.count() >= 1
    for i in range(steps.count()):
        step = steps.nth(i)
        assert step.get_attribute("alt", timeout=1000).startswith("Intermediate step: ")
    page.wait_for_function(
        "[...document.querySelectorAll('#steps-list img')].every(i => i.complete && i.naturalWidth)"
    )
    original = natural_size(page, "#original-image")
    assert natural_size(page, "#result-image") == original
    save_screenshot(page, "tryon-steps.png")


def test_a_photo_without_a_person_shows_the_api_error(page: Page, live_server: LiveServer) -> None:
    shirt = catalogue(live_server)
    blank = io.BytesIO()
    Image.new("RGB", (480, 640), (200, 200, 200)).save(blank, format="PNG")
    # What the API itself says for this photo: the page must show exactly that sentence.
    expected = httpx.post(
        f"{live_server.url}/v1/tryon",
        files={"person": ("wall.png", blank.getvalue(), "image/png")},
        data={"garment_id": shirt["id"]},
        timeout=120,
    )
    assert 400 <= expected.status_code < 500
    message = expected.json()["error"]["message"]

    page.reload()
    pick_garment(page, shirt["id"])
    page.set_input_files(
        "#person-file",
        files=[{"name": "wall.png", "mimeType": "image/png", "buffer": blank.getvalue()}],
    )
    page.click("#tryon-button")
    page.locator("#message").wait_for(state="visible")
    shown = page.inner_text("#message")
    assert shown == message
    assert "undefined" not in shown and "Traceback" not in shown
    assert page.get_attribute("#message", "role") == "alert"
    assert page.is_hidden("#result-image")
    assert page.is_enabled("#tryon-button")
    save_screenshot(page, "error.png")


def submit_job(server: LiveServer, garment_id: str, tag: str = "") -> str:
    """Queues a warp job over HTTP; returns its URL (skips when the app runs no warp jobs).

    A ``tag`` makes the photo new to the server (the same pixels with a JPEG comment),
    so the job analyses it instead of reusing the server's analysis of the photo.
    """
    photo = PERSON.read_bytes()
    if tag:
        comment = tag.encode()
        photo = (
            photo[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + photo[2:]
        )
    response = httpx.post(
        f"{server.url}/v1/jobs",
        files={"person": (PERSON.name, photo, "image/jpeg")},
        data={"garment_id": garment_id, "engine": "warp"},
        timeout=120,
    )
    if response.status_code != 202:
        pytest.skip(f"the app does not run warp as a job (POST /v1/jobs: {response.status_code})")
    return server.url + response.json()["url"]


def start_page_job(page: Page, garment_id: str) -> None:
    """Chooses the person and garment in the page and asks for a background job."""
    page.reload()
    pick_garment(page, garment_id)
    page.set_input_files("#person-file", str(PERSON))
    page.click("details.advanced summary")
    page.check("#as-job")


def test_job_shows_progress_until_done(page: Page, live_server: LiveServer) -> None:
    shirt = catalogue(live_server)
    submit_job(live_server, shirt["id"])
    start_page_job(page, shirt["id"])
    # Record every status line the page shows while the job runs.
    page.evaluate(
        """() => {
          window.jobStatuses = [];
          const status = document.getElementById('job-status');
          new MutationObserver(() => window.jobStatuses.push(status.textContent))
            .observe(status, {childList: true, characterData: true, subtree: true});
        }"""
    )
    page.click("#tryon-button")
    page.locator("#job").wait_for(state="visible")
    page.wait_for_function("document.getElementById('job-status').textContent === 'Done.'")
    page.wait_for_function(RESULT_SHOWN)

    statuses = page.evaluate("window.jobStatuses")
    assert statuses[-1] == "Done."
    assert any(s.startswith(("Queued", "Running")) for s in statuses), statuses
    value, maximum = page.eval_on_selector("#job-progress", "bar => [bar.value, bar.max]")
    assert value == maximum
    with Image.open(PERSON) as photo:
        assert natural_size(page, "#result-image") == photo.size
    assert page.is_hidden("#job-cancel")  # nothing left to cancel
    save_screenshot(page, "job-done.png")


def test_cancel_a_queued_job(page: Page, live_server: LiveServer) -> None:
    shirt = catalogue(live_server)
    # Jobs run one at a time: thirty ahead, each with a photo new to the server (so
    # each analyses it: several seconds of work in all even on a fast, idle machine),
    # keep the page's job queued long enough to see it queued and cancel.
    ahead = [submit_job(live_server, shirt["id"], tag=f"ahead {i}") for i in range(30)]
    try:
        start_page_job(page, shirt["id"])
        page.click("#tryon-button")
        page.wait_for_function(
            "document.getElementById('job-status').textContent.startsWith('Queued: position')"
        )
        with page.expect_response(lambda r: r.request.method == "DELETE") as deleted:
            page.click("#job-cancel")
        assert deleted.value.status == 204
        page.wait_for_function("document.getElementById('job-status').textContent === 'Cancelled.'")
        job = httpx.get(deleted.value.url, timeout=30).json()
        assert job["status"] == "cancelled"
        assert page.is_hidden("#result-image")
        assert page.is_enabled("#tryon-button")
    finally:
        for url in ahead:
            httpx.delete(url, timeout=30)
