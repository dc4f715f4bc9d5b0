"""Mobile points' stops: the schedule is validated once, a point stands at its stop under way
(unless an operator moved it since), and every read (nearest, bbox, GeoJSON, compact, exports)
agrees with a brute-force oracle over Point.at(now)."""

from __future__ import annotations

import json
import random
import sqlite3
from datetime import timedelta

import pytest
from helpers import (
    UKRAINE,
    assert_problem,
    db_state,
    haversine,
    make_point,
    make_record,
    random_filter_args,
    random_record,
)

from locator import create_app
from locator.domain.filters import PointFilter, parse_filter
from locator.domain.point import MAX_STOPS, Stop, format_time, utcnow
from locator.domain.reports import Report, ReportKind
from locator.domain.validation import ValidationError, parse_point, parse_stops
from locator.search import index as geo
from locator.store import POINT_COLUMNS
from locator.store.reports import ReportRules

R = 6_371_008.8  # metres: the mean Earth radius
NOW = utcnow()  # the clock the schedules below are laid out around
KYIV, LVIV, ODESA, KHARKIV, BILA = (
    (50.4501, 30.5234),
    (49.8397, 24.0297),
    (46.4825, 30.7233),
    (49.9935, 36.2304),
    (49.8, 30.11),
)


def at(hours: float, now=NOW) -> str:
    return format_time(now + timedelta(hours=hours))


def stop(place: str, where: tuple[float, float], starts_h: float, ends_h: float, now=NOW) -> dict:
    """A stop record, its times in hours from now."""
    return {
        "place": place,
        "lat": where[0],
        "lon": where[1],
        "starts_at": at(starts_h, now),
        "ends_at": at(ends_h, now),
    }


def tent(point_id: str = "tent", stops=(), moved_h: float | None = -48, now=NOW, **overrides):
    """A mobile point based in Lviv, placed there moved_h hours from now, with this schedule."""
    return make_point(
        point_id,
        now=now,
        kind="mobile",
        lat=LVIV[0],
        lon=LVIV[1],
        region="Львівська область",
        stops=list(stops),
        moved_at=at(moved_h, now) if moved_h is not None else None,
        updated_at=at(-1, now),
        verified_at=at(-1, now),
        **overrides,
    )


# A day of the tent: Odesa is over, Kyiv is under way, Kharkiv is still to come.
DAY = [
    stop("Одеса, Привоз", ODESA, -5, -3),
    stop("Київ, Майдан", KYIV, -1, 2),
    stop("Харків, пл. Свободи", KHARKIV, 3, 5),
]


# -- parse_stops -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, message",
    [
        pytest.param(
            [stop("a", KYIV, 2, 1)], "stop 1: ends_at must be after starts_at", id="ends-before-starts"
        ),
        pytest.param([stop("a", KYIV, 1, 1)], "stop 1: ends_at must be after starts_at", id="ends-as-starts"),
        pytest.param([stop("a", KYIV, 0, 7 * 24 + 1 / 60)], "stop 1: longer than 7 days", id="over-7-days"),
        pytest.param(
            [stop("a", KYIV, i, i + 0.5) for i in range(MAX_STOPS + 1)], "at most 50 stops", id="51-stops"
        ),
        pytest.param("[{", "expected a JSON list of stops", id="bad-json"),
        pytest.param('{"place": "a"}', "expected a list of stops", id="json-object"),
        pytest.param(42, "expected a list of stops", id="number"),
        pytest.param([stop("a", KYIV, 0, 1), "Київ"], "stop 2: expected an object", id="not-an-object"),
        pytest.param([stop("", KYIV, 0, 1)], "stop 1: place is required", id="place-empty"),
        pytest.param(
            [{k: v for k, v in stop("a", KYIV, 0, 1).items() if k != "place"}],
            "stop 1: place is required",
            id="place-missing",
        ),
        pytest.param([stop("a\x00", KYIV, 0, 1)], "stop 1: contains control characters", id="place-control"),
        pytest.param([stop("a" * 201, KYIV, 0, 1)], "stop 1: longer than 200", id="place-too-long"),
        pytest.param(
            [stop("a", (91, 30), 0, 1)], "stop 1: must be between -90 and 90", id="lat-out-of-range"
        ),
        pytest.param([stop("a", KYIV, 0, 1) | {"lon": "схід"}], "stop 1: expected a number", id="lon-text"),
        pytest.param([stop("a", KYIV, 0, 1) | {"starts_at": "вчора"}], "stop 1:", id="bad-time"),
        pytest.param([stop("a", KYIV, 0, 1) | {"ends_at": None}], "stop 1:", id="no-end"),
    ],
)
def test_parse_stops_refuses_a_bad_schedule_naming_the_stop(value, message):
    with pytest.raises(ValueError) as error:
        parse_stops(value)
    assert str(error.value).startswith(message), str(error.value)
    # ...and as a field of a point, the problem is the "stops" field's.
    with pytest.raises(ValidationError) as invalid:
        parse_point(make_record(kind="mobile", stops=value), now=NOW)
    assert [p.field for p in invalid.value.problems] == ["stops"]


