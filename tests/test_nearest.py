"""Nearest is exact: the same ids, order and distances as a brute-force haversine over every point,
and it sees every write at once, from this process or another."""

from __future__ import annotations

import math
import os
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import (
    FIXED_NOW,
    haversine,
    make_point,
    random_filter_args,
    random_points,
    random_record,
    write_geojson,
)

from locator import create_app
from locator.domain.filters import PointFilter, parse_filter
from locator.domain.point import Status
from locator.domain.validation import parse_point
from locator.search import distance as sphere
from locator.search import index as index_module
from locator.search import nearest
from locator.search.distance import EARTH_RADIUS_M, bearing_deg, compass, haversine_each_m, haversine_m
from locator.search.regions import Territory
from locator.store import beacon

PROJECT = Path(__file__).resolve().parent.parent
R = 6_371_008.8  # metres: the mean Earth radius docs/api.md promises


# -- the oracle ------------------------------------------------------------------------------------


class Oracle:
    """Brute force over every point: numpy narrows to a generous shortlist, math decides exactly."""

    SHORTLIST_MARGIN_M = 50.0

    def __init__(self, points):
        self.points = points
        self.ids = [p.id for p in points]
        self.lat = np.radians([p.lat for p in points])
        self.lon = np.radians([p.lon for p in points])

    def mask(self, wanted: PointFilter) -> np.ndarray:
        return np.array([wanted.matches(p) for p in self.points], dtype=bool)

    def nearest(self, lat: float, lon: float, k: int, mask: np.ndarray) -> list[tuple[float, str]]:
        rows = np.flatnonzero(mask)
        if len(rows) > k:
            phi, lmb = math.radians(lat), math.radians(lon)
            a = (
                np.sin((self.lat[rows] - phi) / 2) ** 2
                + math.cos(phi) * np.cos(self.lat[rows]) * np.sin((self.lon[rows] - lmb) / 2) ** 2
            )
            rough = 2 * R * np.arcsin(np.minimum(1.0, np.sqrt(a)))
            kth = np.partition(rough, k - 1)[k - 1]
            rows = rows[rough <= kth + self.SHORTLIST_MARGIN_M]
        exact = sorted(
            (haversine(lat, lon, self.points[i].lat, self.points[i].lon), self.ids[i]) for i in rows.tolist()
        )
        return exact[:k]


def assert_same(got: list[tuple[str, float]], expected: list[tuple[float, str]], context) -> None:
    assert [point_id for point_id, _ in got] == [point_id for _, point_id in expected], context
    for (_, distance), (true_distance, _) in zip(got, expected, strict=True):
        assert abs(distance - true_distance) < 1e-6, context


# -- data ------------------------------------------------------------------------------------------


def dataset(rng: random.Random) -> list:
    """About 3,000 points: spread over Ukraine, duplicated coordinates, tight clusters, and a few
    near the antimeridian and the poles where the math is least forgiving."""
    points = random_points(rng, 2700, prefix="u")

    def extra(prefix: str, count: int, where) -> None:
        for i in range(count):
            lat, lon = where(i)
            points.append(parse_point(random_record(rng, f"{prefix}{i:03d}", lat, lon), now=FIXED_NOW))

    originals = rng.sample(points, 60)
    extra("dup", 120, lambda i: (originals[i % 60].lat, originals[i % 60].lon))  # 2 copies each
    centres = [(50.4501, 30.5234), (49.8397, 24.0297), (46.4825, 30.7233)]
    extra(
        "clu",
        120,
        lambda i: (
            centres[i % 3][0] + rng.uniform(-1e-4, 1e-4),
            centres[i % 3][1] + rng.uniform(-1e-4, 1e-4),
        ),
    )
    extra(
        "am",
        20,
        lambda i: (
            rng.uniform(-60, 60),
            rng.choice([179.9999, -179.9999, 180.0, -180.0])
            if i < 6
            else rng.uniform(179.5, 180) * rng.choice([1, -1]),
        ),
    )
    # 30 points within a centimetre: seen from their antipode, chord and haversine both blur.
    extra("mic", 30, lambda i: (48.0 + rng.uniform(-1e-7, 1e-7), 35.0 + rng.uniform(-1e-7, 1e-7)))
    extra("np", 15, lambda i: (90.0 if i < 3 else rng.uniform(89.9, 90), rng.uniform(-180, 180)))
    extra("sp", 10, lambda i: (-90.0 if i < 2 else rng.uniform(-90, -89.9), rng.uniform(-180, 180)))
    return points


