"""The answer in view on a phone (issue 17, part 3), in a real Chromium at 390x844 and 360x640.

After "near me" or a place search the first result is wholly on screen and the focus is on the
list; results are numbered as their markers are; every tap target is at least 48x48 px; the
directions and call links carry the point's coordinates and number (and the map's JavaScript
builds them exactly as the pages' Python does); the map's state lives in its address, so Back
and "← До мапи" come back to it; the legend is there and the count follows the filters; the
report form answers at the form. Expected values come from the seed, never from the app.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from browser_support import (
    BROVARY,
    SETTLEMENTS,
    Site,
    Tab,
    brute_force_nearest,
    make_seed,
    open_guarded_tab,
    serve,
)
from playwright.sync_api import Browser, expect

from locator.web.directions import coordinate, route_links, tel_href

PHONES = {"390x844": (390, 844), "360x640": (360, 640)}
MIN_TARGET_PX = 48
NEAREST_K = 5
PLACE = "Бровари"

# JS: the interactive elements under the selector's elements that are smaller than 48x48; a
# checkbox or radio is tapped through its label, which is measured instead.
SMALL_TARGETS = """(selector) => {
  const small = [];
  for (const root of document.querySelectorAll(selector)) {
    const found = root.matches('a[href], button') ? [root] : [];
    const inside = root.querySelectorAll('a[href], button, input, select, textarea, [role=button]');
    for (const el of [...found, ...inside]) {
      const label = (el.type === 'checkbox' || el.type === 'radio') && el.closest('label');
      const box = (label || el).getBoundingClientRect();
      if (!box.width && !box.height) continue;  // not shown (a folded part)
      if (box.width < 47.99 || box.height < 47.99) {  // 0.01 px: layout rounding, not a smaller target
        const name = (el.textContent || el.value || '').trim().slice(0, 30);
        small.push(`${el.tagName} "${name}" ${box.width}x${box.height}`);
      }
    }
  }
  return small;
}"""
# JS: from now on the page keeps what opens and closes popups and writes the address, with
# where from, in window.__popupLog (a failure's message shows it).
POPUP_LOG = """
window.__popupLog = [];
const note = (what) => window.__popupLog.push(
  [Math.round(performance.now()), what, new Error().stack.split("\\n").slice(2, 7).join(" | ")]
);
map.on("popupopen popupclose movestart moveend", (event) => note(event.type));
const replace = history.replaceState.bind(history);
history.replaceState = (state, title, url) => { note("address " + url); return replace(state, title, url); };
"""
# JS: the numbered markers on the map: [number, point id, lat, lon, width, height].
NUMBERED_MARKERS = """(map) => {
  const found = [];
  map.eachLayer((layer) => {
    const element = layer.getElement && layer.getElement();
    if (element && element.classList.contains('result-marker')) {
      const box = element.getBoundingClientRect();
      const at = layer.getLatLng();
      found.push([Number(element.textContent), layer.pointId, at.lat, at.lng, box.width, box.height]);
    }
  });
  return found.sort((a, b) => a[0] - b[0]);
}"""


def _seed() -> list[dict[str, Any]]:
    """The browser tests' seed, every other point with a phone number."""
    points = make_seed(datetime.now(UTC))
    for i, point in enumerate(points):
        if i % 2 == 0:
            point["phone"] = f"+380 (44) {i:03d}-00-{i % 100:02d}"
    return points


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    # One report per sender and hour: the second answers 429 (the form test).
    with serve(tmp_path_factory.mktemp("phone-site"), _seed(), REPORTS_PER_SENDER_HOUR=1) as site:
        yield site


@pytest.fixture
def open_phone(browser: Browser, site: Site) -> Iterator[Callable[..., Tab]]:
    """Open guarded phone pages (size as "390x844"), each in a fresh context; close them after."""
    opened = []

    def open_(size: str, **options: Any) -> Tab:
        width, height = PHONES[size]
        viewport = {"width": width, "height": height}
        opened.append(
            open_guarded_tab(browser, site, viewport=viewport, is_mobile=True, has_touch=True, **options)
        )
        return opened[-1][1]

    yield open_
    for context, tab in opened:
        context.close()
        assert not tab.guard.dialogs and not tab.guard.foreign, tab.guard


def _at(lat: float, lon: float) -> dict[str, Any]:
    return {"geolocation": {"latitude": lat, "longitude": lon}, "permissions": ["geolocation"]}


