"""Clustering on the map page holds at scale, in a real browser (Debian's Chromium).

4,000 points in four far-apart towns (Kyiv larger than the view once zoomed in): the
page draws only the clusters and points of the view, never one marker per point, and what it
draws adds up to the points of the view counted here from the seed data. Clicking a cluster
zooms in until it splits. (The 100,000-point timing is scripts/bench/map_bench.py's; no timing
here.)
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from browser_support import MAP_CENTER, MAP_ZOOM, STATUSES, THE_MAP, Site, Tab, open_guarded_tab, serve
from playwright.sync_api import Browser, expect

from locator.domain.point import SERVICES
from locator.web.labels import ICON

CATEGORY_WORDS = {"state": "ДСНС / місцева влада", "business": "Відповідальний бізнес"}  # labels.CATEGORY, uk

# name: (lat, lon of the centre, scatter in degrees, number of points). Kyiv is the opening view
# (browser_support.MAP_CENTER); the others are over five degrees away, outside even a view
# padded by its own size on each side at the opening zoom.
TOWNS = {
    "Київ": (50.4501, 30.5234, 0.15, 1600),
    "Харків": (49.9935, 36.2304, 0.05, 1000),
    "Львів": (49.8397, 24.0297, 0.05, 900),
    "Одеса": (46.4825, 30.7233, 0.05, 500),
}
TOTAL = sum(town[3] for town in TOWNS.values())
VIEWPORT = {"width": 1280, "height": 800}
MAX_DRAWN = 300  # marker elements at any moment: a view's worth, whatever the number of points
STREET_ZOOM = 17  # from here on every point stands alone (map.js: supercluster's maxZoom + 1)

# JS: every marker in the marker pane (the legend's .poi are outside it), with the view's bounds.
DRAWN = f"""() => {{
  const map = {THE_MAP};
  const pane = document.querySelector('.leaflet-marker-pane');
  const icons = [...pane.querySelectorAll('.leaflet-marker-icon')];
  const markers = [];
  map.eachLayer((layer) => {{
    if (layer.getElement && layer.getLatLng && layer.getElement() && pane.contains(layer.getElement())) {{
      const ll = layer.getLatLng();
      markers.push({{lat: ll.lat, lon: ll.lng}});
    }}
  }});
  const b = map.getBounds();
  const box = map.getContainer().getBoundingClientRect();
  const seen = (el) => {{
    const r = el.getBoundingClientRect();
    return r.left >= box.left && r.right <= box.right && r.top >= box.top && r.bottom <= box.bottom;
  }};
  return {{
    elements: icons.length,
    markers: markers,
    clusters: [...pane.querySelectorAll('.marker-cluster')].map((c) => ({{
      n: Number(c.textContent.trim()), label: c.getAttribute('aria-label'), role: c.getAttribute('role'),
      visible: seen(c),
    }})),
    singles: [...pane.querySelectorAll('.poi')].map((m) => m.title.split(' — ')[0]),
    drawn: Number(document.getElementById('map-app').dataset.drawn),
    zoom: map.getZoom(),
    bounds: [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()],
  }};
}}"""
SETTLED = f"""(zoom) => {{
  const map = {THE_MAP};
  return map.getZoom() === zoom && !map._animatingZoom && !(map._panAnim && map._panAnim._inProgress)
    && !document.querySelector('.leaflet-zoom-anim');
}}"""


def make_points(now: datetime) -> list[dict[str, Any]]:
    rng = random.Random(4000)
    points = []
    for town, (lat, lon, scatter, count) in TOWNS.items():
        for i in range(count):
            points.append(
                {
                    "id": f"t{len(points):05d}",
                    "name": f"Пункт {town} №{i + 1}",
                    "kind": "mobile" if rng.random() < 0.2 else "fixed",
                    "category": "business" if rng.random() < 0.35 else "state",
                    "base": rng.random() < 0.15,
                    "status": rng.choices(STATUSES, weights=(50, 15, 15, 20))[0],
                    "services": [s for s in SERVICES if rng.random() < 0.5],
                    "lat": round(lat + rng.uniform(-scatter, scatter), 5),
                    "lon": round(lon + rng.uniform(-scatter, scatter), 5),
                    "address": f"вул. Соборна, {i + 1}",
                    "settlement": town,
                    "region": town,
                    "verified_at": (now - timedelta(minutes=rng.randint(1, 300))).strftime(
                        "%Y-%m-%dT%H:%M:%SZ"
                    ),
                }
            )
    return points


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve(tmp_path_factory.mktemp("map-clusters"), make_points(datetime.now(UTC))) as site:
        yield site


@pytest.fixture
def tab(browser: Browser, site: Site) -> Iterator[Tab]:
    context, tab = open_guarded_tab(browser, site, viewport=VIEWPORT)
    try:
        yield tab
        assert not tab.guard.dialogs and not tab.guard.foreign, tab.guard
    finally:
        context.close()


def inside(point: dict[str, Any], bounds: list[float], pad: float = 0.0) -> bool:
    """In these bounds (south, west, north, east), widened by `pad` times their size each side."""
    south, west, north, east = bounds
    dlat, dlon = (north - south) * pad, (east - west) * pad
    return south - dlat <= point["lat"] <= north + dlat and west - dlon <= point["lon"] <= east + dlon


def drawn_now(tab: Tab, points: list[dict[str, Any]]) -> dict[str, Any]:
    """What the page draws, checked against the seed: bounded, only the view, counts adding up."""
    drawn = tab.page.evaluate(DRAWN)
    bounds = drawn["bounds"]
    in_view = [p for p in points if inside(p, bounds)]
    near_view = [p for p in points if inside(p, bounds, pad=1.0)]
    total = sum(c["n"] for c in drawn["clusters"]) + len(drawn["singles"])
    assert drawn["elements"] == len(drawn["clusters"]) + len(drawn["singles"]) == len(drawn["markers"])
    assert drawn["elements"] <= MAX_DRAWN, drawn["elements"]
    assert total == drawn["drawn"], (total, drawn["drawn"])
    # Every point of the view is drawn, alone or in a cluster; nothing far outside it is.
    assert len(in_view) <= total <= len(near_view), (len(in_view), total, len(near_view))
    for marker in drawn["markers"]:
        assert inside(marker, bounds, pad=1.0), (marker, bounds)
    by_name = {p["name"]: p for p in near_view}
    assert all(name in by_name for name in drawn["singles"]), "a point drawn that is not near the view"
    for cluster in drawn["clusters"]:
        assert cluster["n"] >= 2 and cluster["role"] == "button", cluster
        assert re.match(rf"^{cluster['n']} пункт(и|ів)? тут: наблизити$", cluster["label"]), cluster
    return dict(drawn, in_view=in_view, total=total)


def wait_drawn(tab: Tab, zoom: int) -> None:
    tab.page.wait_for_function(SETTLED, arg=zoom)


def test_only_the_view_is_drawn_and_counts_add_up(tab: Tab, site: Site) -> None:
    points = site.points
    tab.goto("/")
    assert tab.shown() == TOTAL
    wait_drawn(tab, MAP_ZOOM)
    # The opening view holds Kyiv whole, and no other town is anywhere near it.
    opening = drawn_now(tab, points)
    kyiv = [p for p in points if p["settlement"] == "Київ"]
    assert opening["total"] == len(opening["in_view"]) == len(kyiv)
    assert opening["clusters"] and opening["elements"] < 50, opening["elements"]

    # Closer in, Kyiv grows larger than the view: from zoom 14 only part of it is drawn.
    for zoom in (12, 14, 16):
        tab.map_eval("map.setView(arg[0], arg[1], {animate: false});", [list(MAP_CENTER), zoom])
        wait_drawn(tab, zoom)
        view = drawn_now(tab, points)
        assert 0 < len(view["in_view"]) < len(kyiv), zoom
        assert zoom < 14 or view["total"] < len(kyiv), zoom

    # At street zoom there are no clusters: each point of the view is its own marker.
    tab.map_eval("map.setView(arg[0], arg[1], {animate: false});", [list(MAP_CENTER), STREET_ZOOM])
    wait_drawn(tab, STREET_ZOOM)
    street = drawn_now(tab, points)
    assert not street["clusters"] and street["singles"]
    assert {p["name"] for p in street["in_view"]} <= set(street["singles"])

    # Each of the other towns, when looked at, is drawn whole and alone.
    for town, (lat, lon, _, count) in TOWNS.items():
        tab.map_eval("map.setView(arg[0], arg[1], {animate: false});", [[lat, lon], MAP_ZOOM])
        wait_drawn(tab, MAP_ZOOM)
        assert drawn_now(tab, points)["total"] == count, town
    tab.guard.assert_clean(tab.page)


def test_filters_recluster_with_the_right_counts(tab: Tab, site: Site) -> None:
    points = site.points
    tab.goto("/")
    wait_drawn(tab, MAP_ZOOM)
    tab.open_filters()
    tab.page.check('input[name="open"]')
    is_open = [p for p in points if p["status"] == "open"]
    expect(tab.page.locator("#map-app")).to_have_attribute("data-shown", str(len(is_open)))
    view = drawn_now(tab, is_open)
    assert view["total"] == sum(p["settlement"] == "Київ" for p in is_open) < TOTAL
    tab.page.check('input[name="services"][value="water"]')
    wanted = [p for p in is_open if "water" in p["services"]]
    expect(tab.page.locator("#map-app")).to_have_attribute("data-shown", str(len(wanted)))
    assert drawn_now(tab, wanted)["total"] == sum(p["settlement"] == "Київ" for p in wanted)
    tab.guard.assert_clean(tab.page)


def test_clicking_a_cluster_zooms_in_until_it_splits(tab: Tab, site: Site) -> None:
    points = site.points
    tab.goto("/")
    wait_drawn(tab, MAP_ZOOM)
    zoom = MAP_ZOOM
    for _ in range(10):
        view = drawn_now(tab, points)
        if not view["clusters"]:
            break
        # the biggest cluster a person can see (the margin around the view is drawn too)
        visible = [i for i, c in enumerate(view["clusters"]) if c["visible"]]
        biggest = max(visible, key=lambda i: view["clusters"][i]["n"])
        count = view["clusters"][biggest]["n"]
        tab.page.locator(".leaflet-marker-pane .marker-cluster").nth(biggest).click()
        tab.page.wait_for_function(f"(zoom) => {THE_MAP}.getZoom() > zoom", arg=zoom)
        zoom = tab.map_eval("return map.getZoom();")
        wait_drawn(tab, zoom)
        # The cluster split: what it held is now drawn as more than one marker (or cluster).
        after = drawn_now(tab, points)
        assert max([c["n"] for c in after["clusters"]] or [1]) < count or after["singles"], (count, after)
    assert zoom > MAP_ZOOM
    assert tab.page.locator(".leaflet-marker-pane .poi").count() > 0
    tab.guard.assert_clean(tab.page)


def test_filtering_again_keeps_the_popup_the_reader_is_reading(tab: Tab, site: Site) -> None:
    """A refilter (a box ticked, the hours library arriving, fresh points) redraws the markers;
    the open popup's point stays, popup open, while it passes the filter."""
    point = next(p for p in site.points if p["status"] == "open" and "water" in p["services"])
    tab.goto(f"/?point={point['id']}")
    popup = tab.page.locator(".leaflet-popup .popup h3")
    expect(popup).to_have_text(point["name"])
    # issue 20: the category's glyph beside its words (hidden from screen readers, never alone)
    kind = tab.page.locator(".leaflet-popup .popup .kind-line")
    expect(kind.locator(".kind-label")).to_have_text(CATEGORY_WORDS[point["category"]])
    expect(kind.locator(".kind-icon")).to_have_text(ICON["category"][point["category"]])
    expect(kind.locator(".kind-icon")).to_have_attribute("aria-hidden", "true")
    tab.open_filters()
    tab.page.check('input[name="services"][value="water"]')
    wanted = [p for p in site.points if "water" in p["services"]]
    expect(tab.page.locator("#map-app")).to_have_attribute("data-shown", str(len(wanted)))
    expect(popup).to_have_text(point["name"])
    tab.guard.assert_clean(tab.page)