def random_query(rng: random.Random, points) -> tuple[float, float]:
    roll = rng.random()
    if roll < 0.6:
        return rng.uniform(44.0, 53.0), rng.uniform(21.5, 41.0)
    if roll < 0.72:
        p = rng.choice(points)
        return p.lat, p.lon  # exactly on a point (and on its duplicates): distance 0 ties
    if roll < 0.8:
        p = rng.choice([p for p in points if p.id.startswith("clu")] or points)
        return p.lat + rng.uniform(-2e-4, 2e-4), p.lon + rng.uniform(-2e-4, 2e-4)
    if roll < 0.86:
        return rng.uniform(-90, 90), rng.uniform(-180, 180)  # anywhere, mostly far from every point
    if roll < 0.9:
        return rng.uniform(-52, -44), rng.uniform(-159, -140)  # Ukraine's antipode
    if roll < 0.95:
        return rng.uniform(-60, 60), rng.choice([180.0, -180.0, 179.99, -179.99])
    return rng.choice([90.0, -90.0, 89.999, -89.999]), rng.uniform(-180, 180)


def filter_table(rng: random.Random, points) -> list[dict[str, str]]:
    table = [{}, {"status": "open"}, {"q": "неіснуючий пункт"}, {"bbox": "0,0,1,1"}]
    # q= is the costly filter for the index (it folds each candidate's text per query): fewer of them.
    table += [random_filter_args(rng, points, q_share=0.1) for _ in range(44)]
    return table


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One app over ~3,000 points, read-only for the tests that share it."""
    rng = random.Random(1991)
    path = tmp_path_factory.mktemp("nearest") / "locator.db"
    app = create_app({"DATABASE": str(path), "SEED_FILE": ""})
    store = app.extensions["locator.store"]
    store.import_points(dataset(rng))
    points = store.all()
    oracle = Oracle(points)
    filters = []
    for args in filter_table(rng, points):
        for defaults in ((), (Status.OPEN,)):
            wanted = parse_filter(args, default_statuses=defaults)
            filters.append((args, defaults, wanted, oracle.mask(wanted)))
    yield app, points, oracle, filters
    store.close()


# -- exactness --------------------------------------------------------------------------------------


def test_nearest_matches_brute_force_on_random_queries(world):
    app, points, oracle, filters = world
    index = app.extensions["locator.index"]
    rng = random.Random(7)
    empty = full = 0
    for n in range(2000):
        lat, lon = random_query(rng, points)
        k = rng.choice([1, 1, 2, 5, 10, rng.randrange(1, 101)])
        args, _, wanted, mask = rng.choice(filters)
        expected = oracle.nearest(lat, lon, k, mask)
        got = [(hit.point.id, hit.distance_m) for hit in index.nearest(lat, lon, k, wanted)]
        assert_same(got, expected, (n, lat, lon, k, args))
        empty += not expected
        full += len(expected) == k
    assert empty > 20 and full > 1000  # both "nothing matches" and "k found" happened often


def test_nearest_is_exact_with_subset_trees_evicted_and_no_fetch_margin(world, monkeypatch):
    """Each filter gets its own subset tree (LRU-cached); evict on every lookup and fetch only k
    at first, so every lookup rebuilds its subset and walks the widening loop."""
    monkeypatch.setattr(nearest, "SUBSET_CACHE", 1)
    monkeypatch.setattr(nearest, "FETCH_MARGIN", 0)
    app, points, oracle, filters = world
    index = app.extensions["locator.index"]
    rng = random.Random(8)
    for n in range(400):
        lat, lon = random_query(rng, points)
        k = rng.randrange(1, 101)
        args, _, wanted, mask = rng.choice(filters)
        got = [(hit.point.id, hit.distance_m) for hit in index.nearest(lat, lon, k, wanted)]
        assert_same(got, oracle.nearest(lat, lon, k, mask), (n, lat, lon, k, args))


def test_nearest_returns_current_points(world):
    app, points, _, _ = world
    by_id = {p.id: p for p in points}
    hits = app.extensions["locator.index"].nearest(50.45, 30.52, 100, PointFilter())
    assert len(hits) == 100
    assert all(hit.point == by_id[hit.point.id] for hit in hits)


def test_duplicate_coordinates_tie_at_zero_and_are_ordered_by_id(world):
    app, points, oracle, _ = world
    original = next(p for p in points if p.id.startswith("dup"))
    same_place = sorted(p.id for p in points if (p.lat, p.lon) == (original.lat, original.lon))
    assert len(same_place) >= 3
    hits = app.extensions["locator.index"].nearest(original.lat, original.lon, len(same_place), PointFilter())
    assert [h.point.id for h in hits] == same_place
    assert [h.distance_m for h in hits] == [0.0] * len(same_place)


def test_k_larger_than_the_matches_returns_every_match(world):
    app, points, oracle, _ = world
    wanted = parse_filter({"region": "Львівська область", "status": "closed", "kind": "mobile"})
    matching = sorted(p.id for p in points if wanted.matches(p))
    assert 0 < len(matching) < 100
    hits = app.extensions["locator.index"].nearest(10.0, -60.0, 100, wanted)
    assert sorted(h.point.id for h in hits) == matching
    assert_same(
        [(h.point.id, h.distance_m) for h in hits], oracle.nearest(10.0, -60.0, 100, oracle.mask(wanted)), ""
    )


@pytest.mark.parametrize(
    ("lat", "lon"),
    [
        (0.0, 180.0),
        (0.0, -180.0),
        (33.3, 179.99999),
        (-12.0, -179.99999),
        (90.0, 0.0),
        (-90.0, 45.0),
        (89.9999, -170.0),
        (-49.5, -149.5),
        (-50.4501, -149.4766),
        (-48.0, -145.0),
        (-48.0000001, -144.9999999),
        (48.0, 35.0),
    ],
)
@pytest.mark.parametrize("k", [1, 7, 100])
def test_nearest_is_exact_at_the_antimeridian_the_poles_and_the_antipode(world, lat, lon, k):
    app, _, oracle, _ = world
    got = app.extensions["locator.index"].nearest(lat, lon, k, PointFilter())
    expected = oracle.nearest(lat, lon, k, np.ones(len(oracle.points), bool))
    assert_same([(h.point.id, h.distance_m) for h in got], expected, (lat, lon, k))


def test_http_nearest_matches_brute_force(world):
    app, points, oracle, filters = world
    client = app.test_client()
    by_id = {p.id: p for p in points}
    rng = random.Random(11)
    for n in range(300):
        lat, lon = random_query(rng, points)
        k = rng.randrange(1, 101)
        args, defaults, _, mask = rng.choice([f for f in filters if f[1] == (Status.OPEN,)])
        query = dict(args, lat=repr(lat), lon=repr(lon), k=str(k), order="distance")
        response = client.get("/api/v1/nearest", query_string=query)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        assert body["query"] == {"lat": lat, "lon": lon, "k": k, "order": "distance"}
        expected = oracle.nearest(lat, lon, k, mask)
        features = body["features"]
        assert [f["id"] for f in features] == [point_id for _, point_id in expected], (n, query)
        for feature, (distance, point_id) in zip(features, expected, strict=True):
            props = feature["properties"]
            assert abs(props["distance_m"] - distance) <= 0.0005 + 1e-9
            assert props["status"] == by_id[point_id].status.value
            point = by_id[point_id]
            heading = bearing_deg(lat, lon, point.lat, point.lon)
            assert props["bearing_deg"] == round(heading, 1) and props["direction"] == compass(heading)


def test_http_nearest_defaults_to_open_points_and_five_results(client, seeded):
    body = client.get("/api/v1/nearest?lat=50.45&lon=30.52").get_json()
    assert len(body["features"]) == 5
    assert {f["properties"]["status"] for f in body["features"]} == {"open"}
    every_status = client.get("/api/v1/nearest?lat=50.45&lon=30.52&status=open,full,standby,closed&k=100")
    assert len(every_status.get_json()["features"]) == len(seeded)


def test_http_nearest_with_a_filter_that_matches_nothing_is_an_empty_collection(client, seeded):
    response = client.get("/api/v1/nearest?lat=50.45&lon=30.52&q=неіснуючий")
    assert response.status_code == 200
    assert response.get_json()["features"] == []


def test_http_nearest_on_an_empty_database_is_an_empty_collection(client):
    assert client.get("/api/v1/nearest?lat=50&lon=30&k=100").get_json()["features"] == []


# -- the math -----------------------------------------------------------------------------------------


def test_earth_radius_is_the_mean_radius():
    assert EARTH_RADIUS_M == R


@pytest.mark.parametrize(
    ("a", "b", "metres"),
    [
        ((0, 0), (0, 0), 0.0),
        ((0, 0), (90, 0), math.pi * R / 2),
        ((0, 0), (0, 90), math.pi * R / 2),
        ((0, 0), (0, 180), math.pi * R),
        ((90, 0), (-90, 0), math.pi * R),
        ((90, 0), (90, 137), 0.0),
        ((0, 179.5), (0, -179.5), math.pi * R / 180),
        ((10, -180), (10, 180), 0.0),
        ((50.4501, 30.5234), (49.8397, 24.0297), 467_500.0),  # Kyiv - Lviv, ±1 km
    ],
)
def test_haversine_known_distances(a, b, metres):
    tolerance = 1_000 if metres == 467_500.0 else 1e-6
    assert haversine_m(*a, *b) == pytest.approx(metres, abs=tolerance)
    assert haversine_m(*b, *a) == pytest.approx(metres, abs=tolerance)


def test_haversine_agrees_with_the_vector_formula_on_random_pairs():
    rng = random.Random(3)
    for _ in range(5000):
        lat1, lat2 = rng.uniform(-90, 90), rng.uniform(-90, 90)
        lon1, lon2 = rng.uniform(-180, 180), rng.uniform(-180, 180)
        u = np.array(
            [
                math.cos(math.radians(lat1)) * math.cos(math.radians(lon1)),
                math.cos(math.radians(lat1)) * math.sin(math.radians(lon1)),
                math.sin(math.radians(lat1)),
            ]
        )
        v = np.array(
            [
                math.cos(math.radians(lat2)) * math.cos(math.radians(lon2)),
                math.cos(math.radians(lat2)) * math.sin(math.radians(lon2)),
                math.sin(math.radians(lat2)),
            ]
        )
        angle = math.atan2(np.linalg.norm(np.cross(u, v)), float(np.dot(u, v)))
        # The haversine loses precision only within a hair of the antipode.
        tolerance = 1.0 if angle > math.radians(179) else 1e-6
        assert haversine_m(lat1, lon1, lat2, lon2) == pytest.approx(R * angle, rel=1e-9, abs=tolerance)


@pytest.mark.parametrize(
    ("degrees", "point"),
    [
        (0, "N"),
        (22.4, "N"),
        (22.6, "NE"),
        (45, "NE"),
        (90, "E"),
        (135, "SE"),
        (180, "S"),
        (225, "SW"),
        (270, "W"),
        (315, "NW"),
        (337.4, "NW"),
        (337.6, "N"),
        (359.9, "N"),
    ],
)
def test_compass_names_eight_directions(degrees, point):
    assert compass(degrees) == point


@pytest.mark.parametrize(
    ("to", "bearing"),
    [((51.45, 30.52), 0.0), ((49.45, 30.52), 180.0), ((0.0, 90.0), 90.0), ((0.0, -90.0), 270.0)],
)
def test_bearing_points_the_right_way(to, bearing):
    start = (50.45, 30.52) if bearing in (0.0, 180.0) else (0.0, 0.0)
    assert bearing_deg(*start, *to) == pytest.approx(bearing, abs=1e-9)


# -- freshness ----------------------------------------------------------------------------------------

NEAR_KYIV = "/api/v1/nearest?lat=50.4501&lon=30.5234"
EVERY_STATUS = NEAR_KYIV + "&status=open,full,standby,closed&k=100"


def nearest_ids(client, url: str = NEAR_KYIV + "&k=3") -> list[str]:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)
    return [f["id"] for f in response.get_json()["features"]]


def test_the_next_request_sees_a_write_through_the_same_app(client, store, seeded):
    assert nearest_ids(client)[0] == "kyiv-01"
    store.update("kyiv-01", {"status": "closed"}, by="test")
    assert "kyiv-01" not in nearest_ids(client)
    store.import_points(
        [make_point("new-1", now=None, updated_at=None, verified_at=None, lat=50.4502, lon=30.5234)]
    )
    assert nearest_ids(client)[0] == "new-1"
    store.update("new-1", {"lat": 46.0, "lon": 30.0}, by="test")  # moved far away
    assert "new-1" not in nearest_ids(client)
    all_but_one = [p for p in seeded if p.id != "kyiv-02"]
    store.import_points(all_but_one, replace=True)
    every = nearest_ids(client, EVERY_STATUS)
    assert "kyiv-02" not in every and len(every) == len(all_but_one)


def test_another_app_on_the_same_file_sees_every_write_at_once(client, seeded, db_path, tmp_path):
    other = create_app({"DATABASE": str(db_path), "SEED_FILE": ""})
    other_store, other_cli = other.extensions["locator.store"], other.test_cli_runner()
    assert nearest_ids(client)[0] == "kyiv-01"  # this app's index is warm

    other_store.update("kyiv-01", {"status": "closed"}, by="worker 2")
    assert "kyiv-01" not in nearest_ids(client)

    new = write_geojson(
        tmp_path / "new.geojson",
        [make_point("new-1", now=None, updated_at=None, verified_at=None, lat=50.4502, lon=30.5234)],
    )
    result = other_cli.invoke(args=["points", "import", str(new)])
    assert result.exit_code == 0, result.output
    assert nearest_ids(client)[0] == "new-1"

    result = other_cli.invoke(args=["points", "import", str(new), "--replace"])
    assert result.exit_code == 0, result.output
    assert f"{len(seeded)} removed" in result.output
    assert nearest_ids(client, EVERY_STATUS) == ["new-1"]
    other_store.close()


def test_a_separate_process_import_is_seen_by_the_next_request(client, store, seeded, db_path, tmp_path):
    # The seed spells regions many ways (one blank); an import settles them. Settle them first.
    seeded = [Territory().settle(p, follow=True) for p in seeded]
    store.import_points(seeded)
    assert nearest_ids(client)[0] == "kyiv-01"
    keep = [p for p in seeded if p.id != "kyiv-01"]  # deleted by --replace
    keep = [p.with_changes(status=Status.CLOSED) if p.id == "kyiv-02" else p for p in keep]
    added = make_point("new-1", now=None, updated_at=None, verified_at=None, lat=50.4503, lon=30.5234)
    path = write_geojson(tmp_path / "from-outside.geojson", keep + [added])
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCATOR_")}
    env.update(LOCATOR_DB=str(db_path), LOCATOR_SEED_FILE="")
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "points", "import", str(path), "--replace"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "1 added, 1 changed" in result.stdout and "1 removed" in result.stdout
    every = nearest_ids(client, EVERY_STATUS)
    assert "kyiv-01" not in every and every[0] == "new-1"
    assert "kyiv-02" not in nearest_ids(client, NEAR_KYIV + "&k=100")  # now closed: not open


def test_nearest_stays_exact_through_many_incremental_changes(tmp_path):
    """Hundreds of writes, applied to the index one sync at a time, past the point where it rebuilds."""
    rng = random.Random(2024)
    app = create_app({"DATABASE": str(tmp_path / "busy.db"), "SEED_FILE": ""})
    store, index = app.extensions["locator.store"], app.extensions["locator.index"]
    store.import_points(random_points(rng, 1200))
    client = app.test_client()
    first_tree = index.sync().tree
    threshold = max(index_module.REBUILD_MIN, index_module.REBUILD_FRACTION * 1200)
    points = store.all()
    filters = [parse_filter(random_filter_args(rng, points, q_share=0.1)) for _ in range(15)] + [
        PointFilter()
    ]

    def check(points, queries: int) -> None:
        oracle = Oracle(points)
        for wanted in filters:
            mask = oracle.mask(wanted)
            for _ in range(queries):
                lat, lon = random_query(rng, points)
                k = rng.randrange(1, 101)
                got = [(h.point.id, h.distance_m) for h in index.nearest(lat, lon, k, wanted)]
                assert_same(got, oracle.nearest(lat, lon, k, mask), (lat, lon, k, wanted))

    writes = 0
    for round_ in range(12):
        for point in rng.sample(points, 40):  # one write each: moves, status, services, region
            change = rng.choice(
                [
                    {"lat": rng.uniform(44.4, 52.4), "lon": rng.uniform(22.1, 40.2)},
                    {"status": rng.choice(["open", "full", "standby", "closed"])},
                    {"services": rng.sample(["power", "heat", "water", "internet"], 2)},
                    {
                        "region": rng.choice(["Київська область", "Львівська область"]),
                        "name": f"Нова назва {round_}",
                    },
                ]
            )
            store.update(point.id, change, by="test")
        # ...then one import that adds and changes points (and twice also deletes some) in one write
        fresh = random_points(rng, 15, prefix=f"n{round_}-")
        moved = [p.with_changes(lat=p.lat + 0.01) for p in rng.sample(points, 10)]
        if round_ in (4, 10):
            survivors = [p for p in store.all() if rng.random() > 0.02]
            store.import_points(survivors + fresh + moved, replace=True)
        else:
            store.import_points(fresh + moved)
        writes += 40 + 15 + 10
        if round_ % 4 == 0:
            assert nearest_ids(client, "/api/v1/nearest?lat=50&lon=30&k=1&status=open,full,standby,closed")
        points = store.all()
        check(points, queries=3)
    assert writes > threshold, "the test must cross the rebuild threshold"
    assert index.sync().tree is not first_tree, "the index rebuilt its tree on the way"
    check(points, queries=10)


def test_ties_beyond_the_first_fetch_are_all_weighed_before_the_cut(store, app):
    """Thirty points on one spot and k=3: the first k-nearest fetch (k + FETCH_MARGIN rows) ends
    inside the tie, so the lookup must widen, with nothing hidden (the plain path) and again
    once a change hides one of the tied rows; either way the smallest ids win."""
    index = app.extensions["locator.index"]
    tied = [make_point(f"tie-{i:02d}", lat=49.0, lon=32.0) for i in reversed(range(30))]
    around = [make_point(f"near-{i}", lat=49.0 + 0.001 * (i + 1), lon=32.0) for i in range(20)]
    store.import_points(tied + around)
    snapshot = index.sync()
    assert not snapshot.any_hidden
    hits = index.nearest(49.0, 32.0, 3, PointFilter())
    assert [h.point.id for h in hits] == ["tie-00", "tie-01", "tie-02"]
    assert [h.distance_m for h in hits] == [0.0, 0.0, 0.0]

    store.update("tie-01", {"lat": 49.5}, by="test")  # now a change: its base row is hidden
    assert index.sync().any_hidden
    hits = index.nearest(49.0, 32.0, 3, PointFilter())
    assert [h.point.id for h in hits] == ["tie-00", "tie-02", "tie-03"]


def test_base_rows_follow_the_tree_and_every_point_keeps_its_row(world):
    """The base keeps its rows in the KD-tree's order (for memory locality); ids still map to
    their own rows and arrays, so nothing but speed depends on that order."""
    app, points, _, _ = world
    base = app.extensions["locator.index"].sync().base
    assert sorted(p.id for p in base.points) == sorted(p.id for p in points)
    assert base.points != sorted(base.points, key=lambda p: p.id)
    for point_id, row in list(base.row_of.items())[::97]:
        point = base.points[row]
        assert point.id == point_id
        assert (base.lat[row], base.lon[row]) == (point.lat, point.lon)
        assert np.allclose(
            base.xyz[row], sphere.unit_vectors(np.array([point.lat]), np.array([point.lon]))[0]
        )


def test_haversine_each_m_is_haversine_m_to_the_bit_on_random_places():
    """The lookup's distances come from haversine_each_m (no call per point): its every result
    must be the bits haversine_m gives, including near the poles, the antimeridian and antipodes."""
    rng = random.Random(17)
    for _ in range(300):
        lat, lon = rng.uniform(-90, 90), rng.uniform(-180, 180)
        places = [
            make_point(
                f"p{i}",
                lat=rng.choice([rng.uniform(-90, 90), -lat, lat, 90.0, -90.0]),
                lon=rng.choice([rng.uniform(-180, 180), lon + 180 if lon < 0 else lon - 180, 180.0, lon]),
            )
            for i in range(rng.randrange(0, 12))
        ]
        expected = [haversine_m(lat, lon, p.lat, p.lon) for p in places]
        assert haversine_each_m(lat, lon, places) == expected


def test_lookup_distances_are_haversine_m_to_the_bit(world):
    """The lookup's distances must be exactly the distances haversine_m gives, or ties and
    order could differ from the oracle's."""
    app, points, _, _ = world
    index = app.extensions["locator.index"]
    rng = random.Random(13)
    for _ in range(300):
        lat, lon = random_query(rng, points)
        for hit in index.nearest(lat, lon, rng.choice([1, 5, 20]), PointFilter()):
            assert hit.distance_m == haversine_m(lat, lon, hit.point.lat, hit.point.lon)


