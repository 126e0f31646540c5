"""Runs try-on systems over a dataset's pairs and scores them.

A *system* is either one of our engines (run here: latency and memory are measured) or a
folder of results made by any other system (scored only). Every system is scored the
same way:

* paired pairs (ground truth exists): SSIM and LPIPS against the person photo;
* both modes: FID and KID of the results against the dataset's person photos;
* shop metrics per image: pixels changed outside the agnostic mask, face-region PSNR
  against the input photo, garment colour Delta E; for engines latency and peak memory.
"""

from __future__ import annotations

import gc
import math
import os
import resource
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from tryon.dataset.layout import Dataset, Pair, PairMode
from tryon.errors import TryOnError
from tryon.evaluation import metrics as M
from tryon.evaluation.backbones import LPIPS, FeatureNet
from tryon.evaluation.distribution import (
    KID_SUBSETS,
    Features,
    extract_features,
    frechet_distance,
    kernel_distance,
)
from tryon.imageio import load_image, save_image
from tryon.pipeline import TryOn
from tryon.types import Mask

METRICS = ("ssim", "lpips", "fid", "kid", "shop")
RESULT_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


@dataclass(frozen=True)
class EvalConfig:
    """What to evaluate.

    Attributes:
        mode: paired (ground truth: the person photo) or unpaired pairs.
        metrics: which of ``METRICS`` to compute (SSIM and LPIPS only when paired).
        lpips_net: LPIPS trunk: "squeeze" (as CatVTON's evaluation), "alex" or "vgg".
        limit: evaluate only the first ``limit`` pairs (None: all).
        kid_subsets: KID's random subsets (clean-fid: 100).
        seed: KID's subset draws.
        device: torch device of the metric networks.
    """

    mode: PairMode = PairMode.PAIRED
    metrics: frozenset[str] = frozenset(METRICS)
    lpips_net: str = "squeeze"
    limit: int | None = None
    kid_subsets: int = KID_SUBSETS
    seed: int = 0
    device: str = "cpu"

    def wants(self, metric: str) -> bool:
        paired_only = metric in ("ssim", "lpips")
        return metric in self.metrics and (self.mode is PairMode.PAIRED or not paired_only)


@dataclass(frozen=True)
class Networks:
    """The metric networks, handed in (loaded from the cache, or tiny ones in tests)."""

    lpips: LPIPS | None = None
    features: FeatureNet | None = None


@dataclass
class PairScore:
    """One pair's result and scores (NaN / None where not computed)."""

    key: str
    person: str
    garment: str
    category: str
    result: str | None = None
    error: str | None = None
    ssim: float = math.nan
    lpips: float = math.nan
    changed_outside: float = math.nan
    face_psnr: float = math.nan
    delta_e: float = math.nan
    latency_s: float = math.nan
    resized: bool = False


@dataclass
class SystemScore:
    """One system's scores over the dataset."""

    name: str
    kind: str
    pairs: list[PairScore] = field(default_factory=list)
    fid: float = math.nan
    kid: float = math.nan
    peak_rss_mib: float = math.nan
    peak_cuda_mib: float = math.nan

    def summary(self) -> dict[str, Any]:
        """Means (and latency quantiles) over the pairs that produced a result."""
        done = [p for p in self.pairs if p.error is None]
        out: dict[str, Any] = {"pairs": len(self.pairs), "results": len(done)}
        for name in ("ssim", "lpips", "changed_outside", "face_psnr", "delta_e"):
            out[name] = mean([getattr(p, name) for p in done])
        faces = [p.face_psnr for p in done if not math.isnan(p.face_psnr)]
        out["face_identical"] = (
            sum(v >= M.PSNR_IDENTICAL for v in faces) / len(faces) if faces else math.nan
        )
        out["fid"] = self.fid
        out["kid_x1000"] = self.kid * 1000 if not math.isnan(self.kid) else math.nan
        latencies = sorted(p.latency_s for p in done if not math.isnan(p.latency_s))
        out["latency_median_s"] = statistics.median(latencies) if latencies else math.nan
        out["latency_p90_s"] = quantile(latencies, 0.9)
        out["peak_rss_mib"] = self.peak_rss_mib
        out["peak_cuda_mib"] = self.peak_cuda_mib
        return out


