"""Opening hours on the map (issue 17), in a real Chromium with its clock set: a point open by
status but closed by its hours says "closed by schedule, opens ..." in its popup and is left
out by the "open now" box; the hours library is loaded only when a point has hours."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from browser_support import Site, Tab, open_guarded_tab, serve
from helpers import make_record
from playwright.sync_api import Browser, expect

from locator.domain.hours import KYIV

SUNDAY_EVENING = datetime(2026, 12, 6, 21, 33, tzinfo=KYIV)  # the moment
MONDAY_MORNING = datetime(2026, 12, 7, 7, 15, tzinfo=KYIV)
POINTS = [
    make_record("lyceum", name="Ліцей №13", lat=50.45, lon=30.52, opening_hours="Mo-Fr 09:00-18:00"),
    make_record("night", name="Нічний пункт", lat=50.46, lon=30.60, opening_hours="Mo-Su 20:00-08:00"),
    make_record("nohours", name="Пункт без графіка", lat=50.44, lon=30.44),
    make_record("always", name="Цілодобовий пункт", lat=50.47, lon=30.48, opening_hours="24/7"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve(tmp_path_factory.mktemp("hours-browser"), POINTS) as site:
        yield site


def open_at(browser: Browser, site: Site, moment: datetime) -> tuple:
    context, tab = open_guarded_tab(browser, site)
    tab.page.clock.set_fixed_time(moment)
    tab.goto("/")
    expect(tab.page.locator("#map-app")).to_have_attribute("data-hours", "ready")
    return context, tab


def popup_text(tab: Tab, point_id: str) -> str:
    """Open the point's popup (its marker, at a zoom where no cluster hides it) and read it."""
    point = next(p for p in POINTS if p["id"] == point_id)
    tab.map_eval(
        "map.closePopup(); map.setView([arg[0], arg[1]], 17, {animate: false});", [point["lat"], point["lon"]]
    )
    expect(tab.page.locator(".leaflet-popup")).to_have_count(0)  # the last one gone (it fades out)
    marker = tab.page.locator(f'.leaflet-marker-pane .poi[title^="{point["name"]} — "]')
    marker.click()
    popup = tab.page.locator(".leaflet-popup-content .popup")
    expect(popup.locator("h3")).to_have_text(point["name"])
    return popup.locator(".hours-line").inner_text() if popup.locator(".hours-line").count() else ""


def shown_with_open_box(tab: Tab, ticked: bool) -> int:
    tab.open_filters()
    box = tab.page.locator('#filters input[name="open"]')
    box.set_checked(ticked)
    return tab.shown()


def test_closed_by_hours_says_when_it_opens_and_leaves_open_now(browser: Browser, site: Site) -> None:
    context, tab = open_at(browser, site, SUNDAY_EVENING)
    try:
        assert popup_text(tab, "lyceum") == "Зачинено за графіком, відчиниться у понеділок о 09:00"
        assert popup_text(tab, "night") == "Відчинено за графіком, зачиниться у понеділок о 08:00"
        assert popup_text(tab, "nohours") == "Графік не вказано"
        assert popup_text(tab, "always") == "Цілодобово (24/7)"
        assert shown_with_open_box(tab, False) == 4
        assert shown_with_open_box(tab, True) == 3  # the lyceum is closed by its hours
        tab.guard.assert_clean(tab.page)
    finally:
        context.close()


def test_on_the_morning_it_opens_today_at_nine(browser: Browser, site: Site) -> None:
    context, tab = open_at(browser, site, MONDAY_MORNING)
    try:
        assert popup_text(tab, "lyceum") == "Зачинено за графіком, відчиниться о 09:00"
        assert shown_with_open_box(tab, True) == 3  # the lyceum still closed; the night point open
        tab.guard.assert_clean(tab.page)
    finally:
        context.close()


def test_without_hours_the_library_is_not_loaded(browser: Browser, tmp_path_factory) -> None:
    plain = [make_record("p1", lat=50.45, lon=30.52), make_record("p2", lat=50.46, lon=30.53)]
    with serve(tmp_path_factory.mktemp("no-hours"), plain) as bare:
        context, tab = open_guarded_tab(browser, bare)
        asked: list[str] = []
        tab.page.on("request", lambda request: asked.append(request.url))
        try:
            tab.goto("/")
            expect(tab.page.locator("#map-app")).to_have_attribute("data-hours", "none")
            assert not [url for url in asked if "opening_hours" in url or "suncalc" in url]
            tab.guard.assert_clean(tab.page)
        finally:
            context.close()


def test_a_popup_open_when_the_hours_library_arrives_stays_open(browser: Browser, site: Site) -> None:
    """The library comes after the first markers and the map filters again: a popup the reader
    opened meanwhile stays open (the library is held back until the popup is open)."""
    context, tab = open_guarded_tab(browser, site)
    held: list = []
    try:
        page = tab.page
        page.clock.set_fixed_time(SUNDAY_EVENING)
        page.route("**/static/vendor/opening_hours/**", lambda route: held.append(route))
        tab.goto("/")
        point = next(p for p in POINTS if p["id"] == "always")
        tab.map_eval("map.setView([arg[0], arg[1]], 17, {animate: false});", [point["lat"], point["lon"]])
        page.locator(f'.leaflet-marker-pane .poi[title^="{point["name"]} — "]').click()
        popup = page.locator(".leaflet-popup-content .popup h3")
        expect(popup).to_have_text(point["name"])
        for _ in range(200):  # each round trip lets the route handler see the library's request
            if held:
                break
            page.evaluate("0")
        assert held and page.get_attribute("#map-app", "data-hours") is None
        held[0].continue_()
        expect(page.locator("#map-app")).to_have_attribute("data-hours", "ready")
        # open on the map (not a closed popup fading out), and now with the point's hours
        assert tab.map_eval("return Boolean(map._popup && map.hasLayer(map._popup));")
        expect(page.locator(".leaflet-popup-content .popup .hours-line")).to_have_text("Цілодобово (24/7)")
        tab.guard.assert_clean(page)
    finally:
        context.close()


def test_open_now_from_the_address_counts_the_hours_once_they_are_judged(
    browser: Browser, site: Site
) -> None:
    """ "Open now" ticked by the address (?open=1) before the hours library came: when it comes,
    the map and its count both leave out the point closed by its hours."""
    context, tab = open_guarded_tab(browser, site)
    try:
        tab.page.clock.set_fixed_time(SUNDAY_EVENING)
        tab.goto("/?open=1")
        expect(tab.page.locator("#map-app")).to_have_attribute("data-hours", "ready")
        expect(tab.page.locator("#map-app")).to_have_attribute("data-shown", "3")
        expect(tab.page.locator("#point-count")).to_contain_text("3 з 4")
        tab.guard.assert_clean(tab.page)
    finally:
        context.close()