def test_the_snapshot_lists_what_the_store_finds(world):
    """The API's list answers come from the index's points: for every filter (archived, bbox
    and text included) they are the store's answer, the same points in the same order."""
    app, _, _, filters = world
    store, snapshot = app.extensions["locator.store"], app.extensions["locator.index"].sync()
    seen = 0
    for _, _, wanted, _ in filters + [(None, None, PointFilter(include_archived=True), None)]:
        expected = store.find(wanted, FIXED_NOW)
        assert snapshot.matching(wanted, FIXED_NOW) == expected, wanted
        seen += len(expected)
    assert seen > 10_000


def test_the_snapshot_lists_changes_and_scheduled_points_like_the_store(store, app, seeded):
    index = app.extensions["locator.index"]
    index.sync()
    store.update("kyiv-01", {"status": "closed", "lat": 50.0}, by="test")  # a change over the base
    store.import_points([make_point("zz-new", lat=50.46, lon=30.52)])  # a point the base lacks
    for args in ({}, {"status": "closed"}, {"bbox": "30.0,49.9,31.0,50.1"}, {"q": "київ"}):
        wanted = parse_filter(args)
        assert index.sync().matching(wanted) == store.find(wanted), args


# -- the change counter's shared-memory beacon (store/beacon.py) --------------------------------


