"""Fixtures for the browser tests: the real app on a loopback port, headless Chromium.

The app runs in a background thread of the test process under uvicorn, with a
temporary catalog. Chromium is Debian's (``scripts/browser-setup.sh`` installs it);
Playwright drives it through ``executable_path`` and never downloads a browser.
The test modules skip, with the reason printed, when Chromium, Playwright or the
service's dependencies are missing (``skip_without_browser``); the imports here wait
for the fixtures so that this file loads everywhere.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path(os.environ.get("TRYON_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "out" / "browser"
"""Where the tests save screenshots of the page (out/ is not tracked)."""


def skip_without_browser() -> None:
    """Skips the calling test module, saying why, when the browser tests cannot run."""
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        pytest.skip(
            f"Chromium not found at {CHROMIUM}; run scripts/browser-setup.sh (as root) "
            "or set TRYON_CHROMIUM",
            allow_module_level=True,
        )
    pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')"
    )
    pytest.importorskip("uvicorn", reason="the service extra is not installed")
    pytest.importorskip("fastapi", reason="the service extra is not installed")


@dataclasses.dataclass(frozen=True)
class LiveServer:
    """The app listening on loopback."""

    url: str
    catalog_dir: Path


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serves ``app`` under uvicorn on a free loopback port in a background thread;
    yields its base URL."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the app did not start under uvicorn within 60 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The real app under uvicorn on a free loopback port, in a background thread."""
    from tryon.service.app import create_app
    from tryon.service.settings import ServiceSettings

    catalog_dir = tmp_path_factory.mktemp("catalog")
    with serving(create_app(ServiceSettings(catalog_dir=catalog_dir))) as url:
        yield LiveServer(url=url, catalog_dir=catalog_dir)


DIFFUSION_AREA = 96 * 72
"""Working area of the tiny catvton models the diffusion server runs (fast on a CPU)."""
DIFFUSION_STEPS = 4
"""The diffusion server's own steps (its "compat" preset's 50 would be slow)."""


@pytest.fixture(scope="module")
def diffusion_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The real app offering the catvton engine, with the diffusion tests' tiny models
    (seeded random weights written in the released layout; nothing is downloaded)."""
    pytest.importorskip("torch", reason="the catvton engine needs the diffusion extra")
    from tests.diffusion.tiny import write_weights
    from tryon.service.app import create_app
    from tryon.service.settings import ServiceSettings

    weights = tmp_path_factory.mktemp("weights")
    write_weights(weights)
    catalog_dir = tmp_path_factory.mktemp("diffusion_catalog")
    settings = ServiceSettings(
        catalog_dir=catalog_dir,
        weights_dir=weights,
        diffusion_steps=DIFFUSION_STEPS,
        diffusion_area=DIFFUSION_AREA,
    )
    with serving(create_app(settings)) as url:
        yield LiveServer(url=url, catalog_dir=catalog_dir)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A fresh page on the app's web page; fails the test on any script error in the page."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server.url + "/")
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"script errors in the page: {errors}"
