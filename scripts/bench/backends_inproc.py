"""The in-process half of backends_bench.py: imports, nearest lookups and PostGIS's KNN, measured
the same way on SQLite and on PostgreSQL + PostGIS."""

from __future__ import annotations

import gc
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import common
import psycopg
from werkzeug.datastructures import MultiDict

from locator import create_app
from locator.domain.filters import PointFilter
from locator.domain.values import Status, utcnow
from locator.io import files
from locator.store import open_store
from locator.web import api

K = 5
ROUNDS = 3  # interleaved across the backends: a slow spell of the machine falls on both
KNN_STATUSES = frozenset({Status.OPEN, Status.FULL})
KNN_SQL = (
    "SELECT id FROM points WHERE status IN ('open','full')"
    " ORDER BY geog <-> ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography LIMIT 5"
)
EXPLAINED = 50  # KNN queries also run under EXPLAIN ANALYZE: the server's own time


def us_since(begin: int) -> float:
    return (time.perf_counter_ns() - begin) / 1000


def cli_import(db: Path, source: Path, url: str = "") -> dict[str, Any]:
    """`flask points import` of source into an empty database (its schema made first, untimed)."""
    extra = {"LOCATOR_DATABASE_URL": url} if url else {}
    common.flask(db, "users", "list", **extra)
    begin = time.perf_counter()
    printed = common.flask(db, "points", "import", str(source), **extra)
    took = time.perf_counter() - begin
    common.log(f"import ({'postgresql' if url else 'sqlite'}): {took:.1f} s")
    return {"seconds": round(took, 2), "printed": printed.strip()}


def store_imports(source: Path, targets: dict[str, tuple[Path, str]]) -> dict[str, Any]:
    """store.import_points of the same 100,000 read points into each empty database: the write
    alone (the file is read and validated once, untimed)."""
    limits = files.ImportLimits(max_bytes=source.stat().st_size)
    points = files.read_points(source, limits=limits)
    found = {}
    for name, (db, url) in targets.items():
        store = open_store(db, url=url)
        store.migrate()
        begin = time.perf_counter()
        store.import_points(points, by="bench")
        found[name] = {"write_s": round(time.perf_counter() - begin, 2)}
        found[name]["stored"] = len(store.all())
        store.dispose()
        common.log(f"store.import_points ({name}): {found[name]}")
    return found


def apps(databases: dict[str, tuple[Path, str]]) -> dict[str, Any]:
    """create_app on each backend; its index built (timed) as a server's master builds it."""
    common.in_process_env(next(iter(databases.values()))[0])
    built = {}
    for name, (db, url) in databases.items():
        app = create_app({"DATABASE": str(db), "DATABASE_URL": url})
        index = app.extensions["locator.index"]
        begin = time.perf_counter_ns()
        index.sync()
        built[name] = (app, round(us_since(begin) / 1e6, 2))
        common.log(f"{name}: index of {len(index.sync().points)} points built in {built[name][1]} s")
    gc.collect()
    gc.freeze()  # as served: scripts/gunicorn.conf.py freezes what the master loaded
    return built


def lookups(built: dict[str, Any], queries: list[list[float]]) -> dict[str, Any]:
    """index.nearest (k=5, no filter) and the API's nearest body (sync, then nearest_body with
    its default filter), the same queries on each backend, rounds interleaved."""
    per_round = len(queries) // ROUNDS
    times: dict[str, dict[str, list[list[float]]]] = {
        name: {"index_nearest": [], "api_body": []} for name in built
    }
    every = PointFilter()
    for round_no in range(ROUNDS):
        sample = queries[round_no * per_round : (round_no + 1) * per_round]
        for name, (app, _) in built.items():
            index = app.extensions["locator.index"]
            stale_after = timedelta(hours=app.config["STALE_HOURS"])
            nearest, body = [], []
            for lat, lon in sample:
                begin = time.perf_counter_ns()
                index.nearest(lat, lon, K, every)
                nearest.append(us_since(begin))
            for lat, lon in sample:
                args = MultiDict({"lat": f"{lat:.5f}", "lon": f"{lon:.5f}", "k": str(K)})
                begin = time.perf_counter_ns()
                api.nearest_body(index.sync(), utcnow(), stale_after, args)
                body.append(us_since(begin))
            times[name]["index_nearest"].append(nearest)
            times[name]["api_body"].append(body)
    result = {}
    for name, kinds in times.items():
        result[name] = {"cold_build_s": built[name][1]}
        for kind, rounds in kinds.items():
            best = min(rounds, key=common.median)
            result[name][kind] = {
                "median_us": round(common.median(best), 1),
                "p95_us": round(common.percentile(best, 95), 1),
                "p99_us": round(common.percentile(best, 99), 1),
                "round_medians_us": [round(common.median(r), 1) for r in rounds],
            }
        common.log(f"{name} lookups: {result[name]}")
    return result


def knn(url: str, index, queries: list[list[float]]) -> dict[str, Any]:
    """PostGIS's KNN through the GiST index against our in-memory index, the same places and the
    same filter (open or full, k=5): µs per lookup for each, and how often their ids agree."""
    wanted = PointFilter(statuses=KNN_STATUSES)
    ours, theirs, same = [], [], 0
    with psycopg.connect(url, autocommit=True) as conn:
        plan = conn.execute("EXPLAIN " + KNN_SQL, [30.5, 50.45]).fetchall()
        for lat, lon in queries[:20]:  # warm: the statement is prepared after a few runs
            conn.execute(KNN_SQL, [lon, lat], prepare=True).fetchall()
        for lat, lon in queries:
            begin = time.perf_counter_ns()
            ids = [row[0] for row in conn.execute(KNN_SQL, [lon, lat], prepare=True).fetchall()]
            theirs.append(us_since(begin))
            begin = time.perf_counter_ns()
            hits = index.nearest(lat, lon, K, wanted)
            ours.append(us_since(begin))
            same += ids == [hit.point.id for hit in hits]
        server = []
        for lat, lon in queries[:EXPLAINED]:
            lines = conn.execute(
                "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + KNN_SQL, [lon, lat]
            ).fetchone()[0]
            server.append(lines[0]["Execution Time"] * 1000)
    result = {
        "queries": len(queries),
        "postgis_median_us": round(common.median(theirs), 1),
        "postgis_p95_us": round(common.percentile(theirs, 95), 1),
        "postgis_server_execution_median_us": round(common.median(server), 1),
        "index_median_us": round(common.median(ours), 1),
        "index_p95_us": round(common.percentile(ours, 95), 1),
        "same_ids_in_same_order": same,
        "plan": [line[0] for line in plan],
    }
    result["ratio_postgis_to_index"] = round(result["postgis_median_us"] / result["index_median_us"], 1)
    common.log(f"KNN: {result}")
    return result