def test_a_lookup_with_nothing_changed_asks_sqlite_at_most_once_a_second(client, store, seeded):
    """The beacon saves the SQL on the hot path; the count of statements proves it is used."""
    assert nearest_ids(client)[0] == "kyiv-01"
    statements = []
    store.db.conn.set_trace_callback(statements.append)
    try:
        for _ in range(20):
            assert nearest_ids(client)[0] == "kyiv-01"
    finally:
        store.db.conn.set_trace_callback(None)
    assert sum("meta" in s for s in statements) <= 1, statements


def test_a_writer_that_does_not_publish_is_seen_within_a_second(client, store, seeded, db_path):
    """The sqlite3 shell, or an older release, changes the database behind the beacon's back."""
    assert nearest_ids(client)[0] == "kyiv-01"
    foreign = sqlite3.connect(db_path, isolation_level=None)
    foreign.execute("BEGIN IMMEDIATE")
    seq = foreign.execute("UPDATE meta SET value = value + 1 WHERE key = 'seq' RETURNING value").fetchone()[0]
    foreign.execute("UPDATE points SET status = 'closed', seq = ? WHERE id = 'kyiv-01'", [seq])
    foreign.execute("COMMIT")
    foreign.close()
    deadline = time.monotonic() + beacon.CONFIRM_EVERY_S + 0.5
    while "kyiv-01" in nearest_ids(client) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "kyiv-01" not in nearest_ids(client)


