"""The operator console in a real browser on a phone: log in, one tap to change a status, move a point.

The live server and the page guard come from tests/browser_support.py (the same seed of ~300
points around Kyiv); every page must stay free of console errors, CSP violations and requests to
any host but the app and the tile host.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from browser_support import Site, Tab, open_guarded_tab, serve
from helpers import PASSWORD
from playwright.sync_api import Browser, expect

from locator.store import Store, UserStore

OPERATOR = "olena"
SETTLEMENT = "Бровари"  # olena's scope: every point there, whatever its region
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 3,
}
GPS = (50.517731, 30.803194)  # where the phone says it is: a street in Brovary


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, password_hash: str) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("console-site")
    with serve(folder) as site:
        store = Store(folder / "locator.db")  # the server's database file, opened beside it
        UserStore(store).create(OPERATOR, password_hash, "operator", settlements=(SETTLEMENT,))
        store.close()
        yield site


@pytest.fixture
def open_tab(browser: Browser, site: Site) -> Iterator[Callable[..., Tab]]:
    """Open guarded phone-sized pages, each in a fresh context; every one must end clean."""
    opened = []

    def open_(**context_options: Any) -> Tab:
        opened.append(open_guarded_tab(browser, site, **(PHONE | context_options)))
        return opened[-1][1]

    yield open_
    for context, tab in opened:
        tab.guard.assert_clean(tab.page)
        context.close()


def log_in(tab: Tab) -> None:
    page = tab.page
    page.goto(tab.site.url("/operator/login"))
    page.locator("#name").fill(OPERATOR)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Увійти").tap()
    expect(page).to_have_url(tab.site.url("/operator/"))
    expect(page.locator("h1")).to_contain_text("Мої пункти")


def fits_the_screen(tab: Tab) -> bool:
    """Nothing is wider than the phone. A phone browser widens its layout viewport to fit a page
    that overflows, and zooms the whole page out: innerWidth itself then grows past the screen
    (the schedule's two time fields once made 448 of 390 px), so compare with the screen."""
    width = PHONE["viewport"]["width"]
    script = f"window.innerWidth === {width} && document.documentElement.scrollWidth <= {width}"
    return tab.page.evaluate(script)


def pick(site: Site, **wanted: Any) -> dict[str, Any]:
    """The first seeded point in olena's settlement with these values."""
    return next(
        p
        for p in sorted(site.points, key=lambda p: p["id"])
        if p["settlement"] == SETTLEMENT and all(p[k] == v for k, v in wanted.items())
    )


def compact_status(site: Site, point_id: str) -> str:
    table = site.api("/api/v1/points", format="compact")
    column = table["fields"].index("status")
    return next(row[column] for row in table["rows"] if row[0] == point_id)


def test_operator_closes_a_point_with_one_tap_on_a_phone(open_tab: Callable[..., Tab], site: Site) -> None:
    point = pick(site, status="open", kind="fixed")
    assert compact_status(site, point["id"]) == "open"
    tab = open_tab()
    page = tab.page
    log_in(tab)
    rows = page.locator("ul.point-list li.point-row")
    assert rows.count() == sum(p["settlement"] == SETTLEMENT for p in site.points)
    assert fits_the_screen(tab)

    page.locator(f'ul.point-list a[href="/operator/points/{point["id"]}"]').tap()
    expect(page.locator("h1")).to_have_text(point["name"])
    expect(page.locator("#current-status")).to_have_text("Працює")
    closed = page.get_by_role("button", name="Зачинено", exact=True)
    expect(closed).to_be_visible()
    assert closed.bounding_box()["height"] >= 44  # a thumb-sized target
    closed.tap()

    expect(page.locator(".flash-ok")).to_contain_text("Збережено: Зачинено.")
    expect(page.locator("#current-status")).to_have_text("Зачинено")
    expect(page.get_by_role("button", name="Зачинено", exact=True)).to_have_attribute("aria-current", "true")
    assert fits_the_screen(tab)

    page.goto(site.url(f"/points/{point['id']}"))
    expect(page.locator(".badges .badge-closed")).to_have_text("Зачинено")
    newest = page.locator("table.history tbody tr").first
    expect(newest).to_contain_text("оператор")  # who in general; the public never sees the name
    expect(newest).not_to_contain_text(OPERATOR)
    assert compact_status(site, point["id"]) == "closed"


def test_operator_moves_a_point_to_where_the_phone_is(open_tab: Callable[..., Tab], site: Site) -> None:
    point = pick(site, kind="mobile")
    tab = open_tab(
        geolocation={"latitude": GPS[0], "longitude": GPS[1], "accuracy": 12}, permissions=["geolocation"]
    )
    page = tab.page
    log_in(tab)
    page.locator(f'ul.point-list a[href="/operator/points/{point["id"]}"]').tap()
    expect(page.locator("h1")).to_have_text(point["name"])
    if not page.locator("#use-gps").is_visible():
        page.get_by_text("Перемістити пункт").tap()

    page.get_by_role("button", name="Взяти з GPS телефона").tap()
    expect(page.locator("#move-status")).to_contain_text("Місце з GPS (точність ±12 м)")
    expect(page.locator("#lat")).to_have_value(f"{GPS[0]:.6f}")
    expect(page.locator("#lon")).to_have_value(f"{GPS[1]:.6f}")
    page.get_by_role("button", name="Зберегти місце").tap()

    expect(page.locator(".flash-ok")).to_contain_text("Місце пункту оновлено.")
    feature = site.api(f"/api/v1/points/{point['id']}")
    assert feature["geometry"]["coordinates"] == pytest.approx([GPS[1], GPS[0]], abs=1e-6)
    assert (feature["properties"]["lat"], feature["properties"]["lon"]) == pytest.approx(GPS, abs=1e-6)
    assert feature["properties"]["version"] == 2
    assert fits_the_screen(tab)


def test_the_console_needs_a_login(open_tab: Callable[..., Tab], site: Site) -> None:
    tab = open_tab()
    tab.page.goto(site.url("/operator/"))
    expect(tab.page).to_have_url(site.url("/operator/login?next=/operator/?"))
    expect(tab.page.locator("h1")).to_have_text("Вхід до консолі операторів")
