"""The page's studio features in headless Chromium against the real app: the
before/after divider and zoom, the download, example pairs, non-photos refused when
chosen, engines this server lacks, and the try-on area editor."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.browser.conftest import LiveServer, skip_without_browser
from tests.browser.test_web_page import RESULT_SHOWN, catalogue, pick_garment, save_screenshot
from tests.photos import person

skip_without_browser()

if TYPE_CHECKING:
    from playwright.sync_api import Page

SAMPLE = "p1_studio"


def choose_pair(page: Page, server: LiveServer, fmt: str = "jpeg") -> dict[str, str]:
    """Catalogues shirts_1_front, then picks it and the sample person, in ``fmt``."""
    shirt = catalogue(server)
    page.reload()
    pick_garment(page, shirt["id"])
    sample = page.locator(f'#samples-list input[value="{SAMPLE}"]')
    if sample.count() == 0:
        pytest.skip("the app lists no sample people (no samples folder configured)")
    sample.check()
    page.wait_for_function("!document.getElementById('original-image').hidden")
    page.click("details.advanced summary")
    page.select_option("#format", fmt)
    return shirt


def stage_shot(page: Page) -> np.ndarray:
    """The stage as the shopper sees it: (H, W, 3) uint8."""
    shot = page.locator("#stage-box").screenshot()
    return np.asarray(Image.open(io.BytesIO(shot)).convert("RGB")).astype(int)


def set_range(page: Page, selector: str, value: int) -> None:
    page.eval_on_selector(
        selector,
        "(el, v) => { el.value = String(v); el.dispatchEvent(new Event('input')); }",
        value,
    )


def test_divider_zoom_and_download(page: Page, live_server: LiveServer, tmp_path: Path) -> None:
    choose_pair(page, live_server, "jpeg")
    page.click("#tryon-button")
    page.wait_for_function(RESULT_SHOWN)
    save_screenshot(page, "studio-result.png")

    set_range(page, "#compare-slider", 100)
    before = stage_shot(page)
    set_range(page, "#compare-slider", 0)
    after = stage_shot(page)
    set_range(page, "#compare-slider", 30)
    split = stage_shot(page)
    width = split.shape[1]
    edge = round(0.3 * width)
    assert np.abs(before - after).max(-1).mean() > 5  # the try-on changed the photo
    # Beside the divider and its round handle (34 px wide).
    left, right = slice(0, edge - 20), slice(edge + 20, width)
    # Equal up to the rasteriser's rounding where layers are composited.
    for side, expected in ((left, before), (right, after)):
        difference = np.abs(split[:, side] - expected[:, side]).max(-1)
        assert difference.mean() < 0.5 and difference.max() <= 8
    assert page.get_attribute("#compare-slider", "aria-valuetext") == "30% before, 70% after"

    page.click("#zoom-in")
    assert page.inner_text("#zoom-level") == "150%"
    scale = page.eval_on_selector(
        "#result-image", "img => new DOMMatrix(getComputedStyle(img).transform).a"
    )
    assert scale == pytest.approx(1.5)
    assert np.abs(stage_shot(page) - split).max(-1).mean() > 5  # the view is magnified
    page.click("#zoom-fit")
    assert page.inner_text("#zoom-level") == "100%"

    with page.expect_download() as download_info:
        page.click("#download")
    download = download_info.value
    assert download.suggested_filename == f"{SAMPLE}+shirts_1_front.jpg"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    with Image.open(saved) as image, Image.open(person(f"{SAMPLE}.jpg")) as photo:
        assert image.format == "JPEG"
        assert image.size == photo.size


def test_example_pair_shows_its_result(page: Page, live_server: LiveServer) -> None:
    shirt = catalogue(live_server)
    page.reload()
    # Other tests may have catalogued more garments: the shirt's pair is one of them.
    example = page.locator("#examples-list .example", has_text=shirt["name"]).first
    example.wait_for(state="visible")
    assert example.inner_text().startswith(f"{shirt['name']} on ")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(f"{r.method} {r.url}"))
    example.click()
    page.wait_for_function(RESULT_SHOWN)
    assert any(r.startswith("POST ") and r.endswith("/v1/tryon") for r in requests)
    assert page.inner_text("#garment-chosen") == f"Garment: {shirt['name']}"
    assert page.inner_text("#person-chosen").startswith("Person: sample ")
    assert page.is_visible("#download")


@pytest.mark.parametrize(
    ("name", "mime"), [("sizes.csv", "text/csv"), ("renamed.jpg", "image/jpeg")]
)
def test_a_non_photo_is_refused_when_chosen(page: Page, name: str, mime: str) -> None:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.set_input_files(
        "#person-file", files=[{"name": name, "mimeType": mime, "buffer": b"name,size\nshirt,M\n"}]
    )
    page.locator("#message").wait_for(state="visible")
    assert page.inner_text("#message") == (
        f"“{name}” is not a photo this page can send: choose a JPEG, PNG or WebP photo of a person."
    )
    assert page.eval_on_selector("#person-file", "input => input.files.length") == 0
    assert page.inner_text("#person-chosen") == "No person chosen yet."
    assert not [url for url in requests if "/v1/tryon" in url]


def test_engines_this_server_lacks(page: Page, live_server: LiveServer) -> None:
    offered = httpx.get(f"{live_server.url}/v1/engines", timeout=30).json()["engines"]
    missing = [e for e in offered if not e["available"]]
    if not missing:
        pytest.skip("this server offers every engine")
    assert all("--weights" in (e["reason"] or "") for e in missing if e["name"] == "catvton")
    page.locator('#engine option[value="warp"]').wait_for(state="attached")
    for engine in missing:
        option = page.locator(f'#engine option[value="{engine["name"]}"]')
        assert option.inner_text().endswith(": not available on this server")
        assert option.is_disabled()
    text = page.inner_text("body")
    assert "--weights" not in text and "weights" not in text.lower()
    assert "Not available on this server" in page.inner_text("#engine-note")


def test_the_chosen_engine_says_its_licence(page: Page, live_server: LiveServer) -> None:
    offered = httpx.get(f"{live_server.url}/v1/engines", timeout=30).json()["engines"]
    licence = next(e["licence"] for e in offered if e["name"] == "warp")
    assert licence.startswith("Apache-2.0")
    page.locator('#engine option[value="warp"]').wait_for(state="attached")
    page.select_option("#engine", "warp")
    assert f"Model licence: {licence}." in page.inner_text("#engine-note")


def area_share(page: Page) -> int:
    text = page.inner_text("#mask-status")
    found = re.match(r"Area: (\d+)% of the photo", text)
    assert found, text
    return int(found.group(1))


def test_an_edited_area_changes_the_result_only_inside_it(
    page: Page, live_server: LiveServer
) -> None:
    shirt = choose_pair(page, live_server, "png")
    photo_bytes = person(f"{SAMPLE}.jpg").read_bytes()
    found = httpx.post(
        f"{live_server.url}/v1/mask",
        files={"person": ("p.jpg", photo_bytes, "image/jpeg")},
        data={"garment_id": shirt["id"]},
        timeout=120,
    )
    server_area = np.asarray(Image.open(io.BytesIO(found.content))) >= 128

    page.click("#mask-edit")
    page.locator("#mask-tools").wait_for(state="visible")
    page.wait_for_function("document.getElementById('mask-status').textContent.startsWith('Area')")
    start = area_share(page)
    assert start == round(100 * server_area.mean())
    save_screenshot(page, "studio-area.png")

    # Click-to-select on the backdrop left of the head adds a region to the area.
    box = page.locator("#stage-box").bounding_box()
    assert box is not None
    page.check('input[name="mask-tool"][value="select"]')
    page.mouse.click(box["x"] + 0.08 * box["width"], box["y"] + 0.15 * box["height"])
    page.wait_for_function(
        "start => (s => s.startsWith('Area: ') && !s.startsWith(`Area: ${start}%`))"
        "(document.getElementById('mask-status').textContent)",
        arg=start,
    )
    assert area_share(page) > start
    page.click("#mask-undo")
    assert area_share(page) == start

    # Erase a band across the chest with a wide brush.
    page.check('input[name="mask-tool"][value="eraser"]')
    set_range(page, "#brush-size", 120)
    box = page.locator("#stage-box").bounding_box()  # the page may have scrolled
    assert box is not None
    y = box["y"] + 0.32 * box["height"]
    page.mouse.move(box["x"] + 2, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 2, y, steps=25)
    page.mouse.up()
    assert area_share(page) < start
    save_screenshot(page, "studio-area-edited.png")

    with page.expect_request(lambda r: r.url.endswith("/v1/tryon")):
        page.click("#mask-done")
    page.wait_for_function(RESULT_SHOWN)
    # What was erased, in photo pixels: a band 120 CSS pixels high across the photo
    # (a few pixels less, for the brush's rounding).
    height, width = server_area.shape
    half = 60 * width / box["width"] - 3
    rows = np.abs(np.arange(height) - 0.32 * height) < half
    erased = server_area & rows[:, None]
    assert erased.sum() > 1000
    edited = server_area & ~rows[:, None]  # what may change now, at most

    with page.expect_download() as download_info:
        page.click("#download")
    result = np.asarray(Image.open(download_info.value.path()).convert("RGB")).astype(int)
    with Image.open(person(f"{SAMPLE}.jpg")) as opened:
        photo = np.asarray(opened.convert("RGB")).astype(int)
    changed = np.abs(result - photo).max(-1) > 0
    assert edited.shape == changed.shape
    assert not (changed & ~edited).any(), "pixels outside the edited area changed"
    assert not changed[erased].any()
    assert changed[edited].mean() > 0.2  # the garment went where the area is
    save_screenshot(page, "studio-area-result.png")
