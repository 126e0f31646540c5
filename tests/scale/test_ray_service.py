"""The service on a local Ray cluster: jobs batched on the diffusion deployment with
per-step progress, warp answered by the ingress, a replica killed under running jobs."""

from __future__ import annotations

import json
import time

import httpx

from tests.conftest import PHOTOS
from tests.scale.conftest import BATCH, STEPS, Deployed

PERSON = (PHOTOS / "people" / "p1_studio.jpg").read_bytes()


def submit(client: httpx.Client, garment_id: str, **headers: str) -> str:
    response = client.post(
        "/v1/jobs",
        files={"person": ("p.jpg", PERSON)},
        data={"garment_id": garment_id, "engine": "catvton", "format": "png"},
        headers=headers,
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def events(client: httpx.Client, job_id: str) -> list[tuple[str, dict[str, object]]]:
    found = []
    with client.stream("GET", f"/v1/jobs/{job_id}/events") as stream:
        text = "".join(stream.iter_text())
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in lines:
            found.append((lines["event"], json.loads(lines["data"])))
    return found


def test_jobs_are_batched_and_stream_every_step(deployed: Deployed) -> None:
    with deployed.client() as client:
        engines = {e["name"]: e for e in client.get("/v1/engines").json()["engines"]}
        assert engines["catvton"]["available"] is True
        ids = [submit(client, deployed.garment_id) for _ in range(BATCH)]
        batches = []
        for job_id in ids:
            seen = events(client, job_id)
            assert seen[-1][0] == "done", seen
            steps = [data["step"] for name, data in seen if name == "progress"]
            assert steps == list(range(1, STEPS + 1)), seen
            result = client.get(f"/v1/jobs/{job_id}/result")
            assert result.status_code == 200
            batches.append(int(result.headers["x-tryon-batch"]))
        assert max(batches) > 1, batches  # requests waiting together ran as one batch


def test_warp_answers_from_the_ingress(deployed: Deployed) -> None:
    with deployed.client() as client:
        response = client.post(
            "/v1/tryon",
            files={"person": ("p.jpg", PERSON)},
            data={"garment_id": deployed.garment_id, "format": "png"},
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/png"


def diffusion_replicas() -> list[tuple[str, str]]:
    """(name, namespace) of every live diffusion replica actor."""
    import ray

    return [
        (a["name"], a["namespace"])
        for a in ray.util.list_named_actors(all_namespaces=True)
        if "DiffusionModel" in a["name"] and "SERVE_REPLICA" in a["name"]
    ]


def test_a_killed_replica_means_retried_or_failed_jobs_never_stuck(deployed: Deployed) -> None:
    import ray

    with deployed.client() as client:
        ids = [submit(client, deployed.garment_id) for _ in range(2 * BATCH)]
        deadline = time.monotonic() + 60
        while client.get(f"/v1/jobs/{ids[0]}").json()["progress"]["step"] < 1:
            assert time.monotonic() < deadline, "the first job never started"
            time.sleep(0.01)
        (replica,) = diffusion_replicas()
        ray.kill(ray.get_actor(replica[0], namespace=replica[1]), no_restart=True)
        states = []
        for job_id in ids:
            while (state := client.get(f"/v1/jobs/{job_id}").json())["status"] in (
                "queued",
                "running",
            ):
                assert time.monotonic() < deadline + 120, f"job stuck: {state}"
                time.sleep(0.1)
            states.append(state)
        for state in states:
            assert state["status"] in ("done", "failed"), state
            if state["status"] == "failed":
                assert state["error"]["type"] == "WorkerLostError", state["error"]
                assert "replica running the job died" in state["error"]["message"], state
        assert any(s["attempt"] > 1 or s["status"] == "failed" for s in states), states
        # Serve replaced the replica: a new job runs to the end.
        assert diffusion_replicas() and diffusion_replicas()[0] != replica
        after = submit(client, deployed.garment_id)
        assert events(client, after)[-1][0] == "done"


def test_a_redis_restart_during_jobs_loses_none(deployed: Deployed) -> None:
    with deployed.client() as client:
        keys = [{"Idempotency-Key": f"restart-{n}"} for n in range(6)]
        ids = [submit(client, deployed.garment_id, **key) for key in keys]
        deadline = time.monotonic() + 60
        while client.get(f"/v1/jobs/{ids[0]}").json()["status"] == "queued":
            assert time.monotonic() < deadline, "the first job never started"
            time.sleep(0.01)
        deployed.redis.kill()
        time.sleep(1.0)
        deployed.redis.start()
        for job_id in ids:
            while (state := client.get(f"/v1/jobs/{job_id}").json())["status"] in (
                "queued",
                "running",
            ):
                assert time.monotonic() < deadline + 120, f"job stuck: {state}"
                time.sleep(0.1)
            assert state["status"] == "done" or (
                state["status"] == "failed" and state["error"]["message"]
            ), state
        # The keys survived too: the same submission finds the same job.
        assert submit(client, deployed.garment_id, **keys[0]) == ids[0]
