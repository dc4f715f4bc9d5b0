"""Every write goes through one command of locator.services, which checks role, scope and
version once: an operator of region A writes nothing in region B by any path (API, console,
import, service), a stale version changes nothing, viewers write nothing, admins write anywhere.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from helpers import assert_problem, csrf_token, db_state, login, make_point, write_geojson

from locator.domain.point import format_time, utcnow
from locator.domain.reports import parse_report
from locator.domain.scope import PLACE_FIELD, Forbidden, Place, check_write
from locator.domain.users import Role, User
from locator.io.files import PointBatch
from locator.search.regions import Territory
from locator.services import imports, points, reports, stops
from locator.services.actors import system_actor
from locator.store import VersionConflict

pytestmark = pytest.mark.backends  # SQLite and PostgreSQL (conftest.py)

KYIV_CITY = "м. Київ"  # with KYIV, region A: olena's (kyiv-* in the city; brov-*, irp-* around it)
KYIV = "Київська обл."
LVIV = "Львівська обл."  # region B: taras's (lviv-*)
A_POINT, B_POINT, B_MOBILE = "kyiv-01", "lviv-01", "lviv-02"
OPERATOR_A = User(1, "olena", Role.OPERATOR, regions=(KYIV_CITY, KYIV))
ADMIN = User(2, "admin", Role.ADMIN)
VIEWER = User(3, "vika", Role.VIEWER)


def a_stop(hours_from_now: float = 2) -> dict:
    starts = utcnow() + timedelta(hours=hours_from_now)
    return {
        "place": "Львів, пл. Ринок",
        "lat": 49.8419,
        "lon": 24.0315,
        "starts_at": format_time(starts),
        "ends_at": format_time(starts + timedelta(hours=3)),
    }


@pytest.fixture
def world(seeded, store, make_user, make_token):
    """The seeded points; lviv-02 (mobile, full) with a planned stop, and unconfirmed by citizens'
    reports (so dismissing them writes); the team with their API tokens."""
    store.update(B_MOBILE, {"stops": [a_stop()]}, by="setup", verify=False)
    for sender in range(store.reports.rules.threshold):  # distinct senders: each counts
        store.reports.add(parse_report(B_MOBILE, {"kind": "closed"}), source=f"sender-{sender}")
    assert store.get(B_MOBILE).unconfirmed
    make_user("admin", "admin")
    make_user("olena", "operator", regions=(KYIV_CITY, KYIV))
    make_user("ira", "operator", settlements=("Київ",))
    make_user("vika", "viewer")
    return {
        name: {"Authorization": f"Bearer {make_token(name)}"} for name in ("admin", "olena", "ira", "vika")
    }


REGION_REFUSED = re.compile(
    r'<(?:input|select)\b[^>]*\bid="f-region"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*\bid="f-region"'
)


def console(app, name: str):
    client = app.test_client()
    assert login(client, name).status_code == 302
    return client


def post(client, path: str, data: dict | None = None):
    token = csrf_token(client, "/operator/")
    return client.post(path, data={"csrf_token": token, **(data or {})})


def version(store, point_id: str) -> str:
    return str(store.get(point_id).version)


TERRITORY = Territory()


# -- the rule --------------------------------------------------------------------------------------


def test_the_rule_looks_at_the_point_as_it_is_and_as_it_will_be():
    kyiv, lviv = make_point("a", region=KYIV), make_point("b", region=LVIV, settlement="Львів")
    check_write(OPERATOR_A, kyiv, [Place(KYIV, "")])
    check_write(OPERATOR_A, None, [Place(KYIV, "")])
    with pytest.raises(Forbidden) as as_it_is:
        check_write(OPERATOR_A, lviv, [Place(KYIV, "")])  # bringing B's point home is still B's
    assert as_it_is.value.field is None and "Львів" in as_it_is.value.detail
    with pytest.raises(Forbidden) as as_it_will_be:
        check_write(OPERATOR_A, kyiv, [Place(LVIV, "")])
    assert as_it_will_be.value.field == PLACE_FIELD
    with pytest.raises(Forbidden) as a_stop_elsewhere:
        check_write(OPERATOR_A, kyiv, [Place(KYIV, ""), Place(LVIV, "")])  # where a stop would be
    assert a_stop_elsewhere.value.field == PLACE_FIELD
    with pytest.raises(Forbidden):
        check_write(OPERATOR_A, None, [Place(LVIV, "")])
    with pytest.raises(Forbidden):
        check_write(VIEWER, kyiv, [])
    check_write(ADMIN, lviv, [Place("anywhere", "")])
    with pytest.raises(Forbidden):
        check_write(User(4, "gone", Role.ADMIN, disabled=True), kyiv, [])


# -- region A may not write region B, by any path --------------------------------------------------


B_API_WRITES = [
    pytest.param(
        "POST",
        "/api/v1/points",
        {"id": "new-b", "name": "Б", "status": "open", "lat": 49.8, "lon": 24.0, "region": LVIV},
        id="post-in-B",
    ),
    pytest.param("PATCH", f"/api/v1/points/{B_POINT}", {"status": "closed"}, id="patch-B"),
    pytest.param(
        "PATCH",
        f"/api/v1/points/{A_POINT}",
        {"region": LVIV, "lat": 49.84, "lon": 24.03},
        id="patch-region-A-to-B",
    ),
    pytest.param("PATCH", f"/api/v1/points/{B_POINT}", {"region": KYIV}, id="patch-region-B-to-A"),
]


@pytest.mark.parametrize("method, path, body", B_API_WRITES)
def test_the_api_refuses_an_operator_outside_their_region(client, store, world, method, path, body):
    before = db_state(store)
    response = client.open(path, method=method, json=body, headers=world["olena"] | {"If-Match": "*"})
    assert_problem(response, 403, None)
    assert db_state(store) == before


def test_the_api_refuses_moving_a_point_out_of_a_settlement_scope(client, store, world):
    before = db_state(store)
    moved = {"settlement": "Бровари"}  # same region, another settlement: ira's scope is Київ
    response = client.patch(
        f"/api/v1/points/{A_POINT}", json=moved, headers=world["ira"] | {"If-Match": "v1"}
    )
    assert_problem(response, 403, None)
    assert "Бровари" in response.get_json()["detail"]
    assert db_state(store) == before
    allowed = client.patch(
        f"/api/v1/points/{A_POINT}", json={"note": "ok"}, headers=world["ira"] | {"If-Match": "v1"}
    )
    assert allowed.status_code == 200


CONSOLE_WRITES_ON_B = [
    ("status", {"status": "closed"}),
    ("status", {"status": "open", "details": "1", "note": "x"}),
    ("verify", {}),
    ("move", {"lat": "49.85", "lon": "24.02"}),
    ("archive", {"archived": "1"}),
    ("stops", a_stop(5)),
    ("stops/remove", {"index": "0"}),
    ("reports/dismiss", {}),
    ("edit", {"name": "Моя", "region": KYIV, "lat": "49.8", "lon": "24.0", "kind": "mobile"}),
]


@pytest.mark.parametrize("action, data", CONSOLE_WRITES_ON_B, ids=[a for a, _ in CONSOLE_WRITES_ON_B])
@pytest.mark.parametrize("who", ["olena", "vika"])
def test_the_console_refuses_every_write_on_a_point_outside_the_scope(app, store, world, who, action, data):
    client = console(app, who)
    point_id = B_MOBILE
    before = db_state(store)
    response = post(
        client, f"/operator/points/{point_id}/{action}", data | {"version": version(store, point_id)}
    )
    assert response.status_code == 403, (who, action)
    assert db_state(store) == before


@pytest.mark.parametrize("who", ["olena", "vika"])
def test_the_console_refuses_creating_in_B_and_moving_A_to_B_beside_the_region(app, store, world, who):
    client = console(app, who)
    before = db_state(store)
    form = {"id": "new-b", "name": "Б", "kind": "fixed", "category": "state", "status": "open"}
    created = post(client, "/operator/points/new", form | {"lat": "49.8", "lon": "24.0", "region": LVIV})
    assert created.status_code == 400
    assert REGION_REFUSED.search(created.get_data(as_text=True))
    record = store.get(A_POINT).to_record()
    form = {
        k: ("" if v is None else v) for k, v in record.items() if k not in ("archived", "stops", "services")
    }
    edited = post(client, f"/operator/points/{A_POINT}/edit", form | {"region": LVIV})
    assert edited.status_code == (400 if who == "olena" else 403)
    assert db_state(store) == before


@pytest.mark.parametrize("who", ["olena", "vika"])
def test_only_admins_reach_the_console_import(app, store, world, tmp_path, who):
    path = write_geojson(tmp_path / "b.geojson", [make_point("new-b", region=LVIV, now=None)])
    client = console(app, who)
    before = db_state(store)
    response = post(client, "/operator/import", {"file": (io.BytesIO(path.read_bytes()), path.name)})
    assert response.status_code == 403
    assert db_state(store) == before


@pytest.mark.parametrize(
    "batch, replace",
    [
        pytest.param(
            lambda store: [make_point("new-b", lat=49.84, lon=24.03, now=None)], False, id="add-in-B"
        ),
        pytest.param(
            lambda store: [store.get(A_POINT).with_changes(lat=49.84, lon=24.03)], False, id="move-A-to-B"
        ),
        pytest.param(lambda store: [store.get(B_POINT).with_changes(name="мій")], False, id="change-B"),
        pytest.param(
            lambda store: [p for p in store.all() if p.region == KYIV], True, id="replace-deletes-B"
        ),
    ],
)
def test_an_import_refuses_any_point_outside_the_scope_and_writes_nothing(store, world, batch, replace):
    batch_of_file = PointBatch(batch(store), frozenset())
    before = db_state(store)
    with pytest.raises(Forbidden):
        imports.plan_import(store, TERRITORY, OPERATOR_A, batch_of_file, replace=replace)
    with pytest.raises(Forbidden):
        imports.apply_import(store, TERRITORY, OPERATOR_A, batch_of_file, replace=replace)
    with pytest.raises(Forbidden):
        imports.apply_import(store, TERRITORY, VIEWER, batch_of_file, replace=replace)
    assert db_state(store) == before
    summary = imports.apply_import(
        store, TERRITORY, system_actor("import:test"), batch_of_file, replace=replace
    )
    assert summary.added or summary.changed or summary.removed


def test_an_operator_may_import_inside_their_region(store, world):
    renamed = store.get(A_POINT).with_changes(name="Перейменовано")
    summary = imports.apply_import(store, TERRITORY, OPERATOR_A, PointBatch([renamed], frozenset()))
    assert summary.changed == [A_POINT]
    assert {row["by"] for row in store.history(A_POINT) if row["field"] == "name"} == {"olena"}


# -- every command, directly -----------------------------------------------------------------------


def commands_on(point_id: str, expected_version: int | None):
    """Every command on an existing point, as (name, call(store, actor))."""
    return [
        (
            "set_status",
            lambda s, a: points.set_status(s, TERRITORY, a, point_id, expected_version, status="closed"),
        ),
        ("confirm", lambda s, a: points.confirm(s, TERRITORY, a, point_id, expected_version)),
        ("move", lambda s, a: points.move(s, TERRITORY, a, point_id, expected_version, lat=49.85, lon=24.05)),
        ("edit", lambda s, a: points.edit(s, TERRITORY, a, point_id, expected_version, {"note": "нове"})),
        ("archive", lambda s, a: points.archive(s, TERRITORY, a, point_id, expected_version, archived=True)),
        ("add_stop", lambda s, a: stops.add_stop(s, TERRITORY, a, point_id, expected_version, a_stop(30))),
        ("remove_stop", lambda s, a: stops.remove_stop(s, TERRITORY, a, point_id, expected_version, 0)),
        ("dismiss", lambda s, a: reports.dismiss_reports(s, TERRITORY, a, point_id, expected_version)),
    ]


@pytest.mark.parametrize("index", range(8), ids=[name for name, _ in commands_on("", None)])
def test_every_command_refuses_a_stale_version_and_writes_nothing(store, world, index):
    point_id = B_MOBILE
    stale = store.get(point_id).version
    store.update(point_id, {"note": "змінено в іншому вікні"}, by="someone", verify=False)
    before = db_state(store)
    name, command = commands_on(point_id, stale)[index]
    with pytest.raises(VersionConflict):
        command(store, ADMIN)
    assert db_state(store) == before, name


@pytest.mark.parametrize("index", range(8), ids=[name for name, _ in commands_on("", None)])
def test_every_command_refuses_viewers_and_operators_outside_and_lets_admins_write(store, world, index):
    point_id = B_MOBILE
    before = db_state(store)
    for actor in (VIEWER, OPERATOR_A):
        name, command = commands_on(point_id, store.get(point_id).version)[index]
        with pytest.raises(Forbidden):
            command(store, actor)
        assert db_state(store) == before, (name, actor.name)
    name, command = commands_on(point_id, store.get(point_id).version)[index]
    command(store, ADMIN)
    assert store.change_seq() > before[2], name
    assert store.history(point_id, limit=1)[0]["by"] == "admin"


def test_create_checks_the_place_of_the_new_point(store, world):
    record = {"id": "new-b", "name": "Б", "status": "open", "lat": 49.8, "lon": 24.0, "region": LVIV}
    before = db_state(store)
    for actor in (VIEWER, OPERATOR_A):
        with pytest.raises(Forbidden):
            points.create(store, TERRITORY, actor, record)
    assert db_state(store) == before
    assert points.create(store, TERRITORY, ADMIN, record).region == "Львівська область"
    in_a = record | {"id": "new-a", "region": KYIV, "lat": 50.511, "lon": 30.79}  # Бровари
    assert points.create(store, TERRITORY, OPERATOR_A, in_a).region == "Київська область"


def test_admins_write_anywhere_through_the_api(client, store, world):
    response = client.patch(
        f"/api/v1/points/{A_POINT}",
        json={"region": LVIV, "lat": 49.84, "lon": 24.03},
        headers=world["admin"] | {"If-Match": "v1"},
    )
    assert response.status_code == 200
    assert store.get(A_POINT).region == "Львівська область"


def test_a_write_without_a_version_lands_on_what_is_stored(store, world):
    store.update(A_POINT, {"note": "інше"}, by="someone", verify=False)
    saved = points.set_status(store, TERRITORY, OPERATOR_A, A_POINT, None, status="closed")
    assert saved.status.value == "closed" and saved.note == "інше"


@pytest.mark.parametrize(
    "action, data, says",
    [
        ("stops", a_stop(5), "актуальний графік"),
        ("stops/remove", {"index": "0"}, "актуальний графік"),
        ("reports/dismiss", {}, "Перевірте актуальні дані"),
    ],
    ids=["add-stop", "remove-stop", "dismiss"],
)
def test_the_console_refuses_a_stale_version_on_stops_and_reports(app, store, world, action, data, says):
    client = console(app, "admin")
    stale = version(store, B_MOBILE)
    store.update(B_MOBILE, {"note": "змінено в іншому вікні"}, by="someone", verify=False)
    before = db_state(store)
    response = post(client, f"/operator/points/{B_MOBILE}/{action}", data | {"version": stale})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Хтось щойно змінив цей пункт" in page and says in page
    assert db_state(store) == before
