"""Operating the site: /healthz for load balancers, /metrics for Prometheus.

The request log line and the request metrics are kept by the edge (http/telemetry.py), for every
answer whichever path gives it; /metrics adds the data's state, read from the database at each
scrape, to them.
"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import timedelta
from typing import Any

import prometheus_client
from flask import Blueprint, Flask, Response, abort, current_app, request
from prometheus_client.core import GaugeMetricFamily

from locator.domain.point import Status, utcnow
from locator.domain.senders import client_ip
from locator.store import health

bp = Blueprint("ops", __name__)

PROBE_EVERY_S = 1.0  # /healthz commits a write at most this often per process; others reuse it


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
                    self.result, self.error = self.store.probe(), None
                except Exception as error:  # the database's own words, for operators
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
    """200 while this process can answer citizens' reads, from its index in memory, even with
    the database down (a load balancer must never drop every node because the database fails
    over); the body says whether it can also write. 503 only when it has nothing to answer from.
    The details (the reason, pid, change counter, timings) only for LOCATOR_METRICS_ALLOW."""
    body, status = _health()
    if not _allowed(request.remote_addr, current_app.config["METRICS_ALLOW"]):
        body = {"status": body["status"], "writable": body.get("writable", False)}
    return _json(body, status)


@bp.get("/healthz/write")
def healthz_write():
    """200 when this process can commit a write to the database now, 503 when it cannot
    (route operators' writes by it, if the balancer can)."""
    try:
        database = current_app.extensions["locator.probe"]()
    except Exception as error:
        body, status = {"status": "unavailable", "writable": False, "reason": f"database: {error}"}, 503
    else:
        body, status = {"status": "ok", "writable": True, "database": database}, 200
    if not _allowed(request.remote_addr, current_app.config["METRICS_ALLOW"]):
        body = {"status": body["status"], "writable": body["writable"]}
    return _json(body, status)


def _health() -> tuple[dict, int]:
    try:
        probe = current_app.extensions["locator.probe"]()
        database, writable = {"readable": True, "writable": True, **probe}, True
    except Exception as error:
        database, writable = {"writable": False, "reason": f"{error}"}, False
    try:
        snapshot = current_app.extensions["locator.index"].sync()
    except Exception as error:  # no snapshot to answer from: the database was never reached
        return {"status": "unavailable", "writable": writable, "reason": f"nearest index: {error}"}, 503
    now = time.time()
    return {
        "status": "ok",
        "writable": writable,
        "database": database,
        "index": {
            "seq": snapshot.seq,
            "updated_s_ago": round(now - snapshot.made_at, 3),  # last change it applied
            "built_s_ago": round(now - snapshot.base.built_at, 3),  # last full rebuild
            "points_in_tree": len(snapshot.points),
            "changes_since_build": len(snapshot.changes),
            "data_as_of": snapshot.as_of.isoformat() if snapshot.as_of else None,
        },
        "pid": os.getpid(),
    }, 200


def _allowed(address: str | None, networks) -> bool:
    ip = client_ip(address)
    return ip is not None and any(ip in network for network in networks)


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


def init_app(app: Flask) -> None:
    """Register the blueprint, with what its views read (the request metrics are the edge's,
    http/telemetry.py)."""
    app.extensions["locator.data_collector"] = DataCollector(app)
    app.extensions["locator.probe"] = _Probe(app.extensions["locator.store"])
    app.register_blueprint(bp)