def test_parse_stops_accepts_the_limits_and_orders_by_start():
    longest = [stop("тиждень", KYIV, 0, 7 * 24)]
    assert parse_stops(longest)[0].ends_at - parse_stops(longest)[0].starts_at == timedelta(days=7)
    many = [stop(f"№{i}", KYIV, -i, -i + 0.5) for i in range(MAX_STOPS)]
    parsed = parse_stops(json.dumps(many))  # JSON text, as a CSV cell carries it
    assert len(parsed) == MAX_STOPS
    assert [s.starts_at for s in parsed] == sorted(s.starts_at for s in parsed)
    assert parsed[-1] == Stop("№0", KYIV[0], KYIV[1], NOW, NOW + timedelta(minutes=30))
    assert parse_stops([]) == () and parse_stops("[]") == ()
    # Times with an offset are the same moments in UTC.
    local = stop("a", KYIV, 0, 1) | {
        "starts_at": (NOW + timedelta(hours=2)).isoformat().replace("+00:00", "+02:00")
    }
    assert parse_stops([local])[0].starts_at == NOW


def test_a_fixed_point_cannot_have_a_schedule():
    with pytest.raises(ValidationError) as invalid:
        parse_point(make_record(kind="fixed", stops=DAY), now=NOW)
    assert [p.field for p in invalid.value.problems] == ["stops"]
    assert parse_point(make_record(kind="fixed", stops=[]), now=NOW).stops == ()
    assert len(parse_point(make_record(kind="mobile", stops=DAY), now=NOW).stops) == 3


# -- Point.at --------------------------------------------------------------------------------------


def place(point, now=NOW) -> tuple[float, float]:
    here = point.at(now)
    return here.lat, here.lon


def test_a_stop_under_way_places_the_point_there_since_its_start():
    point = tent(stops=DAY)
    here = point.at(NOW)
    assert (here.lat, here.lon) == KYIV and here.moved_at == NOW - timedelta(hours=1)
    assert point.active_stop(NOW).place == "Київ, Майдан"
    assert [s.place for s in point.upcoming_stops(NOW)] == ["Київ, Майдан", "Харків, пл. Свободи"]
    assert (point.lat, point.lon) == LVIV  # the stored point itself never moves


@pytest.mark.parametrize(
    "stops, moved_h, expected",
    [
        pytest.param([DAY[0]], -48, LVIV, id="ended-stop-skipped"),
        pytest.param([DAY[2]], -48, LVIV, id="upcoming-stop-not-yet"),
        pytest.param([DAY[1]], -0.5, LVIV, id="moved-during-the-stop-wins"),
        pytest.param([DAY[1]], -1.5, KYIV, id="moved-before-the-stop-loses"),
        pytest.param([DAY[1]], None, KYIV, id="never-moved"),
        pytest.param(
            [stop("a", ODESA, -3, 2), stop("b", KHARKIV, -2, 1)], -48, KHARKIV, id="overlap-latest-start"
        ),
        pytest.param(
            [stop("b", KHARKIV, -2, -1), stop("a", ODESA, -3, 2)], -48, ODESA, id="overlap-other-ended"
        ),
        pytest.param([stop("a", ODESA, 0, 1)], -48, ODESA, id="starts-now"),
        pytest.param([stop("a", ODESA, -1, 0)], -48, LVIV, id="ends-now"),
        pytest.param([], -48, LVIV, id="no-schedule"),
    ],
)
def test_where_a_mobile_point_stands(stops, moved_h, expected):
    assert place(tent(stops=stops, moved_h=moved_h)) == expected


