"""Operator status updates while wrk reads /api/v1/nearest: write latency and lost writes.

The locator runs under gunicorn (docs/deployment.md settings) on a copy of the 100,000-point database with
an admin user and an API token made by `flask --app app users create/token`. Two writers (two
operators) PATCH different points: GET the point for its ETag, then PATCH {"status": ...} with
If-Match. They write 40 points with no read load, 300 while wrk reads /api/v1/nearest as fast
as it can (the server saturated), and 300 while wrk reads at about half that rate. Afterwards
the SQLite file is read directly: every acknowledged write must be in the history and its row.

With --versus, a second server with other settings runs beside it instead, and the two take
turns at writes under the full read load (what docs/benchmarks.md's notes compare).
backends_bench.py runs the same alternating rounds with SQLite and PostgreSQL side by side.

Example: .venv/bin/python scripts/bench/writes_under_load.py --data-dir /tmp/locator-bench
"""

from __future__ import annotations

import http.client
import json
import random
import sqlite3
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import common
from http_bench import nearest_paths

WRITES = 300  # under each read load
ALONE_WRITES = 40  # with no read load: what a write costs by itself
WRITERS = 2
VERSUS_ROUNDS = 3  # with --versus: alternating rounds, the writes split between them
P99_TARGET_MS = 50.0  # issue 5
PAUSE_S = 0.02  # between one writer's updates: an operator's pace, not a write flood
STATUSES = ("open", "full", "standby", "closed")
USER = "bench-writer"


class Writer(threading.Thread):
    """One operator: for each point, read its ETag, then PATCH the status with If-Match."""

    def __init__(self, port: int, token: str, ids: list[str], rng: random.Random):
        super().__init__(daemon=True)
        self.port, self.token, self.ids, self.rng = port, token, ids, rng
        self.latencies_ms: list[float] = []
        self.get_ms: list[float] = []  # the GET for the ETag: the operator waits for it too
        self.statuses: dict[int, int] = {}
        self.acknowledged: list[dict] = []
        self.problems: list[str] = []

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(common.HOST, self.port, timeout=30)

    def call(self, conn, method: str, path: str, body: bytes | None = None, headers=None):
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response, response.read()

    def run(self) -> None:
        conn = self.connect()
        for point_id in self.ids:
            try:
                self.update(conn, point_id)
            except (OSError, http.client.HTTPException) as error:
                self.problems.append(f"{point_id}: {error!r}")
                conn.close()
                conn = self.connect()
            time.sleep(PAUSE_S)
        conn.close()

    def update(self, conn, point_id: str) -> None:
        begin = time.perf_counter()
        response, body = self.call(conn, "GET", f"/api/v1/points/{point_id}")
        self.get_ms.append((time.perf_counter() - begin) * 1000)
        if response.status != 200:
            self.problems.append(f"GET {point_id}: {response.status}")
            return
        etag = response.getheader("ETag")
        current = json.loads(body)["properties"]["status"]
        new = self.rng.choice([s for s in STATUSES if s != current])
        headers = {
            "Authorization": f"Bearer {self.token}",
            "If-Match": etag,
            "Content-Type": "application/json",
        }
        payload = json.dumps({"status": new}).encode()
        begin = time.perf_counter()
        response, body = self.call(conn, "PATCH", f"/api/v1/points/{point_id}", payload, headers)
        self.latencies_ms.append((time.perf_counter() - begin) * 1000)
        self.statuses[response.status] = self.statuses.get(response.status, 0) + 1
        if 200 <= response.status < 300:
            version = json.loads(body)["properties"]["version"]
            self.acknowledged.append({"id": point_id, "status": new, "version": version})
        else:
            self.problems.append(f"PATCH {point_id}: {response.status} {body[:200]!r}")


