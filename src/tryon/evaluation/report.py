"""Writes an evaluation as ``metrics.json``, ``report.md`` and ``report.html`` with plots.

Files in the output folder::

    metrics.json          config, implementations, per-system summary and per-pair scores
    report.md, report.html  the same as tables, plots and image grids
    plots/distributions.png  per-image metric distributions, one panel per metric
    plots/latency.png        latency per engine (engines only)
    grids/<system>_best.png, grids/<system>_worst.png  person | garment | result rows
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image as PILImage

from tryon.debug.steps import contact_sheet
from tryon.evaluation.scoring import (
    Evaluation,
    PairScore,
    SystemScore,
    none_if_nan,
    pair_json,
)

GRID_ROWS = 4

# Per-image metric: (label, higher is better).
PER_IMAGE: dict[str, tuple[str, bool]] = {
    "ssim": ("SSIM", True),
    "lpips": ("LPIPS", False),
    "changed_outside": ("changed outside mask", False),
    "face_psnr": ("face PSNR (dB)", True),
    "delta_e": ("garment Delta E", False),
}

# Summary columns: (key, header, format).
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("results", "results", "{:.0f}"),
    ("ssim", "SSIM ↑", "{:.4f}"),
    ("lpips", "LPIPS ↓", "{:.4f}"),
    ("fid", "FID ↓", "{:.2f}"),
    ("kid_x1000", "KID×1000 ↓", "{:.2f}"),
    ("changed_outside", "changed outside ↓", "{:.4%}"),
    ("face_psnr", "face PSNR dB ↑", "{:.1f}"),
    ("face_identical", "faces identical ↑", "{:.0%}"),
    ("delta_e", "ΔE ↓", "{:.2f}"),
    ("latency_median_s", "latency median s", "{:.3f}"),
    ("latency_p90_s", "latency p90 s", "{:.3f}"),
    ("peak_rss_mib", "peak RSS MiB", "{:.0f}"),
    ("peak_cuda_mib", "peak CUDA MiB", "{:.0f}"),
)


def write_report(evaluation: Evaluation) -> list[Path]:
    """Writes metrics.json, the plots, the grids, report.md and report.html; returns them."""
    out = evaluation.out
    out.mkdir(parents=True, exist_ok=True)
    document = metrics_document(evaluation)
    written = [write_text(out / "metrics.json", json.dumps(document, indent=2) + "\n")]
    plots = [p for p in (plot_distributions(evaluation), plot_latency(evaluation)) if p]
    grids = {s.name: write_grids(evaluation, s) for s in evaluation.systems}
    written += plots + [g for pair in grids.values() for g in pair]
    written.append(write_text(out / "report.md", markdown(evaluation, document, plots, grids)))
    written.append(write_text(out / "report.html", html_page(evaluation, document, plots, grids)))
    return written


def metrics_document(evaluation: Evaluation) -> dict[str, Any]:
    config = evaluation.config
    return {
        "dataset": {
            "root": str(evaluation.dataset.root),
            "layout": evaluation.dataset.layout,
            "mode": config.mode.value,
            "real_images_for_fid": evaluation.real_images,
        },
        "config": {
            "metrics": sorted(config.metrics),
            "lpips_net": config.lpips_net,
            "limit": config.limit,
            "kid_subsets": config.kid_subsets,
            "seed": config.seed,
            "device": config.device,
        },
        "implementations": evaluation.implementations,
        "systems": {
            s.name: {
                "kind": s.kind,
                "summary": {k: none_if_nan(v) for k, v in s.summary().items()},
                "pairs": [pair_json(p) for p in s.pairs],
            }
            for s in evaluation.systems
        },
        "notes": evaluation.notes,
        "skipped_metrics": evaluation.skipped,
    }


# --- plots -------------------------------------------------------------------------


def plot_distributions(evaluation: Evaluation) -> Path | None:
    """One panel per per-image metric with values: a histogram per system."""
    shown = [name for name in PER_IMAGE if any(values(s, name) for s in evaluation.systems)]
    if not shown:
        return None
    fig, axes = plt.subplots(1, len(shown), figsize=(4 * len(shown), 3.2), squeeze=False)
    for ax, name in zip(axes[0], shown, strict=True):
        for system in evaluation.systems:
            data = values(system, name)
            if data:
                ax.hist(data, bins=min(20, max(3, len(data))), alpha=0.6, label=system.name)
        label, higher = PER_IMAGE[name]
        ax.set_title(f"{label} ({'higher' if higher else 'lower'} is better)", fontsize=10)
        ax.set_ylabel("pairs")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, evaluation.out / "plots" / "distributions.png")


def plot_latency(evaluation: Evaluation) -> Path | None:
    """Latency per engine as box plots (engines only)."""
    engines = [(s.name, values(s, "latency_s")) for s in evaluation.systems if s.kind == "engine"]
    engines = [(name, data) for name, data in engines if data]
    if not engines:
        return None
    fig, ax = plt.subplots(figsize=(1.8 * len(engines) + 3, 3.2))
    ax.boxplot([data for _, data in engines], showmeans=True)
    ax.set_xticks(range(1, len(engines) + 1), [name for name, _ in engines])
    ax.set_ylabel("seconds per try-on")
    ax.set_title("latency per engine (TryOn.run, wall time)", fontsize=10)
    ax.set_ylim(bottom=0)
    fig.tight_layout()
    return save_figure(fig, evaluation.out / "plots" / "latency.png")


def values(system: SystemScore, name: str) -> list[float]:
    return [
        float(getattr(p, name))
        for p in system.pairs
        if p.error is None and not math.isnan(getattr(p, name))
    ]


def save_figure(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# --- grids -------------------------------------------------------------------------


def ranking(system: SystemScore) -> tuple[str, list[PairScore]]:
    """The metric the grids rank by and the scored pairs, best first."""
    for name in ("ssim", "lpips", "delta_e", "changed_outside"):
        scored = [p for p in system.pairs if p.error is None and not math.isnan(getattr(p, name))]
        if scored:
            higher = PER_IMAGE[name][1]
            return name, sorted(scored, key=lambda p: getattr(p, name), reverse=higher)
    return "", [p for p in system.pairs if p.error is None]


def write_grids(evaluation: Evaluation, system: SystemScore) -> tuple[Path, ...]:
    """``<system>_best.png`` and ``<system>_worst.png``: up to four rows each."""
    metric, ranked = ranking(system)
    if not ranked:
        return ()
    count = min(GRID_ROWS, max(1, len(ranked) // 2)) if len(ranked) > 1 else 1
    chosen = {"best": ranked[:count], "worst": ranked[::-1][:count]}
    out = []
    for name, pairs in chosen.items():
        rows = [grid_row(evaluation, pair, metric) for pair in pairs]
        out.append(save_stack(rows, evaluation.out / "grids" / f"{slug(system.name)}_{name}.png"))
    return tuple(out)


def grid_row(evaluation: Evaluation, pair: PairScore, metric: str) -> PILImage.Image:
    """person | garment | result, captioned with the pair and its score."""
    files = evaluation.dataset.files(
        next(p for p in evaluation.dataset.pairs(evaluation.config.mode) if p.key == pair.key)
    )
    label = PER_IMAGE[metric][0] if metric else ""
    score = f"{label} {getattr(pair, metric):.4g}" if metric else ""
    ground = "person = ground truth" if evaluation.config.mode.value == "paired" else "person"
    tiles = [
        (PILImage.open(files.person).convert("RGB"), f"{ground}: {pair.person}"),
        (PILImage.open(files.garment).convert("RGB"), f"garment: {pair.garment}"),
        (PILImage.open(pair.result or "").convert("RGB"), f"result; {score}"),
    ]
    return contact_sheet(tiles)


def save_stack(rows: list[PILImage.Image], path: Path) -> Path:
    width = max(r.width for r in rows)
    sheet = PILImage.new("RGB", (width, sum(r.height for r in rows)), "white")
    top = 0
    for row in rows:
        sheet.paste(row, (0, top))
        top += row.height
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path


def slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


# --- documents -----------------------------------------------------------------------


def cell(value: Any, fmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return fmt.format(value)


def summary_rows(document: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    systems = document["systems"]
    keys = [
        (key, header, fmt)
        for key, header, fmt in COLUMNS
        if any(s["summary"].get(key) is not None for s in systems.values())
    ]
    headers = ["system", "kind", *[h for _, h, _ in keys]]
    rows = [
        [name, s["kind"], *[cell(s["summary"].get(k), f) for k, _, f in keys]]
        for name, s in systems.items()
    ]
    return headers, rows


def resolution_line(evaluation: Evaluation) -> str:
    photos = evaluation.dataset.person_photos()
    size = "unknown"
    if photos:
        with PILImage.open(photos[0]) as first:
            size = f"{first.width} x {first.height}"
    line = (
        f"SSIM, LPIPS and the shop metrics at the dataset's resolution ({size}; results of "
        "another size are resized to it with bicubic interpolation)"
    )
    if not evaluation.real_images:
        return line + "."
    side = evaluation.networks_resolution
    return (
        f"{line}; FID and KID on clean-fid's {side} x {side} resize, against "
        f"{evaluation.real_images} real person photos."
    )


def failures(document: dict[str, Any]) -> list[str]:
    return [
        f"{name}: {p['key']}: {p['error']}"
        for name, s in document["systems"].items()
        for p in s["pairs"]
        if p["error"]
    ]


def markdown(
    evaluation: Evaluation,
    document: dict[str, Any],
    plots: list[Path],
    grids: dict[str, tuple[Path, ...]],
) -> str:
    out = evaluation.out
    data = document["dataset"]
    headers, rows = summary_rows(document)
    lines = [
        "# Try-on evaluation",
        "",
        f"Dataset `{data['root']}` ({data['layout']}), {data['mode']} pairs.",
        "",
        "| " + " | ".join(headers) + " |",
        "|" + "---|" * len(headers),
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
        "## How the metrics were computed",
        "",
        f"Resolution: {resolution_line(evaluation)}",
        "",
        *(f"- **{name}**: {how}" for name, how in document["implementations"].items()),
        "",
    ]
    if plots:
        lines += ["## Plots", ""]
        lines += [f"![{p.stem}]({p.relative_to(out).as_posix()})" for p in plots] + [""]
    for name, paths in grids.items():
        if paths:
            lines += [f"## {name}: best and worst", ""]
            lines += [f"![{p.stem}]({p.relative_to(out).as_posix()})" for p in paths] + [""]
    if evaluation.skipped:
        lines += ["## Metrics not computed", ""]
        lines += [f"- **{name}**: {why}" for name, why in evaluation.skipped.items()] + [""]
    problems = failures(document) + document["notes"]
    if problems:
        lines += ["## Pairs without a result, notes", ""] + [f"- {p}" for p in problems] + [""]
    return "\n".join(lines)


def html_page(
    evaluation: Evaluation,
    document: dict[str, Any],
    plots: list[Path],
    grids: dict[str, tuple[Path, ...]],
) -> str:
    out = evaluation.out
    e = html.escape
    data = document["dataset"]
    headers, rows = summary_rows(document)
    table = (
        "<table><tr>"
        + "".join(f"<th>{e(h)}</th>" for h in headers)
        + "</tr>"
        + "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows)
        + "</table>"
    )
    items = "".join(
        f"<li><b>{e(name)}</b>: {e(how)}</li>" for name, how in document["implementations"].items()
    )
    images = "".join(
        f'<figure><img src="{e(p.relative_to(out).as_posix())}" alt="{e(p.stem)}">'
        f"<figcaption>{e(p.stem)}</figcaption></figure>"
        for p in [*plots, *(g for paths in grids.values() for g in paths)]
    )
    problems = "".join(f"<li>{e(p)}</li>" for p in failures(document) + document["notes"])
    skipped = "".join(
        f"<li><b>{e(name)}</b>: {e(why)}</li>" for name, why in evaluation.skipped.items()
    )
    style = (
        "body{font-family:sans-serif;margin:2em;max-width:1400px}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;"
        "text-align:right}td:first-child,th:first-child{text-align:left}"
        "img{max-width:100%}figure{margin:1em 0}"
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Try-on evaluation</title>"
        f"<style>{style}</style></head><body><h1>Try-on evaluation</h1>"
        f"<p>Dataset <code>{e(data['root'])}</code> ({e(data['layout'])}), "
        f"{e(data['mode'])} pairs.</p>{table}"
        f"<h2>How the metrics were computed</h2><p>Resolution: {e(resolution_line(evaluation))}"
        f"</p><ul>{items}</ul><h2>Plots and image grids</h2>{images}"
        + (f"<h2>Metrics not computed</h2><ul>{skipped}</ul>" if skipped else "")
        + (f"<h2>Pairs without a result, notes</h2><ul>{problems}</ul>" if problems else "")
        + "</body></html>\n"
    )


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def nan_to_none(array: np.ndarray) -> list[float | None]:
    return [None if math.isnan(v) else float(v) for v in array]