@dataclass
class Evaluation:
    """Everything a report needs."""

    dataset: Dataset
    config: EvalConfig
    out: Path
    systems: list[SystemScore]
    implementations: dict[str, str]
    real_images: int = 0
    networks_resolution: int = 0
    notes: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    """Metrics asked for by default but not computed (their weights are missing), each
    with why and how to get the weights."""


class EngineSystem:
    """One of our engines, run on every pair.

    Args:
        name: the name in the report.
        tryon: the loaded engine, or a function that loads it: then it is loaded when
            its turn comes (its loading counts in its peak memory) and let go after.
    """

    kind = "engine"

    def __init__(self, name: str, tryon: TryOn | Callable[[], TryOn]) -> None:
        self.name = name
        self.tryon = tryon

    @contextmanager
    def loaded(self) -> Iterator[TryOn]:
        """The engine, loaded for the block."""
        if isinstance(self.tryon, TryOn):
            yield self.tryon
            return
        tryon = self.tryon()
        try:
            yield tryon
        finally:
            tryon.close()  # waits for its threads: no model call outlives the block
            del tryon
            gc.collect()


class FolderSystem:
    """Results made elsewhere: ``DIR/<person stem>_<garment stem>.<ext>`` or ``DIR/<person>``."""

    kind = "results"

    def __init__(self, folder: Path, name: str | None = None) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise TryOnError(f"--results {str(folder)!r}: no such folder")
        self.name = name or self.folder.name

    def find(self, pair: Pair) -> Path | None:
        for stem in (
            pair.key,
            Path(pair.person).stem,
            f"{Path(pair.person).stem}__{Path(pair.garment).stem}",
        ):
            for suffix in RESULT_SUFFIXES:
                path = self.folder / f"{stem}{suffix}"
                if path.is_file():
                    return path
        return None


System = EngineSystem | FolderSystem


def evaluate(
    dataset: Dataset,
    systems: list[System],
    out: Path,
    config: EvalConfig | None = None,
    networks: Networks | None = None,
    on_step: Callable[[str], None] | None = None,
    skipped: Mapping[str, str] | None = None,
) -> Evaluation:
    """Runs and scores every system on the dataset's pairs; writes results under ``out``.

    ``skipped`` (metric -> why, and how to get its weights) names the metrics left out
    of ``config`` because they cannot be computed here; the report lists them.

    Raises:
        TryOnError: the dataset has no pairs of the mode, or a metric's network is missing.
    """
    config = config or EvalConfig()
    networks = networks or Networks()
    if config.wants("lpips") and networks.lpips is None:
        raise TryOnError("LPIPS was asked for but no LPIPS network was given")
    if (config.wants("fid") or config.wants("kid")) and networks.features is None:
        raise TryOnError("FID / KID were asked for but no feature network was given")
    pairs = dataset.pairs(config.mode)[: config.limit]
    if not pairs:
        raise TryOnError(
            f"{dataset.root} has no {config.mode.value} pairs"
            + (
                " (paired pairs need a garment photo named like the person photo); "
                "try --pairs unpaired"
                if config.mode is PairMode.PAIRED
                else ""
            )
        )
    step = on_step or (lambda name: None)
    evaluation = Evaluation(dataset, config, Path(out), [], implementations(config, networks))
    evaluation.skipped = dict(skipped or {})
    real: Features | None = None
    if networks.features is not None and (config.wants("fid") or config.wants("kid")):
        photos = dataset.person_photos()
        real = extract_features(
            (load_image(p) for p in photos), networks.features, device=config.device
        )
        evaluation.real_images = len(photos)
        evaluation.networks_resolution = networks.features.resolution
    names: set[str] = set()
    for system in systems:
        name = system.name if system.name not in names else f"{system.name} ({system.kind})"
        while name in names:
            name += "'"
        names.add(name)
        score = SystemScore(name, system.kind)
        if isinstance(system, EngineSystem):
            with watch_memory() as peak, system.loaded() as tryon:
                for pair in pairs:
                    score.pairs.append(run_pair(tryon, name, dataset, pair, Path(out)))
                    step(f"{name} {pair.key}")
            score.peak_rss_mib, score.peak_cuda_mib = peak()
        else:
            for pair in pairs:
                found = system.find(pair)
                entry = PairScore(pair.key, pair.person, pair.garment, pair.category.value)
                if found is None:
                    entry.error = "no result file"
                else:
                    entry.result = str(found)
                score.pairs.append(entry)
        for pair, entry in zip(pairs, score.pairs, strict=True):
            if entry.error is None:
                score_pair(entry, pair, dataset, config, networks)
        resized = sum(p.resized for p in score.pairs)
        if resized:
            evaluation.notes.append(
                f"{name}: {resized} results were not of the dataset's size and were resized "
                "to it (bicubic) before scoring"
            )
        if real is not None and networks.features is not None:
            score_distribution(score, real, networks.features, config, evaluation)
        evaluation.systems.append(score)
    return evaluation


