"""The diffusion settings on the web page, in headless Chromium against the real app
running the catvton engine with tiny models: the preset, steps and seed are offered for
a diffusion engine only, sent with the job, followed step by step to the result."""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING

import httpx
import numpy as np
from PIL import Image

from tests.browser.conftest import DIFFUSION_STEPS, LiveServer, skip_without_browser
from tests.browser.test_web_page import (
    PERSON,
    RESULT_SHOWN,
    catalogue,
    natural_size,
    pick_garment,
    save_screenshot,
)

skip_without_browser()

if TYPE_CHECKING:
    from playwright.sync_api import Page

STEPS = 2
SEED = 7
RECORD_STATUSES = """() => {
  window.jobStatuses = [];
  const status = document.getElementById('job-status');
  new MutationObserver(() => window.jobStatuses.push(status.textContent))
    .observe(status, {childList: true, characterData: true, subtree: true});
}"""
RECORD_JOB_FIELDS = """() => {
  // The text fields of each job the page submits (the browser's request body, with a
  // photo in it, is not given to Playwright).
  window.jobFields = [];
  const send = window.fetch;
  window.fetch = (url, options = {}) => {
    if (String(url).endsWith('/v1/jobs') && options.body instanceof FormData) {
      window.jobFields.push([...options.body.entries()]
        .filter(([, value]) => typeof value === 'string'));
    }
    return send(url, options);
  };
}"""

SHOWN_IMAGE = """async () => {
  const blob = await (await fetch(document.getElementById('result-image').src)).blob();
  const url = await new Promise((resolve) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.readAsDataURL(blob);
  });
  return url.split(',')[1];
}"""


def pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as picture:
        return np.asarray(picture.convert("RGB"))


def http_job(server: LiveServer, fields: dict[str, str]) -> bytes:
    """Runs a catvton job over HTTP with ``fields``; its PNG."""
    with httpx.Client(base_url=server.url, timeout=300) as client:
        created = client.post(
            "/v1/jobs",
            files={"person": (PERSON.name, PERSON.read_bytes(), "image/jpeg")},
            data={"engine": "catvton", "format": "png", **fields},
        )
        assert created.status_code == 202, created.text
        with client.stream("GET", created.json()["events_url"]) as stream:
            assert "event: done" in stream.read().decode()
        result = client.get(created.json()["result_url"])
        assert result.status_code == 200
        return result.content


def open_diffusion_page(page: Page, server: LiveServer) -> dict[str, str]:
    """The page on the catvton server with a shirt catalogued, chosen with the person."""
    shirt = catalogue(server)
    page.goto(server.url + "/")
    pick_garment(page, shirt["id"])
    page.set_input_files("#person-file", str(PERSON))
    page.wait_for_function("!document.getElementById('original-image').hidden")
    page.click("details.advanced summary")
    page.select_option("#format", "png")
    return shirt


def test_preset_steps_and_seed_are_sent_with_the_job(
    page: Page, diffusion_server: LiveServer
) -> None:
    shirt = open_diffusion_page(page, diffusion_server)
    # The warp engine (the first available) has no sampler: no diffusion settings.
    assert page.input_value("#engine") == "warp"
    assert page.is_hidden("#diffusion-options") and page.is_visible("#show-steps")

    page.select_option("#engine", "catvton")
    assert page.is_visible("#diffusion-options") and page.is_hidden("#show-steps")
    options = page.eval_on_selector_all(
        "#preset option", "options => options.map(o => [o.value, o.textContent])"
    )
    assert options == [
        ["", f"Server default: compat, {DIFFUSION_STEPS} steps"],
        ["compat", "compat: 50 steps"],
        ["fast", "fast: 16 steps"],
        ["draft", "draft: 8 steps"],
    ]
    assert page.get_attribute("#diffusion-steps", "placeholder") == str(DIFFUSION_STEPS)
    assert page.get_attribute("#seed", "placeholder") == "0"
    page.select_option("#preset", "draft")
    assert page.get_attribute("#diffusion-steps", "placeholder") == "8"

    # Out of range: refused on the page, before any request.
    page.fill("#diffusion-steps", "101")
    page.click("#tryon-button")
    assert page.text_content("#message").startswith("Steps: type a whole number from 1 to 100")
    assert page.evaluate("document.activeElement.id") == "diffusion-steps"

    page.fill("#diffusion-steps", str(STEPS))
    page.fill("#seed", str(SEED))
    page.evaluate(RECORD_STATUSES)
    page.evaluate(RECORD_JOB_FIELDS)
    page.click("#tryon-button")
    page.wait_for_function("document.getElementById('job-status').textContent === 'Done.'")
    page.wait_for_function(RESULT_SHOWN)
    assert page.evaluate("window.jobFields") == [
        [
            ["garment_id", shirt["id"]],
            ["category", "auto"],
            ["engine", "catvton"],
            ["format", "png"],
            ["preset", "draft"],
            ["steps", str(STEPS)],
            ["seed", str(SEED)],
        ]
    ]

    statuses = page.evaluate("window.jobStatuses")
    running = [s for s in statuses if s.startswith("Running: step")]
    assert running and running[-1] == f"Running: step {STEPS} of {STEPS}.", statuses
    assert not [s for s in running if f"of {STEPS}" not in s], statuses  # the job's steps
    with Image.open(PERSON) as photo:
        assert natural_size(page, "#result-image") == photo.size
    save_screenshot(page, "diffusion-job.png")

    # The page's job is the one its settings name: the same settings over HTTP give the
    # same pixels, another seed other ones.
    shown = pixels(base64.b64decode(page.evaluate(SHOWN_IMAGE)))
    fields = {"garment_id": shirt["id"], "preset": "draft", "steps": str(STEPS)}
    assert np.array_equal(shown, pixels(http_job(diffusion_server, {**fields, "seed": str(SEED)})))
    other = pixels(http_job(diffusion_server, {**fields, "seed": str(SEED + 1)}))
    assert np.abs(shown.astype(int) - other).max() > 0

    page.select_option("#engine", "warp")
    assert page.is_hidden("#diffusion-options") and page.is_visible("#show-steps")
