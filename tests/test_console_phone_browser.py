"""The console on a phone (issue 17, part 6), in real Chromium at 360x640 and 390x844: no page
is wider than the screen and every control is a 48 px target, for an admin and for an operator
with a scope; "nearest to me", the status Undo, the address offered after a GPS move, and a
stop's place picked on the map, each done with taps."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from browser_support import SMALL_TARGETS, Site, Tab, make_seed, open_guarded_tab, serve
from helpers import PASSWORD
from playwright.sync_api import Browser, expect

from locator.search.distance import haversine_m
from locator.store import Store, UserStore

OPERATOR, ADMIN = "olena", "admin"
SETTLEMENT = "Бровари"  # olena's scope
PHONES = {"360": (360, 640), "390": (390, 844)}
LONG_ID = "brovary-long"
GPS_IN_BROVARY = (50.517731, 30.803194)
MIN_TARGET_PX = 48


def long_point(now: datetime) -> dict[str, Any]:
    """A mobile point in Бровари whose name, address and stop are long unbroken words."""
    return {
        "id": LONG_ID,
        "name": "Пункт" + "Ж" * 120,
        "kind": "mobile",
        "category": "state",
        "base": False,
        "status": "open",
        "services": ["power", "heat"],
        "lat": 50.5150,
        "lon": 30.7950,
        "address": "вул." + "Щ" * 150,
        "settlement": SETTLEMENT,
        "region": "Київська область",
        "note": "Н" * 300,
        "verified_at": (now - timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "stops": [
            {
                "place": "Площа" + "Ш" * 80,
                "lat": 50.5150,
                "lon": 30.7950,
                "starts_at": (now - timedelta(hours=1)).isoformat(),
                "ends_at": (now + timedelta(hours=3)).isoformat(),
            }
        ],
    }


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, password_hash: str) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("console-phone")
    now = datetime.now(UTC)
    with serve(folder, make_seed(now) + [long_point(now)]) as site:
        store = Store(folder / "locator.db")
        accounts = UserStore(store)
        accounts.create(OPERATOR, password_hash, "operator", settlements=(SETTLEMENT,))
        accounts.create(ADMIN, password_hash, "admin")
        store.close()
        yield site


@pytest.fixture
def open_tab(browser: Browser, site: Site) -> Iterator[Callable[..., Tab]]:
    opened = []

    def open_(width: int = 390, height: int = 844, **options: Any) -> Tab:
        phone = {"viewport": {"width": width, "height": height}, "is_mobile": True, "has_touch": True}
        opened.append(open_guarded_tab(browser, site, device_scale_factor=2, **(phone | options)))
        return opened[-1][1]

    yield open_
    for context, tab in opened:
        tab.guard.assert_clean(tab.page)
        context.close()


def log_in(tab: Tab, name: str) -> None:
    page = tab.page
    page.goto(tab.site.url("/operator/login"))
    page.locator("#name").fill(name)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Увійти").tap()
    expect(page.locator("h1")).to_contain_text("Мої пункти")


def layout(tab: Tab, width: int) -> dict[str, Any]:
    """The page's width as the phone lays it out, and its small targets."""
    return tab.page.evaluate(
        f"""() => ({{inner: window.innerWidth, scroll: document.documentElement.scrollWidth,
                     small: ({SMALL_TARGETS})({MIN_TARGET_PX}),
                     wide: [...document.querySelectorAll('body *')].filter(e => !e.closest('.leaflet-pane'))
                       .filter(e => e.getBoundingClientRect().right > {width} + 1)
                       .slice(0, 3).map(e => e.tagName + '.' + e.className)}})"""
    )


def console_pages(site: Site, role: str) -> list[str]:
    mobile = next(p for p in site.points if p["settlement"] == SETTLEMENT and p["kind"] == "mobile")
    fixed = next(p for p in site.points if p["settlement"] == SETTLEMENT and p["kind"] == "fixed")
    pages = [
        "/operator/",
        "/operator/?q=Бровари&kind=mobile",
        "/operator/?sort=near&lat=50.510000&lon=30.790000&page=2"
        if role == ADMIN
        else "/operator/?sort=near&lat=50.51&lon=30.79",
        f"/operator/points/{LONG_ID}",
        f"/operator/points/{LONG_ID}?moved=1",
        f"/operator/points/{mobile['id']}",
        f"/operator/points/{fixed['id']}",
        f"/operator/points/{LONG_ID}/edit",
        "/operator/points/new",
        f"/operator/points/{LONG_ID}/history",
    ]
    return pages + (["/operator/import"] if role == ADMIN else [])


@pytest.mark.parametrize("phone", PHONES)
@pytest.mark.parametrize("role", [OPERATOR, ADMIN])
def test_no_console_page_is_wider_than_the_phone_and_every_target_is_48_px(open_tab, site, phone, role):
    width, height = PHONES[phone]
    tab = open_tab(width, height)
    tab.page.goto(site.url("/operator/login"))
    found = {"/operator/login": layout(tab, width)}
    log_in(tab, role)
    for path in console_pages(site, role):
        response = tab.page.goto(site.url(path))
        assert response.status == 200, path
        found[path] = layout(tab, width)
    wide = {
        path: (got["inner"], got["scroll"], got["wide"])
        for path, got in found.items()
        if got["inner"] != width or got["scroll"] > width
    }
    small = {path: got["small"] for path, got in found.items() if got["small"]}
    assert not wide, f"wider than {width} px: {wide}"
    assert not small, f"targets under {MIN_TARGET_PX} px: {small}"