def test_a_stop_under_way_moved_away_from_returns_after_the_next_stop_starts():
    """The manual move outranks the stop it interrupted, not the stops planned after it."""
    point = tent(stops=[DAY[1], stop("b", ODESA, 2.5, 4)], moved_h=-0.5)
    assert place(point) == LVIV
    assert place(point, NOW + timedelta(hours=3)) == ODESA
    assert place(point, NOW + timedelta(hours=5)) == LVIV


# -- the write API ---------------------------------------------------------------------------------


@pytest.fixture
def admin(make_user, make_token) -> dict[str, str]:
    make_user("admin", "admin")
    return {"Authorization": f"Bearer {make_token('admin')}"}


def patch(client, headers, body, if_match="v1", point_id="tent"):
    extra = {"If-Match": if_match} if if_match else {}
    return client.patch(f"/api/v1/points/{point_id}", json=body, headers=headers | extra)


def test_patch_stops_with_if_match_sets_the_schedule(client, store, admin):
    store.import_points(
        [tent(moved_h=-48), make_point("fixed-1", now=None, updated_at=None, verified_at=None)]
    )
    response = patch(client, admin, {"stops": DAY})
    assert response.status_code == 200, response.get_data(as_text=True)
    feature = response.get_json()
    assert feature["geometry"]["coordinates"] == [KYIV[1], KYIV[0]]
    assert feature["properties"]["stop"]["place"] == "Київ, Майдан"
    assert response.headers["ETag"].startswith('W/"v2-')
    point = store.get("tent")
    assert point.stops == parse_stops(DAY) and point.version == 2
    assert (point.lat, point.lon) == LVIV  # a schedule is not a move
    [row] = [r for r in store.history("tent") if r["field"] == "stops"]
    assert [s["place"] for s in json.loads(row["new"])] == [s["place"] for s in DAY] and row["old"] == ""

    # The version read before is stale now: 412, nothing written.
    before = db_state(store)
    assert_problem(patch(client, admin, {"stops": []}, if_match="v1"), 412, "If-Match")
    assert_problem(patch(client, admin, {"stops": []}, if_match=None), 428, "If-Match")
    assert_problem(patch(client, admin, {"stops": [stop("a", KYIV, 1, 0)]}, if_match="v2"), 400, "stops")
    assert_problem(patch(client, admin, {"stops": "[{"}, if_match="v2"), 400, "stops")
    assert_problem(patch(client, admin, {"stops": DAY}, point_id="fixed-1"), 400, "stops")
    assert db_state(store) == before

    cleared = patch(client, admin, {"stops": []}, if_match=response.headers["ETag"])
    assert cleared.status_code == 200
    assert cleared.get_json()["geometry"]["coordinates"] == [LVIV[1], LVIV[0]]
    assert store.get("tent").stops == ()


# -- reads: one point, the list, compact, bbox -------------------------------------------------------


@pytest.fixture
def fleet(store):
    """The tent on its day, one never scheduled, one whose only stop is over, and a fixed point."""
    store.import_points(
        [
            tent(stops=DAY),
            tent("parked", moved_h=-30),
            tent("done", stops=[DAY[0]], moved_h=-30),
            make_point("fixed-1", now=None, lat=ODESA[0], lon=ODESA[1], updated_at=None, verified_at=None),
        ]
    )
    return store


