"""Near me ranks fresh, confirmed points first unless a less trusted one is much closer
(domain/trust.py), exactly: the same ids and order as weighing every point by brute force."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

import pytest
from helpers import FIXED_NOW, haversine, make_point, random_points

from locator.domain.filters import PointFilter
from locator.domain.point import Status, format_time, utcnow
from locator.domain.trust import WEIGHT, Trust, ranked_distance, trust_of
from locator.search.nearest import Snapshot
from locator.search.ranking import ranked_nearest

STALE_AFTER = timedelta(hours=12)
KYIV = (50.45, 30.52)


def brute_force(points, lat, lon, k, wanted, now):
    """Every matching point weighed, sorted by (ranked distance, distance, id)."""
    weighed = []
    for point in points:
        if not wanted.matches(point):
            continue
        distance = haversine(lat, lon, point.lat, point.lon)
        trust = trust_of(point, now, STALE_AFTER)
        weighed.append((ranked_distance(distance, trust), distance, point.id, trust))
    return sorted(weighed)[:k]


def varied_trust(rng: random.Random, points):
    """Some points reported closed, some never confirmed (no verified_at), the rest by age."""
    varied = []
    for point in points:
        roll = rng.random()
        if roll < 0.15:
            point = replace(point, unconfirmed=True)
        elif roll < 0.3:
            point = replace(point, verified_at=None)
        varied.append(point)
    return varied


def test_every_weight_keeps_ranked_distance_at_or_above_the_real_one():
    """ranked_nearest's early stop is exact only because of this (the docstring's promise)."""
    for trust in Trust:
        factor, extra = WEIGHT[trust]
        assert factor >= 1 and extra >= 0
        assert ranked_distance(0.0, trust) >= 0 and ranked_distance(1234.5, trust) >= 1234.5
    assert WEIGHT[Trust.FRESH] == (1.0, 0.0)


def test_trust_names_the_weakest_thing_true_of_a_point():
    fresh = make_point("a", verified_at=format_time(FIXED_NOW - timedelta(hours=1)))
    assert trust_of(fresh, FIXED_NOW, STALE_AFTER) is Trust.FRESH
    old = make_point("b", verified_at=format_time(FIXED_NOW - timedelta(days=17)))
    assert trust_of(old, FIXED_NOW, STALE_AFTER) is Trust.STALE
    assert trust_of(replace(old, verified_at=None), FIXED_NOW, STALE_AFTER) is Trust.NEVER_CONFIRMED
    assert trust_of(replace(old, unconfirmed=True), FIXED_NOW, STALE_AFTER) is Trust.REPORTED_CLOSED
    assert trust_of(replace(fresh, unconfirmed=True), FIXED_NOW, STALE_AFTER) is Trust.REPORTED_CLOSED


def none_fresh(points):
    """As an import nobody has confirmed: every point stale or never confirmed, a few reported."""
    return [
        replace(p, verified_at=None if i % 3 else p.verified_at - timedelta(days=30), unconfirmed=i % 11 == 0)
        for i, p in enumerate(points)
    ]


@pytest.mark.parametrize(
    ("spread", "mix"),
    [(0.05, "varied"), (0.5, "varied"), (8.0, "varied"), (0.05, "none_fresh"), (0.5, "all_reported")],
)  # a district, a city's surroundings, the country; the bound on unfetched points in each case
def test_ranked_nearest_matches_brute_force(spread, mix):
    rng = random.Random(int(spread * 100))
    points = random_points(rng, 600)
    if mix == "varied":
        points = varied_trust(rng, points)
    elif mix == "none_fresh":
        points = none_fresh(points)
    else:
        points = [replace(p, unconfirmed=True) for p in points]
    lat0, lon0 = KYIV
    points = [
        replace(p, lat=lat0 + rng.uniform(-spread, spread), lon=lon0 + rng.uniform(-spread, spread))
        for p in points
    ]
    snapshot = Snapshot(1, points)
    filters = [
        PointFilter(),
        PointFilter(statuses=frozenset({Status.OPEN})),
        PointFilter(statuses=frozenset({Status.OPEN, Status.FULL})),
        PointFilter(statuses=frozenset({Status.UNCONFIRMED})),
    ]
    for n in range(150):
        lat = lat0 + rng.uniform(-spread, spread)
        lon = lon0 + rng.uniform(-spread, spread)
        k = rng.choice([1, 3, 5, 20, 100])
        wanted = rng.choice(filters)
        got = ranked_nearest(snapshot, lat, lon, k, wanted, FIXED_NOW, STALE_AFTER)
        expected = brute_force(points, lat, lon, k, wanted, FIXED_NOW)
        assert [h.point.id for h in got] == [point_id for _, _, point_id, _ in expected], (n, k)
        for hit, (_, distance, _, trust) in zip(got, expected, strict=True):
            assert abs(hit.distance_m - distance) < 1e-6 and hit.trust is trust


def test_a_stale_point_comes_first_only_when_much_closer(client, store):
    """A stale point 300 m away ranks like a fresh one 1.6 km away (2 × 300 m + 1 km)."""
    now = utcnow()
    fresh_at = format_time(now - timedelta(minutes=5))
    stale_at = format_time(now - timedelta(days=17))
    north = 1 / 111.2  # degrees of latitude per km, near enough for the layout below
    lat, lon = KYIV
    store.import_points(
        [
            make_point("stale-300m", lat=lat + 0.3 * north, lon=lon, verified_at=stale_at, now=now),
            make_point("fresh-1200m", lat=lat - 1.2 * north, lon=lon, verified_at=fresh_at, now=now),
            make_point("fresh-2500m", lat=lat + 2.5 * north, lon=lon, verified_at=fresh_at, now=now),
        ]
    )
    body = client.get(f"/api/v1/nearest?lat={lat}&lon={lon}&k=3").get_json()
    order = [(f["id"], f["properties"]["trust"]) for f in body["features"]]
    assert order == [("fresh-1200m", "fresh"), ("stale-300m", "stale"), ("fresh-2500m", "fresh")]
    assert body["query"]["order"] == "trust"
    plain = client.get(f"/api/v1/nearest?lat={lat}&lon={lon}&k=3&order=distance").get_json()
    assert [f["id"] for f in plain["features"]] == ["stale-300m", "fresh-1200m", "fresh-2500m"]
    assert [f["properties"]["trust"] for f in plain["features"]] == ["stale", "fresh", "fresh"]
    # /list (no JavaScript) orders the same and says why the stale one is below
    page = client.get(f"/list?lat={lat}&lon={lon}").get_data(as_text=True)
    shown = [page.index(f"/points/{point_id}") for point_id in ("fresh-1200m", "stale-300m", "fresh-2500m")]
    assert shown == sorted(shown)
    assert page.count("Статус давній: нижче за свіжі") == 1


@pytest.mark.parametrize("value", ["nearest", "TRUST", "trust,distance", "\x00", "x" * 5000])
def test_a_bad_order_is_a_problem_naming_it(client, seeded, value):
    response = client.get("/api/v1/nearest", query_string={"lat": "50.45", "lon": "30.52", "order": value})
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["param"] == "order"
