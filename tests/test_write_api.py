"""The write API (PATCH and POST /api/v1/points): who may write what, If-Match, errors, concurrency."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers import assert_problem, csrf_token, db_state, login, serving

from locator import create_app
from locator.domain.point import utcnow
from locator.search.regions import canonical_region
from locator.services.accounts import new_token

pytestmark = pytest.mark.backends  # SQLite and PostgreSQL (conftest.py)

PROJECT = Path(__file__).resolve().parent.parent
KYIV = "Київська обл."  # region A: olena's
LVIV = "Львівська обл."  # region B: taras's
NOT_A_TOKEN = "poi_" + "A" * 43


# Where each region's new points stand: the region written must be where the coordinates lie.
SPOT = {"Київська обл.": (50.1, 30.1), "Львівська обл.": (49.84, 24.03)}


def new_record(point_id: str, region: str, **overrides) -> dict:
    lat, lon = SPOT.get(region, (50.1, 30.1))
    record = {
        "id": point_id,
        "name": f"Пункт {point_id}",
        "status": "open",
        "services": ["power", "heat"],
        "lat": lat,
        "lon": lon,
        "settlement": "",
        "region": region,
    }
    return record | overrides


# method, path, body (PATCHes name version 1, which every seeded point is at)
ENDPOINTS = {
    "patch-A": ("PATCH", "/api/v1/points/kyiv-01", {"status": "closed"}),
    "patch-B": ("PATCH", "/api/v1/points/lviv-01", {"status": "closed"}),
    "patch-A-to-B": (
        "PATCH",
        "/api/v1/points/kyiv-01",
        {"region": LVIV, "settlement": "Львів", "lat": 49.84, "lon": 24.03},
    ),
    "post-A": ("POST", "/api/v1/points", new_record("new-a", KYIV)),
    "post-B": ("POST", "/api/v1/points", new_record("new-b", LVIV)),
}
# who -> expected status per endpoint, in the order of ENDPOINTS
EXPECTED = {
    "admin": (200, 200, 200, 201, 201),
    "operator-A": (200, 403, 403, 201, 403),
    "operator-B": (403, 200, 403, 403, 201),
    "viewer": (403, 403, 403, 403, 403),
    "reviewer-A": (403, 403, 403, 403, 403),  # decides proposals, edits no point
    "business-A": (200, 403, 403, 403, 403),  # kyiv-01 is its own point: its status only
    "anonymous": (401, 401, 401, 401, 401),
    "disabled-token": (401, 401, 401, 401, 401),
    "bad-token": (401, 401, 401, 401, 401),
}
NAMES = {
    "admin": "admin",
    "operator-A": "olena",
    "operator-B": "taras",
    "viewer": "vika",
    "reviewer-A": "rita",
    "business-A": "kava",
}
MATRIX = [
    pytest.param(who, endpoint, EXPECTED[who][i], id=f"{who}-{endpoint}")
    for who in EXPECTED
    for i, endpoint in enumerate(ENDPOINTS)
]


@pytest.fixture
def team(seeded, make_user, make_token, users) -> dict[str, dict[str, str]]:
    """Authorization headers for each kind of caller, on the seeded points."""
    make_user("admin", "admin")
    make_user("olena", "operator", regions=("Київ", KYIV))
    make_user("taras", "operator", regions=(LVIV,))
    make_user("vika", "viewer")
    make_user("rita", "reviewer", regions=("Київ", KYIV))
    make_user("kava", "business", points=("kyiv-01",))
    make_user("dmytro", "operator", regions=("Київ", KYIV))
    headers = {who: {"Authorization": f"Bearer {make_token(name)}"} for who, name in NAMES.items()}
    headers["disabled-token"] = {"Authorization": f"Bearer {make_token('dmytro')}"}
    users.set_disabled("dmytro", True)
    headers["anonymous"] = {}
    headers["bad-token"] = {"Authorization": f"Bearer {NOT_A_TOKEN}"}
    return headers


def send(client, endpoint: str, headers: dict[str, str], **extra_headers: str):
    method, path, body = ENDPOINTS[endpoint]
    if method == "PATCH":
        extra_headers.setdefault("If-Match", "v1")
    return client.open(path, method=method, json=body, headers=headers | extra_headers)


def patch(client, point_id: str, body, headers: dict[str, str], if_match: str | None = "v1"):
    headers = headers | ({"If-Match": if_match} if if_match is not None else {})
    return client.patch(f"/api/v1/points/{point_id}", json=body, headers=headers)


def rows_of_last_write(store) -> list[dict]:
    seq = store.change_seq()
    return [row for p in store.all() for row in store.history(p.id) if row["seq"] == seq]


# -- the role matrix -------------------------------------------------------------------------------


@pytest.mark.parametrize("who, endpoint, expected", MATRIX)
def test_role_matrix(client, store, team, who, endpoint, expected):
    before = db_state(store)
    response = send(client, endpoint, team[who])
    assert response.status_code == expected, response.get_data(as_text=True)
    method, path, body = ENDPOINTS[endpoint]
    if expected >= 400:
        assert_problem(response, expected, "Authorization" if expected == 401 else None)
        assert db_state(store) == before
        return
    point_id = body.get("id") or path.rsplit("/", 1)[1]
    point = store.get(point_id)
    for field, value in body.items():
        if field == "region":  # stored by its one public name ("Львівська обл." -> "... область")
            value = canonical_region(value)
        assert getattr(point, field) == (set(value) if field == "services" else value), field
    assert point.version == (1 if method == "POST" else 2)
    assert response.headers["ETag"].startswith(f'W/"v{point.version}-')
    assert response.get_json()["properties"]["version"] == point.version
    rows = rows_of_last_write(store)
    assert rows and {row["by"] for row in rows} == {NAMES[who]}  # every write names its author
    if method == "POST":
        assert response.headers["Location"] == f"/api/v1/points/{point_id}"
        assert [row["field"] for row in rows] == ["created"]
    else:
        assert {row["field"] for row in rows} >= set(body)


# -- a business account: its own points, status, hours and occupancy only (issue 20) --------------


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Renamed"},
        {"lat": 50.2, "lon": 30.2},
        {"services": ["power"]},
        {"status": "closed", "name": "Renamed"},
        {"archived": True},
        {"region": LVIV},
    ],
)
def test_a_business_changes_no_other_field_of_its_point(client, store, team, body):
    before = db_state(store)
    response = patch(client, "kyiv-01", body, team["business-A"])
    assert response.status_code == 403 and response.mimetype == "application/problem+json"
    assert db_state(store) == before


def test_a_business_sets_hours_and_occupancy_of_its_point(client, store, team):
    body = {"opening_hours": "Mo-Fr 08:00-20:00", "occupancy": 40}
    response = patch(client, "kyiv-01", body, team["business-A"])
    assert response.status_code == 200, response.get_data(as_text=True)
    point = store.get("kyiv-01")
    assert (point.opening_hours, point.occupancy) == ("Mo-Fr 08:00-20:00", 40)


def test_a_business_cannot_touch_another_point_in_its_street(client, store, team):
    before = db_state(store)
    for point_id in ("kyiv-02", "lviv-01", "no-such-point"):
        response = patch(client, point_id, {"status": "closed"}, team["business-A"])
        assert response.status_code in (403, 404)
    assert db_state(store) == before


# -- If-Match --------------------------------------------------------------------------------------


def test_patch_without_if_match_is_428_and_writes_nothing(client, store, team):
    before = db_state(store)
    response = patch(client, "kyiv-01", {"status": "closed"}, team["admin"], if_match=None)
    assert_problem(response, 428, "If-Match")
    assert db_state(store) == before


def test_patch_with_a_stale_version_is_412_and_writes_nothing(client, store, team):
    read = client.get("/api/v1/points/kyiv-01").headers["ETag"]
    assert patch(client, "kyiv-01", {"status": "full"}, team["operator-A"]).status_code == 200
    before = db_state(store)
    for stale in (read, "v1", '"v1"'):
        response = patch(client, "kyiv-01", {"status": "closed"}, team["admin"], if_match=stale)
        body = assert_problem(response, 412, "If-Match")
        assert body["current_version"] == 2
    assert db_state(store) == before


@pytest.mark.parametrize("if_match", ["*", "etag", "v1", '"v1"', "1", 'W/"v1"'])
def test_patch_accepts_star_the_etag_read_and_the_version(client, store, team, if_match):
    if if_match == "etag":
        if_match = client.get("/api/v1/points/kyiv-01").headers["ETag"]
        assert if_match.startswith('W/"v1-')
    response = patch(client, "kyiv-01", {"status": "standby"}, team["admin"], if_match=if_match)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert store.get("kyiv-01").status.value == "standby"


@pytest.mark.parametrize("if_match", ["abc", "v", "v1, v2", "vv1"])
def test_patch_with_a_malformed_if_match_is_400(client, store, team, if_match):
    before = db_state(store)
    assert_problem(
        patch(client, "kyiv-01", {"status": "closed"}, team["admin"], if_match=if_match), 400, "If-Match"
    )
    assert db_state(store) == before


# -- bodies ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["colour", "version", "verified_at", "updated_at", "seq"])
def test_unknown_or_bookkeeping_field_is_400_naming_it(client, store, team, field):
    before = db_state(store)
    for method, path in (("PATCH", "/api/v1/points/kyiv-01"), ("POST", "/api/v1/points")):
        body = {"status": "closed"} if method == "PATCH" else new_record("n-1", KYIV)
        body[field] = "2025-01-01T00:00:00Z"
        response = client.open(path, method=method, json=body, headers=team["admin"] | {"If-Match": "*"})
        problem = assert_problem(response, 400, field)
        assert repr(field) in problem["detail"]
    assert db_state(store) == before


@pytest.mark.parametrize(
    "body, param",
    [
        ({"occupancy": -3}, "occupancy"),
        ({"occupancy": "many"}, "occupancy"),
        ({"lat": 200}, "lat"),
        ({"lon": "east"}, "lon"),
        ({"status": "melted"}, "status"),
        ({"services": ["jacuzzi"]}, "services"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"phone": "call me"}, "phone"),
        ({"note": "bell\x07"}, "note"),
        ({"id": "kyiv-02"}, "id"),
    ],
)
def test_invalid_value_is_400_naming_the_field_and_writes_nothing(client, store, team, body, param):
    before = db_state(store)
    response = patch(client, "kyiv-01", body, team["admin"], if_match="*")
    assert_problem(response, 400, param)
    assert db_state(store) == before


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b'"text"'])
def test_body_that_is_not_a_json_object_is_400(client, store, team, raw):
    before = db_state(store)
    headers = team["admin"] | {"If-Match": "*", "Content-Type": "application/json"}
    assert_problem(client.patch("/api/v1/points/kyiv-01", data=raw, headers=headers), 400, "body")
    assert_problem(client.post("/api/v1/points", data=raw, headers=headers), 400, "body")
    assert db_state(store) == before


def test_post_with_a_taken_id_is_409_and_writes_nothing(client, store, team):
    before = db_state(store)
    response = client.post("/api/v1/points", json=new_record("kyiv-01", KYIV), headers=team["admin"])
    assert_problem(response, 409, "id")
    assert db_state(store) == before


def test_post_with_invalid_fields_is_400_and_lists_every_problem(client, store, team):
    before = db_state(store)
    body = new_record("bad id", KYIV, lat=95, status="melted")
    problem = assert_problem(client.post("/api/v1/points", json=body, headers=team["admin"]), 400, "id")
    assert {error["param"] for error in problem["errors"]} == {"id", "lat", "status"}
    assert db_state(store) == before


def test_patch_of_an_unknown_point_is_404(client, team):
    assert_problem(patch(client, "nowhere-1", {"status": "closed"}, team["admin"]), 404, "id")


# -- session authentication ------------------------------------------------------------------------


def test_session_patch_needs_the_csrf_header(client, store, team):
    assert login(client, "olena").status_code == 302
    before = db_state(store)
    response = patch(client, "kyiv-01", {"status": "closed"}, {})
    assert_problem(response, 400, None)
    assert "CSRF" in response.get_json()["detail"]
    assert db_state(store) == before

    token = csrf_token(client, "/operator/")
    response = patch(client, "kyiv-01", {"status": "closed"}, {"X-CSRFToken": token})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert {row["by"] for row in rows_of_last_write(store)} == {"olena"}
    # The session's scope is the operator's scope.
    response = patch(client, "lviv-01", {"status": "closed"}, {"X-CSRFToken": token})
    assert_problem(response, 403, None)


def test_session_of_a_viewer_cannot_write(client, store, team):
    assert login(client, "vika").status_code == 302
    token = csrf_token(client, "/operator/")
    before = db_state(store)
    assert_problem(patch(client, "kyiv-01", {"status": "closed"}, {"X-CSRFToken": token}), 403, None)
    assert db_state(store) == before


# -- caches see the write --------------------------------------------------------------------------


def test_public_etags_change_after_a_write(client, team):
    listed = client.get("/api/v1/points").headers["ETag"]
    compact = client.get("/api/v1/points?format=compact").headers["ETag"]
    one = client.get("/api/v1/points/kyiv-01").headers["ETag"]
    assert client.get("/api/v1/points", headers={"If-None-Match": listed}).status_code == 304

    assert patch(client, "kyiv-01", {"status": "closed"}, team["admin"]).status_code == 200

    fresh = client.get("/api/v1/points", headers={"If-None-Match": listed})
    assert fresh.status_code == 200 and fresh.headers["ETag"] != listed
    assert {f["id"]: f["properties"]["status"] for f in fresh.get_json()["features"]}["kyiv-01"] == "closed"
    assert client.get("/api/v1/points?format=compact").headers["ETag"] != compact
    point = client.get("/api/v1/points/kyiv-01", headers={"If-None-Match": one})
    assert point.status_code == 200 and point.headers["ETag"] != one
    assert point.get_json()["properties"]["status"] == "closed"


def test_every_acknowledged_write_is_in_history_with_its_author(client, store, team):
    writes = [
        ("operator-A", "kyiv-02", {"note": "перша"}),
        ("operator-B", "lviv-02", {"occupancy": 12}),
        ("admin", "kyiv-02", {"status": "closed"}),
        ("operator-A", "kyiv-02", {"services": ["heat"]}),
    ]
    for who, point_id, body in writes:
        response = patch(client, point_id, body, team[who], if_match="*")
        assert response.status_code == 200
        version = response.get_json()["properties"]["version"]
        seq = store.change_seq()
        rows = [row for row in store.history(point_id) if row["seq"] == seq]
        assert {row["by"] for row in rows} == {NAMES[who]}
        assert set(body) <= {row["field"] for row in rows}
        assert store.get(point_id).version == version


# -- concurrency through a real server -------------------------------------------------------------

WRITERS = 40
WAVES = 8  # writers start in waves 20 ms apart, so some read a version others already replaced


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def threaded_server(database: dict[str, str]) -> Iterator[int]:
    """The app on werkzeug's threaded server: every request on its own thread and connection."""
    app = create_app({**database, "SEED_FILE": ""})
    try:
        with serving(app) as port:
            yield port
    finally:
        app.extensions["locator.store"].dispose()


