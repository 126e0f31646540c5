"""catvton jobs in one process: tiny models, per-step progress, the image at the photo's
size, bad input as the job's error."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.photos import PERSON
from tests.service.conftest import (
    FEW_STEPS,
    decoded,
    diffusion_settings,
    encoded,
    events,
    make_client,
    submit,
)
from tryon import TryOn


def test_a_catvton_job_reports_every_step(
    tryon: TryOn, catalog_dir: Path, shirt_id: str, tiny_weights_dir: Path
) -> None:
    with make_client(tryon, catalog_dir, **diffusion_settings(tiny_weights_dir)) as client:
        engines = {e["name"]: e for e in client.get("/v1/engines").json()["engines"]}
        assert engines["catvton"]["available"] is True
        assert engines["hybrid"]["available"] is False
        job = submit(
            client, PERSON.read_bytes(), garment_id=shirt_id, engine="catvton", format="png"
        )
        seen = events(client, job["id"])
        assert seen[-1][0] == "done", seen
        steps = [data for name, data in seen if name == "progress"]
        assert steps == [{"step": s, "total": FEW_STEPS} for s in range(1, FEW_STEPS + 1)]
        result = client.get(str(job["result_url"]))
        assert result.status_code == 200
        assert result.headers["x-tryon-batch"] == "1"
        assert decoded(result.content).size == decoded(PERSON.read_bytes()).size
        empty_room = encoded(np.full((400, 300, 3), 180, np.uint8))
        nobody = submit(client, empty_room, garment_id=shirt_id, engine="catvton")
        name, error = events(client, nobody["id"])[-1]
        assert name == "error" and error["type"] in ("NoPersonError", "BodyNotVisibleError")
