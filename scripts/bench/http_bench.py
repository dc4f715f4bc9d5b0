"""Requests per second through gunicorn, side by side with a bare Flask app, in one run.

Two servers with the documented gunicorn settings (scripts/gunicorn.conf.py, WEB_CONCURRENCY=2,
ACCESS_LOG=0) on 127.0.0.1: the locator on a copy of the 100,000-point database and
bare_app.py. wrk loads, in turn and for several rounds: the bare constant JSON;
/api/v1/nearest over 1,000 pre-generated coordinates; a conditional GET of
/api/v1/points?format=compact carrying the current ETag (answered 304); and the same nearest
load with Accept-Encoding: br, gzip as browsers send it. Ratios are taken within each round.

Example: .venv/bin/python scripts/bench/http_bench.py --data-dir /tmp/locator-bench
"""

from __future__ import annotations

import http.client
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import common

NEAREST_SHARE = 0.60  # issue 5: nearest >= 60 % of bare
NOT_MODIFIED_SHARE = 0.80  # issue 5: 304 >= 80 % of bare
COORDINATES = 1000
POINTS_PATH = "/api/v1/points?format=compact"
BROWSER_ENCODING = {"Accept-Encoding": "br, gzip"}
ETAG_MARGIN_S = 3  # ETags roll over each minute: a 304 run must end inside the ETag's minute


def nearest_paths(db: Path) -> list[str]:
    return [
        "/api/v1/nearest?" + urlencode({"lat": f"{lat:.5f}", "lon": f"{lon:.5f}", "k": 5})
        for lat, lon in common.query_coords(db, COORDINATES, seed=7)
    ]


