"""Several processes writing one catalog at once: no lost, duplicated or half garments."""

from __future__ import annotations

import multiprocessing
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

from tests.conftest import GARMENTS
from tryon.catalog import Catalog, UnknownGarmentError

PHOTOS = [
    next(g for g in GARMENTS if g.name.startswith("shirts")),
    next(g for g in GARMENTS if g.name.startswith("pants")),
]
WORKERS = 3


def writer(index: int, folder: str, start: Barrier, results: Any) -> None:
    """Adds both photos, stores an artifact on each, reads them back, removes a decoy."""
    catalog = Catalog(folder)
    decoy = catalog.add(PHOTOS[0], category="upper").record.id  # one per process: same id
    start.wait(timeout=120)
    outcome = []
    for photo in PHOTOS:
        added = catalog.add(photo)
        catalog.put_artifact(added.record.id, f"from-{index}", str(index).encode())
        analysis = catalog.analysis(added.record.id)
        outcome.append((added.record.id, added.created, analysis.mask.shape))
    try:
        catalog.remove(decoy)
        removed = 1
    except UnknownGarmentError:
        removed = 0
    results.put((index, outcome, removed, len(catalog.list())))


def test_processes_share_a_catalog(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")  # no MediaPipe state copied by fork
    start = context.Barrier(WORKERS)
    results = context.Queue()
    processes = [
        context.Process(target=writer, args=(i, str(tmp_path), start, results))
        for i in range(WORKERS)
    ]
    for process in processes:
        process.start()
    reports = [results.get(timeout=180) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    created: dict[str, int] = {}
    for _, outcome, _, _ in reports:
        for garment, was_created, shape in outcome:
            created[garment] = created.get(garment, 0) + int(was_created)
            assert shape == (1024, 1024)
    assert len(created) == len(PHOTOS)
    assert all(count == 1 for count in created.values())  # exactly one process added each
    # Every process added the decoy before the barrier; only one removal can succeed.
    assert sum(removed for _, _, removed, _ in reports) == 1
    catalog = Catalog(tmp_path)
    assert sorted(r.id for r in catalog.list()) == sorted(created)
    for garment in created:
        assert catalog.artifacts(garment) == [f"from-{i}" for i in range(WORKERS)]
        assert catalog.analysis(garment).mask.any()
    leftovers = [p.name for p in (tmp_path / "garments").iterdir() if p.name.startswith(".")]
    assert leftovers == []
