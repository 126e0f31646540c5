"""``/docs`` works offline: Swagger UI's files come from this server, never from a CDN."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

from fastapi.testclient import TestClient

EXPECTED_TYPES = {
    ".js": "javascript",
    ".css": "text/css",
    ".png": "image/png",
    ".json": "application/json",
}


class _Links(HTMLParser):
    """Every ``src`` and ``href`` of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def docs_urls(html: str) -> list[str]:
    """The URLs the docs page loads: its tags' ``src``/``href`` and the quoted URLs of its
    inline script (the OpenAPI document's, for one)."""
    links = _Links()
    links.feed(html)
    quoted = re.findall(r"""(?:url|href|src)\s*[:=]\s*['"]([^'"]+)['"]""", html)
    return links.urls + quoted


def test_docs_loads_only_same_origin_assets(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "cdn" not in page.text.lower()
    urls = docs_urls(page.text)
    assert any(url.endswith("swagger-ui-bundle.js") for url in urls), urls
    assert any(url.endswith("swagger-ui.css") for url in urls), urls
    assert "/openapi.json" in urls
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"/docs loads {url} from elsewhere"
        assert url.startswith("/"), url
        answer = client.get(url)
        assert answer.status_code == 200, url
        suffix = "." + parts.path.rsplit(".", 1)[-1]
        assert EXPECTED_TYPES[suffix] in answer.headers["content-type"], url
    bundle = client.get(next(u for u in urls if u.endswith("swagger-ui-bundle.js")))
    assert b"SwaggerUIBundle" in bundle.content and len(bundle.content) > 500_000


def test_docs_assets_are_not_in_the_api_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith(("/docs", "/redoc"))]
    assert client.get("/redoc").status_code == 404  # ReDoc needs a CDN: not offered
