"""Shared pieces of the benchmarks: data sets, seeded databases, servers, wrk, results.

Every piece writes one JSON file of results into <data-dir>/results/; report.py turns them into
the table that run.sh prints and docs/benchmarks.md keeps. All load goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the pieces that measure in process import the locator package
BENCH = ROOT / "scripts" / "bench"
VENV_BIN = ROOT / ".venv" / "bin"
DEFAULT_DATA_DIR = Path(tempfile.gettempdir()) / "locator-bench"
HOST = "127.0.0.1"  # the only address any load goes to
SEED = 1  # generator seed of every data set
BIG, SMALL = 100_000, 13_000  # points: the national target and today's network
UKRAINE_BBOX = (22.1, 44.3, 40.3, 52.4)  # min lon, min lat, max lon, max lat
QUERY_JITTER_KM = 5.0  # queries fall around real points, as people live where points are
KM_PER_DEG = 111.2
SERVER_START_S = 120  # a worker loads 100k points before its first answer
WARM_ROUND_MS = 150  # warm when a round of concurrent requests all answer this fast


def arguments(description: str, **extra: Any) -> argparse.Namespace:
    """The options every piece takes: where data and results live, and a quick mode."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="cache of data sets")
    parser.add_argument("--quick", action="store_true", help="shorter runs, for trying the harness")
    for name, (kind, default, text) in extra.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=default, help=text)
    args = parser.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    (args.data_dir / "results").mkdir(exist_ok=True)
    return args


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- data sets -------------------------------------------------------------------------------------


def geojson(data_dir: Path, count: int) -> Path:
    """The generated data set of this size (made once, then cached)."""
    path = data_dir / f"ua-{count}-s{SEED}.geojson"
    if not path.is_file():
        log(f"generating {count} points -> {path}")
        part = path.with_suffix(".part")
        subprocess.run(
            [python(), "scripts/generate_points.py", "--area", "ukraine", "--count", str(count)]
            + ["--seed", str(SEED), "--out", str(part)],
            cwd=ROOT,
            check=True,
        )
        part.rename(path)
    return path


def seed_db(data_dir: Path, count: int) -> Path:
    """A database holding the generated data set (imported once, then copied for each run).

    import_bench.py refreshes it with the database it times, so a full run uses fresh stamps.
    """
    path = data_dir / f"seed-{count}-s{SEED}.db"
    if not path.is_file():
        source = geojson(data_dir, count)
        with tempfile.TemporaryDirectory(dir=data_dir) as work:
            db = Path(work) / "locator.db"
            log(f"importing {source.name} into a seed database")
            flask(db, "points", "import", str(source))
            keep_as_seed(db, path)
    return path


def keep_as_seed(db: Path, seed: Path) -> None:
    """Fold the WAL into the file and keep a copy as the seed database."""
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    part = seed.with_suffix(".part")
    shutil.copyfile(db, part)
    part.rename(seed)


def copy_db(seed: Path, work: Path) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    db = work / "locator.db"
    shutil.copyfile(seed, db)
    return db


def query_coords(db: Path, count: int, seed: int) -> np.ndarray:
    """(lat, lon) rows: random points of the database, moved a few km in a random direction."""
    with sqlite3.connect(db) as conn:
        positions = np.array(conn.execute("SELECT lat, lon FROM points ORDER BY id").fetchall(), float)
    rng = np.random.default_rng(seed)
    chosen = positions[rng.integers(0, len(positions), count)]
    lat = chosen[:, 0] + rng.normal(0, QUERY_JITTER_KM / KM_PER_DEG, count)
    lon = chosen[:, 1] + rng.normal(0, QUERY_JITTER_KM / KM_PER_DEG, count) / np.cos(np.radians(chosen[:, 0]))
    min_lon, min_lat, max_lon, max_lat = UKRAINE_BBOX
    return np.column_stack((np.clip(lat, min_lat, max_lat), np.clip(lon, min_lon, max_lon))).round(6)


# -- the app's command line and server -------------------------------------------------------------


