"""Health, engines, samples, metrics, docs, the web page and unknown routes."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.service.conftest import decoded, error_of


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_engines(client: TestClient) -> None:
    engines = {e["name"]: e for e in client.get("/v1/engines").json()["engines"]}
    assert engines["warp"] == {
        "name": "warp",
        "mode": "sync",
        "available": True,
        "reason": None,
        "licence": "Apache-2.0 (the project's code; the MediaPipe models it runs: Apache-2.0)",
        "presets": [],
        "default_preset": None,
    }
    catvton = engines["catvton"]
    assert catvton["mode"] == "job" and catvton["available"] is False
    assert catvton["reason"].startswith("weights not configured")
    # An engine that cannot run lists no presets (nothing of it is imported).
    assert catvton["presets"] == [] and catvton["default_preset"] is None
    assert catvton["licence"] == "CC BY-NC-SA 4.0: CatVTON's weights, non-commercial use only"
    fashn = engines["fashn"]
    assert fashn["mode"] == "job" and fashn["available"] is False
    assert fashn["licence"] == "Apache-2.0 (FASHN VTON v1.5's and DWPose's weights)"


def test_samples(client: TestClient) -> None:
    people = client.get("/v1/samples").json()["people"]
    names = [p["name"] for p in people]
    assert "p1_studio" in names
    assert not [n for n in names if n.endswith(("_front", "_back"))]
    first = people[0]
    assert first["url"] == f"/v1/samples/{first['name']}"
    image = client.get(first["url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert min(decoded(image.content).size) >= 64
    missing = client.get("/v1/samples/nobody")
    assert missing.status_code == 404 and error_of(missing)["type"] == "UnknownSampleError"


def test_docs_and_openapi(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in ("/v1/tryon", "/v1/garments", "/v1/jobs", "/v1/jobs/{job_id}/events"):
        assert path in spec["paths"]
    body = spec["paths"]["/v1/tryon"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert "person" in body["schema"]["properties"]
    assert client.get("/docs").status_code == 200


def test_web_page_is_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert client.get("/static/app.js").status_code == 200


def test_metrics(client: TestClient, shirt_id: str) -> None:
    from tests.conftest import PHOTOS

    person = (PHOTOS / "people" / "p1_studio.jpg").read_bytes()
    done = client.post(
        "/v1/tryon", files={"person": ("p.jpg", person)}, data={"garment_id": shirt_id}
    )
    assert done.status_code == 200
    text = client.get("/metrics").text
    assert 'tryon_http_requests_total{method="POST",route="/v1/tryon",status="200"}' in text
    assert 'tryon_stage_duration_seconds_count{engine="warp",stage="body"}' in text
    assert 'tryon_stage_duration_seconds_count{engine="warp",stage="encode"}' in text
    assert 'tryon_queue_depth{queue="sync"} 0.0' in text
    assert "tryon_in_flight 0.0" in text


def test_unknown_route_and_method(client: TestClient) -> None:
    missing = client.get("/v2/nothing")
    assert missing.status_code == 404 and error_of(missing)["type"] == "NotFoundError"
    wrong = client.put("/v1/tryon")
    assert wrong.status_code == 405 and error_of(wrong)["type"] == "MethodNotAllowedError"
