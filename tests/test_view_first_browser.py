"""With many points the map asks for the opening view's points first (issue 17, figures: first
markers on a slow phone), then the whole table replaces them. In a real Chromium, with the whole
table held back until the view's markers are drawn: so the order is proven, not timed."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from browser_support import Site, open_guarded_tab, serve
from helpers import random_record
from playwright.sync_api import Browser, Route, expect

from locator.web import public

POINTS = 400
UKRAINE = (44.5, 52.3, 22.3, 40.2)  # min lat, max lat, min lon, max lon
# The map's view now: west, south, east, north.
SEEN = """() => {
  const map = window[JSON.parse(document.getElementById('map-app').dataset.settings).map];
  const b = map.getBounds();
  return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()];
}"""
DRAWN = "() => document.querySelectorAll('.leaflet-marker-pane :is(.poi, .marker-cluster)').length"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    rng = random.Random(5)
    min_lat, max_lat, min_lon, max_lon = UKRAINE
    records = [
        random_record(rng, f"v{i:04d}", rng.uniform(min_lat, max_lat), rng.uniform(min_lon, max_lon))
        | {"stops": []}
        for i in range(POINTS)
    ]
    with serve(tmp_path_factory.mktemp("view-first"), records) as site:
        yield site


def test_many_points_draw_the_opening_view_before_the_whole_table(
    browser: Browser, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(public, "VIEW_FIRST_FROM", POINTS // 2)  # "many" for this site
    context, tab = open_guarded_tab(browser, site, viewport={"width": 390, "height": 844})
    held: list[Route] = []
    asked: list[str] = []

    def points(route: Route) -> None:
        asked.append(route.request.url)
        if "bbox=" in route.request.url:
            route.continue_()
        else:
            held.append(route)  # the whole table waits until the view's markers are on the map

    try:
        page = tab.page
        page.route("**/api/v1/points?format=compact*", points)
        page.goto(site.url("/"), wait_until="commit")
        page.wait_for_function(f"() => ({DRAWN})() > 0")
        for _ in range(200):  # each round trip lets the route handler see the whole table's request
            if held:
                break
            page.evaluate("0")
        assert len(held) == 1 and page.get_attribute("#map-app", "data-loaded") is None
        view = [url for url in asked if "bbox=" in url]
        assert len(view) == 1
        box = [float(v) for v in view[0].split("bbox=")[1].split("&")[0].split(",")]
        assert all(v * 4 == int(v * 4) for v in box)  # quarter degrees: one answer for most phones
        seen = page.evaluate(SEEN)
        assert box[0] <= seen[0] and box[1] <= seen[1] and seen[2] <= box[2] and seen[3] <= box[3], (
            box,
            seen,
        )
        in_box = [r for r in site.points if box[0] <= r["lon"] <= box[2] and box[1] <= r["lat"] <= box[3]]
        assert 0 < len(in_box) < POINTS
        held[0].continue_()
        expect(page.locator("#map-app")).to_have_attribute("data-loaded", "true")
        expect(page.locator("#map-app")).to_have_attribute("data-shown", str(POINTS))
        tab.guard.assert_clean(page)
    finally:
        context.close()


def test_few_points_ask_for_the_whole_table_only(browser: Browser, site: Site) -> None:
    context, tab = open_guarded_tab(browser, site)
    asked: list[str] = []
    try:
        page = tab.page
        page.on(
            "request", lambda request: asked.append(request.url) if "/api/v1/points" in request.url else None
        )
        page.goto(site.url("/"))
        expect(page.locator("#map-app")).to_have_attribute("data-loaded", "true")
        assert len(asked) == 1 and "bbox=" not in asked[0]
    finally:
        context.close()
