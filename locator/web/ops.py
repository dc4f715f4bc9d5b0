"""Operating the site: /healthz for load balancers, /metrics for Prometheus, one JSON log line
per request, and a clear answer to an upload over the size limit.

The request hooks are registered before every other hook, so the time they measure covers the
whole request (rate limit, CSRF, login, view, compression). Metrics are kept per process; under
gunicorn, scripts/gunicorn.conf.py sets PROMETHEUS_MULTIPROC_DIR and /metrics adds up every
worker's files. Log lines carry no client address (unless LOCATOR_LOG_CLIENT_ADDRESS=1), no
query string, no header and no cookie: nothing a password, token or session could ride in.
"""

from __future__ import annotations

import ipaddress
import json
import os
import sqlite3
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import prometheus_client
from flask import Blueprint, Flask, Response, abort, current_app, g, render_template, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from werkzeug.exceptions import RequestEntityTooLarge

from locator.domain.point import Status, utcnow
from locator.store import health

bp = Blueprint("ops", __name__)

# Seconds; most answers take about a millisecond, a cold map page or an import far longer.
LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PROBE_EVERY_S = 1.0  # /healthz commits a write at most this often per process; others reuse it
UNMATCHED = "(unmatched)"  # the route label of requests no URL rule matched (404s): bounded
# Any token is a valid HTTP method: others are counted and logged as OTHER, so no client can
# make up new label values (each one a new time series) at will.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
MEGABYTE = 1024 * 1024

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

    def exposition(self, data: DataCollector) -> bytes:
        """Every metric as Prometheus text: requests (of every worker, when they share a
        directory) and the data's state, read from the database now."""
        scrape = CollectorRegistry()
        if self.multiprocess_dir:
            MultiProcessCollector(scrape, path=self.multiprocess_dir)
        else:
            scrape.register(_Own(self.registry))
        scrape.register(data)
        return generate_latest(scrape)


class _Own:
    """This process's request metrics, as a collector of a scrape's registry."""

    def __init__(self, registry: CollectorRegistry):
        self.registry = registry

    def collect(self):
        return self.registry.collect()


class DataCollector:
    """Gauges read from the database at each scrape, so every worker reports the same numbers."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        store = self.app.extensions["locator.store"]
        now = utcnow()
        stats = health.stats(store, now - timedelta(hours=self.app.config["STALE_HOURS"]))
        points = GaugeMetricFamily("locator_points", "Points on the map by public status.", labels=["status"])
        for status in Status:
            points.add_metric([status.value], stats["by_status"].get(status.value, 0))
        yield points
        yield GaugeMetricFamily("locator_points_archived", "Archived points.", value=stats["archived"])
        yield GaugeMetricFamily(
            "locator_points_stale",
            "Points on the map whose status nobody confirmed within LOCATOR_STALE_HOURS.",
            value=stats["stale"],
        )
        yield GaugeMetricFamily("locator_change_seq", "The database's change counter.", value=stats["seq"])
        if stats["last_change_at"] is not None:
            yield GaugeMetricFamily(
                "locator_last_change_timestamp_seconds",
                "When a point last changed (Unix time).",
                value=stats["last_change_at"].timestamp(),
            )


class _Probe:
    """The database write probe, at most once per PROBE_EVERY_S in this process."""

    def __init__(self, store):
        self.store = store
        self.lock = threading.Lock()
        self.checked = -PROBE_EVERY_S
        self.result: dict[str, Any] | None = None
        self.error: Exception | None = None

    def __call__(self) -> dict[str, Any]:
        with self.lock:
            if time.monotonic() - self.checked >= PROBE_EVERY_S:
                try:
                    self.result, self.error = health.probe(self.store), None
                except (sqlite3.Error, OSError) as error:
                    self.result, self.error = None, error
                self.checked = time.monotonic()
            if self.error is not None:
                raise self.error
            return dict(self.result)


def _json(body: dict[str, Any], status: int) -> Response:
    response = current_app.response_class(json.dumps(body), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz():
    """200 when this process answers, the database can be read and written and the nearest
    index is in step with it; 503 with the reason otherwise."""
    try:
        database = current_app.extensions["locator.probe"]()
    except (sqlite3.Error, OSError) as error:
        return _json({"status": "unavailable", "reason": f"database: {error}"}, 503)
    try:
        snapshot = current_app.extensions["locator.index"].sync()
    except (sqlite3.Error, OSError) as error:
        return _json({"status": "unavailable", "reason": f"nearest index: {error}"}, 503)
    now = time.time()
    return _json(
        {
            "status": "ok",
            "database": {"readable": True, "writable": True, **database},
            "index": {
                "seq": snapshot.seq,
                "updated_s_ago": round(now - snapshot.made_at, 3),  # last change it applied
                "built_s_ago": round(now - snapshot.base.built_at, 3),  # last full rebuild
                "points_in_tree": len(snapshot.points),
                "changes_since_build": len(snapshot.changes),
            },
            "pid": os.getpid(),
        },
        200,
    )


def _allowed(address: str | None, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)


@bp.get("/metrics")
def metrics():
    """Prometheus text, only for LOCATOR_METRICS_ALLOW (404 for everyone else: nothing to see)."""
    if not _allowed(request.remote_addr, current_app.config["METRICS_ALLOW"]):
        abort(404)
    body = current_app.extensions["locator.metrics"].exposition(
        current_app.extensions["locator.data_collector"]
    )
    response = current_app.response_class(body, mimetype=None)
    response.headers["Content-Type"] = prometheus_client.CONTENT_TYPE_LATEST
    response.headers["Cache-Control"] = "no-store"
    return response


# -- request hooks -------------------------------------------------------------------------------


def _start() -> None:
    g.ops_started = time.perf_counter()


def _finish(response: Response) -> Response:
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


def record(
    app: Flask, route: str, method: str, status: int, seconds: float, size: int | None, client: str | None
) -> None:
    """Count one answer in the metrics and write its log line (also for answers given before
    Flask, see revalidation.py)."""
    app.extensions["locator.metrics"].observe(route, method, status, seconds)
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


def _too_large(error: RequestEntityTooLarge):
    """A clear answer to an upload over LOCATOR_IMPORT_MAX_BYTES: what the limit is."""
    from locator.http.edge import ApiError, problem_response

    limit = current_app.config["IMPORT_MAX_BYTES"]
    shown = f"{limit / MEGABYTE:.1f} MB" if limit >= MEGABYTE else f"{limit / 1024:.1f} KB"
    detail = f"the upload is larger than the limit of {shown} ({limit:,} bytes)"
    if request.path.startswith("/api/"):
        return problem_response(ApiError(413, "Content Too Large", detail))
    return render_template("error.html", status=413, title="Content Too Large", detail=detail), 413


def init_app(app: Flask) -> None:
    """Register the blueprint and the request hooks; call before any other hook is registered."""
    store = app.extensions["locator.store"]
    app.extensions["locator.metrics"] = Metrics(app.config["METRICS_DIR"])
    app.extensions["locator.data_collector"] = DataCollector(app)
    app.extensions["locator.probe"] = _Probe(store)
    app.before_request(_start)
    app.after_request(_finish)
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    app.register_blueprint(bp)
