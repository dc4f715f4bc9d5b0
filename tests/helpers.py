"""Test helpers: valid points in one line, small files, random data, the problem+json check and
logging in to the console."""

from __future__ import annotations

import json
import math
import random
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

from locator.domain.point import OPERATOR_STATUSES, SERVICES, Point, Status, format_time
from locator.domain.validation import parse_point
from locator.search.regions import shared as shared_regions

PROBLEM_JSON = "application/problem+json"
PASSWORD = "батарейка-1234 кава"  # every console user made by the make_user fixture has this one
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
# A fixed clock for records that must not depend on when the suite runs.
FIXED_NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)

REGIONS = (
    "Київська область",
    "Львівська область",
    "Хмельницька область",
    "Запорізька область",
    "Кіровоградська область",
    "Донецька область",
    "Харківська область",
)
# (settlement, region index): several names with the apostrophe Ukrainian writes as ’ or '.
SETTLEMENTS = (
    ("Київ", 0),
    ("Бровари", 0),
    ("Ірпінь", 0),
    ("Львів", 1),
    ("Кам’янець-Подільський", 2),
    ("Запоріжжя", 3),
    ("Знам’янка", 4),
    ("Слов’янськ", 5),
    ("Харків", 6),
    ("П’ятихатки", 4),
)
STREETS = ("вул. Хрещатик", "просп. Свободи", "вул. Шевченка", "вул. Об’їзна", "пл. Ринок")
NAMES = ("Школа", "Ліцей", "Пункт незламності", "Супермаркет «Сільпо»", "АЗС WOG", "Бібліотека", "Намет ДСНС")


def make_record(point_id: str = "p1", **overrides: Any) -> dict[str, Any]:
    """A valid input record (as a file or form would give it) with these fields changed."""
    record: dict[str, Any] = {
        "id": point_id,
        "name": f"Пункт {point_id}",
        "kind": "fixed",
        "category": "state",
        "base": False,
        "status": "open",
        "services": ["power", "heat"],
        "lat": 50.4501,
        "lon": 30.5234,
        "address": "вул. Хрещатик, 1",
        "settlement": "Київ",
        "region": "Київ",
        "updated_at": "2025-01-15T10:00:00Z",
        "verified_at": "2025-01-15T11:00:00Z",
    }
    record.update(overrides)
    if "region" not in overrides and {"lat", "lon"} & overrides.keys():  # where it now stands
        try:
            located = shared_regions().locate(float(record["lat"]), float(record["lon"])).region
        except (TypeError, ValueError, OverflowError):  # a record made to test a bad coordinate
            located = ""
        record["region"] = located or record["region"]
    return record


def make_point(point_id: str = "p1", *, now: datetime = FIXED_NOW, **overrides: Any) -> Point:
    """A valid Point built through parse_point, so it is exactly what the app would hold."""
    return parse_point(make_record(point_id, **overrides), now=now)


def feature(record: dict[str, Any], geometry: dict | None | str = "auto") -> dict[str, Any]:
    """A GeoJSON Feature for a record; its lat/lon become the geometry unless one is given."""
    properties = {k: v for k, v in record.items() if k not in ("lat", "lon")}
    if geometry == "auto":
        geometry = {"type": "Point", "coordinates": [record["lon"], record["lat"]]}
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def write_geojson(path: Path, items: Iterable[dict[str, Any] | Point]) -> Path:
    """Write a FeatureCollection of records, Points or ready-made Features; return the path."""
    features = []
    for item in items:
        if isinstance(item, Point):
            item = item.to_record()
        features.append(item if item.get("type") == "Feature" else feature(item))
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False))
    return path


def assert_problem(response, status: int, param: str | None) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status, blaming this parameter (None: none)."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_JSON
    body = json.loads(response.get_data(as_text=True))
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert body.get("param") == param
    return body


# -- random data for the oracle tests ------------------------------------------------------------

UKRAINE = (44.4, 52.4, 22.1, 40.2)  # min_lat, max_lat, min_lon, max_lon


def random_record(rng: random.Random, point_id: str, lat: float, lon: float) -> dict[str, Any]:
    settlement, _ = rng.choice(SETTLEMENTS)
    settlement, region = rng.choice(SETTLEMENTS)
    verified = FIXED_NOW - timedelta(minutes=rng.randrange(0, 3 * 24 * 60))
    return {
        "id": point_id,
        "name": f"{rng.choice(NAMES)} №{rng.randrange(1, 300)}",
        "kind": rng.choice(["fixed", "fixed", "mobile"]),
        "category": rng.choice(["state", "business"]),
        "base": rng.random() < 0.3,
        "status": rng.choice([s.value for s in OPERATOR_STATUSES] + ["open", "open"]),
        "services": rng.sample(SERVICES, rng.randrange(0, 6)),
        "lat": lat,
        "lon": lon,
        "address": f"{rng.choice(STREETS)}, {rng.randrange(1, 200)}",
        "settlement": settlement,
        "region": shared_regions().locate(lat, lon).region,  # as a write would settle it
        "capacity": rng.choice([None, 50, 120]),
        "updated_at": format_time(verified),
        "verified_at": format_time(verified),
    }


