"""``/docs`` in headless Chromium with every request to another origin refused: the API
reference still renders (Swagger UI's files come from the server itself)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.browser.conftest import LiveServer, skip_without_browser
from tests.browser.test_web_page import save_screenshot

skip_without_browser()

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Route


def test_docs_render_without_internet(browser: Browser, live_server: LiveServer) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    elsewhere: list[str] = []

    def offline(route: Route) -> None:
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort("internetdisconnected")

    page.route("**/*", offline)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(live_server.url + "/docs")
        page.locator(".opblock").first.wait_for(state="visible", timeout=30_000)
        summaries = page.locator(".opblock-summary-path").all_inner_texts()
        assert "/v1/tryon" in [s.replace("\u200b", "") for s in summaries], summaries
        assert page.locator(".swagger-ui .info .title").inner_text().startswith("tryon")
        save_screenshot(page, "docs-offline.png")
    finally:
        context.close()
    assert not elsewhere, f"/docs asked other origins for {elsewhere}"
    assert not errors, errors