def python() -> str:
    return str(VENV_BIN / "python")


def app_env(db: Path, **more: str) -> dict[str, str]:
    """The environment of the app on this database: no demo seeding, no access log, and no
    per-address API rate limit (the load tool is one address standing for many clients)."""
    env = dict(os.environ)
    env.update(
        LOCATOR_DB=str(db),
        LOCATOR_SEED_FILE="",
        LOCATOR_API_RATE_PER_MIN="0",
        LOCATOR_IMPORT_MAX_BYTES=str(512 * 1024 * 1024),  # the 100,000-point GeoJSON is ~65 MB
        LOCATOR_ENV="development",
        WEB_CONCURRENCY="2",
        ACCESS_LOG="0",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(more)
    return env


def flask(db: Path, *args: str, stdin: str | None = None, **env: str) -> str:
    """Run `flask --app app ...` on this database and return what it printed."""
    done = subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "app", *args],
        cwd=ROOT,
        env=app_env(db, **env),
        input=stdin,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def in_process_env(db: Path) -> None:
    """Point this process's environment at the database, for create_app() in process."""
    os.environ.update({k: v for k, v in app_env(db).items() if k.startswith("LOCATOR_")})


def calibration_ms() -> float:
    """A fixed pure-Python workload, best of three: how fast this shared machine is right now."""
    best = float("inf")
    for _ in range(3):
        begin = time.perf_counter()
        sum(i * i for i in range(2_000_000))
        best = min(best, (time.perf_counter() - begin) * 1000)
    return round(best, 1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen
    log_path: Path
    started_s: float = 0.0
    marks: dict[str, int] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def cpu_s(self) -> dict[str, float]:
        """CPU seconds used so far by the gunicorn master and all its workers, live or ended
        (user, sys): an ended worker's time is in the master's cutime/cstime once reaped."""
        tick = os.sysconf("SC_CLK_TCK")
        used = {"user": 0.0, "sys": 0.0}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # the process ended meanwhile
            pid, ppid = int(stat.parent.name), int(fields[1])
            if pid == self.process.pid:  # fields[11:15]: utime, stime, cutime, cstime
                used["user"] += (int(fields[11]) + int(fields[13])) / tick
                used["sys"] += (int(fields[12]) + int(fields[14])) / tick
            elif ppid == self.process.pid:
                used["user"] += int(fields[11]) / tick
                used["sys"] += int(fields[12]) / tick
        return used

    def exits(self) -> int:
        """How many workers have exited so far (max_requests recycling, crashes)."""
        return self.log_text().count("Worker exiting")

    def replacement_gaps_s(self) -> list[int]:
        """For each worker that exited, the seconds until gunicorn's log shows the next boot."""
        stamps = []
        for line in self.log_text().splitlines():
            if "Worker exiting" in line or "Booting worker" in line:
                moment = time.mktime(time.strptime(line[1:20], "%Y-%m-%d %H:%M:%S"))
                stamps.append(("exit" if "exiting" in line else "boot", moment))
        gaps = []
        for i, (kind, moment) in enumerate(stamps):
            if kind == "exit":
                boot = next((m for k, m in stamps[i + 1 :] if k == "boot"), None)
                if boot is not None:
                    gaps.append(int(boot - moment))
        return gaps


@contextmanager
def gunicorn(name: str, app: str, env: dict[str, str], work: Path, ready_path: str) -> Iterator[Server]:
    """gunicorn with scripts/gunicorn.conf.py on a free port of 127.0.0.1, stopped afterwards."""
    port = free_port()
    env = dict(env, BIND=f"{HOST}:{port}", PORT=str(port))
    log_path = work / f"{name}-gunicorn.log"
    command = [str(VENV_BIN / "gunicorn"), "--config", "scripts/gunicorn.conf.py"]
    if (BENCH / f"{app.split(':')[0]}.py").is_file():
        command += ["--pythonpath", str(BENCH)]  # the bare yardstick app lives beside this file
    command.append(app)
    started = time.perf_counter()
    with open(log_path, "w") as log_file:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    server = Server(name, port, process, log_path)
    try:
        wait_until_up(server, ready_path)
        server.started_s = time.perf_counter() - started
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_up(server: Server, path: str) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited:\n{server.log_text()[-3000:]}")
        try:
            with urllib.request.urlopen(server.base + path, timeout=30) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{server.name} did not answer {path} within {SERVER_START_S} s")


def warm(server: Server, paths: Sequence[str], concurrency: int = 16, limit_s: float = 90) -> float:
    """Send rounds of concurrent requests until one round is fast everywhere: every worker has
    loaded its index (a worker builds it on its first lookup). Returns the seconds it took."""
    started = time.perf_counter()

    def fetch(path: str) -> float:
        begin = time.perf_counter()
        with urllib.request.urlopen(server.base + path, timeout=60) as response:
            response.read()
        return (time.perf_counter() - begin) * 1000

    with ThreadPoolExecutor(concurrency) as pool:
        i = 0
        while time.perf_counter() - started < limit_s:
            batch = [paths[(i + j) % len(paths)] for j in range(concurrency * 2)]
            i += len(batch)
            if max(pool.map(fetch, batch)) < WARM_ROUND_MS:
                break
    return time.perf_counter() - started


# -- wrk -------------------------------------------------------------------------------------------


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def wrk(
    url: str,
    *,
    paths: Sequence[str],
    headers: dict[str, str] | None = None,
    duration_s: float,
    threads: int = 2,
    connections: int = 32,
    work: Path,
    name: str,
    stop_when: Any = None,
    delay_ms: float = 0,
) -> dict[str, Any]:
    """Run wrk with wrk_bench.lua over these request paths; the Lua script reports as JSON.

    stop_when: an optional callable; wrk is interrupted (SIGINT, it still reports) once it
    returns True, otherwise it runs for duration_s. delay_ms: each connection pauses this long
    between requests, for a load below the server's capacity.
    """
    paths_file = work / f"{name}.paths"
    paths_file.write_text("\n".join(paths) + "\n")
    env = dict(os.environ)
    env["BENCH_PATHS"] = str(paths_file)
    env["BENCH_DELAY_MS"] = str(round(delay_ms))
    env["BENCH_HEADERS"] = "\n".join(f"{k}: {v}" for k, v in (headers or {}).items())
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{math.ceil(duration_s)}s", "--timeout", "5s"]
    command += ["-s", str(BENCH / "wrk_bench.lua"), url]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if stop_when is not None:
        while process.poll() is None and not stop_when():
            time.sleep(0.05)
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=duration_s + 60)
    for line in out.splitlines():
        if line.startswith("BENCH_JSON "):
            result = json.loads(line[len("BENCH_JSON ") :])
            result["statuses"] = {int(k): v for k, v in result["statuses"].items()}
            result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
            return result
    raise RuntimeError(f"wrk gave no result:\n{out}\n{err}")


# -- figures and results ---------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear between closest ranks."""
    return float(np.percentile(np.asarray(values, float), q)) if len(values) else float("nan")


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def row(metric: str, target: str, measured: str, passed: bool | None, note: str = "") -> dict[str, Any]:
    """One line of the results table; passed None means "no target, a figure to read"."""
    return {"metric": metric, "target": target, "measured": measured, "pass": passed, "note": note}


def save(data_dir: Path, piece: str, rows: list[dict[str, Any]], raw: dict[str, Any]) -> None:
    path = data_dir / "results" / f"{piece}.json"
    path.write_text(json.dumps({"piece": piece, "rows": rows, "raw": raw}, indent=1, ensure_ascii=False))
    for item in rows:
        verdict = {True: "PASS", False: "MISS", None: "-"}[item["pass"]]
        print(f"  {item['metric']:<52} {item['target']:<14} {item['measured']:<22} {verdict}")
    log(f"results -> {path}")


def fmt_ms(value: float) -> str:
    return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"