def test_nearest_to_me_sorts_by_the_phone_s_place(open_tab, site):
    here = (50.5160, 30.8000)
    tab = open_tab(geolocation={"latitude": here[0], "longitude": here[1]}, permissions=["geolocation"])
    log_in(tab, OPERATOR)
    page = tab.page
    page.get_by_role("button", name="Найближчі до мене").tap()
    expect(page).to_have_url(re.compile(r"sort=near.*lat=50\.516000&lon=30\.800000"))
    mine = [p for p in site.points if p["settlement"] == SETTLEMENT]
    expected = sorted(mine, key=lambda p: (haversine_m(*here, p["lat"], p["lon"]), p["id"]))
    shown = page.locator("ul.point-list li.point-row a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    assert shown == [f"/operator/points/{p['id']}" for p in expected][: len(shown)]
    assert len(shown) == 50
    expect(page.locator("nav.pager")).to_contain_text("Сторінка 1 з 2")


def test_a_status_tap_is_undone_with_the_undo_button(open_tab, site):
    tab = open_tab()
    page = tab.page
    page.clock.install()
    point = next(
        p
        for p in site.points
        if p["settlement"] == SETTLEMENT and p["status"] == "open" and p["kind"] == "fixed"
    )
    log_in(tab, OPERATOR)
    page.goto(site.url(f"/operator/points/{point['id']}"))
    page.get_by_role("button", name="Зачинено", exact=True).tap()
    expect(page.locator("#current-status")).to_have_text("Зачинено")
    undo = page.get_by_role("button", name="Скасувати зміну статусу")
    expect(undo).to_be_visible()
    assert undo.bounding_box()["height"] >= MIN_TARGET_PX
    undo.tap()
    expect(page.locator(".flash-ok")).to_contain_text("Скасовано: статус знову «Працює».")
    expect(page.locator("#current-status")).to_have_text("Працює")
    assert site.api(f"/api/v1/points/{point['id']}")["properties"]["status"] == "open"

    # The button goes when the window closes (the page's clock, moved on, not slept through).
    page.get_by_role("button", name="Зачинено", exact=True).tap()
    expect(page.get_by_role("button", name="Скасувати зміну статусу")).to_be_visible()
    # the countdown has started (its module ran and read the clock) before the clock moves on;
    # moved on earlier, the script would count its 10 s from the moved clock
    expect(page.locator("#undo-left")).to_have_text(re.compile(r"\d"))
    page.clock.fast_forward(11_000)
    expect(page.locator("#undo-form")).to_have_count(0)


def test_after_a_gps_move_the_console_offers_the_nearest_settlement(open_tab, site):
    point = next(p for p in site.points if p["settlement"] == SETTLEMENT and p["kind"] == "mobile")
    tab = open_tab(
        geolocation={"latitude": GPS_IN_BROVARY[0], "longitude": GPS_IN_BROVARY[1], "accuracy": 10},
        permissions=["geolocation"],
    )
    page = tab.page
    log_in(tab, OPERATOR)
    page.goto(site.url(f"/operator/points/{point['id']}"))
    page.get_by_role("button", name="Взяти з GPS телефона").tap()
    expect(page.locator("#lat")).to_have_value(f"{GPS_IN_BROVARY[0]:.6f}")
    page.get_by_role("button", name="Зберегти місце").tap()
    offer = page.locator("#address-offer")
    expect(offer).to_contain_text(f"Адреса: {point['address']} — оновити на «Бровари, Київська область»?")
    page.get_by_role("button", name="Оновити адресу").tap()
    expect(page.locator(".flash-ok")).to_contain_text("Адресу оновлено: Бровари, Київська область.")
    properties = site.api(f"/api/v1/points/{point['id']}")["properties"]
    assert (properties["address"], properties["settlement"]) == ("", "Бровари")  # the old street gone


def mercator_px(lat: float, lon: float, zoom: int) -> tuple[float, float]:
    scale = 256 * 2**zoom
    x = (lon + 180) / 360 * scale
    y = (1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * scale
    return x, y


def test_a_stop_s_place_is_picked_on_the_map(open_tab, site):
    tab = open_tab()
    page = tab.page
    log_in(tab, OPERATOR)
    page.goto(site.url(f"/operator/points/{LONG_ID}#schedule"))
    holder = page.locator("#stop-map")
    expect(holder).to_be_visible()
    expect(holder.locator(".leaflet-tile-container")).to_have_count(1)
    start = (float(page.locator("#stop-lat").input_value()), float(page.locator("#stop-lon").input_value()))
    # Where Leaflet puts the map: its centre projected at zoom 13, less half its size (the
    # container's client box, as L.Map.getSize reads it), rounded; a tap at container point p
    # is the place projected at that origin plus p.
    width, height = holder.evaluate("e => [e.clientWidth, e.clientHeight]")
    cx, cy = mercator_px(*start, 13)
    origin = (round(cx - width / 2), round(cy - height / 2))
    tap_at = (width // 2 + 60, height // 2 - 40)
    holder.tap(position={"x": tap_at[0], "y": tap_at[1]})  # from the padding box's corner
    expect(page.locator("#stop-map-status")).to_have_text("Місце зупинки вибрано на мапі.")
    got = (float(page.locator("#stop-lat").input_value()), float(page.locator("#stop-lon").input_value()))
    x, y = mercator_px(*got, 13)
    # Within half a CSS pixel of the tap (a touch lands on the device's pixel grid).
    assert (x - origin[0], y - origin[1]) == pytest.approx(tap_at, abs=0.5)
    page.locator("#stop-place").fill("Ринок")
    page.get_by_role("button", name="Додати зупинку").tap()
    expect(page.locator(".flash-ok")).to_contain_text("Зупинку додано до графіка.")
    stops = site.api(f"/api/v1/points/{LONG_ID}")["properties"]["stops"]
    added = next(s for s in stops if s["place"] == "Ринок")
    assert (added["lat"], added["lon"]) == pytest.approx(got, abs=1e-9)