def run_pair(tryon: TryOn, name: str, dataset: Dataset, pair: Pair, out: Path) -> PairScore:
    """Runs the engine on one pair and saves the result as ``out/results/<name>/<key>.png``."""
    files = dataset.files(pair)
    entry = PairScore(pair.key, pair.person, pair.garment, pair.category.value)
    start = time.perf_counter()
    try:
        result = tryon.run(files.person, files.garment, category=pair.category)
    except TryOnError as exc:
        entry.error = " ".join(str(exc).split())
        return entry
    entry.latency_s = time.perf_counter() - start
    folder = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    path = out / "results" / folder / f"{pair.key}.png"
    save_image(result.image, path)
    entry.result = str(path)
    return entry


def score_pair(
    entry: PairScore,
    pair: Pair,
    dataset: Dataset,
    config: EvalConfig,
    networks: Networks,
) -> None:
    """Fills in the per-image metrics of one pair whose result exists."""
    files = dataset.files(pair)
    person = load_image(files.person, role="dataset person photo")
    size = (int(person.shape[0]), int(person.shape[1]))
    try:
        result = load_image(Path(entry.result or ""), role="result")
    except TryOnError as exc:
        entry.error = " ".join(str(exc).split())
        return
    if result.shape != person.shape:
        # Systems that work at another resolution are scored at the dataset's.
        result = cv2.resize(result, person.shape[1::-1], interpolation=cv2.INTER_CUBIC)
        entry.resized = True
    if config.wants("ssim"):
        entry.ssim = M.ssim(result, person)
    if config.wants("lpips") and networks.lpips is not None:
        entry.lpips = M.lpips(result, person, networks.lpips)
    if not config.wants("shop"):
        return
    agnostic = read_mask(files.agnostic_mask, size)
    if agnostic is not None:
        entry.changed_outside = M.changed_outside(result, person, agnostic)
    keypoints = dataset.keypoints(pair, size)
    face = M.face_region(keypoints, size) if keypoints is not None else None
    if face is not None:
        # The chin's edge may lie in the agnostic mask (a collar goes there): only the
        # face pixels a try-on must keep count.
        entry.face_psnr = M.psnr(result, person, face & ~agnostic if agnostic is not None else face)
    garment_mask = read_mask(files.garment_mask, None)
    if agnostic is not None and garment_mask is not None:
        garment = load_image(files.garment, role="dataset garment photo")
        if garment_mask.shape == garment.shape[:2]:
            entry.delta_e = M.garment_delta_e(result, person, agnostic, garment, garment_mask)


def score_distribution(
    score: SystemScore,
    real: Features,
    net: FeatureNet,
    config: EvalConfig,
    evaluation: Evaluation,
) -> None:
    """FID and KID of the system's results against the real photos."""
    paths = [Path(p.result) for p in score.pairs if p.error is None and p.result]
    if len(paths) < 2 or len(real) < 2:
        evaluation.notes.append(f"{score.name}: FID / KID need two results at least")
        return
    fake = extract_features((load_image(p) for p in paths), net, device=config.device)
    if len(paths) < 2 * fake.shape[1]:
        evaluation.notes.append(
            f"{score.name}: FID / KID on {len(paths)} results ({fake.shape[1]}-d features) are "
            "noisy and biased upwards: compare them only between systems on the same pairs; "
            "published figures use full test sets (VITON-HD: 2,032 pairs)"
        )
    if config.wants("fid"):
        score.fid = frechet_distance(real, fake)
    if config.wants("kid"):
        score.kid = kernel_distance(real, fake, subsets=config.kid_subsets, seed=config.seed)