def _ask(tab: Tab, how: str) -> None:
    """Ask as a hurried citizen does, with the filters left open: "near me" or a place's name."""
    page = tab.page
    tab.open_filters()
    if how == "near me":
        page.click("#near-me")
    else:
        page.fill("#search-input", PLACE)
        page.click("#search-form button[type=submit]")
    expect(page.locator("#map-app")).to_have_attribute("data-nearest", str(NEAREST_K))


def _expected(site: Site, origin: tuple[float, float]) -> list[dict[str, Any]]:
    return brute_force_nearest(site.points, *origin)


@pytest.mark.parametrize("size", PHONES)
@pytest.mark.parametrize("how", ["near me", "search"])
def test_first_result_is_whole_on_screen_and_the_list_has_the_focus(
    open_phone, site: Site, size: str, how: str
):
    tab = open_phone(size, **_at(*BROVARY))
    tab.goto("/")
    _ask(tab, how)
    page = tab.page
    width, height = PHONES[size]
    first = page.locator("#results li.result").first
    box = first.bounding_box()
    toggle = page.locator("#view-toggle").bounding_box()
    assert box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= width, box
    # wholly above the bottom of the screen, and above the "Map" button there
    assert box["y"] + box["height"] <= min(height, toggle["y"]), (box, toggle)
    assert page.evaluate("document.activeElement.id") == "results"
    # the focused list is named by the heading (a live region too): a screen reader says both
    label = page.get_attribute("#results", "aria-labelledby")
    expect(page.locator(f"#{label}")).to_have_text(re.compile("Найближчі відкриті пункти до"))
    assert page.get_attribute("#status-line", "role") == "status"
    assert page.eval_on_selector("#filters", "details => details.open") is False, "the filters fold away"
    origin = BROVARY if how == "near me" else SETTLEMENTS[PLACE][1:3]
    names = [p["name"] for p in _expected(site, origin)]
    if how == "near me":  # a place's centre is the gazetteer's, not the seed's: order checked for near me
        assert tab.result_names() == names
    assert page.locator("#results li.result .result-number").all_inner_texts() == ["1", "2", "3", "4", "5"]
    tab.guard.assert_clean(page)


@pytest.mark.parametrize("size", PHONES)
def test_markers_are_numbered_as_the_list(open_phone, site: Site, size: str):
    tab = open_phone(size, **_at(*BROVARY))
    tab.goto("/")
    _ask(tab, "near me")
    page = tab.page
    ids = [item.get_attribute("data-id") for item in page.locator("#results li.result").all()]
    page.click("#view-toggle")  # on a phone the map comes with the button
    expect(page.locator(".leaflet-container")).to_be_visible()
    markers = tab.map_eval(f"return ({NUMBERED_MARKERS})(map);")
    by_id = {p["id"]: p for p in site.points}
    assert [m[0] for m in markers] == [1, 2, 3, 4, 5]
    assert [m[1] for m in markers] == ids == [p["id"] for p in _expected(site, BROVARY)]
    for number, point_id, lat, lon, width, height in markers:
        assert (lat, lon) == pytest.approx((by_id[point_id]["lat"], by_id[point_id]["lon"]), abs=1e-9), number
        assert width >= MIN_TARGET_PX and height >= MIN_TARGET_PX
    tab.guard.assert_clean(page)


@pytest.mark.parametrize("size", PHONES)
def test_every_tap_target_is_48_px(open_phone, site: Site, size: str):
    tab = open_phone(size, **_at(*BROVARY))
    tab.goto("/")
    page = tab.page
    assert page.evaluate(SMALL_TARGETS, "#map-app") == []  # the panel and the map's markers, before
    _ask(tab, "near me")
    assert page.evaluate(SMALL_TARGETS, "#results") == []
    page.locator("#results li.result .action-map").first.click()  # "На мапі": its popup opens
    expect(page.locator(".leaflet-popup .popup")).to_be_visible()
    assert page.evaluate(SMALL_TARGETS, ".leaflet-popup") == []
    assert page.evaluate(SMALL_TARGETS, ".leaflet-marker-icon") == []
    assert page.locator(".leaflet-marker-icon").count() > NEAREST_K
    point = next(p for p in sorted(site.points, key=lambda p: p["id"]) if p.get("phone"))
    page.goto(site.url(f"/points/{point['id']}"))
    assert page.evaluate(SMALL_TARGETS, "main") == []  # the page, its map and the report form
    radios = page.locator("#report input[type=radio]")
    assert radios.count() >= 4
    for i in range(radios.count()):
        label = radios.nth(i).locator("xpath=ancestor::label").bounding_box()
        assert label["height"] >= MIN_TARGET_PX and label["width"] >= MIN_TARGET_PX, label
    page.goto(site.url(f"/list?place={PLACE}"))
    assert page.evaluate(SMALL_TARGETS, "main") == []
    tab.guard.assert_clean(page)