def test_api_shows_a_mobile_point_where_it_stands_now(client, fleet):
    one = client.get("/api/v1/points/tent").get_json()
    listed = {f["id"]: f for f in client.get("/api/v1/points").get_json()["features"]}
    for feature in (one, listed["tent"]):
        properties = feature["properties"]
        assert feature["geometry"]["coordinates"] == [KYIV[1], KYIV[0]]
        assert (properties["lat"], properties["lon"]) == KYIV
        assert properties["located_since"] == at(-1)
        assert properties["stop"] == parse_stops([DAY[1]])[0].to_record()
        assert [s["place"] for s in properties["stops"]] == ["Київ, Майдан", "Харків, пл. Свободи"]
    for point_id in ("parked", "done"):
        properties = listed[point_id]["properties"]
        assert listed[point_id]["geometry"]["coordinates"] == [LVIV[1], LVIV[0]]
        assert (properties["stop"], properties["stops"], properties["located_since"]) == (None, [], at(-30))


def test_compact_rows_carry_the_current_place_and_since_when(client, fleet):
    compact = client.get("/api/v1/points?format=compact").get_json()
    rows = {row[0]: dict(zip(compact["fields"], row, strict=True)) for row in compact["rows"]}
    assert (rows["tent"]["lat"], rows["tent"]["lon"]) == (round(KYIV[0], 5), round(KYIV[1], 5))
    assert rows["tent"]["located_since"] == int((NOW - timedelta(hours=1)).timestamp())
    assert (rows["done"]["lat"], rows["done"]["lon"]) == LVIV
    assert rows["done"]["located_since"] == int((NOW - timedelta(hours=30)).timestamp())
    assert rows["fixed-1"]["located_since"] == 0  # a fixed point does not "arrive"


def bbox(where: tuple[float, float], pad: float = 0.05) -> str:
    return f"{where[1] - pad},{where[0] - pad},{where[1] + pad},{where[0] + pad}"


@pytest.mark.parametrize("fmt", ["geojson", "compact", "csv"])
def test_the_bbox_filter_finds_a_mobile_point_by_its_current_stop(client, fleet, fmt):
    def found(where) -> set[str]:
        response = client.get(f"/api/v1/points?format={fmt}&bbox={bbox(where)}")
        assert response.status_code == 200
        if fmt == "csv":
            return {line.split(",", 1)[0] for line in response.get_data(as_text=True).splitlines()[1:]}
        body = response.get_json()
        return {row[0] for row in body["rows"]} if fmt == "compact" else {f["id"] for f in body["features"]}

    assert found(KYIV) == {"tent"}  # at its stop
    assert found(LVIV) == {"parked", "done"}  # not at its base while at a stop
    assert found(ODESA) == {"fixed-1"}  # an ended stop is nowhere
    assert found(KHARKIV) == set()  # nor is an upcoming one


# -- nearest -------------------------------------------------------------------------------------------


