"""The servers' half of backends_bench.py: what a gunicorn node costs (memory, start-up) and how
fast a write on one node shows in another's answers, on SQLite and on PostgreSQL."""

from __future__ import annotations

import http.client
import json
import random
import sqlite3
import time
from pathlib import Path
from typing import Any

import common
from writes_under_load import STATUSES

PROPAGATION_TIMEOUT_S = 5.0  # a write not seen by then counts as this long, and as a miss
WORKERS_UP_S = 30  # a node's second worker forks a moment after the first answers
PAUSE_S = 0.05  # between one write's sighting and the next write
EVERY_STATUS = ",".join(STATUSES)  # no status filter, and no "open now" either: every point shows


def memory(server: common.Server, workers_wanted: int = 2) -> dict[str, Any]:
    """RSS and PSS (shared pages split among the processes sharing them) of the gunicorn master
    and of each worker, in MiB, from /proc, once all its workers have forked (WEB_CONCURRENCY)."""
    deadline = time.monotonic() + WORKERS_UP_S
    while len(workers := _workers(server)) < workers_wanted and time.monotonic() < deadline:
        time.sleep(0.1)
    return {
        "master": _rss_pss(server.process.pid),
        "workers": [_rss_pss(pid) for pid in sorted(workers)],
    }


def _workers(server: common.Server) -> list[int]:
    return [
        int(stat.parent.name)
        for stat in Path("/proc").glob("[0-9]*/stat")
        if _ppid(stat) == server.process.pid
    ]


def _ppid(stat: Path) -> int | None:
    try:
        return int(stat.read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _rss_pss(pid: int) -> dict[str, float]:
    found = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("Rss", "Pss"):
            found[f"{key.lower()}_mib"] = round(int(rest.split()[0]) / 1024, 1)
    return found


def node_env(db: Path, url: str) -> dict[str, str]:
    """One node's environment. Its own LOCATOR_DB directory even on PostgreSQL: the workers'
    shared change counter lives there, so two nodes on one machine share nothing but the database."""
    db.parent.mkdir(parents=True, exist_ok=True)
    return common.app_env(db, **({"LOCATOR_DATABASE_URL": url} if url else {}))


class Client:
    """One keep-alive connection to a node."""

    def __init__(self, server: common.Server):
        self.server = server
        self.conn = http.client.HTTPConnection(common.HOST, server.port, timeout=30)

    def call(self, method: str, path: str, body: bytes | None = None, headers=None):
        self.conn.request(method, path, body=body, headers=headers or {})
        response = self.conn.getresponse()
        return response, response.read()

    def close(self) -> None:
        self.conn.close()


def propagation(
    a: common.Server, b: common.Server, token: str, points: list[tuple[str, float, float]]
) -> dict[str, Any]:
    """For each point: PATCH its status on node A, then poll node B until both its
    /api/v1/points/<id> (read from the database) and its /api/v1/nearest at the point's place (the
    in-memory index, moved by the change counter) show the new status. Times from A's answer."""
    writer, reader = Client(a), Client(b)
    rng = random.Random(23)
    seen = {"point": [], "nearest": []}
    from_send, write_ms, missed, polls = [], [], 0, 0
    try:
        for point_id, lat, lon in points:
            response, body = writer.call("GET", f"/api/v1/points/{point_id}")
            etag = response.getheader("ETag")
            new = rng.choice([s for s in STATUSES if s != json.loads(body)["properties"]["status"]])
            headers = {
                "Authorization": f"Bearer {token}",
                "If-Match": etag,
                "Content-Type": "application/json",
            }
            sent = time.perf_counter()
            response, body = writer.call(
                "PATCH", f"/api/v1/points/{point_id}", json.dumps({"status": new}).encode(), headers
            )
            acked = time.perf_counter()
            if response.status != 200:
                raise RuntimeError(f"PATCH {point_id} on node A: {response.status} {body[:200]!r}")
            write_ms.append((acked - sent) * 1000)
            nearest_path = f"/api/v1/nearest?lat={lat}&lon={lon}&k=10&status={EVERY_STATUS}"
            when: dict[str, float] = {}
            while len(when) < 2 and time.perf_counter() - acked < PROPAGATION_TIMEOUT_S:
                if "point" not in when:
                    _, body = reader.call("GET", f"/api/v1/points/{point_id}")
                    if json.loads(body)["properties"]["status"] == new:
                        when["point"] = time.perf_counter()
                if "nearest" not in when:
                    _, body = reader.call("GET", nearest_path)
                    features = json.loads(body)["features"]
                    if any(f["id"] == point_id and f["properties"]["status"] == new for f in features):
                        when["nearest"] = time.perf_counter()
                polls += 1
            missed += len(when) < 2
            for kind in seen:
                seen[kind].append((when.get(kind, acked + PROPAGATION_TIMEOUT_S) - acked) * 1000)
            from_send.append((when.get("nearest", acked + PROPAGATION_TIMEOUT_S) - sent) * 1000)
            time.sleep(PAUSE_S)
    finally:
        writer.close()
        reader.close()
    result: dict[str, Any] = {"writes": len(points), "not_seen_within_s": missed, "polls": polls}
    for kind, values in seen.items():
        result[kind] = _quantiles(values)
    result["nearest_from_send"] = _quantiles(from_send)
    result["patch_on_a"] = _quantiles(write_ms)
    common.log(f"propagation {a.name} -> {b.name}: {result}")
    return result


def _quantiles(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(common.percentile(values, 50), 2),
        "p99_ms": round(common.percentile(values, 99), 2),
        "max_ms": round(max(values), 2),
    }


def placed(db: Path) -> list[tuple[str, float, float]]:
    """(id, lat, lon) of every point that stands where its row says (no schedule of stops, not
    archived), read from the SQLite copy: the same points on both backends."""
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT id, lat, lon FROM points WHERE stops = '' AND archived = 0 ORDER BY id"
        ).fetchall()