def test_the_address_keeps_the_state_and_back_returns_to_it(open_phone, site: Site):
    tab = open_phone("390x844")
    page = tab.page
    tab.goto("/")
    tab.open_filters()
    page.check('#filters input[name="services"][value="heat"]')
    page.uncheck('#filters input[name="kind"][value="mobile"]')
    page.fill("#search-input", PLACE)
    page.click("#search-form button[type=submit]")
    expect(page.locator("#map-app")).to_have_attribute("data-nearest", str(NEAREST_K))
    names = tab.result_names()
    state = parse_qs(urlsplit(page.url).query)
    assert state == {"place": [PLACE], "services": ["heat"], "kind": ["fixed"]}, page.url
    shown = tab.shown()

    def same_answer() -> None:
        expect(page.locator("#map-app")).to_have_attribute("data-nearest", str(NEAREST_K))
        expect(page.locator("#results li.result h3")).to_have_text(names)
        assert page.is_checked('#filters input[name="services"][value="heat"]')
        assert not page.is_checked('#filters input[name="kind"][value="mobile"]')
        assert page.is_checked('#filters input[name="kind"][value="fixed"]')
        assert tab.shown() == shown

    # 1. Open a result's page, come back with Back, then with its "← До мапи".
    page.locator("#results li.result h3 a").first.click()
    expect(page).to_have_url(re.compile(r"/points/"))
    back = page.locator("a.back-link")
    assert parse_qs(urlsplit(back.get_attribute("href")).query) == state
    page.go_back()
    same_answer()
    page.locator("#results li.result h3 a").first.click()
    expect(page).to_have_url(re.compile(r"/points/"))
    page.locator("a.back-link").click()
    same_answer()
    # 2. The selected point: "На мапі" opens its popup on the map, the address names it; its page
    # and back bring the map, the popup and the list again.
    second = page.locator("#results li.result").nth(1)
    second_id, second_name = second.get_attribute("data-id"), second.locator("h3").inner_text()
    second.locator(".action-map").click()
    expect(page.locator(".leaflet-popup .popup h3")).to_have_text(second_name)
    expect(page).to_have_url(re.compile(rf"point={second_id}"))
    assert parse_qs(urlsplit(page.url).query)["view"] == ["map"]
    page.locator(".leaflet-popup a.point-link").first.click()
    expect(page).to_have_url(re.compile(rf"/points/{second_id}\?"))
    page.locator("a.back-link").click()
    same_answer()
    expect(page.locator(".leaflet-popup .popup h3")).to_have_text(second_name)
    expect(page.locator(".leaflet-container")).to_be_visible()
    # 3. Closing the popup forgets the point; a reload keeps the rest.
    tab.map_eval(POPUP_LOG)
    page.locator(".leaflet-popup-close-button").click()
    try:
        expect(page).not_to_have_url(re.compile(r"point="))
    except AssertionError as failed:  # (seen once in CI, never here: say what the page did)
        raise AssertionError(page.evaluate("window.__popupLog")) from failed
    page.reload()
    same_answer()
    tab.guard.assert_clean(page)


def test_the_address_keeps_a_bed_tonight_and_the_business_types(open_phone, site: Site):
    tab = open_phone("390x844")
    page = tab.page
    tab.goto("/")
    tab.open_filters()
    page.check('#filters input[name="bed"]')
    page.uncheck('#filters input[name="business_type"][value="pharmacy"]')
    expect(page).to_have_url(re.compile(r"bed=1"))
    state = parse_qs(urlsplit(page.url).query, keep_blank_values=True)
    assert state["bed"] == ["1"]
    assert "pharmacy" not in state["business_type"][0].split(",")
    assert "fuel_station" in state["business_type"][0].split(",")
    shown = tab.shown()
    page.reload()
    expect(page.locator("#map-app")).to_have_attribute("data-loaded", "true")
    assert page.is_checked('#filters input[name="bed"]')
    assert not page.is_checked('#filters input[name="business_type"][value="pharmacy"]')
    assert page.is_checked('#filters input[name="business_type"][value="fuel_station"]')
    assert tab.shown() == shown
    # a point's page carries them back to the map
    response = page.request.get(site.url("/points/brovary-001?" + urlsplit(page.url).query))
    back = re.search(r'class="back-link" href="([^"]+)"', response.text()).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(back).query, keep_blank_values=True) == state
    tab.guard.assert_clean(page)


