"""Load benchmark of the HTTP service: many concurrent shoppers over loopback.

Usage: python benchmarks/bench_service.py [--requests N] [--concurrency C] [--format F]
                                          [--new-photos]
       python benchmarks/bench_service.py --large [--format F] [--threads T]

Starts the real server in its own process (``tryon serve``: uvicorn, warp engine,
a temporary catalog; ``--workers`` and ``--threads`` are passed on), adds the
sample garments to the catalog over HTTP, then drives ``POST /v1/tryon`` with
catalogued garment ids and the sample people (centre-cropped to 768x1024) from C
concurrent clients until N requests are done.

Traffic: by default the same few shoppers try every garment, as on a shop's page,
so the server analyses each person photo once and reuses it (its person cache).
``--new-photos`` makes every request's photo new to the server (the same pixels
with a unique JPEG comment): each request then analyses its photo.

Before the load run, a short sequential probe (one request at a time) splits each
request's latency into the engine's own stages (``X-Tryon-Timings``) and what the
server adds around them (upload parsing, decoding, encoding, thread hand-off).
Then ``--warmup`` requests at full concurrency (not counted) bring the server to its
steady state (every pool thread has run try-ons), and RSS "before" is taken there.

Prints a Markdown table (throughput, p50/p95/p99 latency, errors, server RSS
before / after and every 500 requests) and one JSON line with the same figures.
Targets (issue 4, 2-core machine): >= 8 try-ons/s at concurrency 8, p95 <= 0.5 s,
zero errors, RSS flat within 10% over 2,000 requests.

``--large``: memory under large photos instead. After one try-on at 768x1024 (the
server's idle RSS is taken there, once the pool has fallen idle), two concurrent
try-ons of 12-megapixel JPEGs, then two of 45-megapixel JPEGs (a sample person upscaled
with added noise, so the files are 0.6 and 1.7 MB like a phone's; each request's bytes
new to the server). The server's RSS is sampled every 20 ms while each pair runs (its
peak) and 10, 20 and 30 s after the last answer. Prints a table and one JSON line.
Targets: a 45-megapixel try-on adds at most 1 GB of peak RSS over a 12-megapixel one,
and the server is back within 10% of its idle RSS after the requests end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import cv2
import httpx
import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")

from bench_warp import photo_3x4

from tryon.imageio import load_image

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
RSS_EVERY = 500
"""Sample the server's memory every this many completed requests."""

SPLIT = ("latency", "engine", "encode", "rest")
"""How one request's time is split (see ``split_latency``)."""

TARGETS = {"throughput_per_s": 8.0, "p95_s": 0.5, "errors": 0, "rss_growth": 0.10}
LARGE_TARGETS = {"added_peak_mb_per_tryon": 1024.0, "rss_return": 0.10}
LARGE_SIZES = (12, 45)
"""Megapixels of the photos of ``--large``, the reference first."""
SETTLE_S = (10, 20, 30)
"""Seconds after the last large answer at which the server's RSS is read."""


# ---------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_tree(pid: int) -> list[int]:
    """A process and all its descendants (Linux /proc)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                pending.extend(int(child) for child in (task / "children").read_text().split())
            except FileNotFoundError:
                continue
    return found


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, MB."""
    total_kb = 0
    for current in process_tree(pid):
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except FileNotFoundError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total_kb += int(line.split()[1])
    return total_kb / 1024


