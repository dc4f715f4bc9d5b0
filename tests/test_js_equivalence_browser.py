"""The map's JavaScript agrees with the Python it copies, on random data, in a real Chromium.

The filter (static/js/filters.js) must select exactly the points locator.domain.filters'
PointFilter.matches selects for the same choice, and the distances and compass points the map
works out offline (static/js/distance.js) must be locator.search.distance's. The real modules run
in the real map page served by the real app, on the compact table the app sends; the choices are
made by ticking the page's own filter boxes, so reading the form is pinned too.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from browser_support import Site, Tab, open_guarded_tab, serve
from helpers import random_points
from playwright.sync_api import Browser, expect

from locator.domain.filters import PointFilter
from locator.domain.point import SERVICES, Category, Kind, Point, Status
from locator.domain.values import BusinessType
from locator.search.distance import bearing_deg, compass, haversine_m

SEED = 20261206
POINTS = 400
FILTERS = 120
PAIRS = 2000
RELATIVE_TOLERANCE = 1e-6  # the JS and Python haversines, relative (they should agree to the bit)
ABSOLUTE_TOLERANCE_M = 1e-6  # for the zero distance of a point to itself

# Ticks the page's filter boxes as asked, lets the page react (its change listener), then filters
# the page's decoded points with the modules' own functions. Returns the ids and the page's count.
SELECT = """async (choice) => {
  const filters = await import('/static/js/filters.js');
  const points = await import('/static/js/points.js');
  const form = document.getElementById('filters');
  for (const box of form.querySelectorAll('input[type=checkbox]')) {
    box.checked = (choice[box.name] || []).includes(box.value);
  }
  form.dispatchEvent(new Event('change', {bubbles: true}));
  const settings = JSON.parse(document.getElementById('map-app').dataset.settings);
  const data = await (await fetch(settings.pointsUrl)).json();
  const table = points.decodeTable(data);
  const wanted = filters.readFilter(form, data.services);
  const ids = filters.matchingFeatures(table.points, table.features, wanted).map((f) => f.properties.id);
  return {ids: ids, shown: Number(document.getElementById('map-app').dataset.shown)};
}"""
MEASURE = """async (pairs) => {
  const distance = await import('/static/js/distance.js');
  return pairs.map(([lat1, lon1, lat2, lon2]) => [
    distance.haversine(lat1, lon1, lat2, lon2),
    distance.compassPoint(lat1, lon1, lat2, lon2),
  ]);
}"""


# The page's clock, fixed: "open now" judges opening hours at it (issue 17), a Sunday evening.
CLOCK = datetime(2026, 12, 6, 19, 33, tzinfo=UTC)
HOURS = ("", "24/7", "Mo-Fr 09:00-18:00", "Mo-Su 20:00-08:00", "Sa-Su 10:00-22:00", "off")


@pytest.fixture(scope="module")
def points() -> list[Point]:
    rng = random.Random(SEED)
    found = random_points(rng, POINTS)
    hours = random.Random(SEED + 3)  # apart, so the points are those the seed always made
    issue20 = random.Random(SEED + 4)  # business types and free beds (issue 20), apart too
    return [
        p.with_changes(
            opening_hours=hours.choice(HOURS),
            business_type=issue20.choice(list(BusinessType))
            if p.category is not Category.STATE
            else BusinessType.NONE,
            beds=(beds := issue20.choice([None, 10, 50])),
            beds_free=None if beds is None else issue20.randint(0, beds // 5),
        )
        for p in found
    ]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, points: list[Point]) -> Iterator[Site]:
    with serve(tmp_path_factory.mktemp("js-equivalence"), [p.to_record() for p in points]) as site:
        yield site


@pytest.fixture
def tab(browser: Browser, site: Site) -> Iterator[Tab]:
    context, tab = open_guarded_tab(browser, site)
    try:
        tab.page.clock.set_fixed_time(CLOCK)
        tab.goto("/")
        expect(tab.page.locator("#map-app")).to_have_attribute("data-hours", "ready")
        yield tab
        tab.guard.assert_clean(tab.page)
    finally:
        context.close()


def random_choice(rng: random.Random) -> dict[str, list[str]]:
    """Boxes ticked on the map's filter form: services wanted, open only, base only, and which
    kinds and categories to show (all ticked, as the page starts, more often than not)."""
    services = [s for s in SERVICES if rng.random() < 0.2]
    kinds = [k.value for k in Kind if rng.random() < 0.75]
    categories = [c.value for c in Category if rng.random() < 0.75]
    business_types = [b.value for b in BusinessType if rng.random() < 0.8]
    return {
        "business_type": business_types,
        "bed": ["1"] if rng.random() < 0.25 else [],
        "services": services,
        "open": ["1"] if rng.random() < 0.3 else [],
        "base": ["1"] if rng.random() < 0.3 else [],
        "kind": kinds,
        "category": categories,
    }


def python_filter(choice: dict[str, list[str]]) -> PointFilter | None:
    """The same choice as a PointFilter; None when it shows nothing. The form's boxes say "show
    these": with every kind (or category) unticked the map shows nothing, where an empty set in
    a PointFilter means no restriction."""
    if not choice["kind"] or not choice["category"] or not choice["business_type"]:
        return None
    return PointFilter(
        business_types=frozenset(BusinessType(b) for b in choice["business_type"]),
        bed=bool(choice["bed"]),
        statuses=frozenset({Status.OPEN}) if choice["open"] else frozenset(),
        open_now=bool(choice["open"]),  # the box means open now: by status and by hours
        kinds=frozenset(Kind(k) for k in choice["kind"]),
        categories=frozenset(Category(c) for c in choice["category"]),
        base=True if choice["base"] else None,
        services=frozenset(choice["services"]),
    )


def test_js_filter_selects_what_point_filter_matches(tab: Tab, site: Site) -> None:
    stored = site.app.extensions["locator.store"].all()
    assert len(stored) == POINTS
    rng = random.Random(SEED + 1)
    empty = full = 0
    for _ in range(FILTERS):
        choice = random_choice(rng)
        wanted = python_filter(choice)
        expected = sorted(p.id for p in stored if wanted is not None and wanted.matches(p, CLOCK))
        found = tab.page.evaluate(SELECT, choice)
        assert sorted(found["ids"]) == expected, choice
        assert found["shown"] == len(expected), choice  # the page's own map shows as many
        empty += not expected
        full += len(expected) == POINTS
    assert empty < FILTERS / 2 and full < FILTERS / 2  # the random choices really choose


# Ticks the boxes, then asks for the nearest points to each place twice: of the API, with the
# query the page builds (nearest.js), and worked out here as offline (offline.js nearestHere).
NEAREST_BOTH = """async ([choice, places]) => {
  const nearest = await import('/static/js/nearest.js');
  const offline = await import('/static/js/offline.js');
  const points = await import('/static/js/points.js');
  const hours = await import('/static/js/hours.js');
  await hours.loadHours();
  const form = document.getElementById('filters');
  for (const box of form.querySelectorAll('input[type=checkbox]')) {
    box.checked = (choice[box.name] || []).includes(box.value);
  }
  const settings = JSON.parse(document.getElementById('map-app').dataset.settings);
  const data = await (await fetch(settings.pointsUrl)).json();
  settings.services = data.services;
  const app = {form: form, settings: settings, points: points.decodeTable(data).points, hours: hours};
  const answers = [];
  for (const [lat, lon] of places) {
    const query = nearest.nearestQuery(app, lat, lon);  // null: nothing passes, nothing asked
    const online = query ? (await (await fetch(query)).json()).features : [];
    answers.push([
      online.map((f) => f.id),
      offline.nearestHere(app, lat, lon, 5).map((f) => f.properties.id),
    ]);
  }
  return answers;
}"""


def test_the_nearest_asked_online_is_the_offline_one_and_passes_the_map_filter(browser: Browser, site: Site):
    """The nearest query carries every narrowed box group (two categories of three, business
    types with the state points' "none"), so the API's answer is the map's; a group with nothing
    ticked is answered with nothing, without asking."""
    stored = site.app.extensions["locator.store"].all()
    rng = random.Random(SEED + 5)
    context, tab = open_guarded_tab(browser, site)  # the real clock: the API judges hours at it
    try:
        tab.goto("/")
        asked = found = 0
        for _ in range(40):
            choice = random_choice(rng)
            wanted = python_filter(choice)
            places = [(rng.uniform(44.5, 52), rng.uniform(22.5, 40)) for _ in range(3)]
            for online, here in tab.page.evaluate(NEAREST_BOTH, [choice, places]):
                assert online == here, choice
                now = datetime.now(UTC)
                passing = [wanted is not None and wanted.matches(p, now) for p in stored if p.id in online]
                assert all(passing), choice
                asked += 1
                found += bool(online)
        assert found > asked / 3  # the random choices leave points to find
        tab.guard.assert_clean(tab.page)
    finally:
        context.close()


def random_pairs(rng: random.Random) -> list[tuple[float, float, float, float]]:
    """Random pairs of places, with the hard cases: the same point, antipodes (and nearly),
    pairs across the antimeridian, the poles."""
    pairs = []
    for _ in range(PAIRS // 5):
        lat, lon = rng.uniform(-90, 90), rng.uniform(-180, 180)
        antipode_lon = lon - 180 if lon > 0 else lon + 180
        pairs += [
            (lat, lon, rng.uniform(-90, 90), rng.uniform(-180, 180)),
            (lat, lon, lat, lon),
            (lat, lon, -lat, antipode_lon),
            (lat, lon, -lat + rng.uniform(-1e-3, 1e-3), antipode_lon + rng.uniform(-1e-3, 1e-3)),
            (lat, rng.uniform(179, 180), lat + rng.uniform(-1, 1), rng.uniform(-180, -179)),
        ]
    pairs += [(90, 0, -90, 0), (90, 10, 90, -170), (0, 180, 0, -180), (0, 0, 0, 180), (-90, 0, 45, 45)]
    return pairs


def test_js_haversine_and_compass_agree_with_python(tab: Tab) -> None:
    pairs = random_pairs(random.Random(SEED + 2))
    measured = tab.page.evaluate(MEASURE, pairs)
    worst = 0.0
    for pair, (metres, direction) in zip(pairs, measured, strict=True):
        expected = haversine_m(*pair)
        assert math.isclose(metres, expected, rel_tol=RELATIVE_TOLERANCE, abs_tol=ABSOLUTE_TOLERANCE_M), pair
        worst = max(worst, abs(metres - expected) / max(expected, 1.0))
        if expected > 1.0:  # a bearing to the same point means nothing
            assert direction == compass(bearing_deg(*pair)), pair
    print(f"worst relative difference: {worst:.3g}")