def random_points(rng: random.Random, n: int, prefix: str = "r") -> list[Point]:
    """n valid points spread over Ukraine, ids prefix0000, prefix0001, ..."""
    min_lat, max_lat, min_lon, max_lon = UKRAINE
    return [
        parse_point(
            random_record(
                rng, f"{prefix}{i:04d}", rng.uniform(min_lat, max_lat), rng.uniform(min_lon, max_lon)
            ),
            now=FIXED_NOW,
        )
        for i in range(n)
    ]


def vary_text(rng: random.Random, text: str) -> str:
    """The same text as a user might type it: other case, other apostrophe."""
    text = rng.choice([text, text.upper(), text.lower(), text.casefold(), text.title()])
    return text.replace("’", rng.choice(["’", "'", "ʼ"]))


def random_filter_args(rng: random.Random, points: list[Point], q_share: float = 0.25) -> dict[str, str]:
    """Query parameters for a random filter; text values come from the data, varied."""
    args: dict[str, str] = {}
    if rng.random() < 0.4:
        args["status"] = ",".join(rng.sample([s.value for s in Status], rng.randrange(1, 4)))
    if rng.random() < 0.25:
        args["kind"] = rng.choice(["fixed", "mobile", "fixed,mobile"])
    if rng.random() < 0.25:
        args["category"] = rng.choice(["state", "business", "STATE"])
    if rng.random() < 0.25:
        args["base"] = rng.choice(["true", "false", "1", "0", "yes", "no"])
    if rng.random() < 0.3:
        args["services"] = ",".join(rng.sample(SERVICES, rng.randrange(1, 3)))
    if rng.random() < 0.25:
        args["region"] = vary_text(rng, rng.choice(REGIONS + ("Неіснуюча",)))
    if rng.random() < q_share and points:
        source = rng.choice(points)
        text = rng.choice([source.name, source.address, source.settlement]) or source.name
        start = rng.randrange(0, max(1, len(text) - 3))
        args["q"] = vary_text(rng, text[start : start + rng.randrange(3, 9)]).strip() or text
    if rng.random() < 0.2:
        min_lat, max_lat, min_lon, max_lon = UKRAINE
        lat1, lat2 = sorted(rng.uniform(min_lat, max_lat) for _ in range(2))
        lon1, lon2 = sorted(rng.uniform(min_lon, max_lon) for _ in range(2))
        args["bbox"] = f"{lon1},{lat1},{lon2},{lat2}"
    return args


# -- the console ---------------------------------------------------------------------------------


def csrf_token(client, path: str = "/operator/login") -> str:
    """The CSRF token of the client's session, read from a form on the page at path."""
    response = client.get(path)
    match = CSRF_FIELD.search(response.get_data(as_text=True))
    assert match, f"no csrf_token field on {path} ({response.status_code})"
    return match.group(1)


def login(client, name: str, password: str = PASSWORD, **kwargs: Any):
    """Log in through the form (CSRF token included); returns the POST's response."""
    token = csrf_token(client)
    return client.post(
        "/operator/login", data={"csrf_token": token, "name": name, "password": password}, **kwargs
    )


def table_names(store) -> list[str]:
    """Every table of the store's database, on either backend."""
    if store.dialect == "sqlite":
        return store.db.table_names()
    return [
        row[0]
        for row in store.db.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
    ]


def database_files(db_path: Path) -> list[Path]:
    """Every file the database leaves on disk: itself, its WAL and shared memory, its change
    beacon, and the map data's shared copies (bodies.py) in the directory beside it."""
    return [
        path
        for path in db_path.parent.rglob("*")
        if path.is_file() and path.relative_to(db_path.parent).parts[0].startswith(db_path.name)
    ]


def db_state(store) -> tuple:
    """Everything a write could touch: the points, every history row and the change counter."""
    history = list(store.db.execute("SELECT * FROM history ORDER BY id"))
    return store.all(), history, store.change_seq()


@contextmanager
def serving(wsgi_app) -> Iterator[int]:
    """A WSGI app on werkzeug's threaded server on a free local port (each request on its own
    thread and connection), stopped and closed on exit; yields the port."""
    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="test-server", daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


EARTH_RADIUS_M_ORACLE = 6_371_008.8  # metres: the mean Earth radius docs/api.md promises


def haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The tests' oracle: the textbook haversine formula, written apart from locator.geo."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((phi2 - phi1) / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M_ORACLE * math.asin(min(1.0, math.sqrt(a)))


def dispatch_counter(app) -> dict[str, int]:
    """How many requests reached Flask's own dispatch (a real hook, counted first)."""
    count = {"n": 0}

    def seen() -> None:
        count["n"] += 1

    app.before_request_funcs.setdefault(None, []).insert(0, seen)
    return count
