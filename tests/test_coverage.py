"""Coverage (issue 19) is exact: every settlement's nearest qualifying point, as a brute-force
haversine over every point finds it, mobile points where their schedules put them."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from helpers import FIXED_NOW, haversine, make_point, random_points

from locator.domain.point import SERVICES, format_time
from locator.search.coverage import Need, coverage
from locator.search.nearest import Snapshot
from locator.search.regions import shared as region_map
from locator.search.settlements import Settlement

AREA = (49.8, 50.9, 29.6, 31.6)  # around Kyiv: points dense enough that some places are covered
HOURS = ("Mo-Fr 08:00-20:00", "24/7", "Sa-Su 10:00-14:00", None)


def random_settlements(rng: random.Random, n: int) -> list[Settlement]:
    min_lat, max_lat, min_lon, max_lon = AREA
    found = []
    for i in range(n):
        lat, lon = rng.uniform(min_lat, max_lat), rng.uniform(min_lon, max_lon)
        region = region_map().locate(lat, lon).region
        found.append(
            Settlement(f"s{i}", f"s{i}", region, region, lat, lon, rng.choice([0, 600, 5_000, 90_000]))
        )
    return found


def random_world(rng: random.Random, n: int) -> list:
    """Points in AREA: fixed and mobile, some with opening hours, some mobile with schedules."""
    min_lat, max_lat, min_lon, max_lon = AREA
    points = []
    for i, point in enumerate(random_points(rng, n, prefix="c")):
        lat, lon = rng.uniform(min_lat, max_lat), rng.uniform(min_lon, max_lon)
        changes = {
            "lat": lat,
            "lon": lon,
            "region": region_map().locate(lat, lon).region,
            "opening_hours": rng.choice(HOURS),
        }
        if point.kind.value == "mobile" and rng.random() < 0.6:
            start = FIXED_NOW - timedelta(hours=rng.randrange(0, 30))
            stops = []
            for _ in range(rng.randrange(1, 4)):
                end = start + timedelta(hours=rng.randrange(1, 20))
                stop_lat, stop_lon = rng.uniform(min_lat, max_lat), rng.uniform(min_lon, max_lon)
                stops.append(
                    {
                        "place": f"stop {i}",
                        "lat": stop_lat,
                        "lon": stop_lon,
                        "starts_at": format_time(start),
                        "ends_at": format_time(end),
                    }
                )
                start = end + timedelta(hours=rng.randrange(0, 6))
            changes["stops"] = stops
        record = point.to_record() | changes
        record.pop("archived", None)
        points.append(make_point(point.id, **{k: v for k, v in record.items() if k != "id"}))
    return points


def random_need(rng: random.Random) -> Need:
    at = FIXED_NOW + timedelta(hours=rng.uniform(-20, 40)) if rng.random() < 0.7 else None
    return Need(
        services=frozenset(rng.sample(SERVICES, rng.choice([0, 0, 1, 2]))),
        status=rng.choice(["open_now", "open", "any"]),
        kinds=rng.choice(["both", "fixed", "mobile"]),
        distance_km=rng.choice([1.0, 5.0, 12.5]),
        at=at,
    )


def oracle(points, place: Settlement, need: Need, moment) -> float | None:
    wanted = need.point_filter()
    best = None
    for point in points:
        here = point.at(moment) if point.stops else point
        if wanted.matches(here, moment):
            distance = haversine(place.lat, place.lon, here.lat, here.lon)
            best = distance if best is None else min(best, distance)
    return best


@pytest.mark.parametrize("seed", range(6))
def test_coverage_matches_a_brute_force_haversine(seed):
    rng = random.Random(seed)
    points = random_world(rng, 300)
    snapshot = Snapshot(1, points)
    if seed % 2:  # the changes path too: some points moved or gone since the tree was built
        moved = [p.with_changes(lat=p.lat + 0.01) for p in rng.sample(points, 20)]
        gone = [p.id for p in rng.sample(points, 10)]
        snapshot = snapshot.with_changes(2, moved, gone)
        points = snapshot.current_points()
    places = random_settlements(rng, 120)
    for _ in range(8):
        need = random_need(rng)
        result = coverage(snapshot, places, need, now=FIXED_NOW)
        moment = need.at or FIXED_NOW
        assert result.moment == moment
        assert [r.settlement for r in result.reaches] == places
        for reach in result.reaches:
            expected = oracle(points, reach.settlement, need, moment)
            if expected is None:
                assert reach.distance_m is None and reach.point_id is None and not reach.covered
                continue
            assert reach.distance_m == pytest.approx(expected, abs=1e-6)
            found = next(p for p in points if p.id == reach.point_id)
            here = found.at(moment) if found.stops else found
            assert need.point_filter().matches(here, moment)
            if abs(expected - need.distance_m) > 1e-6:
                assert reach.covered == (expected <= need.distance_m)


def test_totals_add_up_per_region_and_country():
    rng = random.Random(42)
    snapshot = Snapshot(1, random_world(rng, 200))
    places = random_settlements(rng, 200)
    result = coverage(snapshot, places, Need(status="any"), now=FIXED_NOW)
    assert result.country.population == sum(p.population for p in places)
    assert result.country.covered_population == sum(
        r.settlement.population for r in result.reaches if r.covered
    )
    assert sum(t.population for t in result.regions.values()) == result.country.population
    assert sum(t.covered_settlements for t in result.regions.values()) == result.country.covered_settlements
    for region, totals in result.regions.items():
        assert totals.settlements == sum(1 for p in places if p.region == region)
    ranked = [r.settlement.population for r in result.uncovered]
    assert ranked == sorted(ranked, reverse=True)
    assert result.country.uncovered_settlements == len(ranked)


def test_a_mobile_point_covers_where_its_schedule_puts_it():
    stop = {
        "place": "Бровари",
        "lat": 50.51,
        "lon": 30.79,
        "starts_at": format_time(FIXED_NOW + timedelta(hours=2)),
        "ends_at": format_time(FIXED_NOW + timedelta(hours=6)),
    }
    tent = make_point("tent", kind="mobile", lat=50.45, lon=30.52, stops=[stop], opening_hours="24/7")
    brovary = Settlement("Бровари", "Brovary", "Київська область", "Kyiv Oblast", 50.511, 30.790, 100_000)
    snapshot = Snapshot(1, [tent])
    now = coverage(snapshot, [brovary], Need(kinds="mobile"), now=FIXED_NOW).reaches[0]
    later = coverage(snapshot, [brovary], Need(kinds="mobile", at=FIXED_NOW + timedelta(hours=3))).reaches[0]
    assert not now.covered and now.distance_m > 15_000
    assert later.covered and later.distance_m < 200 and later.point_id == "tent"
    assert not coverage(snapshot, [brovary], Need(kinds="fixed"), now=FIXED_NOW).reaches[0].covered


@pytest.mark.parametrize(
    "bad",
    [
        {"status": "sometimes"},
        {"kinds": "boats"},
        {"distance_km": 0},
        {"distance_km": float("nan")},
        {"distance_km": 1e9},
    ],
)
def test_a_need_refuses_what_it_cannot_mean(bad):
    with pytest.raises(ValueError):
        Need(**bad)


def test_planner_settlements_are_geonames_plus_the_points_own(app):
    from locator.services.planner import planner_settlements

    gazetteer = app.extensions["locator.gazetteer"]
    points = [
        make_point("a", settlement="Бровари", lat=50.511, lon=30.79),  # GeoNames knows it: merged
        make_point("b", settlement="Хутір Новий", lat=50.30, lon=30.20),  # unknown: added, population 0
    ]
    found = planner_settlements(gazetteer, Snapshot(1, points))
    assert len(found) == len(gazetteer.places) + 1
    extra = [s for s in found if s.source == "points"]
    assert [(s.name, s.population) for s in extra] == [("Хутір Новий", 0)]
    brovary = [s for s in found if s.name == "Бровари" and s.source == "geonames"]
    assert brovary and brovary[0].points == 1 and brovary[0].population > 50_000