def tree_cpu_s(pid: int) -> float:
    """CPU time (user + system) used so far by a process and its descendants, seconds."""
    ticks = 0
    for current in process_tree(pid):
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def wait_healthy(base: str, server: subprocess.Popen[bytes], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with code {server.returncode} before answering")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"the server did not answer /healthz within {timeout_s:.0f} s")


# ---------------------------------------------------------------- workload


def encode_jpeg(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(
        ".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90]
    )
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return data.tobytes()


def add_garments(client: httpx.Client) -> dict[str, str]:
    """Adds every sample garment to the server's catalog; returns name -> garment id."""
    ids = {}
    for path in sorted((SAMPLES / "garments").glob("*_front.jpg")):
        with path.open("rb") as photo:
            response = client.post(
                "/v1/garments",
                files={"photo": (path.name, photo, "image/jpeg")},
                data={"name": path.stem},
            )
        if response.status_code not in (200, 201):
            raise SystemExit(f"adding {path.name} failed: {response.status_code} {response.text}")
        ids[path.stem] = response.json()["id"]
    return ids


@dataclasses.dataclass(frozen=True)
class Pair:
    person: str
    garment: str
    person_jpeg: bytes
    garment_id: str


def post_tryon(
    client: httpx.Client, pair: Pair, fmt: str | None, new_photo: int | None = None
) -> httpx.Response:
    return client.post(
        "/v1/tryon", files=person_file(pair, new_photo), data=tryon_fields(pair, fmt)
    )


def person_file(pair: Pair, new_photo: int | None = None) -> dict[str, tuple[str, bytes, str]]:
    """The person photo as a form file; with ``new_photo``, bytes no request sent before."""
    jpeg = pair.person_jpeg if new_photo is None else with_comment(pair.person_jpeg, new_photo)
    return {"person": (f"{pair.person}.jpg", jpeg, "image/jpeg")}


def with_comment(jpeg: bytes, number: int) -> bytes:
    """The same JPEG with a comment segment right after its start marker: the pixels
    are unchanged, the bytes (and so any content hash) are new."""
    text = f"request {number}".encode()
    segment = b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text
    return jpeg[:2] + segment + jpeg[2:]


def tryon_fields(pair: Pair, fmt: str | None) -> dict[str, str]:
    return {"garment_id": pair.garment_id, **({"format": fmt} if fmt else {})}


def usable_pairs(
    client: httpx.Client, people: dict[str, bytes], garments: dict[str, str], fmt: str | None
) -> tuple[list[Pair], list[str]]:
    """Every person x garment pair the engine accepts (a selfie has no legs for trousers)."""
    pairs, excluded = [], []
    for person, jpeg in people.items():
        for garment, garment_id in garments.items():
            pair = Pair(person, garment, jpeg, garment_id)
            response = post_tryon(client, pair, fmt)
            if response.status_code == 200:
                pairs.append(pair)
            else:
                excluded.append(f"{person} x {garment} ({error_kind(response)})")
    return pairs, excluded


def error_kind(response: httpx.Response) -> str:
    """The API's error type ("NoPersonError"), else the status code."""
    try:
        return str(response.json()["error"]["type"])
    except (ValueError, KeyError, TypeError):
        return str(response.status_code)


def percentile_ms(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000 if values else float("nan")


def split_latency(response: httpx.Response, wall: float) -> dict[str, float]:
    """One request's latency split into the engine, the image encoding and the rest.

    The rest is what the server and the loopback add around them: receiving and
    checking the upload, waiting for a pool thread, and sending the answer.
    """
    timings = json.loads(response.headers.get("X-Tryon-Timings", "{}"))
    engine = float(timings.get("total", 0.0))
    encode = float(timings.get("encode", 0.0))
    return {"latency": wall, "engine": engine, "encode": encode, "rest": wall - engine - encode}


def p50_ms(parts: list[dict[str, float]]) -> dict[str, float]:
    """The p50 of each part of ``split_latency`` over many requests, ms."""
    return {name: percentile_ms([p[name] for p in parts], 50) for name in parts[0]} if parts else {}


def overhead_probe(
    client: httpx.Client, pairs: list[Pair], runs: int, fmt: str | None, new_photos: bool
) -> list[dict[str, float]]:
    """Sequential requests (no queueing): each one's latency split by ``split_latency``."""
    parts = []
    for i in range(runs):
        start = time.perf_counter()
        response = post_tryon(client, pairs[i % len(pairs)], fmt, -1 - i if new_photos else None)
        wall = time.perf_counter() - start
        response.raise_for_status()
        parts.append(split_latency(response, wall))
    return parts


async def load_run(
    base: str,
    pairs: list[Pair],
    requests: int,
    concurrency: int,
    fmt: str | None,
    server_pid: int,
    new_photos: bool,
    first_photo: int = 0,
) -> tuple[list[dict[str, float]], Counter[str], list[tuple[int, float]], float]:
    """Drives the server; returns each answer's latency split, errors, RSS samples, wall time."""
    parts: list[dict[str, float]] = []
    errors: Counter[str] = Counter()
    rss: list[tuple[int, float]] = []
    issued = 0
    done = 0

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal issued, done
        while issued < requests:
            pair = pairs[issued % len(pairs)]
            photo = person_file(pair, first_photo + issued if new_photos else None)
            issued += 1
            start = time.perf_counter()
            try:
                response = await client.post("/v1/tryon", files=photo, data=tryon_fields(pair, fmt))
                await response.aread()
                if response.status_code == 200:
                    parts.append(split_latency(response, time.perf_counter() - start))
                else:
                    errors[f"{response.status_code} {error_kind(response)}"] += 1
            except httpx.HTTPError as error:
                errors[type(error).__name__] += 1
            done += 1
            if done % RSS_EVERY == 0:
                rss.append((done, tree_rss_mb(server_pid)))

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
        start = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
        wall = time.perf_counter() - start
    return parts, errors, rss, wall


# ---------------------------------------------------------------- large photos


def large_photo_jpeg(megapixels: float, seed: int) -> bytes:
    """A sample person upscaled to ``megapixels`` with +-3 levels of noise (a real
    photo's grain: the JPEG is as large as a phone's), quality 80."""
    image = load_image(SAMPLES / "people" / "p1_studio.jpg")
    h, w = image.shape[:2]
    scale = (megapixels * 1e6 / (h * w)) ** 0.5
    big = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_CUBIC)
    rng = np.random.default_rng(seed)
    for rows in range(0, big.shape[0], 512):  # in bands: no int16 copy of the whole photo
        band = big[rows : rows + 512].astype(np.int16)
        band += rng.integers(-3, 4, band.shape, dtype=np.int16)
        big[rows : rows + 512] = np.clip(band, 0, 255)
    ok, data = cv2.imencode(
        ".jpg", cv2.cvtColor(big, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80]
    )
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return data.tobytes()


class PeakSampler:
    """Samples a process tree's RSS every 20 ms on a thread; ``peak_mb`` is the largest."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_mb = tree_rss_mb(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, tree_rss_mb(self.pid))

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak_mb = max(self.peak_mb, tree_rss_mb(self.pid))


def concurrent_tryons(
    base: str, photos: list[bytes], garment_id: str, fmt: str | None
) -> list[tuple[int, float, int]]:
    """Sends every photo at once; each answer's status, seconds and size in bytes."""

    async def one(client: httpx.AsyncClient, photo: bytes) -> tuple[int, float, int]:
        start = time.perf_counter()
        response = await client.post(
            "/v1/tryon",
            files={"person": ("large.jpg", photo, "image/jpeg")},
            data={"garment_id": garment_id, **({"format": fmt} if fmt else {})},
        )
        return response.status_code, time.perf_counter() - start, len(response.content)

    async def run() -> list[tuple[int, float, int]]:
        async with httpx.AsyncClient(base_url=base, timeout=600) as client:
            return list(await asyncio.gather(*(one(client, photo) for photo in photos)))

    return asyncio.run(run())


def settle(pid: int, since: float) -> dict[int, float]:
    """The tree's RSS, MB, ``SETTLE_S`` seconds after ``since`` (a monotonic time)."""
    found = {}
    for after in SETTLE_S:
        time.sleep(max(0.0, since + after - time.monotonic()))
        found[after] = tree_rss_mb(pid)
    return found


def large_run(base: str, pid: int, fmt: str | None, threads: int) -> dict[str, object]:
    """The ``--large`` measurements on a started server."""
    with httpx.Client(base_url=base, timeout=120) as client:
        garment_id = add_garments(client)["shirts_2_front"]
        small = Pair(
            "p1_studio",
            "shirts_2_front",
            encode_jpeg(photo_3x4(SAMPLES / "people" / "p1_studio.jpg")),
            garment_id,
        )
        post_tryon(client, small, fmt).raise_for_status()
    time.sleep(2)  # the pool has fallen idle and handed its free memory back
    idle = tree_rss_mb(pid)
    figures: dict[str, object] = {"rss_idle_mb": round(idle, 1)}
    for seed, megapixels in enumerate(LARGE_SIZES):
        photos = [large_photo_jpeg(megapixels, 2 * seed + i) for i in range(2)]
        with PeakSampler(pid) as sampler:
            answers = concurrent_tryons(base, photos, garment_id, fmt)
        ended = time.monotonic()
        figures[f"{megapixels}mp"] = {
            "jpeg_mb": [round(len(p) / 1e6, 2) for p in photos],
            "status": [a[0] for a in answers],
            "seconds": [round(a[1], 2) for a in answers],
            "answer_mb": [round(a[2] / 1e6, 2) for a in answers],
            "peak_rss_mb": round(sampler.peak_mb, 1),
        }
        if megapixels != LARGE_SIZES[-1]:
            time.sleep(3)
    after = settle(pid, ended)
    peaks = [figures[f"{m}mp"]["peak_rss_mb"] for m in LARGE_SIZES]  # type: ignore[index]
    added = (peaks[1] - peaks[0]) / 2  # two try-ons at once
    back = max(after.values()) / idle - 1
    figures.update(
        {
            "threads": threads,
            "added_peak_mb_per_tryon": round(added, 1),
            "rss_after_mb": {str(k): round(v, 1) for k, v in after.items()},
            "rss_after_vs_idle": round(back, 4),
            "targets_met": {
                "added_peak": added <= LARGE_TARGETS["added_peak_mb_per_tryon"],
                "rss_return": back <= LARGE_TARGETS["rss_return"],
            },
        }
    )
    return figures


def report_large(figures: dict[str, object]) -> None:
    print(
        f"\nservice memory, large photos: warp engine, {os.cpu_count()} CPUs, "
        f"{figures['threads']} thread(s), two try-ons at once"
    )
    print("\n| photos | JPEG MB | seconds | peak RSS MB |")
    print("|---|---|---|---:|")
    for megapixels in LARGE_SIZES:
        run = figures[f"{megapixels}mp"]
        assert isinstance(run, dict)
        print(
            f"| 2 x {megapixels} MP | {run['jpeg_mb']} | {run['seconds']} "
            f"| {run['peak_rss_mb']:.0f} |"
        )
    after = figures["rss_after_mb"]
    assert isinstance(after, dict)
    print(
        f"\nidle RSS {figures['rss_idle_mb']} MB; after the requests: "
        + ", ".join(f"{k} s {v:.0f} MB" for k, v in after.items())
        + f" ({figures['rss_after_vs_idle']:+.1%} of idle at most)"
    )
    print(f"peak RSS a 45 MP try-on adds over a 12 MP one: {figures['added_peak_mb_per_tryon']} MB")
    print(json.dumps({"benchmark": "service_large_photos", "cpus": os.cpu_count(), **figures}))


@contextlib.contextmanager
def served(*, workers: int, threads: int) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A ``tryon serve`` on a free port with a catalog of its own, healthy: its base URL
    and process; stopped on leaving."""
    with tempfile.TemporaryDirectory(prefix="tryon-bench-") as tmp:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [
                *(sys.executable, "-m", "tryon", "serve", "--port", str(port)),
                *("--catalog", str(Path(tmp) / "catalog"), "--log-level", "warning"),
                *("--workers", str(workers), "--threads", str(threads)),
            ]
        )
        try:
            wait_healthy(base, server)
            yield base, server
        finally:
            server.terminate()
            server.wait(timeout=30)


def main_large(args: argparse.Namespace) -> int:
    """``--large``: starts the server, measures, prints."""
    with served(workers=1, threads=args.threads) as (base, server):
        load = os.getloadavg()[0]
        figures = large_run(base, server.pid, args.format, args.threads)
        figures["load_average"] = [round(load, 2), round(os.getloadavg()[0], 2)]
    report_large(figures)
    return 0


# ---------------------------------------------------------------- report


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000, help="try-ons in the load run")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent clients")
    parser.add_argument("--probe", type=int, default=20, help="sequential requests before the run")
    parser.add_argument(
        "--warmup", type=int, default=100, help="concurrent requests before the run, not counted"
    )
    parser.add_argument(
        "--format",
        choices=["webp", "png", "jpeg", "avif"],
        default=None,
        help="output format (default: the server's, WebP)",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="server processes (tryon serve --workers)"
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="try-ons at once per process (tryon serve --threads)"
    )
    parser.add_argument(
        "--new-photos",
        action="store_true",
        help="every request's person photo is new to the server (no person cache hits)",
    )
    parser.add_argument(
        "--large",
        action="store_true",
        help="memory under large photos (12 and 45 megapixels) instead of the load run",
    )
    args = parser.parse_args()
    if args.large:
        return main_large(args)

    people = {
        path.stem: encode_jpeg(photo_3x4(path))
        for path in sorted((SAMPLES / "people").glob("*.jpg"))
    }
    with served(workers=args.workers, threads=args.threads) as (base, server):
        rss_idle = tree_rss_mb(server.pid)
        with httpx.Client(base_url=base, timeout=120) as client:
            garments = add_garments(client)
            pairs, excluded = usable_pairs(client, people, garments, args.format)
            if not pairs:
                raise SystemExit("no person x garment pair was accepted; see the server's errors")
            probe = overhead_probe(client, pairs, args.probe, args.format, args.new_photos)
        asyncio.run(
            load_run(
                base,
                pairs,
                args.warmup,
                args.concurrency,
                args.format,
                server.pid,
                args.new_photos,
                first_photo=10**9,  # photos of their own: none comes back in the run
            )
        )
        rss_before = tree_rss_mb(server.pid)
        cpu_before = tree_cpu_s(server.pid)
        parts, errors, rss, wall = asyncio.run(
            load_run(
                base,
                pairs,
                args.requests,
                args.concurrency,
                args.format,
                server.pid,
                args.new_photos,
            )
        )
        rss_after = tree_rss_mb(server.pid)
        cpu_per_request = (tree_cpu_s(server.pid) - cpu_before) / args.requests

    traffic = "a new person photo each request" if args.new_photos else "shoppers trying garments"
    latencies = [p["latency"] for p in parts]
    loaded = p50_ms(parts)
    probe_p50 = p50_ms(probe)
    completed = len(latencies)
    throughput = completed / wall
    p50, p95, p99 = (percentile_ms(latencies, q) for q in (50, 95, 99))
    n_errors = sum(errors.values())
    growth = (rss_after - rss_before) / rss_before
    # Flat means every sample, not only the last, stays within the bound.
    widest = max(((mb - rss_before) / rss_before for _, mb in [*rss, (0, rss_after)]), key=abs)
    met = {
        "throughput": throughput >= TARGETS["throughput_per_s"],
        "p95": p95 / 1000 <= TARGETS["p95_s"],
        "errors": n_errors == TARGETS["errors"],
        "rss_flat": abs(widest) <= TARGETS["rss_growth"],
    }

    print(
        f"\nservice load: warp engine, 768x1024 people, catalogued garments, {os.cpu_count()} CPUs,"
        f" traffic: {traffic},"
        f" server: {args.workers} process(es) x {args.threads} thread(s)"
    )
    print(f"pairs: {len(pairs)} ({', '.join(f'{p.person} x {p.garment}' for p in pairs)})")
    if excluded:
        print(f"excluded (refused by the engine, as designed): {', '.join(excluded)}")
    print("\nwhere the time goes, p50 ms (rest: upload, checks, waiting for a thread, reply):")
    print("| | latency | engine | encode | rest |")
    print("|---|---:|---:|---:|---:|")
    for label, split in (("one at a time", probe_p50), (f"{args.concurrency} at once", loaded)):
        cells = " | ".join(f"{split.get(k, float('nan')):.0f}" for k in SPLIT)
        print(f"| {label} | {cells} |")
    print(
        "\n| requests | concurrency | try-ons/s | p50 ms | p95 ms | p99 ms | errors "
        "| RSS before MB | RSS after MB |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {args.requests} | {args.concurrency} | {throughput:.2f} | {p50:.0f} | {p95:.0f} "
        f"| {p99:.0f} | {n_errors} | {rss_before:.0f} | {rss_after:.0f} |"
    )
    print(
        "\nserver RSS: "
        + ", ".join(
            [f"idle {rss_idle:.0f} MB", f"before {rss_before:.0f} MB"]
            + [f"after {n} {mb:.0f} MB" for n, mb in rss]
        )
        + f" (widest change from before: {widest:+.1%})"
    )
    if errors:
        print(f"errors by kind: {dict(errors)}")
    print(
        f"server CPU time per try-on: {cpu_per_request * 1000:.0f} ms "
        f"({os.cpu_count() or 1} cores give {os.cpu_count() or 1} s of CPU a second: at most "
        f"{(os.cpu_count() or 1) / cpu_per_request:.1f} try-ons/s)"
    )
    print("targets: " + ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in met.items()))
    print(
        json.dumps(
            {
                "benchmark": "service_load",
                "engine": "warp",
                "cpus": os.cpu_count(),
                "requests": args.requests,
                "concurrency": args.concurrency,
                "server_workers": args.workers,
                "server_threads": args.threads,
                "format": args.format or "default",
                "traffic": "new-photos" if args.new_photos else "shoppers",
                "completed": completed,
                "wall_s": round(wall, 3),
                "throughput_per_s": round(throughput, 3),
                "p50_ms": round(p50, 1),
                "p95_ms": round(p95, 1),
                "p99_ms": round(p99, 1),
                "server_cpu_ms_per_tryon": round(cpu_per_request * 1000, 1),
                "mean_ms": round(statistics.fmean(latencies) * 1000, 1) if latencies else None,
                "errors": n_errors,
                "error_kinds": dict(errors),
                "rss_mb": {
                    "idle": round(rss_idle, 1),
                    "before": round(rss_before, 1),
                    "after": round(rss_after, 1),
                    "every_500": [[n, round(mb, 1)] for n, mb in rss],
                },
                "rss_growth": round(growth, 4),
                "rss_widest_change": round(widest, 4),
                "p50_split_ms": {
                    "sequential": {k: round(v, 1) for k, v in probe_p50.items()},
                    "loaded": {k: round(v, 1) for k, v in loaded.items()},
                },
                "targets_met": met,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