def nearest(
    client, where, query="&k=10&status=open,full,standby,closed,unconfirmed"
) -> list[tuple[str, float]]:
    response = client.get(f"/api/v1/nearest?lat={where[0]}&lon={where[1]}{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return [(f["id"], f["properties"]["distance_m"]) for f in response.get_json()["features"]]


def test_nearest_finds_a_mobile_point_at_its_stop_and_skips_an_ended_stop(client, fleet, admin):
    [(first, distance)] = nearest(client, KYIV, "&k=1")
    assert (first, distance) == ("tent", 0.0)
    for where in (ODESA, KHARKIV, BILA):  # the ended and the upcoming stop are not where it is
        hits = dict(nearest(client, where, "&kind=mobile"))
        assert hits["tent"] == pytest.approx(haversine(*where, *KYIV), abs=1e-3)
        assert hits["done"] == pytest.approx(haversine(*where, *LVIV), abs=1e-3)
    # The operator moves it during the stop: the move wins.
    moved = patch(client, admin, {"lat": BILA[0], "lon": BILA[1]})
    assert moved.status_code == 200, moved.get_data(as_text=True)
    assert nearest(client, BILA, "&k=1") == [("tent", 0.0)]
    assert dict(nearest(client, KYIV))["tent"] == pytest.approx(haversine(*KYIV, *BILA), abs=1e-3)


def test_answers_that_place_mobile_points_change_etag_when_a_stop_starts_or_ends(app, fleet):
    """Cached nearest/compact answers must let go of a stop on time, and only then."""
    snapshot = app.extensions["locator.index"].sync()

    def marker(hours: float) -> str:
        return snapshot.schedule_marker(NOW + timedelta(hours=hours))

    # Between two boundaries of the tent's day nothing changes; across each one, the marker does.
    boundaries = [-5, -3, -1, 2, 3, 5]
    for before, after in zip(boundaries, boundaries[1:], strict=False):
        assert marker(before) == marker((before + after) / 2) == marker(after - 1 / 60)
        assert marker(after - 1 / 60) != marker(after)


# -- the oracle ----------------------------------------------------------------------------------------


def schedule(rng: random.Random, now) -> list[dict]:
    """0-5 stops around now: ended, under way, to come, overlapping, some on the very second."""
    stops = []
    for i in range(rng.randrange(0, 6)):
        start = rng.choice([rng.uniform(-48, 24), 0.0, -rng.uniform(0, 3)])
        length = rng.choice([rng.uniform(1 / 6, 12), -start if start < 0 else rng.uniform(1 / 6, 12)])
        where = rng.uniform(UKRAINE[0], UKRAINE[1]), rng.uniform(UKRAINE[2], UKRAINE[3])
        stops.append(stop(f"Зупинка {i}", where, start, start + length, now))
    return stops


def scheduled_points(rng: random.Random, n: int, prefix: str, now) -> list:
    """n points over Ukraine; a third of them mobile, most of those with a random schedule."""
    points = []
    for i in range(n):
        record = random_record(rng, f"{prefix}{i:04d}", rng.uniform(*UKRAINE[:2]), rng.uniform(*UKRAINE[2:]))
        if rng.random() < 0.35:
            record["kind"] = "mobile"
            record["stops"] = schedule(rng, now) if rng.random() < 0.8 else []
            record["moved_at"] = rng.choice([None, at(-rng.uniform(0, 60), now), at(-0.5, now)])
        else:
            record["kind"] = "fixed"
        points.append(parse_point(record, now=now))
    return points


def oracle(here, lat: float, lon: float, k: int) -> list[tuple[str, float]]:
    """Brute force over the matching points, each where it stands now."""
    hits = sorted((haversine(lat, lon, p.lat, p.lon), p.id) for p in here)
    return [(point_id, distance) for distance, point_id in hits[:k]]


def check_against_oracle(store, index, rng, now, filters, queries=6) -> None:
    points = store.all()
    here = [p.at(now) for p in points]  # Point.at is the one statement of where a point is
    flagged = [p for p in here if p.unconfirmed] or here
    scheduled = [p for p in here if p.stops] or here
    for wanted in filters:
        matching = [p for p in here if wanted.matches(p)]  # the filter's own meaning
        assert [p.id for p in store.find(wanted, now)] == sorted(p.id for p in matching), wanted
        for _ in range(queries):
            # Anywhere, or exactly where a point (often a flagged or scheduled one) stands now.
            source = rng.choice(rng.choice([here, flagged, scheduled]))
            lat, lon = rng.choice([(rng.uniform(44, 53), rng.uniform(21.5, 41)), (source.lat, source.lon)])
            k = rng.randrange(1, 40)
            got = [(h.point.id, h.distance_m) for h in index.nearest(lat, lon, k, wanted, now)]
            expected = oracle(matching, lat, lon, k)
            assert [i for i, _ in got] == [i for i, _ in expected], (lat, lon, k, wanted)
            for (_, distance), (_, true_distance) in zip(got, expected, strict=True):
                assert abs(distance - true_distance) < 1e-6


def test_nearest_and_find_match_a_brute_force_oracle_over_where_points_stand(tmp_path, monkeypatch):
    """A few hundred points, a third of them mobile with random schedules around a fixed now,
    random filters; then rounds of writes (new schedules, moves, kinds, statuses, reports,
    imports and deletions) applied one sync at a time, across rebuilds of the tree."""
    monkeypatch.setattr(geo, "REBUILD_MIN", 25)  # rebuild often: scheduled points must survive it
    rng = random.Random(8)
    now = utcnow()
    app = create_app({"DATABASE": str(tmp_path / "fleet.db"), "SEED_FILE": ""})
    store, index = app.extensions["locator.store"], app.extensions["locator.index"]
    store.reports.rules = ReportRules(threshold=1, per_sender_per_hour=10_000, per_point_per_hour=10_000)
    store.import_points(scheduled_points(rng, 300, "s", now))
    points = store.all()
    standing = [p for p in points if p.stops and (p.at(now).lat, p.at(now).lon) != (p.lat, p.lon)]
    assert len(standing) >= 20, "the data must have many points away from their base"
    assert any(p.stops and p.active_stop(now) is None and p.stops[0].ends_at <= now for p in points)
    statuses = ["open", "unconfirmed", "open,full", "open,unconfirmed", "full,standby,closed"]
    filters = [PointFilter(), PointFilter(bbox=(29.5, 49.5, 32.5, 51.5))]
    filters += [parse_filter({"status": chosen}) for chosen in statuses]
    filters += [parse_filter(random_filter_args(rng, points, q_share=0.1)) for _ in range(12)]
    here = [p.at(now) for p in standing[:4]]
    filters += [parse_filter({"bbox": bbox((p.lat, p.lon), 0.5)}) for p in here]
    check_against_oracle(store, index, rng, now, filters)

    first_tree = index.sync().tree
    for round_ in range(6):
        points = store.all()
        mobile = [p for p in points if p.kind.value == "mobile"]
        for point in rng.sample(mobile, 8):
            store.update(point.id, {"stops": schedule(rng, now)}, by="test", verify=False)
        for point in rng.sample(points, 6):
            store.update(
                point.id, {"lat": rng.uniform(*UKRAINE[:2]), "lon": rng.uniform(*UKRAINE[2:])}, by="test"
            )
        for point in rng.sample([p for p in points if p.kind.value == "mobile"], 3):
            store.update(point.id, {"kind": "fixed", "stops": []}, by="test")
        for point in rng.sample(points, 6):
            store.update(point.id, {"status": rng.choice(["open", "full", "standby", "closed"])}, by="test")
        for point in rng.sample(points, 6):
            store.reports.add(Report(point.id, ReportKind.CLOSED), source=f"r{round_}", now=now)
        fresh = scheduled_points(rng, 12, f"n{round_}-", now)
        if round_ % 2:
            survivors = [p for p in store.all() if rng.random() > 0.05]
            store.import_points(survivors + fresh, replace=True)
        else:
            store.import_points(fresh)
        check_against_oracle(store, index, rng, now, filters, queries=3)
    assert index.sync().tree is not first_tree, "the index rebuilt its tree on the way"
    assert any(p.unconfirmed for p in store.all())
    store.close()


# -- schema upgrade ----------------------------------------------------------------------------------


SCHEMA_2_POINT_COLUMNS = [c for c in POINT_COLUMNS if c not in ("stops", "moved_at", "unconfirmed")]


def make_schema_2_database(path, points) -> None:
    """A database as the release before stops and reports left it (schema_version 2)."""
    conn = sqlite3.connect(path)
    types = {str: "TEXT", int: "INTEGER", float: "FLOAT"}
    columns = ", ".join(
        f'"{c}" {types[POINT_COLUMNS[c]]}{" PRIMARY KEY" if c == "id" else ""}'
        for c in SCHEMA_2_POINT_COLUMNS
    )
    conn.executescript(
        f"""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER);
        INSERT INTO meta VALUES ('seq', 1), ('schema_version', 2);
        CREATE TABLE points ({columns});
        CREATE TABLE history (id INTEGER PRIMARY KEY, point_id TEXT, seq INTEGER, at TEXT, "by" TEXT,
                              field TEXT, old TEXT, new TEXT);
        CREATE TABLE deleted_points (id TEXT PRIMARY KEY, seq INTEGER);
        CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, password_hash TEXT NOT NULL,
                            role TEXT NOT NULL, regions TEXT, settlements TEXT, disabled INTEGER,
                            session_version INTEGER, created_at TEXT);
        CREATE TABLE api_tokens (digest TEXT PRIMARY KEY, user_id INTEGER, label TEXT, created_at TEXT);
        CREATE TABLE login_failures (key TEXT, at TEXT);
        """
    )
    from locator.store import Store

    shaper = Store(path.with_name("shaper.db"))  # only to lay the rows out as the store does
    marks = ", ".join("?" * len(SCHEMA_2_POINT_COLUMNS))
    insert = f"INSERT INTO points ({', '.join(SCHEMA_2_POINT_COLUMNS)}) VALUES ({marks})"
    for point in points:
        row = shaper._row(point, 1)
        conn.execute(insert, [row[c] for c in SCHEMA_2_POINT_COLUMNS])
        conn.execute(
            "INSERT INTO history (point_id, seq, at, field, new) VALUES (?, 1, ?, 'created', ?)",
            [point.id, format_time(point.updated_at), point.status.value],
        )
    conn.commit()
    conn.close()


def test_a_schema_2_database_upgrades_and_keeps_every_point(tmp_path):
    rng = random.Random(2)
    old_points = [p.with_changes(stops=(), moved_at=None) for p in scheduled_points(rng, 120, "old", NOW)]
    path = tmp_path / "schema2.db"
    make_schema_2_database(path, old_points)

    app = create_app({"DATABASE": str(path), "SEED_FILE": ""})
    store, client = app.extensions["locator.store"], app.test_client()
    assert store.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] >= 3
    assert {"stops", "moved_at", "unconfirmed"} <= set(store.db["points"].columns_dict)
    assert store.all() == sorted(old_points, key=lambda p: p.id)  # every field of every point
    assert store.change_seq() == 1 and len(store.history(old_points[0].id)) == 1
    # The new features work on the old data at once.
    mobile = next(p for p in old_points if p.kind.value == "mobile")
    store.update(mobile.id, {"stops": [stop("тут", KYIV, -1, 1)]}, by="test", verify=False)
    assert nearest(client, KYIV, "&k=1&status=open,full,standby,closed")[0] == (mobile.id, 0.0)
    report = client.post(f"/api/v1/points/{mobile.id}/reports", json={"kind": "full"})
    assert report.status_code == 201
    store.close()
    # Opening it again changes nothing.
    again = create_app({"DATABASE": str(path), "SEED_FILE": ""}).extensions["locator.store"]
    assert again.get(mobile.id).stops == parse_stops([stop("тут", KYIV, -1, 1)])
    again.close()


