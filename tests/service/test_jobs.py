"""/v1/jobs: queued, started, progress, done / error / cancelled, results that expire."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.conftest import PHOTOS
from tests.service.conftest import decoded, encoded, error_of, events, make_client, submit
from tryon import TryOn

PERSON = PHOTOS / "people" / "p1_studio.jpg"


def test_job_runs_to_done(client: TestClient, shirt_id: str) -> None:
    job = submit(client, PERSON.read_bytes(), garment_id=shirt_id, format="png")
    assert job["status"] == "queued" and job["position"] == 1
    assert job["events_url"] == f"/v1/jobs/{job['id']}/events"
    seen = events(client, job["id"])
    names = [name for name, _ in seen]
    assert names[0] == "queued" and seen[0][1] == {"position": 1}
    assert names[1] == "started"
    assert names[-1] == "done"
    assert seen[-1][1] == {"result_url": job["result_url"]}
    progress = [data for name, data in seen if name == "progress"]
    assert progress[-1] == {"step": 3, "total": 3}
    assert [p["step"] for p in progress] == sorted(p["step"] for p in progress)
    # A client that reconnects gets only what it missed.
    with client.stream(
        "GET", str(job["events_url"]), headers={"Last-Event-ID": str(len(seen) - 2)}
    ) as stream:
        assert stream.read().decode().count("event: ") == 1
    state = client.get(str(job["url"])).json()
    assert state == {
        "id": job["id"],
        "kind": "tryon",
        "status": "done",
        "position": None,
        "progress": {"step": 3, "total": 3},
        "error": None,
        "attempt": 1,
        "result_url": job["result_url"],
    }
    result = client.get(str(job["result_url"]))
    assert result.status_code == 200 and result.headers["content-type"] == "image/png"
    assert decoded(result.content).size == Image.open(PERSON).size
    assert result.headers["x-tryon-category"] == "upper"
    # Deleting a finished job forgets it and its result.
    assert client.delete(str(job["url"])).status_code == 204
    assert client.get(str(job["url"])).status_code == 404
    assert client.get(str(job["result_url"])).status_code == 404


def test_failed_job_reports_the_error(client: TestClient, shirt_id: str) -> None:
    nobody = encoded(np.full((800, 600, 3), 200, np.uint8))
    job = submit(client, nobody, garment_id=shirt_id)
    seen = events(client, job["id"])
    assert seen[-1][0] == "error"
    assert seen[-1][1]["type"] == "NoPersonError"
    state = client.get(str(job["url"])).json()
    assert state["status"] == "failed"
    assert state["error"]["type"] == "NoPersonError"
    result = client.get(str(job["result_url"]))
    assert result.status_code == 409
    error = error_of(result)
    assert error["type"] == "JobNotDoneError" and "no person" in error["message"]


def test_bad_job_input_is_refused_at_submit(client: TestClient) -> None:
    response = client.post(
        "/v1/jobs", files={"person": ("p.jpg", b"not an image")}, data={"garment_id": "x"}
    )
    assert response.status_code == 415
    assert error_of(response)["type"] == "InvalidImageError"


def test_cancel_a_queued_job(client: TestClient, shirt_id: str) -> None:
    person = PERSON.read_bytes()
    running = submit(client, person, garment_id=shirt_id)
    queued = submit(client, person, garment_id=shirt_id)
    assert client.delete(str(queued["url"])).status_code == 204
    state = client.get(str(queued["url"])).json()
    assert state["status"] == "cancelled"
    assert events(client, queued["id"])[-1][0] == "cancelled"
    assert client.get(str(queued["result_url"])).status_code == 409
    assert events(client, running["id"])[-1][0] == "done"


def test_unknown_job(client: TestClient) -> None:
    for method, suffix in (("GET", ""), ("GET", "/events"), ("GET", "/result"), ("DELETE", "")):
        response = client.request(method, f"/v1/jobs/nope{suffix}")
        assert response.status_code == 404
        assert error_of(response)["type"] == "UnknownJobError"


@pytest.fixture(scope="module")
def short_lived(tryon: TryOn, catalog_dir: Path) -> TestClient:
    return make_client(tryon, catalog_dir, result_ttl_s=0.5, max_jobs=1)


def test_results_expire(short_lived: TestClient, shirt_id: str) -> None:
    job = submit(short_lived, PERSON.read_bytes(), garment_id=shirt_id)
    assert events(short_lived, job["id"])[-1][0] == "done"
    deadline = time.monotonic() + 10
    while short_lived.get(str(job["url"])).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    gone = short_lived.get(str(job["result_url"]))
    assert gone.status_code == 404
    assert "expired" in error_of(gone)["message"]


def test_full_job_queue_is_503(short_lived: TestClient, shirt_id: str) -> None:
    person = PERSON.read_bytes()
    first = submit(short_lived, person, garment_id=shirt_id)
    refused = short_lived.post(
        "/v1/jobs", files={"person": ("p.jpg", person)}, data={"garment_id": shirt_id}
    )
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "2"
    assert error_of(refused)["type"] == "ServiceBusyError"
    assert events(short_lived, first["id"])[-1][0] == "done"
