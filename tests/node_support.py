"""Several app nodes on one PostgreSQL database, for tests/test_nodes.py: each node a gunicorn
server running its own copy of the project with its own instance directory and port (as separate
machines would), the database seeded once, and what the tests check afterwards against the
database itself (history, versions) and a brute-force haversine oracle.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
from argon2 import PasswordHasher
from helpers import UKRAINE, haversine
from server_support import PROJECT, Client, Gunicorn, flask_cli
from soak_support import Database, Write
from soak_support import assert_history_holds as soak_history_holds

from locator.services.accounts import new_token
from locator.store import UserStore, open_store

NODE_FILES = ("app.py", "locator", "templates", "static", "data", "scripts", "babel.cfg", "pyproject.toml")
USER = "nodes-admin"
READY_PATH = "/healthz"  # 200 once the node's nearest index holds the database's points
# Anonymous reads come from one address here; the per-address limit is not what these tests test.
NODE_SETTINGS = {"LOCATOR_API_RATE_PER_MIN": "0"}
STATUSES = ("open", "full", "standby", "closed")
# The oracle's view of the API query ORACLE_QUERY: fixed points (a mobile one may stand at a stop),
# operator status open, hours ignored, not archived, plain distance order.
ORACLE_QUERY = "status=open&kind=fixed&open_now=false&order=distance"
ORACLE_SQL = "SELECT id, lat, lon FROM points WHERE status = 'open' AND kind = 'fixed' AND archived = 0"
DISTANCE_TOLERANCE_M = 0.01  # the API rounds distance_m to the millimetre
AGREE_WITHIN_S = 1.0  # after the load stops, every node answers as the oracle within this
PROPAGATION_LIMIT_S = 1.0  # a write on one node is in another's answers within this (p99)
ALL_STATUSES = "status=open,full,standby,closed&open_now=false&order=distance&k=1"


def generate_points(out: Path, count: int, seed: int = 5) -> Path:
    """count generated points across Ukraine, as a GeoJSON file (scripts/generate_points.py)."""
    command = [sys.executable, "scripts/generate_points.py", "--area", "ukraine", "--count", str(count)]
    command += ["--seed", str(seed), "--out", str(out)]
    subprocess.run(command, cwd=PROJECT, check=True, capture_output=True, timeout=300)
    return out


def seed_database(url: str, points_file: Path, workdir: Path) -> str:
    """Fill the database once (`flask points seed`, as scripts/serve.sh does) and give an admin an
    API token, through the store on the same URL; the token."""
    workdir.mkdir(parents=True, exist_ok=True)
    flask_cli(workdir / "cli.db", "points", "seed", seed=str(points_file), LOCATOR_DATABASE_URL=url)
    store = open_store(workdir / "cli.db", url=url)
    try:
        users = UserStore(store)
        users.create(USER, PasswordHasher().hash("nodes-password-1234"), "admin")
        token, digest = new_token()
        users.add_token(USER, digest)
    finally:
        store.dispose()
    return token


def copy_project(target: Path) -> Path:
    """The files a node runs, copied: nothing is shared between nodes but the venv."""
    target.mkdir(parents=True)
    for name in NODE_FILES:
        source = PROJECT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / name)
    return target


class Node:
    """One app node: its own copy of the project, instance directory, port and gunicorn."""

    def __init__(self, name: str, base: Path, url: str, **settings: str):
        self.name = name
        home = base / name
        project = copy_project(home / "project")
        (home / "instance").mkdir()
        settings = NODE_SETTINGS | {"LOCATOR_DATABASE_URL": url} | settings
        self.server = Gunicorn(
            home / "instance" / "locator.db", home / "gunicorn.log", READY_PATH, project=project, **settings
        )

    @property
    def port(self) -> int:
        return self.server.port

    def start(self) -> Node:
        self.server.start()
        return self

    def running(self) -> bool:
        process = self.server.process
        return process is not None and process.poll() is None

    def log_text(self) -> str:
        return self.server.log_text()


def start_nodes(nodes: list[Node]) -> None:
    """Start the nodes side by side (each boot is mostly one CPU's work)."""
    if not nodes:
        return
    with ThreadPoolExecutor(len(nodes)) as pool:
        for started in [pool.submit(node.start) for node in nodes]:
            started.result()


def stop_nodes(nodes: list[Node]) -> None:
    for node in nodes:
        node.server.stop()


def assert_logs_clean(nodes: list[Node]) -> None:
    for node in nodes:
        text = node.log_text()
        assert "Traceback" not in text and "WORKER TIMEOUT" not in text, f"{node.name}:\n{text[-5000:]}"


# -- what the database holds afterwards ---------------------------------------------------------------


def assert_history_holds(url: str, acknowledged: list[Write], refused: list[str] = ()) -> None:
    """soak_support's check, on every point: nothing half-written anywhere (no reports here)."""
    soak_history_holds(Database(Path("."), url), acknowledged, refused, user=USER, every_point=True)


def open_points(url: str) -> dict[str, tuple[float, float]]:
    """The points the oracle query finds, as the database holds them now."""
    with psycopg.connect(url) as db:
        return {point_id: (lat, lon) for point_id, lat, lon in db.execute(ORACLE_SQL)}


def oracle_ranking(points: dict, lat: float, lon: float) -> list[tuple[float, str]]:
    """Every point as (haversine distance, id), nearest first: the brute-force answer."""
    return sorted((haversine(lat, lon, *where), point_id) for point_id, where in points.items())


def oracle_disagreement(ranking: list[tuple[float, str]], k: int, answer) -> str:
    """'' when the API's answer (features, nearest first) is the oracle's top k; points at the
    same distance may come in any order and either may take the last place."""
    expected = ranking[:k]
    got = [(f["properties"]["distance_m"], f["id"]) for f in answer["features"]]
    if [point_id for _, point_id in got] == [point_id for _, point_id in expected]:
        return ""
    by_id = {point_id: d for d, point_id in ranking}
    same = len(got) == len(expected) and all(
        point_id in by_id
        and abs(by_id[point_id] - d_expected) <= DISTANCE_TOLERANCE_M
        and abs(d_got - d_expected) <= DISTANCE_TOLERANCE_M
        for (d_got, point_id), (d_expected, _) in zip(got, expected, strict=True)
    )
    return "" if same else f"k={k}: got {got}, expected {expected}"


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (share 0.99: p99)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


# -- measuring the nodes ---------------------------------------------------------------------------------


def fixed_points(url: str, count: int, skip: set[str]) -> list[tuple[str, float, float]]:
    """count fixed points (each stands where its row says) the load does not write."""
    with psycopg.connect(url) as db:
        rows = db.execute("SELECT id, lat, lon FROM points WHERE kind = 'fixed' ORDER BY id").fetchall()
    return [row for row in rows if row[0] not in skip][:count]


def patch(client: Client, token: str, point_id: str, status: str, note: str):
    """GET the point's ETag, then PATCH it; (status, version or None)."""
    auth = {"Authorization": f"Bearer {token}"}
    code, answer, data = client.call("GET", f"/api/v1/points/{point_id}", headers=auth)
    assert code == 200, data
    body, headers = {"status": status, "note": note}, auth | {"If-Match": answer["ETag"]}
    code, _, data = client.call("PATCH", f"/api/v1/points/{point_id}", body, headers)
    return code, json.loads(data)["properties"]["version"] if code == 200 else None


def assert_nodes_agree_with_oracle(url: str, nodes: list[Node], rng: random.Random, places: int) -> float:
    """Within AGREE_WITHIN_S every node's nearest answers equal the oracle's over the database's
    points; how long that took."""
    points = open_points(url)
    min_lat, max_lat, min_lon, max_lon = UKRAINE
    queries = []  # (lat, lon, k, the oracle's ranking), places as the URL gives them
    for _ in range(places):
        lat, lon = round(rng.uniform(min_lat, max_lat), 6), round(rng.uniform(min_lon, max_lon), 6)
        queries.append((lat, lon, rng.randint(1, 20), oracle_ranking(points, lat, lon)))
    clients = [Client(node.port) for node in nodes]
    started = time.monotonic()
    try:
        while True:
            wrong = []
            for node, client in zip(nodes, clients, strict=True):
                for lat, lon, k, ranking in queries:
                    path = f"/api/v1/nearest?lat={lat}&lon={lon}&k={k}&{ORACLE_QUERY}"
                    code, _, data = client.call("GET", path)
                    assert code == 200, data
                    if problem := oracle_disagreement(ranking, k, json.loads(data)):
                        wrong.append(f"{node.name} at {lat},{lon}: {problem}")
            elapsed = time.monotonic() - started
            if not wrong:
                return elapsed
            assert elapsed < AGREE_WITHIN_S, f"{len(wrong)} disagreements, first: {wrong[:3]}"
    finally:
        for client in clients:
            client.close()


def measure_propagation(nodes: list[Node], token: str, targets) -> list[float]:
    """Seconds from a write's 200 on one node to its version in the next node's nearest answer."""
    clients = [Client(node.port) for node in nodes]
    delays = []
    try:
        for n, (point_id, lat, lon) in enumerate(targets):
            writer, reader = clients[n % len(nodes)], clients[(n + 1) % len(nodes)]
            code, version = patch(writer, token, point_id, ("open", "full")[n % 2], f"propagation-{n}")
            assert code == 200
            acknowledged = time.monotonic()
            while True:
                code, _, data = reader.call("GET", f"/api/v1/nearest?lat={lat}&lon={lon}&{ALL_STATUSES}")
                assert code == 200, data
                feature = json.loads(data)["features"][0]
                assert feature["id"] == point_id, feature["id"]
                if feature["properties"]["version"] >= version:
                    break
                assert time.monotonic() - acknowledged < 5 * PROPAGATION_LIMIT_S, f"{point_id} never seen"
            delays.append(time.monotonic() - acknowledged)
    finally:
        for client in clients:
            client.close()
    return delays
