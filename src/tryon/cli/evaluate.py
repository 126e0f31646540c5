"""``tryon eval DATASET --engine E`` / ``tryon eval DATASET --results DIR``."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from tryon.cli.common import (
    EXIT_OK,
    Commands,
    add_shared_option,
    check_writable_dir,
    command_parser,
)
from tryon.errors import TryOnError

if TYPE_CHECKING:
    from tryon.evaluation.scoring import EvalConfig, Evaluation, Networks

PAIR_MODES = ("paired", "unpaired")
LPIPS_CHOICES = ("squeeze", "alex", "vgg")
METRIC_NAMES = ("ssim", "lpips", "fid", "kid", "shop")

SUMMARY = "score engines or result folders on a dataset (SSIM, LPIPS, FID, KID, shop metrics)"

DESCRIPTION = """\
Scores try-on systems on a VITON-HD or DressCode dataset (for example one made by
'tryon dataset build'): runs our engines on every pair (--engine, repeatable), or
scores folders of results made by any other system (--results, repeatable; files
named <person stem>_<garment stem>.png/.jpg, or <person stem>.png).

Metrics: SSIM (torchmetrics, data range 1) and LPIPS (SqueezeNet by default, as
CatVTON's evaluation) against the ground truth of paired pairs; FID and KID
(clean-fid's method, KID x 1000) against the dataset's person photos; and what
shops check: pixels changed outside the agnostic mask, face-region PSNR against
the input, garment colour Delta E, latency and peak memory per engine.

LPIPS, FID and KID need published network weights in a local cache folder
(--cache, else $TRYON_EVAL_WEIGHTS, else ~/.cache/tryon/eval); nothing is
downloaded. With the default metrics, those whose weights are missing are left
out: a note on stderr and a section of report.md name each missing file and how
to get it. A metric asked for with --metrics whose weights are missing stops the
command with one error naming the files and how to get them."""

EPILOG = """\
writes into --out: metrics.json, report.md, report.html, plots/, grids/ (best
and worst pairs) and results/<engine>/ (the engines' results).

exit codes: 0 done (also when default metrics were left out), 2 bad input or
missing weights of a metric given with --metrics, 1 unexpected error.

examples:
  tryon eval data/mine --engine warp --metrics ssim,shop
  tryon eval data/viton-hd --engine warp --engine hybrid --pairs unpaired --out eval/
  tryon eval data/viton-hd --results ladi-vton-results/ --results catvton-results/
"""


def register(commands: Commands) -> None:
    """Adds ``tryon eval`` to the command line."""
    parser = command_parser(
        commands,
        "eval",
        summary=SUMMARY,
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    parser.add_argument(
        "dataset", metavar="DATASET", type=Path, help="VITON-HD or DressCode folder"
    )
    parser.add_argument(
        "--engine", action="append", default=[], metavar="E", help="an engine to run (repeatable)"
    )
    parser.add_argument(
        "--results",
        action="append",
        default=[],
        type=Path,
        metavar="DIR",
        help="a folder of results made by another system (repeatable)",
    )
    parser.add_argument(
        "--pairs", choices=PAIR_MODES, default="paired", help="which pairs (default: paired)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("tryon-eval"), help="report folder (default: tryon-eval)"
    )
    parser.add_argument(
        "--metrics",
        help=f"comma-separated subset of {','.join(METRIC_NAMES)} (default: all whose "
        "weights are in the cache folder)",
    )
    parser.add_argument(
        "--lpips-net",
        choices=LPIPS_CHOICES,
        default="squeeze",
        help="LPIPS trunk (default: squeeze)",
    )
    parser.add_argument("--cache", type=Path, help="folder of the metric networks' weights")
    add_shared_option(
        parser, "--weights", "diffusion weights folder for the catvton and hybrid engines"
    )
    parser.add_argument("--limit", type=int, metavar="N", help="only the first N pairs")
    parser.add_argument("--device", default="cpu", help="torch device of the metric networks")
    add_shared_option(parser, "--quiet", "no progress bar")
    parser.set_defaults(handler=eval_command)


def parse_metrics(value: str) -> frozenset[str]:
    """``--metrics``: the chosen metric names; TryOnError for an unknown or empty choice."""
    chosen = {v.strip().lower() for v in value.split(",") if v.strip()}
    unknown = sorted(chosen - set(METRIC_NAMES))
    if unknown or not chosen:
        raise TryOnError(f"--metrics {value!r}: choose from {', '.join(METRIC_NAMES)}")
    return frozenset(chosen)


def eval_command(args: argparse.Namespace) -> int:
    """Loads the networks (failing early on missing weights), runs, scores, reports."""
    from tryon.dataset.layout import PairMode, open_dataset
    from tryon.dataset.progress import Progress
    from tryon.engines import ENGINES

    try:
        from tryon.evaluation.report import write_report
        from tryon.evaluation.scoring import (
            EngineSystem,
            EvalConfig,
            FolderSystem,
            System,
            evaluate,
        )
    except ImportError as exc:
        raise TryOnError(
            f"tryon eval needs the eval extra ({exc.name} is not installed): "
            "pip install 'tryon[eval]' (it pins torch==2.13.0)"
        ) from None
    from tryon.evaluation.weights import MissingWeightsError, default_cache_dir
    from tryon.pipeline import TryOn

    if not args.engine and not args.results:
        raise TryOnError(
            "give --engine E (run one of our engines) or --results DIR (score a folder)"
        )
    unknown = [e for e in args.engine if e not in ENGINES]
    if unknown:
        raise TryOnError(f"unknown engine {unknown[0]!r}: use one of {', '.join(sorted(ENGINES))}")
    if args.limit is not None and args.limit < 1:
        raise TryOnError("--limit must be 1 or more")
    check_writable_dir(args.out, "--out")
    dataset = open_dataset(args.dataset)
    config = EvalConfig(
        mode=PairMode(args.pairs),
        metrics=parse_metrics(args.metrics or ",".join(METRIC_NAMES)),
        lpips_net=args.lpips_net,
        limit=args.limit,
        device=args.device,
    )
    pairs = dataset.pairs(config.mode)[: config.limit]
    cache = args.cache or default_cache_dir()
    config, skipped = computable_metrics(config, cache, explicit=args.metrics is not None)
    try:
        networks = load_networks(config, cache)
    except MissingWeightsError as exc:
        raise TryOnError(f"{exc}. To score without these networks: --metrics ssim,shop") from None
    for metric, why in skipped.items():
        print(f"note: {metric} not computed: {why}", file=sys.stderr)
    folders: list[System] = [FolderSystem(folder) for folder in args.results]
    progress = Progress(len(pairs) * len(args.engine), "eval", enabled=not args.quiet)
    engines: list[System] = [
        EngineSystem(name, partial(TryOn, engine=name, weights=args.weights))
        for name in args.engine
    ]
    evaluation = evaluate(
        dataset, engines + folders, args.out, config, networks, progress.step, skipped
    )
    progress.close()
    written = write_report(evaluation)
    print_scores(evaluation)
    print(f"wrote {written[-1].parent / 'report.md'} and report.html, metrics.json")
    return EXIT_OK


def print_scores(evaluation: Evaluation) -> None:
    """One line per system: results made and its mean scores; a note on missing results."""
    for system in evaluation.systems:
        summary = system.summary()
        shown = ", ".join(
            f"{k} {v:.4g}"
            for k, v in summary.items()
            if k not in ("pairs", "results") and isinstance(v, float) and v == v
        )
        print(f"{system.name}: {summary['results']}/{summary['pairs']} results; {shown}")
    missing = sum(p.error is not None for s in evaluation.systems for p in s.pairs)
    if missing:
        print(f"note: {missing} pairs have no result; see report.md", file=sys.stderr)


def computable_metrics(
    config: EvalConfig, cache: Path, *, explicit: bool
) -> tuple[EvalConfig, dict[str, str]]:
    """The config without the metrics whose weights are missing from ``cache``.

    Args:
        config: The metrics asked for.
        cache: The metric weights folder.
        explicit: Whether ``--metrics`` chose them: then missing weights are an error.

    Returns:
        The config of the metrics that can be computed, and for each metric left out
        why and how to get its weights (none when ``explicit``).

    Raises:
        TryOnError: ``explicit`` and weights are missing; one line naming every missing
            file, how to get it, and the metrics that need none.
    """
    from tryon.evaluation.weights import (
        absent_message,
        metric_weights,
        missing,
        unavailable_metrics,
    )

    wanted = [m for m in METRIC_NAMES if config.wants(m)]
    skipped = unavailable_metrics(cache, wanted, config.lpips_net)
    if not skipped:
        return config, {}
    if explicit:
        # Each file once: FID and KID read the same one.
        needed = dict.fromkeys(r for m in skipped for r in metric_weights(m, config.lpips_net))
        rest = ",".join(m for m in wanted if m not in skipped) or "ssim,shop"
        raise TryOnError(
            f"--metrics {','.join(skipped)} cannot be computed: "
            f"{absent_message(cache, missing(cache, list(needed)))}. "
            f"To score without these networks: --metrics {rest}"
        )
    return replace(config, metrics=config.metrics - skipped.keys()), skipped


def load_networks(config: EvalConfig, cache: Path) -> Networks:
    """The LPIPS and Inception networks the config needs, from ``cache``."""
    from tryon.evaluation.backbones import load_inception, load_lpips
    from tryon.evaluation.scoring import Networks

    lpips = load_lpips(config.lpips_net, cache) if config.wants("lpips") else None
    wants_features = config.wants("fid") or config.wants("kid")
    features = load_inception(cache, device=config.device) if wants_features else None
    if lpips is not None:
        lpips = lpips.to(config.device)
    return Networks(lpips=lpips, features=features)
