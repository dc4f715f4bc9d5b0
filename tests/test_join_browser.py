"""The business journey in real Chromium (issue 20): a business proposes a point on /join with the
map pick, an admin approves it in the queue, the business signs in with the one-time link on a
phone (390x844), marks its point closed, and the public API and point page follow."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from browser_support import SMALL_TARGETS, Site, make_seed, open_guarded_tab, serve
from helpers import PASSWORD
from playwright.sync_api import Browser, expect

from locator.search.distance import haversine_m
from locator.store import Store, UserStore

ADMIN = "admin"
NAME = "Аптека «Світло»"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, password_hash: str) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("join")
    with serve(folder, make_seed(datetime.now(UTC))[:40]) as site:
        store = Store(folder / "locator.db")
        UserStore(store).create(ADMIN, password_hash, "admin")
        store.close()
        yield site


def test_a_business_joins_and_closes_its_point_from_a_phone(browser: Browser, site: Site):
    # 1. The business proposes a point, picking its place on the map.
    context, tab = open_guarded_tab(browser, site, viewport={"width": 1280, "height": 900})
    page = tab.page
    page.goto(site.url("/join"))
    page.fill("#contact", "Ірина Бондар")
    page.fill("#phone", "+380 50 123 45 67")
    page.fill("#point-0-name", NAME)
    page.select_option("#point-0-business_type", "pharmacy")
    page.fill("#point-0-address", "вул. Соборна, 3")
    page.fill("#point-0-opening_hours", "Mo-Su 08:00-22:00")
    page.check("input[name='point-0-services'][value='power']")
    the_map = page.locator("#point-0-map")
    expect(the_map).to_be_visible()
    the_map.scroll_into_view_if_needed()  # (one field a line: the map sits below the fold)
    box = the_map.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.4)
    lat, lon = float(page.input_value("#point-0-lat")), float(page.input_value("#point-0-lon"))
    assert haversine_m(lat, lon, 50.4501, 30.5234) < 60_000  # near the map's centre, Kyiv
    page.click("#join-submit")
    expect(page.locator("#join-sent")).to_be_visible()
    assert NAME not in str(site.api("/api/v1/points"))  # nothing public yet
    tab.guard.assert_clean(page)
    context.close()

    # 2. An admin approves it from a phone and copies the one-time link.
    phone = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
    context, tab = open_guarded_tab(browser, site, **phone)
    page = tab.page
    page.goto(site.url("/operator/login"))
    page.fill("#name", ADMIN)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Увійти").click()
    page.goto(site.url("/operator/proposals"))
    proposal = page.locator("article.proposal", has_text=NAME)
    expect(proposal).to_be_visible()
    page.wait_for_load_state("load")  # measured with the stylesheets applied
    assert page.evaluate(SMALL_TARGETS, 48) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    proposal.get_by_role("button", name="Схвалити").tap()
    link = page.input_value("#signin-link")
    assert "/operator/signin/join_" in link
    tab.guard.assert_clean(page)
    context.close()
    [point] = [p for p in site.api("/api/v1/points")["features"] if p["properties"]["name"] == NAME]
    point_id = point["properties"]["id"]
    assert point["properties"]["status"] == "open" and point["properties"]["category"] == "business"

    # 3. The business signs in on its phone and marks the point closed.
    context, tab = open_guarded_tab(browser, site, device_scale_factor=2, **phone)
    page = tab.page
    page.goto(link)
    page.locator("#signin-button").tap()
    expect(page.locator("h1")).to_have_text("Мої пункти")
    page.wait_for_load_state("load")  # measured with the stylesheets applied
    assert page.evaluate(SMALL_TARGETS, 48) == []
    mine = page.locator(f"#mine-{point_id}")
    mine.locator("input[name='status'][value='closed']").tap()
    mine.get_by_role("button", name="Зберегти").tap()
    expect(page.locator(".flash-ok")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    # 4. The public map's data and the point page follow.
    assert site.api(f"/api/v1/points/{point_id}")["properties"]["status"] == "closed"
    page.goto(site.url(f"/points/{point_id}"))
    expect(page.locator("body")).to_contain_text("Зачинено")
    tab.guard.assert_clean(page)

    # 5. The link is spent: a second phone gets nowhere.
    page.goto(link)
    other, other_tab = open_guarded_tab(browser, site, **phone)
    other_tab.page.goto(link)
    other_tab.page.locator("#signin-button").tap()
    expect(other_tab.page.locator("#signin-refused")).to_be_visible()
    other.close()
    context.close()
