"""Two service processes sharing one job store (Redis, SQLite): a job submitted to one is
followed and fetched through the other, and a retried submission with the same
Idempotency-Key returns the same job."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.photos import PERSON
from tests.service.conftest import decoded, error_of, events, make_client
from tests.service.redis_server import RedisServer
from tryon import TryOn


@pytest.fixture(params=["sqlite", "redis"])
def job_store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:{tmp_path / 'jobs.sqlite3'}"
    pytest.importorskip("redis", reason="the Redis job store needs the scale extra")
    server: RedisServer = request.getfixturevalue("redis")
    return server.url


def test_a_job_is_seen_by_every_process(
    tryon: TryOn, catalog_dir: Path, shirt_id: str, job_store: str
) -> None:
    person = PERSON.read_bytes()
    fields = {"garment_id": shirt_id, "format": "png"}
    with (
        make_client(tryon, catalog_dir, job_store=job_store) as first,
        make_client(tryon, catalog_dir, job_store=job_store, job_workers=1) as second,
    ):
        key = {"Idempotency-Key": "cart-42-try-1"}
        sent = first.post("/v1/jobs", files={"person": ("p.jpg", person)}, data=fields, headers=key)
        assert sent.status_code == 202, sent.text
        again = second.post(
            "/v1/jobs", files={"person": ("p.jpg", person)}, data=fields, headers=key
        )
        assert again.status_code == 202 and again.json()["id"] == sent.json()["id"]
        other = {**fields, "category": "lower"}
        conflict = second.post(
            "/v1/jobs", files={"person": ("p.jpg", person)}, data=other, headers=key
        )
        assert conflict.status_code == 409
        assert "Idempotency-Key" in error_of(conflict)["message"]
        job_id = sent.json()["id"]
        seen = events(second, job_id)
        assert seen[-1][0] == "done", seen
        result = first.get(f"/v1/jobs/{job_id}/result")
        assert result.status_code == 200
        assert decoded(result.content).size[0] > 0
        bad = first.post(
            "/v1/jobs",
            files={"person": ("p.jpg", person)},
            data=fields,
            headers={"Idempotency-Key": "has space"},
        )
        assert bad.status_code == 400 and "Idempotency-Key" in error_of(bad)["message"]
