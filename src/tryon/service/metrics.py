"""Prometheus metrics of one service process (``GET /metrics``).

Each app has its own registry, so several apps in one process (tests) do not collide.
With ``tryon serve --workers N`` every worker process has its own figures; a scrape
reaches one of them.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class Metrics:
    """The service's counters, histograms and gauges."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "tryon_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "tryon_http_request_duration_seconds",
            "Time to answer an HTTP request (to the end of the body), by route template.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.stage_seconds = Histogram(
            "tryon_stage_duration_seconds",
            "Time per try-on stage (TryOnResult.timings, plus encode), by engine and stage.",
            ["engine", "stage"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "tryon_in_flight",
            "Try-ons and garment analyses being computed now (sync requests and jobs).",
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "tryon_queue_depth",
            "Work waiting to start: 'sync' requests waiting for the thread pool, 'jobs' "
            "queued jobs.",
            ["queue"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "tryon_rejected_busy",
            "Requests refused with 503 because the queue was full, by queue.",
            ["queue"],
            registry=self.registry,
        )

    def observe_stages(self, engine: str, timings: dict[str, float]) -> None:
        """Records a try-on's stage timings (seconds)."""
        for stage, seconds in timings.items():
            self.stage_seconds.labels(engine, stage).observe(seconds)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)


class MetricsMiddleware:
    """ASGI middleware counting requests and timing them by route template.

    Pure ASGI (not ``BaseHTTPMiddleware``) so streamed responses (server-sent events)
    pass through untouched. Unmatched paths are counted as "unmatched", keeping the
    label set small whatever clients send.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = str(scope.get("method", ""))
            self.metrics.requests.labels(route, method, str(status)).inc()
            self.metrics.request_seconds.labels(route, method).observe(time.perf_counter() - start)
