"""A filter has one meaning, PointFilter.matches; the store's SQL (Store.find), the index's arrays
(Snapshot.matching) and the nearest lookup's filtering are pinned to it here: on random points
and random filters over every field, each selects exactly the points ``matches`` selects.

The points include what the plain random data lacks: citizens' "unconfirmed" flags, archived
points, mobile points with a schedule (a bbox judges them where they stand now), regions and
text in other cases and apostrophes, and points exactly on a bbox's edges.
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from helpers import FIXED_NOW, SERVICES, random_points, vary_text

from locator.domain.filters import PointFilter
from locator.domain.point import Category, Kind, Point, Status, Stop
from locator.domain.values import BusinessType
from locator.search.nearest import Snapshot

NOW = FIXED_NOW  # every side judges scheduled points at the same moment
POINTS = 400
FILTERS = 300
HOUR = timedelta(hours=1)
EXTRA = random.Random(20)  # issue 20's fields and filters
# Opening hours that keep a point open at NOW, close it, or leave it unknown (issue 17).
HOURS = ("24/7", "Mo-Fr 09:00-18:00", "Mo-Fr 15:00-18:00", "Sa-Su 10:00-14:00", "Mo-Su 20:00-08:00", "off")
# Spellings of one region that fold to the same key (case, and Ukrainian's several apostrophes).
APOSTROPHE_REGION = ("Слов’янська громада", "Слов'янська громада", "СЛОВʼЯНСЬКА ГРОМАДА")


def varied_points(rng: random.Random) -> list[Point]:
    """Random points, then flags, archives, schedules and respelled regions on some of them."""
    points = []
    for point in random_points(rng, POINTS, prefix="f"):
        changes = {}
        if rng.random() < 0.15:
            changes["unconfirmed"] = True
        if rng.random() < 0.1:
            changes["archived"] = True
        if rng.random() < 0.15:
            changes["region"] = rng.choice(APOSTROPHE_REGION)
        elif point.region and rng.random() < 0.2:
            changes["region"] = vary_text(rng, point.region)
        if point.kind is Kind.MOBILE and rng.random() < 0.4:
            changes["stops"] = schedule(rng, point)
        if rng.random() < 0.6:  # NOW is a Wednesday at 14:00 in Kyiv
            changes["opening_hours"] = rng.choice(HOURS)
        # Issue 20's business types and beds, from their own generator (the older draws stay)
        changes["business_type"] = EXTRA.choice(list(BusinessType))
        if EXTRA.random() < 0.3:
            changes["beds"] = EXTRA.choice([20, 100])
            changes["beds_free"] = EXTRA.choice([None, 0, 5])
        points.append(point.with_changes(**changes))
    return points


def schedule(rng: random.Random, point: Point) -> tuple[Stop, ...]:
    """One to three stops around NOW, far from where the point is placed: under way, over or to come."""
    stops = []
    for number in range(rng.randrange(1, 4)):
        starts = NOW + rng.choice([-3 * HOUR, -HOUR, HOUR, 5 * HOUR]) + number * 10 * HOUR
        stops.append(
            Stop(
                place=f"Стоянка {number}",
                lat=max(-90.0, min(90.0, point.lat + rng.uniform(-2, 2))),
                lon=max(-180.0, min(180.0, point.lon + rng.uniform(-2, 2))),
                starts_at=starts,
                ends_at=starts + rng.choice([HOUR / 2, 2 * HOUR, 6 * HOUR]),
            )
        )
    return tuple(sorted(stops, key=lambda stop: stop.starts_at))


def random_filter(rng: random.Random, points: list[Point]) -> PointFilter:
    """A filter over any of the fields, values taken from the data and respelled."""
    fields: dict = {}
    if rng.random() < 0.4:
        fields["statuses"] = frozenset(rng.sample(list(Status), rng.randrange(1, 4)))
    if rng.random() < 0.25:
        fields["kinds"] = frozenset(rng.sample(list(Kind), rng.randrange(1, 3)))
    if rng.random() < 0.25:
        fields["categories"] = frozenset(rng.sample(list(Category), rng.randrange(1, 3)))
    if EXTRA.random() < 0.2:
        fields["business_types"] = frozenset(EXTRA.sample(list(BusinessType), EXTRA.randrange(1, 3)))
    if EXTRA.random() < 0.15:
        fields["bed"] = True
    if rng.random() < 0.25:
        fields["base"] = rng.random() < 0.5
    if rng.random() < 0.3:
        fields["services"] = frozenset(rng.sample(SERVICES, rng.randrange(1, 3)))
    if rng.random() < 0.3:
        regions = [p.region for p in points if p.region] + ["Неіснуюча область"]
        fields["region"] = vary_text(rng, rng.choice(regions + list(APOSTROPHE_REGION)))
    if rng.random() < 0.3:
        source = rng.choice(points)
        text = rng.choice([source.name, source.address, source.settlement]) or source.name
        start = rng.randrange(0, max(1, len(text) - 3))
        fields["q"] = vary_text(rng, text[start : start + rng.randrange(3, 9)]).strip() or text
    if rng.random() < 0.35:
        fields["bbox"] = random_bbox(rng, points)
    if rng.random() < 0.3:
        fields["include_archived"] = True
    if rng.random() < 0.35:
        fields["open_now"] = True
    return PointFilter(**fields)


def random_bbox(rng: random.Random, points: list[Point]) -> tuple[float, float, float, float]:
    """A box anywhere, or one whose edges pass exactly through points (edges are inside), or
    one around where a scheduled point stands now."""
    where = [(p.lat, p.lon) for p in points]
    where += [(p.at(NOW).lat, p.at(NOW).lon) for p in points if p.stops]
    shape = rng.random()
    if shape < 0.4:
        (lat1, lon1), (lat2, lon2) = rng.sample(where, 2)
    elif shape < 0.6:
        lat1, lon1 = lat2, lon2 = rng.choice(where)  # a box of one point: only its edges
    else:
        lat, lon = rng.choice(where)
        lat1, lon1 = lat - rng.uniform(0, 2), lon - rng.uniform(0, 2)
        lat2, lon2 = lat + rng.uniform(0, 2), lon + rng.uniform(0, 2)
    return min(lon1, lon2), min(lat1, lat2), max(lon1, lon2), max(lat1, lat2)


def meant(wanted: PointFilter, points: list[Point]) -> list[str]:
    """The one definition: the ids PointFilter.matches selects, each point where it stands at NOW."""
    return sorted(p.id for p in points if wanted.matches(p.at(NOW), NOW))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The varied points in a real store, the app's index synced from it, and a second snapshot
    that reaches the same points through changes over an older base (the per-lookup path)."""
    from locator import create_app

    rng = random.Random(2025)
    path = tmp_path_factory.mktemp("equivalence") / "locator.db"
    app = create_app({"DATABASE": str(path), "SEED_FILE": "", "TESTING": True})
    store = app.extensions["locator.store"]
    store.import_points(varied_points(rng))
    stored = store.all()
    synced = app.extensions["locator.index"].sync()
    # The same points as changes: a base where a third of them were otherwise and some extra
    # points existed, then the stored versions and the deletions on top.
    changed = rng.sample(stored, len(stored) // 3)
    older = {p.id: p.with_changes(status=rng.choice(list(Status)), region="Стара область") for p in changed}
    extras = [p.with_changes(id=f"gone-{p.id}") for p in rng.sample(stored, 20)]
    base = [older.get(p.id, p) for p in stored] + extras
    layered = Snapshot(1, base).with_changes(2, changed, [p.id for p in extras])
    yield rng, store, stored, {"synced": synced, "layered": layered}
    store.close()


def test_the_random_data_exercises_every_case(world):
    """Guards the test itself: flags, archives, schedules under way and respelled regions exist."""
    _, _, stored, _ = world
    assert sum(p.unconfirmed for p in stored) > 20
    assert sum(p.archived for p in stored) > 10
    assert sum(bool(p.stops) and p.at(NOW) is not p for p in stored) > 5  # standing elsewhere now
    assert len({p.region for p in stored if p.region in APOSTROPHE_REGION}) == len(APOSTROPHE_REGION)
    working = [p for p in stored if p.status in (Status.OPEN, Status.FULL)]
    assert sum(not PointFilter(open_now=True).matches(p, NOW) for p in working) > 20  # closed by hours
    assert sum(PointFilter(open_now=True).matches(p, NOW) and bool(p.opening_hours) for p in working) > 20


def test_store_find_selects_what_matches_selects(world):
    rng, store, stored, _ = world
    selective = 0
    for _ in range(FILTERS):
        wanted = random_filter(rng, stored)
        expected = meant(wanted, stored)
        assert [p.id for p in store.find(wanted, now=NOW)] == expected, wanted
        selective += 0 < len(expected) < len(stored)
    assert selective > FILTERS // 3  # most filters neither keep everything nor nothing


@pytest.mark.parametrize("snapshot", ["synced", "layered"])
def test_snapshot_matching_selects_what_matches_selects(world, snapshot):
    rng, _, stored, snapshots = world
    index = snapshots[snapshot]
    for _ in range(FILTERS):
        wanted = random_filter(rng, stored)
        assert [p.id for p in index.matching(wanted, now=NOW)] == meant(wanted, stored), wanted


@pytest.mark.parametrize("snapshot", ["synced", "layered"])
def test_nearest_filters_as_matches_does(world, snapshot):
    """Asked for more than there are, nearest gives every match; asked for a few, only matches."""
    rng, _, stored, snapshots = world
    index = snapshots[snapshot]
    for _ in range(FILTERS):
        wanted = random_filter(rng, stored)
        expected = meant(wanted, stored)
        lat, lon = rng.uniform(44.4, 52.4), rng.uniform(22.1, 40.2)
        everything = index.nearest(lat, lon, len(stored) + 1, wanted, now=NOW)
        assert sorted(hit.point.id for hit in everything) == expected, wanted
        k = rng.choice([1, 5, 10])
        few = index.nearest(lat, lon, k, wanted, now=NOW)
        assert len(few) == min(k, len(expected))
        assert {hit.point.id for hit in few} <= set(expected), wanted
