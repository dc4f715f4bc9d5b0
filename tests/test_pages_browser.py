"""The pages a person sees, in a real browser (Debian's Chromium through Playwright).

One live server per module: the real app on a real SQLite file, seeded from a GeoJSON file of
~300 points around Kyiv (tests/browser_support.py), so every expected count and order comes from
that data and a brute-force haversine, never from the app. Every page runs under a guard that
fails on console errors and warnings, page errors, CSP violations, dialogs (XSS) and requests to
any host but the app and the configured tile host (whose tiles are answered with a 1x1 PNG).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from browser_support import (
    BROVARY,
    HOSTILE_ADDRESS,
    HOSTILE_AT,
    HOSTILE_ID,
    HOSTILE_NAME,
    HOSTILE_NOTE,
    MAP_ZOOM,
    NEAREST_K,
    REGION,
    SETTLEMENTS,
    STALE_AT,
    STALE_HOURS,
    STALE_ID,
    STALE_NAME,
    STATUSES,
    THE_MAP,
    TILE_HOST,
    Site,
    Tab,
    brute_force_nearest,
    haversine_m,
    open_guarded_tab,
    serve,
)
from playwright.sync_api import Browser, expect

TILE_PATH = re.compile(r"^/\d+/\d+/\d+\.png$")

RANKED_NOTE = "Спершу свіжо підтверджені; давніший пункт вище, лише якщо значно ближчий"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve(tmp_path_factory.mktemp("browser-site")) as site:
        yield site


@pytest.fixture
def open_tab(browser: Browser, site: Site) -> Iterator[Callable[..., Tab]]:
    """Open guarded pages, each in a fresh context (context options as keywords); close them after."""
    opened = []

    def open_(**context_options: Any) -> Tab:
        opened.append(open_guarded_tab(browser, site, **context_options))
        return opened[-1][1]

    yield open_
    for context, _ in opened:
        context.close()
    for _, tab in opened:
        # Whatever a test checked, no page may ever run injected script or call a third party.
        assert not tab.guard.dialogs, f"dialogs opened (injected script ran): {tab.guard.dialogs}"
        assert not tab.guard.foreign, f"requests to third parties: {tab.guard.foreign}"


@pytest.fixture
def tab(open_tab: Callable[..., Tab]) -> Tab:
    return open_tab()


def near_me_tab(open_tab: Callable[..., Tab], lat: float, lon: float) -> Tab:
    """A page whose browser knows its position and may share it."""
    return open_tab(geolocation={"latitude": lat, "longitude": lon}, permissions=["geolocation"])


# JS: clusters and single markers drawn in the marker pane (the legend uses .poi too).
COUNT_DRAWN = """() => {
  const pane = document.querySelector('.leaflet-marker-pane');
  const clusters = [...pane.querySelectorAll('.marker-cluster')];
  return {
    clusters: clusters.length,
    inClusters: clusters.reduce((n, c) => n + Number(c.textContent.trim()), 0),
    single: pane.querySelectorAll('.poi').length,
  };
}"""
ALL_DRAWN_AS_SHOWN = """() => {
  const root = document.getElementById('map-app');
  const pane = document.querySelector('.leaflet-marker-pane');
  const clusters = [...pane.querySelectorAll('.marker-cluster')];
  const total = clusters.reduce((n, c) => n + Number(c.textContent.trim()), 0)
    + pane.querySelectorAll('.poi').length;
  return root.dataset.shown !== undefined && total === Number(root.dataset.shown);
}"""
MAP_IDLE = "() => !document.querySelector('.leaflet-zoom-anim, .leaflet-cluster-anim')"


# -- the map page --------------------------------------------------------------------------------


def test_map_loads_without_console_errors_or_third_party_requests(tab: Tab) -> None:
    response = tab.goto("/")
    assert response.status == 200
    assert tab.shown() == len(tab.site.points)
    # "302 пункти", "305 пунктів": the plural form follows the count (tests/test_i18n.py checks them)
    expect(tab.page.locator("#point-count")).to_contain_text(
        re.compile(rf"(^|\D){len(tab.site.points)} пункт(и|ів)? на мапі")
    )
    tab.page.wait_for_function("() => document.querySelectorAll('.leaflet-tile-loaded').length > 0")
    assert tab.guard.tiles, "no tile was requested"
    for url in tab.guard.tiles:
        parts = urlsplit(url)
        assert (parts.scheme, parts.hostname) == ("https", TILE_HOST) and TILE_PATH.match(parts.path), url
    assert any(urlsplit(url).path.startswith(f"/{MAP_ZOOM}/") for url in tab.guard.tiles)
    tab.guard.assert_clean(tab.page)


def test_markers_are_clustered_and_visible(tab: Tab) -> None:
    tab.goto("/")
    # Everything seeded is within the clustered area at the opening zoom: clusters plus single
    # markers account for every marker shown.
    tab.page.wait_for_function(ALL_DRAWN_AS_SHOWN)
    drawn = tab.page.evaluate(COUNT_DRAWN)
    assert drawn["clusters"] > 0 and drawn["inClusters"] > drawn["single"], drawn

    # A person clicks the biggest cluster until single markers appear.
    for _ in range(6):
        if tab.page.locator(".leaflet-marker-pane .poi").count():
            break
        zoom = tab.map_eval("return map.getZoom();")
        biggest = tab.page.evaluate(
            """() => {
              const clusters = [...document.querySelectorAll('.leaflet-marker-pane .marker-cluster')];
              clusters.sort((a, b) => Number(b.textContent) - Number(a.textContent));
              clusters.forEach((c, i) => c.dataset.rank = String(i));
              return clusters.length;
            }"""
        )
        assert biggest, "no cluster left to click"
        tab.page.click('.leaflet-marker-pane .marker-cluster[data-rank="0"]')
        tab.page.wait_for_function(f"(zoom) => {THE_MAP}.getZoom() > zoom", arg=zoom)
        tab.page.wait_for_function(MAP_IDLE)
    expect(tab.page.locator(".leaflet-marker-pane .poi").first).to_be_visible()

    # Each single marker says what its point is: status, fixed or mobile (checked in several views).
    seen: set[str] = set()
    by_name = tab.site.by_name
    for _, lat, lon, *_ in SETTLEMENTS.values():
        tab.map_eval("map.setView(arg, 14, {animate: false});", [lat, lon])
        tab.page.wait_for_function(MAP_IDLE)
        for title, classes in tab.page.evaluate(
            """() => [...document.querySelectorAll('.leaflet-marker-pane .poi')]
                 .map(m => [m.title, [...m.classList]])"""
        ):
            point = by_name[title.rsplit(" — ", 1)[0]]
            assert f"poi-{point['status']}" in classes, (title, classes)
            assert f"poi-{point['kind']}" in classes, (title, classes)
            assert set(classes) & {f"poi-{s}" for s in STATUSES} == {f"poi-{point['status']}"}
            seen.update(c for c in classes if c.startswith("poi-"))
    assert {f"poi-{s}" for s in STATUSES} | {"poi-mobile", "poi-fixed"} <= seen, seen
    tab.guard.assert_clean(tab.page)


def test_filters_change_the_markers(tab: Tab) -> None:
    points = tab.site.points
    root = tab.page.locator("#map-app")
    tab.goto("/")
    assert tab.shown() == len(points)
    tab.open_filters()

    tab.page.check('input[name="open"]')
    open_count = sum(p["status"] == "open" for p in points)
    expect(root).to_have_attribute("data-shown", str(open_count))
    assert 0 < open_count < len(points)
    tab.page.wait_for_function(ALL_DRAWN_AS_SHOWN)

    tab.page.uncheck('input[name="open"]')
    expect(root).to_have_attribute("data-shown", str(len(points)))
    tab.page.check('input[name="services"][value="water"]')
    water = sum("water" in p["services"] for p in points)
    expect(root).to_have_attribute("data-shown", str(water))
    assert 0 < water < len(points)

    tab.page.check('input[name="services"][value="sleeping"]')
    both = sum({"water", "sleeping"} <= set(p["services"]) for p in points)
    expect(root).to_have_attribute("data-shown", str(both))
    assert 0 < both < water

    tab.page.uncheck('input[name="kind"][value="mobile"]')
    fixed = sum({"water", "sleeping"} <= set(p["services"]) and p["kind"] == "fixed" for p in points)
    expect(root).to_have_attribute("data-shown", str(fixed))
    assert fixed < both
    tab.page.wait_for_function(ALL_DRAWN_AS_SHOWN)
    tab.guard.assert_clean(tab.page)


def _assert_results_are(tab: Tab, expected: list[dict[str, Any]], origin: tuple[float, float]) -> None:
    """The list shows exactly these points, in order, each with distance text and directions."""
    assert tab.result_names() == [p["name"] for p in expected]
    items = tab.page.locator("#results li.result")
    for i, point in enumerate(expected):
        item = items.nth(i)
        distance_text = item.locator(".result-distance").inner_text()
        found = re.match(r"^(\d+(?:,\d)?) (м|км) · ", distance_text)
        assert found, distance_text
        shown_m = float(found[1].replace(",", ".")) * (1000 if found[2] == "км" else 1)
        real_m = haversine_m(*origin, point["lat"], point["lon"])
        assert abs(shown_m - real_m) <= (1 if found[2] == "м" else 51), (distance_text, real_m)
        directions = item.locator("a", has_text="Маршрут")  # the phone's maps app; then OSM, Google
        at = f"{point['lat']:.6f},{point['lon']:.6f}"
        assert directions.get_attribute("href") == f"geo:{at}?q={at}"
        google = item.locator("a", has_text="Google").get_attribute("href")
        assert google == f"https://www.google.com/maps/dir/?api=1&destination={at}", google
        assert directions.get_attribute("target") == "_blank"


def _api_nearest_names(site: Site, lat: float, lon: float, **params: str) -> list[str]:
    body = site.api("/api/v1/nearest", lat=f"{lat:.6f}", lon=f"{lon:.6f}", k=str(NEAREST_K), **params)
    return [feature["properties"]["name"] for feature in body["features"]]


def test_near_me_lists_the_nearest_open_points(open_tab: Callable[..., Tab], site: Site) -> None:
    tab = near_me_tab(open_tab, *BROVARY)
    tab.goto("/")
    tab.page.click("#near-me")
    expect(tab.page.locator("#map-app")).to_have_attribute("data-nearest", str(NEAREST_K))
    expect(tab.page.locator("#status-line")).to_have_text("Найближчі відкриті пункти до вас:" + RANKED_NOTE)
    expected = brute_force_nearest(site.points, *BROVARY)
    assert [p["status"] for p in expected] == ["open"] * NEAREST_K
    assert _api_nearest_names(site, *BROVARY) == [p["name"] for p in expected]
    _assert_results_are(tab, expected, BROVARY)
    tab.guard.assert_clean(tab.page)


def test_near_me_respects_service_filter(open_tab: Callable[..., Tab], site: Site) -> None:
    tab = near_me_tab(open_tab, *BROVARY)
    tab.goto("/")
    tab.open_filters()
    tab.page.check('input[name="services"][value="child_room"]')
    tab.page.click("#near-me")
    expect(tab.page.locator("#map-app")).to_have_attribute("data-nearest", str(NEAREST_K))
    expected = brute_force_nearest(site.points, *BROVARY, services=("child_room",))
    assert expected != brute_force_nearest(site.points, *BROVARY), "the filter must change the answer"
    assert _api_nearest_names(site, *BROVARY, services="child_room") == [p["name"] for p in expected]
    _assert_results_are(tab, expected, BROVARY)
    for name in tab.result_names():
        assert "child_room" in site.by_name[name]["services"], name
    for line in tab.page.locator("#results li.result .services-line").all_inner_texts():
        assert "Дитяча кімната" in line
    tab.guard.assert_clean(tab.page)


def test_geolocation_denied_shows_a_message(tab: Tab) -> None:
    tab.goto("/")
    tab.page.click("#near-me")
    expect(tab.page.locator("#status-line")).to_have_text(
        "Немає доступу до геолокації. Введіть назву населеного пункту."
    )
    assert tab.page.locator("#results li").count() == 0
    assert tab.page.get_attribute("#map-app", "data-nearest") is None
    # The page still works: a settlement search answers.
    tab.page.fill("#search-input", "Ірпінь")
    tab.page.press("#search-input", "Enter")
    expect(tab.page.locator("#map-app")).to_have_attribute("data-nearest", str(NEAREST_K))
    tab.guard.assert_clean(tab.page)


def test_settlement_search_lists_nearest_open_points(tab: Tab, site: Site) -> None:
    tab.goto("/")
    tab.page.fill("#search-input", "бровари")
    tab.page.click("#search-form button[type=submit]")
    expect(tab.page.locator("#map-app")).to_have_attribute("data-nearest", str(NEAREST_K))
    expect(tab.page.locator("#status-line")).to_have_text(
        f"Найближчі відкриті пункти до: Бровари ({REGION})" + RANKED_NOTE
    )
    # The gazetteer knows the town itself (GeoNames); its points are counted in.
    members = [p for p in site.points if p["settlement"] == "Бровари"]
    place = site.api("/api/v1/places", q="бровари")["places"][0]
    assert place["name"] == "Бровари" and place["points"] == len(members)
    assert haversine_m(place["lat"], place["lon"], *BROVARY) < 2_000
    origin = (place["lat"], place["lon"])
    expected = brute_force_nearest(site.points, *origin)
    assert all(p["settlement"] == "Бровари" for p in expected)
    assert _api_nearest_names(site, *origin) == [p["name"] for p in expected]
    _assert_results_are(tab, expected, origin)
    tab.guard.assert_clean(tab.page)


def test_popup_shows_hostile_text_as_text(open_tab: Callable[..., Tab]) -> None:
    tab = near_me_tab(open_tab, *HOSTILE_AT)
    tab.goto("/")
    tab.page.click("#near-me")
    expect(tab.page.locator("#map-app")).to_have_attribute("data-nearest", str(NEAREST_K))
    first = tab.page.locator("#results li.result").first
    expect(first.locator("h3")).to_have_text(HOSTILE_NAME)
    expect(first).to_contain_text(HOSTILE_ADDRESS)
    first.get_by_role("button", name="На мапі").click()

    popup = tab.page.locator(".leaflet-popup-content .popup")
    expect(popup.locator("h3")).to_have_text(HOSTILE_NAME)
    expect(popup).to_contain_text(HOSTILE_ADDRESS)
    assert popup.get_by_role("link", name="Докладніше").get_attribute("href") == f"/points/{HOSTILE_ID}"
    marker = tab.page.locator(f'.leaflet-marker-pane .poi[title^="{HOSTILE_NAME}"]')
    assert marker.get_attribute("title") == f"{HOSTILE_NAME} — Працює"
    injected = tab.page.evaluate(
        """() => ({
          images: document.querySelectorAll('img[src="x"]').length,
          scripts: [...document.scripts].filter(s => s.textContent.includes('alert(')).length,
          handlers: document.querySelectorAll('[onerror]').length,
        })"""
    )
    assert injected == {"images": 0, "scripts": 0, "handlers": 0}
    tab.guard.assert_clean(tab.page)


# -- the point page and errors -------------------------------------------------------------------


def test_point_page_shows_status_age_history_and_escapes(tab: Tab) -> None:
    response = tab.goto(f"/points/{HOSTILE_ID}", loaded=False)
    assert response.status == 200
    page = tab.page
    expect(page.locator("h1")).to_have_text(HOSTILE_NAME)
    assert page.title().startswith(HOSTILE_NAME)
    expect(page.locator(".facts")).to_contain_text(HOSTILE_ADDRESS)
    expect(page.locator(".facts .note")).to_have_text(HOSTILE_NOTE)
    expect(page.locator("p.age")).to_contain_text("Статус підтверджено")
    expect(page.locator("p.age time")).to_have_attribute("datetime", re.compile(r"^\d{4}-\d\d-\d\dT"))
    expect(page.locator(".badge-open")).to_have_text("Працює")
    assert page.locator(".badge-stale").count() == 0
    assert page.locator("table.history tbody tr").count() >= 1
    expect(page.locator("table.history tbody tr").first).to_contain_text("Додано")
    directions = page.get_by_role("link", name="Google")
    assert f"destination={HOSTILE_AT[0]:.6f},{HOSTILE_AT[1]:.6f}" in directions.get_attribute("href")
    expect(page.locator(".point-map .folium-map.leaflet-container")).to_be_visible()
    page.wait_for_function("() => document.querySelectorAll('.leaflet-tile-loaded').length > 0")
    injected = page.evaluate(
        """() => ({
          images: document.querySelectorAll('img[src="x"]').length,
          scripts: [...document.scripts].filter(s => s.textContent.includes('alert(')).length,
          jsLinks: document.querySelectorAll('a[href^="javascript:"]').length,
        })"""
    )
    assert injected == {"images": 0, "scripts": 0, "jsLinks": 0}
    tab.guard.assert_clean(page)


@pytest.mark.parametrize("point_id", ["no-such-point", "x" * 65, "%3Cimg%20src=x%20onerror=alert(1)%3E"])
def test_unknown_point_page_is_404(tab: Tab, point_id: str) -> None:
    response = tab.goto(f"/points/{point_id}", loaded=False)
    assert response.status == 404
    expect(tab.page.locator("h1")).to_have_text("Сторінку не знайдено")
    back = tab.page.get_by_role("link", name="До мапи пунктів")
    assert back.get_attribute("href") == "/"
    back.click()
    expect(tab.page.locator("#map-app")).to_have_attribute("data-loaded", "true")
    tab.guard.assert_clean(tab.page, allow_console=lambda text: "status of 404" in text)


def test_stale_point_is_marked(open_tab: Callable[..., Tab]) -> None:
    tab = near_me_tab(open_tab, *STALE_AT)
    tab.goto("/")
    tab.page.click("#near-me")
    expect(tab.page.locator("#map-app")).to_have_attribute("data-nearest", str(NEAREST_K))
    first = tab.page.locator("#results li.result").first
    expect(first.locator("h3")).to_have_text(STALE_NAME)
    expect(first).to_have_class(re.compile(r"\bresult-stale\b"))
    assert tab.page.locator("#results li.result-stale").count() == 1
    first.get_by_role("button", name="На мапі").click()
    expect(tab.page.locator(".leaflet-popup-content .stale-warning")).to_be_visible()
    marker = tab.page.locator(f'.leaflet-marker-pane .poi[title^="{STALE_NAME} — "]')
    expect(marker).to_have_class(re.compile(r"\bpoi-stale\b"))
    assert tab.page.locator(".leaflet-marker-pane .poi.poi-stale").count() == 1

    response = tab.goto(f"/points/{STALE_ID}", loaded=False)
    assert response.status == 200
    expect(tab.page.locator(".badge-stale")).to_have_text(f"Статус не підтверджено понад {STALE_HOURS} год")
    expect(tab.page.locator("p.age")).to_contain_text("3 дн тому")
    tab.guard.assert_clean(tab.page)


def test_phone_viewport_map_and_panel_visible(open_tab: Callable[..., Tab]) -> None:
    width, height = 390, 844
    tab = open_tab(viewport={"width": width, "height": height}, is_mobile=True, has_touch=True)
    tab.goto("/")
    for selector in (
        "#search-input",
        "#search-form button[type=submit]",
        "#near-me",
        ".map-wrap .folium-map",
    ):
        element = tab.page.locator(selector)
        expect(element).to_be_visible()
        box = element.bounding_box()
        assert box["width"] > 0 and box["height"] > 0, (selector, box)
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, (selector, box)
        assert box["y"] >= 0 and box["y"] + box["height"] <= height + 0.5, (selector, box)
    for selector in ("#near-me", "#search-form button[type=submit]", "#search-input"):
        assert tab.page.locator(selector).bounding_box()["height"] >= 44, selector
    map_box = tab.page.locator(".map-wrap .folium-map").bounding_box()
    assert map_box["height"] >= 240, map_box
    assert tab.page.evaluate("document.documentElement.scrollWidth") <= width
    tab.guard.assert_clean(tab.page)