def verify(db: Path, acknowledged: list[dict], url: str = "") -> dict:
    """Every acknowledged write is in the history, by our user, and the row shows it (read
    straight from the SQLite file, or from PostgreSQL when url is given)."""
    missing_history, wrong_row = [], []
    if url:
        import psycopg  # only for the PostgreSQL side

        conn, mark = psycopg.connect(url, autocommit=True), "%s"
    else:
        conn, mark = sqlite3.connect(db), "?"
    try:
        for write in acknowledged:
            found = conn.execute(
                "SELECT count(*) FROM history WHERE point_id = ? AND field = 'status' AND new = ?"
                ' AND "by" = ?'.replace("?", mark),
                [write["id"], write["status"], USER],
            ).fetchone()[0]
            if not found:
                missing_history.append(write["id"])
            status, version = conn.execute(
                "SELECT status, version FROM points WHERE id = ?".replace("?", mark), [write["id"]]
            ).fetchone()
            if (status, version) != (write["status"], write["version"]):
                wrong_row.append(write["id"])
        integrity = "n/a" if url else conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()
    return {"missing_history": missing_history, "wrong_row": wrong_row, "integrity": integrity}


def write_phase(app: common.Server, token: str, ids: list[str], seed: int) -> list[Writer]:
    """Start the writers on these points, split between them, and return them once done."""
    writers = [Writer(app.port, token, ids[i::WRITERS], random.Random(seed + i)) for i in range(WRITERS)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    return writers


def writes_under(app, token, ids, work, paths, connections, delay_ms, name) -> tuple[list[Writer], dict]:
    """Writers on these points while wrk reads nearest (delay_ms 0: as fast as it can)."""
    writers: list[Writer] = []
    done = threading.Event()

    def run_writers() -> None:
        time.sleep(2)  # let the read load settle first
        writers.extend(write_phase(app, token, ids, seed=len(name)))
        done.set()

    threading.Thread(target=run_writers, daemon=True).start()
    reads = common.wrk(
        app.base,
        paths=paths,
        duration_s=300,
        connections=connections,
        work=work,
        name=name,
        delay_ms=delay_ms,
        stop_when=done.is_set,
    )
    return writers, reads


def summary(writers: list[Writer]) -> dict:
    latencies = [ms for w in writers for ms in w.latencies_ms]
    gets = [ms for w in writers for ms in w.get_ms]
    statuses: dict[int, int] = {}
    for w in writers:
        for status, n in w.statuses.items():
            statuses[status] = statuses.get(status, 0) + n
    return {
        "writes": len(latencies),
        "p50_ms": round(common.percentile(latencies, 50), 2),
        "p90_ms": round(common.percentile(latencies, 90), 2),
        "p99_ms": round(common.percentile(latencies, 99), 2),
        "max_ms": round(max(latencies), 2),
        "get_p50_ms": round(common.percentile(gets, 50), 2),
        "get_p99_ms": round(common.percentile(gets, 99), 2),
        "statuses": statuses,
        "not_2xx": sum(n for status, n in statuses.items() if not 200 <= status < 300),
        "problems": [p for w in writers for p in w.problems],
    }


def writer_token(db: Path, **env: str) -> str:
    """Our writer (an admin) and its API token, made by the CLI on this database."""
    common.flask(
        db, "users", "create", USER, "--role", "admin", "--password-stdin", stdin="bench-password-1\n", **env
    )
    return common.flask(db, "users", "token", USER, "--label", "bench", **env).strip().splitlines()[-1]


def prepared(seed: Path, work: Path) -> tuple[Path, str, list[str]]:
    """A copy of the seed database with our writer and its API token: (database, token, point ids)."""
    db = common.copy_db(seed, work / "app")
    token = writer_token(db)
    with sqlite3.connect(db) as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM points ORDER BY id")]
    return db, token, ids


def alternating_rounds(runs: dict[str, tuple], writes: int, connections: int) -> dict[str, dict]:
    """Servers side by side: each takes its turn at `writes` writes under the full read load, in
    VERSUS_ROUNDS rounds whose order alternates, so the shared machine's ups and downs fall on
    all of them. runs: name -> (server, token, ids to write, read paths, work dir)."""
    results: dict[str, dict] = {name: {"rounds": [], "acknowledged": []} for name in runs}
    latencies: dict[str, list[float]] = {name: [] for name in runs}
    for round_no in range(VERSUS_ROUNDS):
        names = list(runs) if round_no % 2 == 0 else list(runs)[::-1]
        for name in names:
            app, token, chosen, paths, work = runs[name]
            common.log(f"round {round_no + 1}: {writes} writes under the full read load, {name}")
            ids = chosen[round_no * writes : (round_no + 1) * writes]
            writers, reads = writes_under(app, token, ids, work, paths, connections, 0, f"r{round_no}")
            read_5xx = sum(n for status, n in reads["statuses"].items() if status >= 500)
            results[name]["rounds"].append(
                summary(writers) | {"reads_rps": round(reads["rps"]), "reads_5xx": read_5xx}
            )
            latencies[name] += [ms for w in writers for ms in w.latencies_ms]
            results[name]["acknowledged"] += [a for w in writers for a in w.acknowledged]
    for name, result in results.items():
        result["writes"] = len(latencies[name])
        for q in (50, 90, 99):
            result[f"p{q}_ms"] = round(common.percentile(latencies[name], q), 2)
        result["max_ms"] = round(max(latencies[name]), 2)
    return results


def versus(args, seed: Path, writes: int) -> int:
    """Side by side: the documented settings against a second server with other settings (--versus,
    environment variables), in alternating rounds of writes under the full read load, so that
    the shared machine's ups and downs fall on both."""
    other = dict(item.split("=", 1) for item in args.versus.split(";") if item.strip())
    with tempfile.TemporaryDirectory(dir=args.data_dir) as tmp, ExitStack() as servers:
        runs = {}
        for name, env in (("these settings", {}), (f"versus {args.versus}", other)):
            work = Path(tmp) / str(len(runs))
            db, token, ids = prepared(seed, work)
            paths = nearest_paths(db)
            app = servers.enter_context(
                common.gunicorn(f"app{len(runs)}", "app:app", common.app_env(db, **env), work, paths[0])
            )
            common.warm(app, paths)
            chosen = random.Random(17).sample(ids, VERSUS_ROUNDS * writes)
            runs[name] = (app, token, chosen, paths, work)
        results = alternating_rounds(runs, writes, args.connections)
    rows = []
    for name, result in results.items():
        del result["acknowledged"]
        rounds = " / ".join(f"{r['p99_ms']:.0f}" for r in result["rounds"])
        reads = " / ".join(str(r["reads_rps"]) for r in result["rounds"])
        rows.append(
            common.row(
                f"PATCH p99, full read load, {name}",
                f"< {P99_TARGET_MS:.0f} ms",
                f"{result['p99_ms']:.1f} ms (p50 {result['p50_ms']:.1f})",
                result["p99_ms"] < P99_TARGET_MS,
                f"p99 by round {rounds} ms; reads {reads} req/s",
            )
        )
    mine, theirs = (result["p99_ms"] for result in results.values())
    rows.append(common.row("PATCH p99 ratio, versus / these settings", "", f"{theirs / mine:.2f}", None))
    common.save(args.data_dir, "writes_versus", rows, {"versus": args.versus, "results": results})
    return 0


def main() -> int:
    args = common.arguments(
        __doc__.split("\n\n")[0],
        connections=(int, 32, "wrk connections"),
        versus=(
            str,
            "",
            "compare with a second server in alternating rounds; its environment, e.g. "
            "'LOCATOR_SYNCHRONOUS=FULL;GUNICORN_THREADS=4;GUNICORN_CMD_ARGS=--worker-class=gthread'",
        ),
    )
    if not common.wrk_available():
        sys.exit("wrk is missing: run scripts/bench/run.sh, which installs it")
    writes = 60 if args.quick else WRITES
    seed = common.seed_db(args.data_dir, common.BIG)
    if args.versus:
        return versus(args, seed, writes // VERSUS_ROUNDS)
    phases: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(dir=args.data_dir) as tmp:
        work = Path(tmp)
        db, token, ids = prepared(seed, work)
        chosen = random.Random(17).sample(ids, 2 * writes + ALONE_WRITES)
        quiet_ids, full_ids, half_ids = (
            chosen[:ALONE_WRITES],
            chosen[ALONE_WRITES : ALONE_WRITES + writes],
            chosen[ALONE_WRITES + writes :],
        )
        paths = nearest_paths(db)
        acknowledged: list[dict] = []
        with common.gunicorn("app", "app:app", common.app_env(db), work, paths[0]) as app:
            common.warm(app, paths)
            exits = app.exits()
            common.log(f"{ALONE_WRITES} writes with no read load")
            quiet = write_phase(app, token, quiet_ids, seed=1)
            phases["no read load"] = summary(quiet)
            common.log("read load alone, as fast as wrk can (capacity)")
            alone = common.wrk(
                app.base, paths=paths, duration_s=6, connections=args.connections, work=work, name="alone"
            )
            phases["no read load"]["reads"] = alone
            common.log(f"{writes} writes under the full read load")
            full, full_reads = writes_under(app, token, full_ids, work, paths, args.connections, 0, "full")
            phases["full read load"] = summary(full) | {"reads": full_reads}
            half_delay = args.connections * 1000 / (alone["rps"] / 2)  # ms: about half the capacity
            common.log(f"{writes} writes under about half the read capacity (delay {half_delay:.0f} ms)")
            half, half_reads = writes_under(
                app, token, half_ids, work, paths, args.connections, half_delay, "half"
            )
            phases["half read load"] = summary(half) | {"reads": half_reads, "delay_ms": round(half_delay)}
            restarts = app.exits() - exits
            log_text = app.log_text()
        for writer in quiet + full + half:
            acknowledged.extend(writer.acknowledged)
        check = verify(db, acknowledged)
    locked = log_text.count("database is locked")
    lost = len(check["missing_history"]) + len(check["wrong_row"])
    rows = []
    for name in ("full read load", "half read load", "no read load"):
        phase = phases[name]
        reads = phase["reads"]
        p50, p99 = (reads["latency_us"][q] / 1000 for q in ("p50", "p99"))
        rows.append(
            common.row(
                f"PATCH status, {name} ({phase['writes']} writes): p99",
                f"< {P99_TARGET_MS:.0f} ms" if name != "no read load" else "",
                f"{phase['p99_ms']:.1f} ms (p50 {phase['p50_ms']:.1f})",
                phase["p99_ms"] < P99_TARGET_MS if name != "no read load" else None,
                f"max {phase['max_ms']:.0f} ms; the GET before it p50 {phase['get_p50_ms']:.1f} / "
                f"p99 {phase['get_p99_ms']:.0f} ms; reads {reads['rps']:.0f} req/s, "
                f"p50 {p50:.0f} / p99 {p99:.0f} ms"
                + (" (during the writes)" if name != "no read load" else " (reads alone, just after)"),
            )
        )
    not_2xx = sum(phase["not_2xx"] for phase in phases.values())
    read_5xx = sum(
        n for phase in phases.values() for status, n in phase["reads"]["statuses"].items() if status >= 500
    )
    problems = [p for phase in phases.values() for p in phase["problems"]]
    statuses = {name: phase["statuses"] for name, phase in phases.items()}
    rows.append(
        common.row(
            "writes not 2xx (412 included) / reads 5xx / 'database is locked'",
            "0 / 0 / 0",
            f"{not_2xx} / {read_5xx} / {locked}",
            not_2xx == 0 and read_5xx == 0 and locked == 0 and not problems,
            f"write statuses {statuses}" + (f"; {len(problems)} problem(s)" if problems else ""),
        )
    )
    expected = ALONE_WRITES + 2 * writes
    rows.append(
        common.row(
            "acknowledged writes found in history and rows",
            "all",
            f"{len(acknowledged) - lost}/{len(acknowledged)}, integrity {check['integrity']}",
            lost == 0 and check["integrity"] == "ok" and len(acknowledged) == expected,
        )
    )
    raw = {
        "writers": WRITERS,
        "pause_s": PAUSE_S,
        "phases": phases,
        "verify": {k: (v[:20] if isinstance(v, list) else v) for k, v in check.items()},
        "worker_restarts": restarts,
    }
    common.save(args.data_dir, "writes", rows, raw)
    return 0


if __name__ == "__main__":
    sys.exit(main())