def current_etag(server: common.Server, duration_s: float) -> tuple[str, float]:
    """The ETag of the compact points, fetched so that a run of duration_s still ends inside
    the ETag's minute (ETags roll over every minute). Returns it and how long the GET took."""
    while True:
        minute = int(time.time() // 60)
        conn = http.client.HTTPConnection(common.HOST, server.port, timeout=120)
        begin = time.perf_counter()
        conn.request("GET", POINTS_PATH, headers=BROWSER_ENCODING)
        response = conn.getresponse()
        response.read()
        took = time.perf_counter() - begin
        conn.close()
        if response.status != 200 or not response.getheader("ETag"):
            raise RuntimeError(f"GET {POINTS_PATH}: {response.status}, ETag {response.getheader('ETag')}")
        left = 60 - time.time() % 60
        if int(time.time() // 60) == minute and left >= min(duration_s, 8) + ETAG_MARGIN_S:
            return response.getheader("ETag"), took
        time.sleep(left + 0.2)


def main() -> int:
    args = common.arguments(
        __doc__.split("\n\n")[0],
        rounds=(int, 3, "rounds of all loads (ratios are taken within a round)"),
        duration=(float, 10.0, "seconds of each wrk run"),
        connections=(int, 32, "wrk connections"),
    )
    if not common.wrk_available():
        sys.exit("wrk is missing: run scripts/bench/run.sh, which installs it")
    rounds, duration = (1, 5.0) if args.quick else (args.rounds, args.duration)
    seed = common.seed_db(args.data_dir, common.BIG)
    loads = ("bare", "nearest", "points 304", "nearest br")
    runs: dict[str, list[dict]] = {name: [] for name in loads}
    with tempfile.TemporaryDirectory(dir=args.data_dir) as tmp:
        work = Path(tmp)
        db = common.copy_db(seed, work / "app")
        paths = nearest_paths(db)
        env = common.app_env(db)
        with (
            common.gunicorn("bare", "bare_app:app", env, work, "/") as bare,
            common.gunicorn("app", "app:app", env, work, paths[0]) as app,
        ):
            common.log(f"servers up: bare in {bare.started_s:.1f} s, locator in {app.started_s:.1f} s")
            warm_s = common.warm(app, paths)
            common.warm(bare, ["/"])
            common.log(f"locator workers warm (index loaded) after {warm_s:.1f} s more")
            for round_no in range(rounds):
                for name in loads:
                    target, url_paths, headers = bare, ["/"], {}
                    run_duration = duration
                    if name.startswith("nearest"):
                        target, url_paths = app, paths
                        headers = BROWSER_ENCODING if name.endswith("br") else {}
                    elif name == "points 304":
                        target, url_paths = app, [POINTS_PATH]
                        etag, took = current_etag(app, duration)
                        headers = {"If-None-Match": etag} | BROWSER_ENCODING
                        run_duration = min(duration, 60 - time.time() % 60 - ETAG_MARGIN_S)
                    exits, cpu = target.exits(), target.cpu_s()
                    result = common.wrk(
                        target.base,
                        paths=url_paths,
                        headers=headers,
                        duration_s=run_duration,
                        connections=args.connections,
                        work=work,
                        name=name.replace(" ", "-"),
                    )
                    result["worker_restarts"] = target.exits() - exits
                    after = target.cpu_s()
                    result["server_cpu_us_per_request"] = {
                        kind: round((after[kind] - cpu[kind]) / max(result["requests"], 1) * 1e6)
                        for kind in cpu
                    }
                    if name == "points 304":
                        result["full_get_s"] = round(took, 2)
                    runs[name].append(result)
                    common.log(
                        f"round {round_no + 1} {name}: {result['rps']:.0f} req/s, "
                        f"p50 {result['latency_us']['p50'] / 1000:.1f} ms, "
                        f"p99 {result['latency_us']['p99'] / 1000:.1f} ms, statuses {result['statuses']}, "
                        f"server CPU/request {result['server_cpu_us_per_request']} µs, "
                        f"restarts {result['worker_restarts']}"
                    )
                    time.sleep(1)
            logs = {"bare": bare.log_text()[-4000:], "app": app.log_text()[-4000:]}
            gaps = {"locator": app.replacement_gaps_s(), "bare": bare.replacement_gaps_s()}
        costs = request_costs(db, paths)
    rows, raw = summarise(runs)
    rows.append(
        common.row(
            "  gunicorn worker restarts during the runs (max_requests)",
            "",
            ", ".join(
                f"{name} {len(found)}"
                + (f" (replaced after {', '.join(map(str, found))} s)" if found else "")
                for name, found in gaps.items()
            ),
            None,
            "a new locator worker also loads the 100,000 points before its first lookup",
        )
    )
    rows.append(
        common.row(
            "  CPU per request in process: bare / 304 / nearest / nearest br",
            "",
            " / ".join(f"{costs[name]:.0f}" for name in ("bare", "points 304", "nearest", "nearest br"))
            + " µs",
            None,
            "Flask test client, no server, min of 5 interleaved batches",
        )
    )
    raw.update(
        server_logs_tail=logs,
        warm_s=round(warm_s, 1),
        wrk=f"-t2 -c{args.connections} -d{duration}s",
        request_cost_us=costs,
        worker_replacement_gaps_s=gaps,
    )
    common.save(args.data_dir, "http", rows, raw)
    return 0


def request_costs(db: Path, paths: list[str], batches: int = 5, size: int = 300) -> dict[str, float]:
    """Microseconds of CPU per request inside Flask (no server, no network): where the ratio goes."""
    common.in_process_env(db)
    import bare_app

    from locator import create_app

    app = create_app().test_client()
    bare = bare_app.app.test_client()
    app.get(paths[0])  # loads the index
    etag = {"If-None-Match": app.get(POINTS_PATH).headers["ETag"]}
    cases = {
        "bare": lambda i: bare.get("/"),
        "points 304": lambda i: app.get(POINTS_PATH, headers=etag),
        "nearest": lambda i: app.get(paths[i % len(paths)]),
        "nearest br": lambda i: app.get(paths[i % len(paths)], headers=BROWSER_ENCODING),
    }
    best = {name: float("inf") for name in cases}
    for _ in range(batches):
        if app.get(POINTS_PATH, headers=etag).status_code != 304:  # the minute rolled over
            etag["If-None-Match"] = app.get(POINTS_PATH).headers["ETag"]
        for name, call in cases.items():
            begin = time.perf_counter()
            for i in range(size):
                call(i)
            best[name] = min(best[name], (time.perf_counter() - begin) / size * 1e6)
    common.log(f"CPU per request in process (µs): {best}")
    return {name: round(us, 1) for name, us in best.items()}


def summarise(runs: dict[str, list[dict]]) -> tuple[list[dict], dict]:
    """One row per load: req/s, share of bare (median over rounds), latency, CPU per request."""
    rounds = len(runs["bare"])
    share = {
        name: [runs[name][i]["rps"] / runs["bare"][i]["rps"] for i in range(rounds)]
        for name in runs
        if name != "bare"
    }
    mean_rps = {name: sum(r["rps"] for r in results) / rounds for name, results in runs.items()}

    def cpu(name: str) -> float:
        return common.median([sum(r["server_cpu_us_per_request"].values()) for r in runs[name]])

    def unexpected(name: str, expected: int) -> int:
        statuses = sum(n for r in runs[name] for status, n in r["statuses"].items() if status != expected)
        errors = sum(
            r["errors"]["timeout"] + r["errors"]["connect"] + r["errors"]["read"] for r in runs[name]
        )
        return statuses + errors

    def notes(name: str, expected: int) -> str:
        worst = max(runs[name], key=lambda r: r["latency_us"]["p99"])["latency_us"]
        restarts = sum(r["worker_restarts"] for r in runs[name])
        p50, p90, p99 = (worst[q] / 1000 for q in ("p50", "p90", "p99"))
        parts = [
            f"p50 {p50:.1f} / p90 {p90:.1f} / p99 {p99:.1f} ms (worst round)",
            f"server CPU {cpu(name):.0f} µs/request",
        ]
        if name != "bare":
            parts.append("rounds " + ", ".join(f"{x:.0%}" for x in share[name]))
        if unexpected(name, expected):
            parts.append(f"{unexpected(name, expected)} answers not {expected} or errors")
        if restarts:
            parts.append(f"{restarts} worker restart(s) during these runs")
        return "; ".join(parts)

    def ratio(name: str) -> float:
        return common.median(share[name])

    rows = [
        common.row(
            "HTTP bare Flask constant JSON (yardstick)",
            "",
            f"{mean_rps['bare']:.0f} req/s",
            None,
            notes("bare", 200),
        ),
        common.row(
            "HTTP /api/v1/nearest vs bare",
            f">= {NEAREST_SHARE:.0%}",
            f"{mean_rps['nearest']:.0f} req/s = {ratio('nearest'):.0%}",
            ratio("nearest") >= NEAREST_SHARE and unexpected("nearest", 200) == 0,
            notes("nearest", 200),
        ),
        common.row(
            "HTTP conditional GET /api/v1/points (304) vs bare",
            f">= {NOT_MODIFIED_SHARE:.0%}",
            f"{mean_rps['points 304']:.0f} req/s = {ratio('points 304'):.0%}",
            ratio("points 304") >= NOT_MODIFIED_SHARE and unexpected("points 304", 304) == 0,
            notes("points 304", 304),
        ),
        common.row(
            "HTTP /api/v1/nearest, Accept-Encoding br, vs bare",
            "",
            f"{mean_rps['nearest br']:.0f} req/s = {ratio('nearest br'):.0%}",
            None,
            notes("nearest br", 200),
        ),
    ]
    raw = {"runs": runs, "share_of_bare": share, "mean_rps": mean_rps}
    return rows, raw


if __name__ == "__main__":
    sys.exit(main())
