"""Outfits on the web page, in headless Chromium against the real app: a top and a bottom
chosen together and tried on in one request; garment names shown in full; the
before/after slider out of the way while the try-on area is edited."""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.browser.conftest import SCREENSHOTS, LiveServer, skip_without_browser
from tests.browser.test_studio import SAMPLE, choose_pair
from tests.browser.test_web_page import RESULT_SHOWN, catalogue, pick_garment, save_screenshot
from tests.photos import person

skip_without_browser()

if TYPE_CHECKING:
    from playwright.sync_api import Page


def chosen_ids(page: Page) -> list[str]:
    return list(
        page.eval_on_selector_all(
            "#garments-list input:checked", "inputs => inputs.map(i => i.value)"
        )
    )


def outfit_area(server: LiveServer, photo: bytes, ids: list[str]) -> np.ndarray:
    """The union of the outfit's masks, as the API's steps view gives it."""
    response = httpx.post(
        f"{server.url}/v1/tryon",
        files={"person": ("p.jpg", photo, "image/jpeg")},
        data={"garment_ids": ",".join(ids), "steps": "true"},
        timeout=120,
    )
    assert response.status_code == 200, response.text
    steps = {s["name"]: s["image"] for s in response.json()["steps"]}
    png = base64.b64decode(steps["agnostic_mask"].split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)).convert("L")) >= 128


def test_a_top_and_a_bottom_are_tried_on_together(page: Page, live_server: LiveServer) -> None:
    shirt = catalogue(live_server)
    pants = catalogue(live_server, "pants_1_front.jpg")
    other_shirt = catalogue(live_server, "shirts_2_front.jpg")
    page.reload()
    sample = page.locator(f'#samples-list input[value="{SAMPLE}"]')
    if sample.count() == 0:
        pytest.skip("the app lists no sample people (no samples folder configured)")
    pick_garment(page, shirt["id"])
    pick_garment(page, pants["id"])
    assert sorted(chosen_ids(page)) == sorted([shirt["id"], pants["id"]])
    assert page.inner_text("#garment-chosen") == "Outfit: pants_1_front + shirts_1_front"
    assert page.is_disabled("#category") and page.is_visible("#category-note")
    # Another top takes the first one's place; the trousers stay.
    pick_garment(page, other_shirt["id"])
    assert sorted(chosen_ids(page)) == sorted([other_shirt["id"], pants["id"]])
    pick_garment(page, shirt["id"])
    assert sorted(chosen_ids(page)) == sorted([shirt["id"], pants["id"]])

    sample.check()
    page.wait_for_function("!document.getElementById('original-image').hidden")
    assert page.is_hidden("#mask-edit")  # an outfit's area is found per garment
    page.click("details.advanced summary")
    page.select_option("#format", "png")
    # What the page sends: the form's field names, per request.
    page.evaluate(
        """() => { window.sentForms = []; const send = window.fetch;
        window.fetch = (url, options) => { if (options && options.body instanceof FormData)
        window.sentForms.push([String(url), [...options.body.keys()]]);
        return send(url, options); }; }"""
    )
    page.click("#tryon-button")
    page.wait_for_function(RESULT_SHOWN)
    caption = page.inner_text("#result-caption")
    assert caption.startswith("pants_1_front + shirts_1_front (Bottom + Top) on sample")
    save_screenshot(page, "outfit-result.png")
    ((url, fields),) = page.evaluate("window.sentForms")  # one request for the outfit
    assert url == "/v1/tryon"
    assert fields.count("garment_ids") == 2 and "garment_id" not in fields

    with page.expect_download() as download_info:
        page.click("#download")
    download = download_info.value
    assert download.suggested_filename == f"{SAMPLE}+pants_1_front+shirts_1_front.png"
    result = np.asarray(Image.open(download.path()).convert("RGB")).astype(int)
    photo_bytes = person(f"{SAMPLE}.jpg").read_bytes()
    with Image.open(io.BytesIO(photo_bytes)) as opened:
        photo = np.asarray(opened.convert("RGB")).astype(int)
    union = outfit_area(live_server, photo_bytes, [shirt["id"], pants["id"]])
    changed = np.abs(result - photo).max(-1) > 0
    assert union.shape == changed.shape
    assert not (changed & ~union).any(), "pixels outside the outfit's area changed"
    height = photo.shape[0]
    chest, shins = slice(int(0.3 * height), int(0.4 * height)), slice(int(0.6 * height), None)
    assert changed[chest][union[chest]].mean() > 0.5  # the top went on
    assert changed[shins][union[shins]].mean() > 0.5  # and the trousers
    # Sliding the divider to "after" shows the outfit on the stage.
    page.eval_on_selector(
        "#compare-slider", "el => { el.value = '0'; el.dispatchEvent(new Event('input')); }"
    )
    page.locator("#stage-box").screenshot(path=str(SCREENSHOTS / "outfit-stage.png"))


def test_garment_names_are_shown_in_full(page: Page, live_server: LiveServer) -> None:
    catalogue(live_server, "shirts_2_front.jpg")
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.reload()
        page.locator("#garments-list .thumb-label").first.wait_for(state="visible")
        found = page.eval_on_selector_all(
            "#garments-list .thumb-label",
            """els => els.map(e => { const box = e.getBoundingClientRect();
            const thumb = e.closest('.thumb').getBoundingClientRect();
            return [e.textContent, e.scrollWidth <= e.clientWidth,
                    box.bottom <= thumb.bottom && box.right <= thumb.right]; })""",
        )
        names = {text: (fits, inside) for text, fits, inside in found}
        assert "shirts_2_front" in names, names
        assert all(fits and inside for fits, inside in names.values()), (width, names)
        save_screenshot(page, f"garment-names-{width}.png")


def test_the_slider_is_hidden_while_the_area_is_edited(page: Page, live_server: LiveServer) -> None:
    choose_pair(page, live_server, "jpeg")
    page.click("#tryon-button")
    page.wait_for_function(RESULT_SHOWN)
    assert page.is_visible("#compare-label")
    page.click("#mask-edit")
    page.locator("#mask-tools").wait_for(state="visible")
    assert page.is_hidden("#compare-label") and page.is_visible("#zoom-in")
    save_screenshot(page, "area-editing.png")
    page.click("#mask-edit")  # stop editing
    assert page.is_visible("#compare-label")