def test_a_rolled_back_write_leaves_lookups_right_and_the_next_write_is_seen(client, store, seeded):
    assert nearest_ids(client)[0] == "kyiv-01"
    with pytest.raises(RuntimeError):
        with store.transaction() as conn:
            store.next_seq(conn)  # published, then rolled back: the beacon is ahead of the file
            conn.execute("UPDATE points SET status = 'closed' WHERE id = 'kyiv-01'")
            raise RuntimeError("changed my mind")
    assert store.beacon.read() == store.change_seq() + 1
    assert nearest_ids(client)[0] == "kyiv-01"  # still open: the rolled-back change is not seen
    store.update("kyiv-01", {"status": "closed"}, by="test")
    assert store.beacon.read() == store.change_seq()
    assert "kyiv-01" not in nearest_ids(client)


def test_a_beacon_left_by_another_database_is_put_right_when_the_app_starts(tmp_path):
    path = tmp_path / "fresh.db"
    beacon.SeqBeacon(str(path)).publish(10_000)  # left beside a database file since replaced
    app = create_app({"DATABASE": str(path), "SEED_FILE": ""})
    store = app.extensions["locator.store"]
    assert store.beacon.read() == store.change_seq() == 0
    store.import_points([make_point("p-1", lat=50.45, lon=30.52)])
    assert nearest_ids(app.test_client(), NEAR_KYIV + "&k=1") == ["p-1"]
    assert store.beacon.read() == 1