@pytest.mark.parametrize("path", ["/", "/embed"])
def test_legend_is_there_and_the_count_follows_the_filters(open_phone, site: Site, path: str):
    tab = open_phone("360x640")
    tab.goto(path)
    page = tab.page
    legend = page.locator("details.legend")
    expect(legend).to_have_count(1)
    assert legend.evaluate("details => details.open") is False  # folded on a phone
    for word in ("Працює", "Переповнений", "Зачинено", "Не підтверджено", "Мобільний пункт"):
        expect(legend).to_contain_text(word)
    total = len(site.points)
    count = page.locator("#point-count")
    expect(count).to_have_text(re.compile(rf"^{total} пункт\S* на мапі"))
    tab.open_filters()
    page.check('#filters input[name="open"]')
    open_now = sum(p["status"] == "open" for p in site.points)
    expect(count).to_have_text(re.compile(rf"^За фільтрами: {open_now} з {total} пункт\S* на мапі"))
    page.uncheck('#filters input[name="open"]')
    expect(count).to_have_text(re.compile(rf"^{total} пункт\S* на мапі"))
    tab.guard.assert_clean(page)


def test_map_and_pages_build_the_same_links(open_phone, site: Site):
    """static/js/directions.js against locator/web/directions.py, on random and edge values."""
    rng = random.Random(17)
    coordinates = [
        (50.0078125, -0.0000005),
        (-0.0000001, 0.0),
        (89.9999995, -179.9999995),
        (44.3862215, 40.2),
    ]
    coordinates += [(rng.uniform(-90, 90), rng.uniform(-180, 180)) for _ in range(300)]
    coordinates += [(round(rng.uniform(44, 53), 7), round(rng.uniform(22, 41), 7)) for _ in range(300)]
    phones = [
        "+380 (44) 123-45-67",
        "",
        "—",
        "javascript:alert(1)",
        "044 ٣٤٥",
        "+38 050 1",
        None,
        "тел. 0 800 500 335",
    ]
    tab = open_phone("390x844")
    tab.goto("/", loaded=False)
    found = tab.page.evaluate(
        """async ([coordinates, phones]) => {
          const d = await import('/static/js/directions.js');
          return [coordinates.map(([lat, lon]) => d.routeLinks(lat, lon)), phones.map((p) => d.telHref(p))];
        }""",
        [coordinates, phones],
    )
    assert found[0] == [route_links(lat, lon) for lat, lon in coordinates]
    assert found[1] == [tel_href(p) for p in phones]
    assert tel_href("javascript:alert(1)") == "tel:1" and tel_href("—") is None


def _assert_links(scope, point: dict[str, Any]) -> None:
    lat, lon = coordinate(point["lat"]), coordinate(point["lon"])
    assert scope.locator("a.action-geo").get_attribute("href") == f"geo:{lat},{lon}?q={lat},{lon}"
    osm = scope.locator("a.action-osm").get_attribute("href")
    assert osm == f"https://www.openstreetmap.org/directions?route=%3B{lat}%2C{lon}"
    google = scope.locator("a.action-google").get_attribute("href")
    assert google == f"https://www.google.com/maps/dir/?api=1&destination={lat},{lon}"
    call = scope.locator("a.action-call")
    if point.get("phone"):
        assert call.get_attribute("href") == "tel:" + re.sub(r"[^+0-9]", "", point["phone"])
    else:
        expect(call).to_have_count(0)