# -- export and import -------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["csv", "geojson", "gpkg"])
def test_export_then_import_keeps_the_schedule_and_the_base(fleet, runner, tmp_path, suffix):
    path = tmp_path / f"points.{suffix}"
    before = fleet.all()
    result = runner.invoke(args=["points", "export", str(path)])
    assert result.exit_code == 0, result.output

    # Into the same database: nothing to change, so nothing changes (no history, same counter).
    state = db_state(fleet)
    result = runner.invoke(args=["points", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "0 added, 0 changed, 4 unchanged" in result.output
    assert db_state(fleet) == state

    # Into an empty one: the same points, stops, base positions and arrival times.
    other = create_app({"DATABASE": str(tmp_path / "other.db"), "SEED_FILE": ""})
    result = other.test_cli_runner().invoke(args=["points", "import", str(path)])
    assert result.exit_code == 0, result.output
    copied = other.extensions["locator.store"].all()
    keep = ("id", "kind", "status", "lat", "lon", "stops", "moved_at", "verified_at")
    assert [[getattr(p, f) for f in keep] for p in copied] == [[getattr(p, f) for f in keep] for p in before]
    assert other.test_client().get("/api/v1/points/tent").get_json()["geometry"]["coordinates"] == [
        KYIV[1],
        KYIV[0],
    ]
    other.extensions["locator.store"].close()


def test_the_open_data_csv_download_keeps_the_schedule(client, fleet, tmp_path):
    path = tmp_path / "download.csv"
    path.write_bytes(client.get("/api/v1/points.csv").data)
    other = create_app({"DATABASE": str(tmp_path / "other.db"), "SEED_FILE": ""})
    result = other.test_cli_runner().invoke(args=["points", "import", str(path)])
    assert result.exit_code == 0, result.output
    copied = {p.id: p for p in other.extensions["locator.store"].all()}
    for point in fleet.all():
        assert copied[point.id].stops == point.stops
        assert place(copied[point.id]) == place(point)  # the reader sees it where it stands now
    other.extensions["locator.store"].close()
