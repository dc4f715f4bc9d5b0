"""What every answer leaves behind: one JSON log line and its count and latency in the metrics,
whichever path gave it (Flask's hooks below, and the answers given before Flask call record).

The Flask hooks are the first before-request hook and the last after-request one (http/install.py),
so the time they measure covers the whole request (admission, login, view, headers, compression).
Metrics are kept per process; under gunicorn, scripts/gunicorn.conf.py sets
PROMETHEUS_MULTIPROC_DIR and /metrics (web/ops.py) adds up every worker's files. Log lines carry
no client address (unless LOCATOR_LOG_CLIENT_ADDRESS=1), no query string, no header and no
cookie: nothing a password, token or session could ride in.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

import orjson
import prometheus_client
from flask import Flask, Response, current_app, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

# Seconds; most answers take about a millisecond, a cold map page or an import far longer.
LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "(unmatched)"  # the route label of requests no URL rule matched (404s): bounded
# Any token is a valid HTTP method: others are counted and logged as OTHER, so no client can
# make up new label values (each one a new time series) at will.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
METRICS = "locator.metrics"  # app.extensions key: this app's Metrics

prometheus_client.disable_created_metrics()  # *_created series only add noise to every scrape


class Metrics:
    """Request counts and latency by URL rule (never the raw path: the label set stays small)."""

    def __init__(self, multiprocess_dir: str):
        self.multiprocess_dir = multiprocess_dir
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "locator_http_requests",
            "HTTP requests by route rule, method and status.",
            ("route", "method", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "locator_http_request_duration_seconds",
            "Time to answer, by route rule.",
            ("route",),
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self._counted: dict[tuple[str, str, int], Any] = {}  # (few: rules x methods x statuses)
        self._timed: dict[str, Any] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        # Each labelled child is looked up once and kept: ``labels()`` takes a lock and checks
        # its arguments every time, a tenth of a small request's own cost.
        key = (route, method, status)
        child = self._counted.get(key)
        if child is None:
            child = self._counted[key] = self.requests.labels(route, method, str(status))
        child.inc()
        timer = self._timed.get(route)
        if timer is None:
            timer = self._timed[route] = self.latency.labels(route)
        timer.observe(seconds)

    def exposition(self, *collectors: Any) -> bytes:
        """Every metric as Prometheus text: requests (of every worker, when they share a
        directory) and these collectors' (the data's state, read now)."""
        scrape = CollectorRegistry()
        if self.multiprocess_dir:
            MultiProcessCollector(scrape, path=self.multiprocess_dir)
        else:
            scrape.register(_Own(self.registry))
        for collector in collectors:
            scrape.register(collector)
        return generate_latest(scrape)


class _Own:
    """This process's request metrics, as a collector of a scrape's registry."""

    def __init__(self, registry: CollectorRegistry):
        self.registry = registry

    def collect(self):
        return self.registry.collect()


def record(
    app: Flask, route: str, method: str, status: int, seconds: float, size: int | None, client: str | None
) -> None:
    """Count one answer in the metrics and write its log line."""
    app.extensions[METRICS].observe(route, method, status, seconds)
    target = app.config["REQUEST_LOG"]
    if target != "off":
        line: dict[str, Any] = {
            # "2026-11-23T18:30:00.123Z"; isoformat, as strftime costs several times more
            "time": datetime.now(UTC).isoformat(timespec="milliseconds")[:-6] + "Z",
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "bytes": size,
            "pid": os.getpid(),
        }
        if app.config["LOG_CLIENT_ADDRESS"]:
            line["client"] = client
        _write_line(target, orjson.dumps(line).decode())


_log_lock = threading.Lock()


def _write_line(target: str, text: str) -> None:
    stream = sys.stdout if target == "stdout" else sys.stderr  # looked up now: tests capture them
    with _log_lock:
        stream.write(text + "\n")
        stream.flush()


def start() -> None:
    """Flask's first before-request hook: the clock starts."""
    g.ops_started = time.perf_counter()


def finish(response: Response) -> Response:
    """Flask's last after-request hook: the answer is recorded."""
    elapsed = time.perf_counter() - g.get("ops_started", time.perf_counter())
    route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    method = request.method if request.method in METHODS else "OTHER"
    record(
        current_app,
        route,
        method,
        response.status_code,
        elapsed,
        response.content_length,
        request.remote_addr,
    )
    return response


def init_app(app: Flask) -> None:
    app.extensions[METRICS] = Metrics(app.config["METRICS_DIR"])
