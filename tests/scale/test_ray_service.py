"""The service on a local Ray cluster: jobs batched on the diffusion deployment with
per-step progress, warp answered by the ingress, a replica killed under running jobs."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from tests.conftest import PHOTOS
from tests.scale.conftest import BATCH, FASHN_STEPS, STEPS, Deployed

PERSON = (PHOTOS / "people" / "p1_studio.jpg").read_bytes()


def submit(client: httpx.Client, garment_id: str, engine: str = "catvton", **headers: str) -> str:
    response = client.post(
        "/v1/jobs",
        files={"person": ("p.jpg", PERSON)},
        data={"garment_id": garment_id, "engine": engine, "format": "png"},
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


def test_fashn_jobs_are_batched_on_their_own_deployment(deployed: Deployed) -> None:
    with deployed.client() as client:
        engines = {e["name"]: e for e in client.get("/v1/engines").json()["engines"]}
        assert engines["fashn"]["available"] is True
        ids = [submit(client, deployed.garment_id, engine="fashn") for _ in range(BATCH)]
        batches = []
        for job_id in ids:
            seen = events(client, job_id)
            assert seen[-1][0] == "done", seen
            steps = [data["step"] for name, data in seen if name == "progress"]
            assert steps == list(range(1, FASHN_STEPS + 1)), seen
            result = client.get(f"/v1/jobs/{job_id}/result")
            assert result.status_code == 200 and result.headers["content-type"] == "image/png"
            batches.append(int(result.headers["x-tryon-batch"]))
        assert max(batches) > 1, batches
    assert replicas("FashnModel")


def test_warp_answers_from_the_ingress(deployed: Deployed) -> None:
    with deployed.client() as client:
        response = client.post(
            "/v1/tryon",
            files={"person": ("p.jpg", PERSON)},
            data={"garment_id": deployed.garment_id, "format": "png"},
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/png"


def replicas(deployment: str) -> list[tuple[str, str]]:
    """(name, namespace) of every live replica actor of ``deployment``."""
    import ray

    return [
        (a["name"], a["namespace"])
        for a in ray.util.list_named_actors(all_namespaces=True)
        if f"#{deployment}#" in a["name"] and "SERVE_REPLICA" in a["name"]
    ]


def kill(replica: tuple[str, str]) -> None:
    import ray

    ray.kill(ray.get_actor(replica[0], namespace=replica[1]), no_restart=True)


def wait_until_started(client: httpx.Client, job_id: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while client.get(f"/v1/jobs/{job_id}").json()["progress"]["step"] < 1:
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.01)


def wait_until_all_end(
    client: httpx.Client, ids: list[str], seconds: float = 180
) -> list[dict[str, Any]]:
    """Each job's final state; answers other than 200 (an ingress restarting) are
    asked again."""
    deadline = time.monotonic() + seconds
    states = []
    for job_id in ids:
        while True:
            try:
                response = client.get(f"/v1/jobs/{job_id}")
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code == 200:
                state = response.json()
                if state["status"] not in ("queued", "running"):
                    break
            assert time.monotonic() < deadline, f"job stuck: {job_id}"
            time.sleep(0.1)
        states.append(state)
    for state in states:
        assert state["status"] in ("done", "failed"), state
        if state["status"] == "failed":
            assert state["error"]["type"] == "WorkerLostError", state["error"]
            assert state["error"]["message"].strip(), state["error"]
    return states


def test_a_killed_diffusion_replica_means_retried_or_failed_jobs(deployed: Deployed) -> None:
    with deployed.client() as client:
        ids = [submit(client, deployed.garment_id) for _ in range(2 * BATCH)]
        wait_until_started(client, ids[0])
        (replica,) = replicas("DiffusionModel")
        kill(replica)
        states = wait_until_all_end(client, ids)
        for state in states:
            if state["status"] == "failed":
                assert "replica running the job died" in state["error"]["message"], state
        assert any(s["attempt"] > 1 or s["status"] == "failed" for s in states), states
        # Serve replaced the replica: a new job runs to the end.
        assert replicas("DiffusionModel") and replicas("DiffusionModel")[0] != replica
        after = submit(client, deployed.garment_id)
        assert events(client, after)[-1][0] == "done"


def test_the_jobs_of_a_killed_ingress_replica_run_again(deployed: Deployed) -> None:
    with deployed.client() as client:
        ids = [submit(client, deployed.garment_id) for _ in range(BATCH)]
        wait_until_started(client, ids[0])
        (ingress,) = replicas("Ingress")
        kill(ingress)  # its job workers die with it; their leases run out
        states = wait_until_all_end(client, ids)
        assert any(s["attempt"] > 1 for s in states), states
        assert replicas("Ingress") and replicas("Ingress")[0] != ingress


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
        wait_until_all_end(client, ids)
        # The keys survived too: the same submission finds the same job.
        assert submit(client, deployed.garment_id, **keys[0]) == ids[0]