@contextmanager
def gunicorn_server(database: dict[str, str]) -> Iterator[int]:
    """The app as production runs it: gunicorn with the documented settings, 2 worker processes."""
    port = free_port()
    env = os.environ | {
        "LOCATOR_DB": database["DATABASE"],
        "LOCATOR_DATABASE_URL": database.get("DATABASE_URL", ""),
        "LOCATOR_SEED_FILE": "",
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "ACCESS_LOG": "0",
        "LOCATOR_REQUEST_LOG": "off",  # stderr is a pipe read only on failure: a full one would block
    }
    gunicorn = Path(sys.executable).parent / "gunicorn"
    process = subprocess.Popen(
        [str(gunicorn), "--config", "scripts/gunicorn.conf.py", "app:app"],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 90  # a busy 2-core CI machine can take a while to fork and load
        while True:
            try:
                if request(port, "GET", "/api/v1/points/kyiv-01")[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "gunicorn did not answer in 90 s"
            time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stderr.close()


def request(port: int, method: str, path: str, body=None, headers=None) -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        all_headers = (headers or {}) | ({"Content-Type": "application/json"} if payload else {})
        connection.request(method, path, body=payload, headers=all_headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.mark.parametrize(
    "serve", [threaded_server, gunicorn_server], ids=["werkzeug-threads", "gunicorn-2-workers"]
)
def test_concurrent_writers_each_win_or_get_412_and_history_counts_every_win(
    app, store, seeded, make_user, serve, database_settings
):
    make_user("sync", "operator", regions=("Київ", KYIV))
    token, digest = new_token()
    app.extensions["locator.users"].add_token("sync", digest)
    store.close()  # the server opens its own connections to the same file
    auth = {"Authorization": f"Bearer {token}"}
    start = threading.Barrier(WRITERS)
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def writer(i: int, port: int) -> None:
        note = f"writer {i}"
        start.wait()
        time.sleep((i % WAVES) * 0.02)
        status, headers, _ = request(port, "GET", "/api/v1/points/kyiv-01")
        assert status == 200
        status, _, body = request(
            port, "PATCH", "/api/v1/points/kyiv-01", {"note": note}, auth | {"If-Match": headers["ETag"]}
        )
        with lock:
            results.append((status, note))

    with serve(database_settings) as port:
        threads = [threading.Thread(target=writer, args=(i, port)) for i in range(WRITERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    statuses = Counter(status for status, _ in results)
    assert len(results) == WRITERS, "a writer thread failed"
    assert statuses[200] + statuses[412] == WRITERS, statuses
    assert statuses[200] >= 1  # the first writer to commit cannot have been overtaken
    won = sorted(note for status, note in results if status == 200)
    notes = sorted(
        row["new"]
        for row in store.history("kyiv-01", limit=1000)
        if row["by"] == "sync" and row["field"] == "note"
    )
    assert notes == won  # each acknowledged write exactly once, no refused write at all
    final = store.get("kyiv-01")
    assert final.version == 1 + statuses[200]
    assert final.note in won
    assert utcnow() >= final.verified_at
