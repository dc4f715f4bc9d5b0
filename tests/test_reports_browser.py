"""Issue 8 in a real browser: citizens' reports make a point "unconfirmed", an operator answers
them, the rate limits hold, and a mobile point is found where its schedule or its operator put it.

Each test runs its own live server (the real app on a real SQLite file seeded with the ~300
points of tests/browser_support.py; starting one takes ~0.2 s) with the report settings it
states, so no test spends another's rate limit. Expected lists come from the seed and a
brute-force haversine, never from the app; every page runs under the guard (no console errors,
CSP violations, dialogs or third-party requests).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from browser_support import (
    NEAREST_K,
    Site,
    Tab,
    brute_force_nearest,
    haversine_m,
    open_guarded_tab,
    serve,
)
from helpers import PASSWORD
from playwright.sync_api import Browser, Locator, Page, Response, expect

from locator.store import Store

OPERATOR = "olena"
SETTLEMENT = "Бровари"  # olena's scope
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
KYIV = ZoneInfo("Europe/Kyiv")  # the console's datetime-local fields are Kyiv wall-clock time
HOSTILE_COMMENT = '<img src=x onerror=alert(1)><b>Двері</b> "зачинені" & темно'
PLAIN_COMMENT = "Зачинено з ранку, на дверях замок"
# Both far from every seeded point (they span 49.76-50.56 N, 30.06-30.98 E).
ENDED_STOP = ("Зазим'я, біля школи", 50.6400, 30.6000)
ACTIVE_STOP = ("Калита, площа", 50.7500, 31.1000)
NEAR_ACTIVE_STOP = (50.7530, 31.1040)  # where a citizen stands, ~430 m from the stop
MAP_IDLE = "() => !document.querySelector('.leaflet-zoom-anim, .leaflet-cluster-anim')"


# -- a live server with the settings a test names --------------------------------------------------


@dataclass
class Live:
    site: Site
    store: Store  # the server's own store (connections are per thread, so the test may read it)

    def feature(self, point_id: str) -> dict[str, Any]:
        return self.site.api(f"/api/v1/points/{point_id}")["properties"]

    def report_rows(self) -> int:
        return self.store.db["reports"].count


@contextmanager
def serve_with(folder: Path, password_hash: str, config: dict[str, Any]) -> Iterator[Live]:
    """browser_support.serve with an operator for Brovary. Every reload revalidates the map's data
    with its ETag (CACHE_SECONDS=0; the default keeps it 30 s in the browser's cache), so a reload
    also proves the ETag moves with each change."""
    with serve(folder, **({"CACHE_SECONDS": 0} | config)) as site:
        store = site.app.extensions["locator.store"]
        site.app.extensions["locator.users"].create(OPERATOR, password_hash, "operator", (), (SETTLEMENT,))
        yield Live(site, store)


@pytest.fixture
def start_site(tmp_path: Path, password_hash: str) -> Iterator[Callable[..., Live]]:
    with ExitStack() as stack:
        yield lambda **config: stack.enter_context(serve_with(tmp_path, password_hash, config))


@pytest.fixture
def open_tab(browser: Browser, start_site) -> Iterator[Callable[..., Tab]]:
    """Guarded pages, each in a fresh context; every one must end clean (closed before the server)."""
    opened = []
    allowed: dict[int, Callable[[str], bool]] = {}

    def open_(site: Site, allow_console: Callable[[str], bool] | None = None, **options: Any) -> Tab:
        opened.append(open_guarded_tab(browser, site, **options))
        if allow_console:
            allowed[len(opened) - 1] = allow_console
        return opened[-1][1]

    yield open_
    for i, (context, tab) in enumerate(opened):
        tab.guard.assert_clean(tab.page, allowed.get(i, lambda text: False))
        context.close()


def at_position(lat: float, lon: float) -> dict[str, Any]:
    """Context options for a browser that knows where it is and may say so."""
    return {"geolocation": {"latitude": lat, "longitude": lon}, "permissions": ["geolocation"]}


def pick(points: list[dict[str, Any]], **wanted: Any) -> dict[str, Any]:
    """The first seeded point in olena's settlement with these values."""
    return next(
        p
        for p in sorted(points, key=lambda p: p["id"])
        if p["settlement"] == SETTLEMENT and all(p[k] == v for k, v in wanted.items())
    )


# -- moves a person makes ------------------------------------------------------------------------


def near_me(tab: Tab) -> Locator:
    """Press "near me" on the map page and wait for the list; returns its items."""
    tab.page.click("#near-me")
    expect(tab.page.locator("#map-app")).to_have_attribute("data-nearest", str(NEAREST_K))
    return tab.page.locator("#results li.result")


def shown_distance_m(item: Locator) -> float:
    found = re.match(r"^(\d+(?:,\d)?) (м|км) · ", item.locator(".result-distance").inner_text())
    assert found, item.inner_text()
    return float(found[1].replace(",", ".")) * (1000 if found[2] == "км" else 1)


def marker(tab: Tab, point: dict[str, Any]) -> Locator:
    """Zoom the map page in on a point (past clustering) and return its marker."""
    tab.map_eval("map.setView(arg, 18, {animate: false});", [point["lat"], point["lon"]])
    tab.page.wait_for_function(MAP_IDLE)
    return tab.page.locator(f'.leaflet-marker-pane .poi[title^="{point["name"]} — "]')


def send_report(page: Page, kind: str, comment: str = "", service: str = "") -> Response:
    """Fill and send the point page's "report a problem" form; returns the POST's answer."""
    form = page.locator("#report form")
    form.locator(f'input[name="kind"][value="{kind}"]').check()
    form.locator('select[name="service"]').select_option(service)
    form.locator('textarea[name="comment"]').fill(comment)
    # Wait for the new page, not just the answer: after a thank-you the URL stays the same.
    with page.expect_navigation(), page.expect_response(lambda r: r.request.method == "POST") as sent:
        form.locator('button[type="submit"]').click()
    return sent.value


def report_accepted(page: Page, response: Response) -> None:
    assert response.status == 303, response.status
    expect(page).to_have_url(re.compile(r"/points/[^?]+\?reported=1(&[^#]*)?#report$"))
    expect(page.locator("#report [role=status]")).to_be_visible()


def log_in(tab: Tab) -> None:
    page = tab.page
    page.goto(tab.site.url("/operator/login"))
    page.locator("#name").fill(OPERATOR)
    page.locator("#password").fill(PASSWORD)
    page.locator("form button[type=submit]").tap()
    expect(page).to_have_url(tab.site.url("/operator/"))


def flash_ok(page: Page) -> None:
    expect(page.locator(".flash-ok")).to_be_visible()
    assert page.locator(".flash-error").count() == 0


# -- citizens report, the map follows, an operator answers ----------------------------------------


def test_reports_make_a_point_unconfirmed_until_an_operator_answers(
    start_site: Callable[..., Live], open_tab: Callable[..., Tab]
) -> None:
    # One browser is one sender network: here every report counts (the sender rule: test_reports.py).
    live = start_site(REPORTS_TO_UNCONFIRM=2, REPORTS_PER_SENDER_HOUR=10, REPORT_DISTINCT_SENDERS=False)
    site, points = live.site, live.site.points
    point = pick(points, status="open", kind="fixed")
    here = (point["lat"], point["lon"])

    # A citizen standing at the point finds it, opens its popup and follows "report".
    citizen = open_tab(site, **at_position(*here))
    page = citizen.page
    citizen.goto("/")
    results = near_me(citizen)
    assert citizen.result_names() == [p["name"] for p in brute_force_nearest(points, *here)]
    expect(results.first.locator("h3")).to_have_text(point["name"])
    results.first.locator("button").click()
    popup = page.locator(".leaflet-popup-content .popup")
    expect(popup.locator("h3")).to_have_text(point["name"])
    popup.locator("a", has_text="Повідомити про проблему").click()
    # the page carries the map's state (its "← До мапи" comes back to it)
    expect(page).to_have_url(re.compile(rf"/points/{point['id']}\?[^#]*#report$"))

    report_accepted(page, send_report(page, "closed", HOSTILE_COMMENT))
    assert live.feature(point["id"])["status"] == "open", "one report is below the threshold of 2"
    report_accepted(page, send_report(page, "closed", PLAIN_COMMENT))
    assert live.feature(point["id"])["status"] == "unconfirmed"
    report_accepted(page, send_report(page, "missing_service", service="heat"))
    expect(page.locator(".badges .badge-unconfirmed")).to_be_visible()
    expect(page.locator(".unconfirmed-notice")).to_be_visible()
    expect(page.locator("#report .reports-summary")).to_be_visible()
    assert page.locator("#report .report-comment").count() == 0  # comments are for operators

    # The map follows: marker, popup and "near me" say "unconfirmed"; nothing hides it (issue 16).
    feature = live.feature(point["id"])
    assert (feature["status"], feature["operator_status"], feature["unconfirmed"]) == (
        "unconfirmed",
        "open",
        True,
    )
    assert feature["open_reports"] == {"closed": 2, "missing_service": 1}
    citizen.goto("/")
    results = near_me(citizen)
    ranked = brute_force_nearest(points, *here, reported=frozenset({point["id"]}))
    assert citizen.result_names() == [p["name"] for p in ranked]  # still listed, lower (issue 17)
    reported_at = [p["id"] for p in ranked].index(point["id"])
    expect(results.nth(reported_at).locator(".badge-unconfirmed")).to_be_visible()
    dot = marker(citizen, point)
    expect(dot).to_have_class(re.compile(r"\bpoi-unconfirmed\b"))
    dot.dispatch_event("click")  # its numbered result marker (issue 17) lies on top of it
    expect(popup.locator(".badge-unconfirmed")).to_be_visible()
    expect(popup.locator(".unconfirmed-notice")).to_be_visible()
    citizen.open_filters()
    page.check('input[name="open"]')
    open_now = sum(p["status"] == "open" for p in points)  # its operator's status is open
    expect(page.locator("#map-app")).to_have_attribute("data-shown", str(open_now))
    expect(dot).to_have_class(re.compile(r"\bpoi-unconfirmed\b"))

    # An operator, on a phone, sees it first among "my points", with its reports counted.
    operator = open_tab(site, **PHONE)
    console = operator.page
    log_in(operator)
    first = console.locator("ul.point-list li.point-row").first
    expect(first.locator("a")).to_have_attribute("href", f"/operator/points/{point['id']}")
    expect(first.locator(".badge-reports")).to_have_text(re.compile(r"\D3$"))
    expect(first.locator(".badge-unconfirmed")).to_be_visible()
    first.locator("a").tap()

    # The queue: newest first, counted by kind, comments as text.
    queue = console.locator("#reports")
    items = queue.locator("ol.reports > li")
    expect(items).to_have_count(3)
    expect(items.nth(0).locator(".report-comment")).to_have_count(0)  # the "no heat" report
    expect(items.nth(1).locator(".report-comment")).to_have_text(PLAIN_COMMENT)
    expect(items.nth(2).locator(".report-comment")).to_have_text(HOSTILE_COMMENT)
    assert console.locator('img[src="x"], #reports b').count() == 0
    counts = queue.locator(".report-counts .badge-reports").all_inner_texts()
    assert [text.rsplit(":", 1)[1].strip() for text in counts] == ["2", "1"], counts  # closed, service
    assert [row["comment"] for row in live.store.reports.open_for(point["id"])] == [
        "",
        PLAIN_COMMENT,
        HOSTILE_COMMENT,
    ]

    # (a) The operator checked and it works: dismiss. The map shows it open again.
    queue.locator('form[action$="/reports/dismiss"] button[type=submit]').tap()
    flash_ok(console)
    expect(items).to_have_count(0)
    expect(console.locator("h1 + p .badge-unconfirmed")).to_have_count(0)
    expect(console.locator("#current-status")).to_have_class(re.compile(r"\bbadge-open\b"))
    feature = live.feature(point["id"])
    assert (feature["status"], feature["unconfirmed"], feature["open_reports"]) == ("open", False, {})
    citizen.goto("/")
    expect(marker(citizen, point)).to_have_class(re.compile(r"\bpoi-open\b"))

    # (b) Two more "closed" reports, and this time they are right: the operator taps "closed".
    page.goto(site.url(f"/points/{point['id']}"))
    report_accepted(page, send_report(page, "closed", "Знову зачинено"))
    report_accepted(page, send_report(page, "closed"))
    assert live.feature(point["id"])["status"] == "unconfirmed"
    console.reload()
    expect(items).to_have_count(2)
    expect(items.nth(1).locator(".report-comment")).to_have_text("Знову зачинено")
    console.locator("button.status-button.status-closed").tap()
    flash_ok(console)
    expect(console.locator("#current-status")).to_have_class(re.compile(r"\bbadge-closed\b"))
    expect(items).to_have_count(0)
    assert live.store.reports.open_for(point["id"]) == []
    resolutions = [row["resolution"] for row in live.store.reports.answered_for(point["id"])]
    assert sorted(resolutions) == ["acted"] * 2 + ["dismissed"] * 3
    feature = live.feature(point["id"])
    assert (feature["status"], feature["unconfirmed"]) == ("closed", False)
    citizen.goto("/")
    dot = marker(citizen, point)
    expect(dot).to_have_class(re.compile(r"\bpoi-closed\b"))
    dot.click()
    expect(popup.locator(".badge-closed")).to_be_visible()
    expect(popup.locator(".unconfirmed-notice")).to_have_count(0)


# -- abuse is bounded ----------------------------------------------------------------------------


def test_report_limits_answer_429_with_retry_after_and_store_nothing(
    start_site: Callable[..., Live], open_tab: Callable[..., Tab]
) -> None:
    # Three "closed" reports would make a point unconfirmed; only two per point get through.
    live = start_site(REPORTS_TO_UNCONFIRM=3, REPORTS_PER_POINT_HOUR=2, REPORTS_PER_SENDER_HOUR=3)
    first, second = [p for p in live.site.points if p["status"] == "open" and p["kind"] == "fixed"][:2]
    # The form needs no JavaScript, and neither do its limits: this browser runs none.
    tab = open_tab(live.site, allow_console=lambda text: "status of 429" in text, java_script_enabled=False)
    page = tab.page

    def refused(comment: str) -> None:
        """Send one report that a limit must refuse; check the page and the unchanged table."""
        rows = live.report_rows()
        response = send_report(page, "closed", comment)
        assert response.status == 429
        retry_after = int(response.header_value("retry-after"))
        assert 0 < retry_after <= 3600
        alert = page.locator("#report .form-error[role=alert]")
        expect(alert).to_contain_text(f" {math.ceil(retry_after / 60)} ")
        expect(page.locator('#report textarea[name="comment"]')).to_have_value(comment)
        assert live.report_rows() == rows, "a refused report was stored"

    # Per point: the third report about one point is refused, so it does not tip the threshold.
    page.goto(live.site.url(f"/points/{first['id']}"))
    assert page.evaluate("typeof window.L") == "undefined"  # the page's scripts did not run
    for n in range(2):
        report_accepted(page, send_report(page, "closed", f"звіт {n}"))
    refused("третій про той самий пункт")
    feature = live.feature(first["id"])
    assert (feature["status"], feature["open_reports"]) == ("open", {"closed": 2})

    # Per address: the third accepted report from this browser was its last this hour.
    page.goto(live.site.url(f"/points/{second['id']}"))
    report_accepted(page, send_report(page, "full"))
    refused("четвертий з тієї ж адреси")
    assert live.feature(second["id"])["open_reports"] == {"full": 1}
    assert live.report_rows() == 3


# -- mobile points -------------------------------------------------------------------------------


def local_field(moment: datetime) -> str:
    """A moment as a datetime-local value in Kyiv time (minute precision, like the form)."""
    return moment.astimezone(KYIV).strftime("%Y-%m-%dT%H:%M")


def add_stop(page: Page, place: str, lat: float, lon: float, starts: datetime, ends: datetime) -> None:
    form = page.locator("#stop-form")
    form.locator('input[name="place"]').fill(place)
    form.locator('input[name="lat"]').fill(f"{lat:.6f}")
    form.locator('input[name="lon"]').fill(f"{lon:.6f}")
    form.locator('input[name="starts_at"]').fill(local_field(starts))
    form.locator('input[name="ends_at"]').fill(local_field(ends))
    form.locator("button[type=submit]").tap()
    flash_ok(page)


def moved(points: list[dict[str, Any]], point_id: str, lat: float, lon: float) -> list[dict[str, Any]]:
    return [p | {"lat": lat, "lon": lon} if p["id"] == point_id else p for p in points]


def since_on_point_page(page: Page) -> datetime:
    return datetime.fromisoformat(page.locator(".where .since time").get_attribute("datetime"))


def test_mobile_point_is_found_at_its_current_stop_and_where_it_was_moved(
    start_site: Callable[..., Live], open_tab: Callable[..., Tab]
) -> None:
    live = start_site()
    site, points = live.site, live.site.points
    point = pick(points, status="open", kind="mobile")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    operator = open_tab(site, **PHONE)
    console = operator.page
    log_in(operator)
    console.goto(site.url(f"/operator/points/{point['id']}"))

    # A stop that has ended is history: nearest from its place does not find the point there.
    ended_place, *ended_at = ENDED_STOP
    add_stop(console, ended_place, *ended_at, now - timedelta(hours=5), now - timedelta(hours=3))
    expect(console.locator("#schedule li.stop.ended")).to_contain_text(ended_place)
    citizen = open_tab(site, **at_position(*ended_at))
    citizen.goto("/")
    near_me(citizen)
    assert citizen.result_names() == [p["name"] for p in brute_force_nearest(points, *ended_at)]
    api = site.api("/api/v1/nearest", lat=ended_at[0], lon=ended_at[1], kind="mobile", k=50)
    found = {f["id"]: f["properties"]["distance_m"] for f in api["features"]}
    assert found.get(point["id"], math.inf) > 10_000, "the point is shown at its ended stop"

    # A stop under way now, far from where the point was: "near me" there lists it first.
    place, *stop_at = ACTIVE_STOP
    starts = now - timedelta(minutes=90)
    add_stop(console, place, *stop_at, starts, now + timedelta(hours=2))
    expect(console.locator("#schedule li.stop.active")).to_contain_text(place)
    citizen.page.context.set_geolocation(at_position(*NEAR_ACTIVE_STOP)["geolocation"])
    citizen.goto("/")
    results = near_me(citizen)
    expected = brute_force_nearest(moved(points, point["id"], *stop_at), *NEAR_ACTIVE_STOP)
    assert expected[0]["id"] == point["id"]
    assert citizen.result_names() == [p["name"] for p in expected]
    assert shown_distance_m(results.first) == pytest.approx(haversine_m(*NEAR_ACTIVE_STOP, *stop_at), abs=1)
    results.first.locator("button").click()
    since = citizen.page.locator(".leaflet-popup-content .popup .since")
    expect(since).to_contain_text("1 год")  # it arrived when the stop began, 90 minutes ago
    feature = live.feature(point["id"])
    assert (feature["lat"], feature["lon"]) == pytest.approx(tuple(stop_at))
    assert feature["located_since"] == starts.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [stop["place"] for stop in feature["stops"]] == [place]  # the ended one is not offered

    # The point page says where it stands and since when; the ended stop is not offered.
    page = citizen.page
    page.goto(site.url(f"/points/{point['id']}"))
    where = page.locator("section.where")
    expect(where).to_contain_text(place)
    expect(where).not_to_contain_text(ended_place)
    assert since_on_point_page(page) == starts
    expect(page.locator("dl.facts")).to_contain_text(f"{stop_at[0]:.5f}, {stop_at[1]:.5f}")

    # The operator moves it with a tap on the console map; the map and page show the new arrival.
    console.goto(site.url(f"/operator/points/{point['id']}"))
    console_map = console.locator("#console-map .folium-map")
    box = console_map.bounding_box()
    console_map.tap(position={"x": box["width"] / 2 + 70, "y": box["height"] / 2 - 50})
    expect(console.locator("#move-status")).not_to_be_empty()
    tapped = float(console.locator("#lat").input_value()), float(console.locator("#lon").input_value())
    assert tapped != pytest.approx((point["lat"], point["lon"]), abs=1e-5)
    console.locator("#move-form button[type=submit]").tap()
    flash_ok(console)
    moved_at = datetime.now(UTC)
    feature = live.feature(point["id"])
    assert (feature["lat"], feature["lon"]) == pytest.approx(tapped, abs=1e-6)
    arrived = datetime.fromisoformat(feature["located_since"])
    assert timedelta(0) <= moved_at - arrived < timedelta(minutes=1)

    page.goto(site.url(f"/points/{point['id']}"))
    assert since_on_point_page(page) == arrived
    expect(page.locator("dl.facts")).to_contain_text(f"{tapped[0]:.5f}, {tapped[1]:.5f}")
    expect(where).not_to_contain_text(place)  # moved off its stop: no longer "at the stop now"
    page.context.set_geolocation(at_position(*tapped)["geolocation"])
    citizen.goto("/")
    results = near_me(citizen)
    expect(results.first.locator("h3")).to_have_text(point["name"])
    assert shown_distance_m(results.first) == pytest.approx(0, abs=1)
    results.first.locator("button").click()
    expect(since).to_be_visible()
    expect(since).not_to_contain_text("год")  # arrived just now