def test_results_point_page_and_list_carry_directions_and_call(open_phone, site: Site):
    by_id = {p["id"]: p for p in site.points}
    tab = open_phone("360x640", **_at(*BROVARY))
    page = tab.page
    tab.goto("/")
    _ask(tab, "near me")
    items = page.locator("#results li.result")
    phones = 0
    for i in range(NEAREST_K):
        point = by_id[items.nth(i).get_attribute("data-id")]
        phones += bool(point.get("phone"))
        _assert_links(items.nth(i), point)
    assert 0 < phones < NEAREST_K, "the seed gives some of them a phone, not all"
    for point in (
        next(p for p in site.points if p.get("phone")),
        next(p for p in site.points if not p.get("phone")),
    ):
        page.goto(site.url(f"/points/{point['id']}"))
        top = page.locator("main .actions").first
        _assert_links(top, point)
        assert top.bounding_box()["y"] + top.bounding_box()["height"] <= PHONES["360x640"][1], "at the top"
    page.goto(site.url(f"/list?lat={BROVARY[0]}&lon={BROVARY[1]}"))
    rows = page.locator("ol.results li.result")
    expect(rows).to_have_count(10)
    for i in range(10):
        name = rows.nth(i).locator("h3").inner_text()
        _assert_links(rows.nth(i), site.by_name[name])
    tab.guard.assert_clean(page)


def test_report_errors_and_429_answer_at_the_form(open_phone, site: Site):
    tab = open_phone("390x844")
    page = tab.page
    point = sorted(site.points, key=lambda p: p["id"])[0]
    page.goto(site.url(f"/points/{point['id']}?place={PLACE}"))

    def send(kind: str, service: str = "") -> int:
        form = page.locator("#report form")
        form.locator(f'input[name="kind"][value="{kind}"]').check()
        form.locator('select[name="service"]').select_option(service)
        with page.expect_navigation(), page.expect_response(lambda r: r.request.method == "POST") as sent:
            form.locator('button[type="submit"]').click()
        return sent.value.status

    def at_the_form(selector: str) -> None:
        expect(page).to_have_url(re.compile(r"#report$"))
        box = page.locator(selector).bounding_box()
        assert 0 <= box["y"] and box["y"] + box["height"] <= PHONES["390x844"][1], (selector, box)
        assert page.evaluate("window.scrollY") > 0, "the page scrolled down to the form"

    assert send("missing_service") == 400  # "no service", without saying which
    at_the_form("#report-service-error")
    # the map it came from is kept through the form, for "← До мапи"
    assert parse_qs(urlsplit(page.locator("a.back-link").get_attribute("href")).query) == {"place": [PLACE]}
    assert send("full") == 303
    at_the_form("#report [role=status]")
    assert send("closed") == 429
    at_the_form("#report .form-error")
    expect(page.locator("#report .form-error")).to_contain_text("Забагато повідомлень")
    tab.guard.assert_clean(page, allow_console=lambda text: "status of 4" in text)


def test_a_hostile_address_is_only_text(open_phone, site: Site):
    """The state read from the address is text: a name never runs, a bad place or id is ignored."""
    tab = open_phone("360x640")
    page = tab.page
    hostile = '<img src=x onerror=alert(1)>"'
    tab.goto("/?" + urlencode({"place": hostile, "point": '"><script>alert(2)</script>', "near": "1,2,3"}))
    expect(page.locator("#status-line")).to_have_text(
        f"Населений пункт «{hostile}» не знайдено. Спробуйте інше написання."
    )
    assert page.locator("#status-line img, .leaflet-popup").count() == 0
    page.goto(site.url("/points/" + site.points[0]["id"] + "?" + urlencode({"place": hostile, "evil": "1"})))
    back = page.locator("a.back-link").get_attribute("href")
    assert parse_qs(urlsplit(back).query) == {"place": [hostile]}  # only the map's own keys
    assert urlsplit(back).path == "/" and not urlsplit(back).netloc
    tab.guard.assert_clean(page)


def test_near_me_comes_back_from_the_address_without_asking_the_phone_again(open_phone, site: Site):
    tab = open_phone("390x844", **_at(*BROVARY))
    page = tab.page
    tab.goto("/")
    _ask(tab, "near me")
    names = tab.result_names()
    assert parse_qs(urlsplit(page.url).query) == {"near": [f"{BROVARY[0]:.5f},{BROVARY[1]:.5f}"]}
    page.context.clear_permissions()  # the answer comes from the address, not from geolocation
    page.reload()
    expect(page.locator("#map-app")).to_have_attribute("data-nearest", str(NEAREST_K))
    expect(page.locator("#results li.result h3")).to_have_text(names)
    assert page.evaluate("document.activeElement.id") == "results"
    tab.guard.assert_clean(page)
