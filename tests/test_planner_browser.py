"""The planner on a phone (issue 19), in real Chromium at 390x844 and 360x640: an operator sees
the people out of reach, asks for a plan, and turns a suggestion into a stop of a mobile point
whose schedule then shows it; no page is wider than the phone, every control is 48 px."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from browser_support import SMALL_TARGETS, Site, make_seed, open_guarded_tab, serve
from helpers import PASSWORD
from playwright.sync_api import Browser, expect

from locator.store import Store, UserStore

OPERATOR, REGION = "olena", "Київська область"
TENT = "planner-tent"
PHONES = [(390, 844), (360, 640)]


def tent(now: datetime) -> dict:
    return {
        "id": TENT,
        "name": "Намет планувальника",
        "kind": "mobile",
        "category": "state",
        "base": False,
        "status": "open",
        "services": ["power", "heat"],
        "lat": 50.5110,
        "lon": 30.7909,
        "settlement": "Бровари",
        "region": REGION,
        "verified_at": (now - timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, password_hash: str) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("planner")
    now = datetime.now(UTC)
    with serve(folder, make_seed(now) + [tent(now)]) as site:
        store = Store(folder / "locator.db")
        UserStore(store).create(OPERATOR, password_hash, "operator", regions=(REGION,))
        store.close()
        yield site


@pytest.mark.parametrize(("width", "height"), PHONES)
def test_a_planner_turns_a_suggestion_into_a_stop(browser: Browser, site: Site, width: int, height: int):
    phone = {"viewport": {"width": width, "height": height}, "is_mobile": True, "has_touch": True}
    context, tab = open_guarded_tab(browser, site, device_scale_factor=2, **phone)
    page = tab.page
    page.goto(site.url("/operator/login"))
    page.locator("#name").fill(OPERATOR)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Увійти").tap()
    expect(page.locator("h1")).to_contain_text("Мої пункти")
    page.goto(site.url(f"/operator/planner?region={REGION}&distance_km=3&status=any"))
    totals = page.locator("#totals")
    expect(totals).to_contain_text("Без допомоги в межах 3 км")
    assert totals.bounding_box()["y"] < height  # the answer without scrolling
    assert page.locator(".uncovered-list li").count() == 20
    expect(page.locator("#more-uncovered")).to_be_visible()
    expect(page.locator(".planner-uncovered").first).to_have_text("▲")  # a shape, not only a colour
    page.locator("#plan-form input[name=n]").fill("3")
    page.locator("#plan-form button").tap()
    answer = page.locator("#plan-answer")
    expect(answer).to_contain_text("з цими місцями")
    assert page.locator(".plan-site").count() == 3
    found = page.evaluate(
        f"""() => ({{inner: innerWidth, scroll: document.documentElement.scrollWidth,
                    small: ({SMALL_TARGETS})(48)}})"""
    )
    assert found["scroll"] <= found["inner"] == width, found
    assert not found["small"], found["small"]
    first = page.locator("#site-1")
    place = first.locator("strong").inner_text()
    first.locator("summary").tap()
    first.locator("select[name=point]").select_option(label=f"Намет планувальника ({TENT})")
    first.get_by_role("button", name="Додати зупинку").tap()
    expect(page).to_have_url(site.url(f"/operator/points/{TENT}#schedule"))
    expect(page.locator(".flash-ok")).to_contain_text("Зупинку додано")
    expect(page.locator("#schedule ol.stops")).to_contain_text(place)
    tab.guard.assert_clean(page)
    context.close()