def read_mask(path: Path | None, shape: tuple[int, int] | None) -> Mask | None:
    """A grey mask file as bool (> 127); None when absent or of another size."""
    if path is None:
        return None
    grey = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if grey is None or (shape is not None and grey.shape != shape):
        return None
    return np.asarray(grey > 127)


def implementations(config: EvalConfig, networks: Networks) -> dict[str, str]:
    """How each metric was computed, for the report."""
    features = networks.features
    return {
        "SSIM": "torchmetrics structural_similarity_index_measure, data_range=1.0, Gaussian "
        "window 11, sigma 1.5, mean over RGB; at the dataset's resolution; paired pairs only",
        "LPIPS": f"LPIPS v0.1, {config.lpips_net} trunk (plain-torch port of torchvision's "
        "features, lpips 0.1.4 linear weights), inputs in [-1, 1] at the dataset's resolution; "
        "paired pairs only"
        if networks.lpips is not None
        else "not computed",
        "FID": f"clean-fid method (clean mode): PIL bicubic float resize to "
        f"{features.resolution} x {features.resolution}, features: {features.name}; "
        "Fréchet distance with scipy sqrtm"
        if features is not None
        else "not computed",
        "KID": f"clean-fid method: cubic polynomial kernel MMD, {config.kid_subsets} subsets of "
        f"at most 1000, seed {config.seed}; reported x 1000"
        if features is not None
        else "not computed",
        "changed outside": f"share of pixels outside the dataset's agnostic mask whose colour "
        f"moved by more than {M.CHANGE_TOLERANCE}/255 in a channel",
        "face PSNR": "PSNR (dB) of a face box from the OpenPose keypoints less the agnostic "
        f"mask, result vs the input photo; identical = {M.PSNR_IDENTICAL:.0f} dB (cap); "
        "faces identical: the share of results whose face is unchanged to the bit",
        "Delta E": "CIE76 between the median CIELAB of the garment photo (cloth mask) and "
        "the nearest of 3 colour clusters (each at least 20 % of the pixels) of the result's "
        "pixels the try-on changed inside the agnostic mask",
        "latency": "wall time of TryOn.run per pair (reading both photos included)",
        "peak memory": "peak resident set size of the process while the engine loaded and "
        "ran (sampled every 20 ms; engines run one after another in one process, so a later "
        "engine's figure includes what earlier ones left); CUDA: "
        "torch.cuda.max_memory_allocated",
    }


@contextmanager
def watch_memory(interval: float = 0.02) -> Iterator[Callable[[], tuple[float, float]]]:
    """Samples the process's RSS while the block runs; yields a getter of the peaks (MiB)."""
    peak = [current_rss_mib()]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(interval):
            peak[0] = max(peak[0], current_rss_mib())

    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    result = [math.nan, math.nan]

    def read() -> tuple[float, float]:
        return result[0], result[1]

    try:
        yield read
    finally:
        stop.set()
        thread.join()
        result[0] = max(peak[0], current_rss_mib())
        if cuda:
            result[1] = torch.cuda.max_memory_allocated() / 2**20


def current_rss_mib() -> float:
    """The process's resident set size now (Linux), else its peak so far."""
    try:
        with open("/proc/self/statm", encoding="ascii") as stream:
            pages = int(stream.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def mean(values: list[float]) -> float:
    kept = [v for v in values if not math.isnan(v)]
    return float(np.mean(kept)) if kept else math.nan


def quantile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return math.nan
    return float(np.quantile(sorted_values, q))


def pair_json(score: PairScore) -> dict[str, Any]:
    return {k: none_if_nan(v) for k, v in asdict(score).items()}


def none_if_nan(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value
