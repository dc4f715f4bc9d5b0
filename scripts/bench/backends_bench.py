"""Issue 18: the same benchmarks on SQLite and on PostgreSQL + PostGIS, side by side in one run.

A throwaway PostgreSQL 15 cluster with PostGIS (tests/pg_cluster.py, via pg_bench.py) is started
on 127.0.0.1 for the run and removed afterwards. On each backend, from the same generated file:
- import: `flask --app app points import` of 100,000 points into an empty database (the whole
  command); with --import-phases 1 also store.import_points of the same read points alone;
- nearest in process: create_app on each database, its index built as a server's master builds
  it (timed), then `index.nearest` (k=5, no filter) and the API's nearest body (sync, then
  `api.nearest_body`) on the same random places, in rounds interleaved across the backends;
- PostGIS KNN (`ORDER BY geog <-> place LIMIT 5`, status open or full, GiST index
  idx_points_geog, a prepared statement over one loopback connection) against our in-memory
  index with the same filter, on the same places: µs per lookup each, and how often they agree;
- nodes: gunicorn (scripts/gunicorn.conf.py) started one at a time: process start to the first
  200 on /healthz, and RSS/PSS of the master and each worker just after;
- PATCH under the full read load: writes_under_load.py's writers and wrk, the two backends'
  servers taking turns in alternating rounds; every acknowledged write is then checked in the
  database;
- propagation (PostgreSQL only: SQLite cannot span machines): two nodes on one database, each
  its own gunicorn and LOCATOR_DB directory, so they share nothing else. PATCH on node A, then
  node B is polled until its /api/v1/points/<id> (read from the database) and its
  /api/v1/nearest at the point's place (the in-memory index) show the new status.

Example: .venv/bin/python scripts/bench/backends_bench.py --data-dir /tmp/locator-bench
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import backends_inproc
import backends_nodes
import backends_rows
import common
import pg_bench
from http_bench import nearest_paths
from writes_under_load import VERSUS_ROUNDS, alternating_rounds, verify, writer_token

BACKENDS = ("sqlite", "postgresql")


def write_only(pg, source: Path, tmp: Path) -> dict[str, Any]:
    """store.import_points alone (the file read once, untimed) into a fresh database of each."""
    scratch = tmp / "scratch" / "locator.db"
    scratch.parent.mkdir()
    url = pg.new_database("bench_scratch")
    found = backends_inproc.store_imports(source, {"sqlite": (scratch, ""), "postgresql": (scratch, url)})
    pg.drop_database("bench_scratch")
    return found


def main() -> int:
    args = common.arguments(
        __doc__.split("\n\n")[0], import_phases=(int, 0, "1: also time store.import_points alone on each")
    )
    if not common.wrk_available():
        sys.exit("wrk is missing: run scripts/bench/run.sh, which installs it")
    quick = args.quick
    round_writes = 20 if quick else 50  # per backend and round (VERSUS_ROUNDS rounds): 150 each
    moves = 20 if quick else 100  # propagation writes per backend
    lookups = 600 if quick else 3000
    knn_queries = 200 if quick else 1000
    source = common.geojson(args.data_dir, common.BIG)
    raw: dict[str, Any] = {
        "calibration_ms_start": common.calibration_ms(),
        "load_average_start": os.getloadavg(),
    }
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=args.data_dir)))
        pg = stack.enter_context(pg_bench.cluster(args.data_dir))
        raw["postgresql"] = pg_bench.server_version(pg)
        url = pg.new_database("bench_main")
        dbs = {
            "sqlite": (tmp / "sqlite" / "locator.db", ""),
            "postgresql": (tmp / "pg-a" / "locator.db", url),
        }
        for db, _ in dbs.values():
            db.parent.mkdir(parents=True)
        raw["import"] = {name: backends_inproc.cli_import(db, source, u) for name, (db, u) in dbs.items()}
        if args.import_phases:
            raw["import"]["store_import_points"] = write_only(pg, source, tmp)
        sqlite_db = dbs["sqlite"][0]
        built = backends_inproc.apps(dbs)
        queries = common.query_coords(sqlite_db, lookups, seed=11).tolist()
        raw["nearest"] = backends_inproc.lookups(built, queries)
        index = built["postgresql"][0].extensions["locator.index"]
        raw["knn"] = backends_inproc.knn(url, index, queries[:knn_queries])
        for app, _ in built.values():
            app.extensions["locator.store"].dispose()
        del built, index

        tokens = {name: writer_token(db, LOCATOR_DATABASE_URL=u) for name, (db, u) in dbs.items()}
        node_dbs = {
            "sqlite A": dbs["sqlite"],
            "postgresql A": dbs["postgresql"],
            "postgresql B": (tmp / "pg-b" / "locator.db", url),
        }
        nodes, raw["nodes"] = {}, {}
        for name, (db, u) in node_dbs.items():  # one at a time: each start has the machine
            work = tmp / name.replace(" ", "-")
            work.mkdir(exist_ok=True)
            env = backends_nodes.node_env(db, u)
            server = stack.enter_context(
                common.gunicorn(name.replace(" ", "-"), "app:app", env, work, "/healthz")
            )
            nodes[name] = server
            raw["nodes"][name] = {
                "start_s": round(server.started_s, 2),
                "memory": backends_nodes.memory(server),
            }
            common.log(f"node {name}: {raw['nodes'][name]}")

        paths = nearest_paths(sqlite_db)
        points = backends_nodes.placed(sqlite_db)
        chosen = random.Random(17).sample(points, VERSUS_ROUNDS * round_writes + moves)
        write_ids = [p[0] for p in chosen[: VERSUS_ROUNDS * round_writes]]
        runs = {}
        for name in BACKENDS:
            server = nodes[f"{name} A"]
            common.warm(server, paths)
            work = tmp / f"{name}-writes"
            work.mkdir()
            runs[name] = (server, tokens[name], write_ids, paths, work)
        raw["writes"] = alternating_rounds(runs, round_writes, connections=32)
        for name, (db, u) in dbs.items():
            acknowledged = raw["writes"][name].pop("acknowledged")
            check = verify(db, acknowledged, u)
            raw["writes"][name]["verify"] = {
                "acknowledged": len(acknowledged),
                "lost": len(check["missing_history"]) + len(check["wrong_row"]),
                "integrity": check["integrity"],
            }
            raw["nodes"][f"{name} A"]["memory_after_load"] = backends_nodes.memory(nodes[f"{name} A"])

        moved = chosen[VERSUS_ROUNDS * round_writes :]  # points no round wrote
        raw["propagation"] = {}
        raw["propagation"]["postgresql"] = backends_nodes.propagation(
            nodes["postgresql A"], nodes["postgresql B"], tokens["postgresql"], moved[:moves]
        )
    raw["calibration_ms_end"], raw["load_average_end"] = common.calibration_ms(), os.getloadavg()
    rows, table = backends_rows.build(raw)
    raw["side_by_side"] = table
    common.save(args.data_dir, "backends", rows, raw)
    return 0


if __name__ == "__main__":
    sys.exit(main())