def test_without_a_beacon_every_lookup_asks_sqlite_and_stays_right(client, store, seeded, tmp_path):
    store.beacon = beacon.SeqBeacon(str(tmp_path / "no-such-dir" / "x"))
    (tmp_path / "no-such-dir").write_text("a file where the beacon's folder would go")
    assert store.beacon.read() is None
    assert nearest_ids(client)[0] == "kyiv-01"
    store.update("kyiv-01", {"status": "closed"}, by="test")
    assert "kyiv-01" not in nearest_ids(client)


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads through /proc")
def test_lookups_start_no_threads_of_their_own():
    """pykdtree's OpenMP threads would spin between lookups, each burning a core under load."""
    script = (
        "import os\n"
        "from locator.search.nearest import Snapshot\n"
        "from locator.domain.filters import PointFilter\n"
        "from helpers import random_points\n"
        "import random\n"
        "snapshot = Snapshot(1, random_points(random.Random(1), 2000))\n"
        "before = len(os.listdir('/proc/self/task'))  # numpy's and scipy's BLAS threads\n"
        "for i in range(200):\n"
        "    snapshot.nearest(48 + i / 100, 30, 5, PointFilter())\n"
        "print(before, len(os.listdir('/proc/self/task')))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT), str(PROJECT / "tests")])
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120, cwd=PROJECT
    )
    assert done.returncode == 0, done.stderr
    before, after = map(int, done.stdout.split())
    assert after == before
