"""WCAG 2.1 AA in a real browser (issue 7): axe-core on every public page and state, the widget and
the console, in Ukrainian and English; and a keyboard walk through the map page and a console point.

axe-core is vendored for the tests only (tests/vendor/, refreshed by tests/vendor/refresh.sh); its
checksum is checked before use. Our CSP allows no inline script, so the axe runs use a browser
context with bypass_csp (the only thing that differs); the keyboard tests run under the real CSP,
guarded like every browser test (no console errors, CSP violations or third-party requests).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from browser_support import (
    BROVARY,
    NEAREST_K,
    THE_MAP,
    Site,
    make_seed,
    open_guarded_tab,
    serve,
)
from helpers import PASSWORD
from playwright.sync_api import Browser, Page, expect

from locator.domain.reports import Report, ReportKind

VENDOR = Path(__file__).parent / "vendor"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")  # a WCAG violation of this impact fails; the rest are printed
OPERATOR, ADMIN = "olena", "admin"
SETTLEMENT = "Бровари"  # olena's scope
# Tall enough that the map page's panel does not scroll: axe cannot judge the contrast of text that
# its scrolling box hides, and would only call it "incomplete".
AUDIT_VIEWPORT = {"width": 1280, "height": 1500}
AT_BROVARY = {
    "geolocation": {"latitude": BROVARY[0], "longitude": BROVARY[1]},
    "permissions": ["geolocation"],
}


def axe_source() -> str:
    """The vendored axe.min.js, refused unless it matches the checksum pinned beside it."""
    expected = (VENDOR / "SHA256SUMS").read_text().split()[0]
    data = (VENDOR / "axe.min.js").read_bytes()
    assert hashlib.sha256(data).hexdigest() == expected, "tests/vendor/axe.min.js does not match SHA256SUMS"
    return data.decode("utf-8")


# -- a live server: a mobile point on its schedule with citizens' reports, two console users -----


@dataclass
class Seeded:
    site: Site
    mobile: dict[str, Any]  # two stops (one under way) and two open reports
    fixed: dict[str, Any]


def _first(points: list[dict[str, Any]], **wanted: Any) -> dict[str, Any]:
    return next(
        p
        for p in sorted(points, key=lambda p: p["id"])
        if p["settlement"] == SETTLEMENT and all(p[k] == v for k, v in wanted.items())
    )


def _stop(place: str, lat: float, lon: float, starts: datetime, ends: datetime) -> dict[str, Any]:
    iso = "%Y-%m-%dT%H:%M:%SZ"
    return {
        "place": place,
        "lat": lat,
        "lon": lon,
        "starts_at": starts.strftime(iso),
        "ends_at": ends.strftime(iso),
    }


@contextmanager
def serve_seeded(folder: Path, password_hash: str) -> Iterator[Seeded]:
    """browser_support.serve, plus what the console's richest page shows."""
    now = datetime.now(UTC).replace(microsecond=0)
    points = make_seed(now)
    mobile = _first(points, kind="mobile", status="open")
    fixed = _first(points, kind="fixed", status="open")
    hour = timedelta(hours=1)
    mobile["stops"] = [
        _stop("Бровари, площа Свободи", 50.5105, 30.7905, now - hour, now + 2 * hour),
        _stop("Бровари, вокзал", 50.5060, 30.7760, now + 3 * hour, now + 6 * hour),
    ]
    with serve(folder, points) as site:
        store = site.app.extensions["locator.store"]
        users = site.app.extensions["locator.users"]
        users.create(OPERATOR, password_hash, "operator", (), (SETTLEMENT,))
        users.create(ADMIN, password_hash, "admin")
        store.reports.add(
            Report(mobile["id"], ReportKind.CLOSED, comment="Зачинено з ранку"), source="a11y-1"
        )
        store.reports.add(Report(mobile["id"], ReportKind.FULL), source="a11y-2")
        yield Seeded(site, mobile, fixed)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, password_hash: str) -> Iterator[Seeded]:
    with serve_seeded(tmp_path_factory.mktemp("a11y-site"), password_hash) as seeded:
        yield seeded


def log_in(page: Page, site: Site, name: str) -> None:
    page.goto(site.url("/operator/login"))
    page.locator("#name").fill(name)
    page.locator("#password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(site.url("/operator/"))


# -- axe -----------------------------------------------------------------------------------------

# Leaflet gives tiles `mix-blend-mode: plus-lighter`, which axe's colour maths does not know: its
# contrast rule then throws and skips the whole page (Leaflet/Leaflet#9699). Tiles hold no text.
TILE_BLEND_FIX = ".leaflet-container img.leaflet-tile { mix-blend-mode: normal !important; }"
POPUP_SHOWN = "() => getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'"
AXE_RUN = """async (wcagTags) => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: wcagTags.concat(["best-practice"])},
    iframes: false,  // the builder's preview is the widget, checked on its own
    resultTypes: ["violations"],
  });
  const checks = (node) => node.any.concat(node.all, node.none);
  return {
    violations: result.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, wcag: v.tags.some((tag) => wcagTags.includes(tag)),
      nodes: v.nodes.map((n) => ({target: n.target.join(" "), html: n.html.slice(0, 160),
                                   why: (n.failureSummary || "").replace(/\\s+/g, " ")})),
    })),
    // a rule that threw checked nothing: that must not pass for "no violation"
    errors: result.incomplete
      .filter((v) => v.nodes.some((n) => checks(n).some((c) => c.data && c.data.stack)))
      .map((v) => v.id),
  };
}"""


class Auditor:
    """Runs axe on the pages one page object visits and keeps what it finds by page state."""

    def __init__(self, page: Page):
        self.page = page
        self.source = axe_source()
        self.found: dict[str, dict[str, Any]] = {}

    def check(self, state: str) -> None:
        page = self.page
        if page.locator(".leaflet-container").count():
            page.add_style_tag(content=TILE_BLEND_FIX)
        if not page.evaluate("typeof window.axe === 'object'"):
            page.add_script_tag(content=self.source)
        self.found[state] = page.evaluate(AXE_RUN, WCAG_TAGS)

    def blocking(self) -> list[str]:
        return self._lines(lambda v: v["wcag"] and v["impact"] in BLOCKING)

    def others(self) -> list[str]:
        return self._lines(lambda v: not (v["wcag"] and v["impact"] in BLOCKING))

    def errors(self) -> list[str]:
        return [f"{state}: {rule}" for state, found in self.found.items() for rule in found["errors"]]

    def _lines(self, wanted) -> list[str]:
        lines = []
        for state, found in self.found.items():
            for v in filter(wanted, found["violations"]):
                lines.append(
                    f"{state}: [{v['impact']}] {v['id']} ({'WCAG' if v['wcag'] else 'best practice'})"
                )
                lines += [f"    {n['target']}  {n['html']}  {n['why']}" for n in v["nodes"][:8]]
        return lines


def test_axe_finds_no_serious_wcag_violation_on_any_page_or_state(browser: Browser, seeded: Seeded) -> None:
    site, mobile, fixed = seeded.site, seeded.mobile["id"], seeded.fixed["id"]
    context, tab = open_guarded_tab(browser, site, bypass_csp=True, viewport=AUDIT_VIEWPORT, **AT_BROVARY)
    page = tab.page
    axe = Auditor(page)

    def visit(path: str, state: str) -> None:
        page.goto(site.url(path))
        if page.locator("#map-app").count():
            expect(page.locator("#map-app")).to_have_attribute("data-loaded", "true")
        axe.check(state)

    try:
        for lang in ("uk", "en"):
            tab.goto(f"/?lang={lang}")
            axe.check(f"map ({lang})")
            tab.open_filters()
            if lang == "uk":
                page.click("#near-me")
            else:  # the search, the other way to the nearest list
                page.fill("#search-input", "Brovary")
                page.press("#search-input", "Enter")
            expect(page.locator("#map-app")).to_have_attribute("data-nearest", str(NEAREST_K))
            page.locator("#results li.result button").first.click()
            expect(page.locator(".leaflet-popup-content .popup")).to_be_visible()
            page.wait_for_function(POPUP_SHOWN)  # faded in: axe reads the colours as they are now
            axe.check(f"map: filters open, nearest list, a popup ({lang})")
            visit(f"/list?place={SETTLEMENT}&lang={lang}", f"list with results ({lang})")
            visit(f"/points/{mobile}?lang={lang}", f"mobile point page ({lang})")
            visit(f"/embed?lang={lang}", f"widget ({lang})")
            visit(f"/no/such/page?lang={lang}", f"404 ({lang})")
            visit(f"/operator/login?lang={lang}", f"console login ({lang})")
        visit("/list", "list, empty")
        visit("/list?place=Бро", "list, pick a place")
        visit("/list?place=Немаєтакогомісця", "list, not found")
        visit(f"/points/{fixed}", "point page")
        form = page.locator("#report form")
        form.locator('input[name="kind"][value="missing_service"]').check()
        with page.expect_navigation():
            form.locator('button[type="submit"]').click()
        expect(page.locator("#report .form-error")).to_be_visible()
        axe.check("point page, report refused")
        visit("/api", "API page")
        visit("/embed/builder", "widget builder")

        log_in(page, site, OPERATOR)
        axe.check("console: my points")
        visit(f"/operator/points/{mobile}", "console: point with reports queue and schedule")
        visit(f"/operator/points/{mobile}/edit", "console: edit form")
        page.locator("#f-name").fill("")
        page.locator("#f-lat").fill("north")
        with page.expect_navigation():
            page.locator("form.edit-form button[type=submit]").click()
        expect(page.locator(".field-error").first).to_be_visible()
        axe.check("console: edit form with errors")
        visit(f"/operator/points/{mobile}/history", "console: history")
        log_in(page, site, ADMIN)
        visit("/operator/import", "console: import")
        tab.guard.assert_clean(
            page, allow_console=lambda text: "status of 404" in text or "status of 400" in text
        )
    finally:
        context.close()

    print(
        "\n".join(
            [f"\naxe-core: {len(axe.found)} page states, WCAG 2.0/2.1 A+AA and best practice", *axe.others()]
        )
    )
    assert not axe.errors(), f"axe rules that threw and checked nothing: {axe.errors()}"
    assert not axe.blocking(), "\n" + "\n".join(axe.blocking())


# -- keyboard ------------------------------------------------------------------------------------

# Every control a keyboard must reach: visible, focusable, not inside a closed <details> (its
# summary is the control then). Each is tagged, so the walk can tell which ones it met.
TAG_CONTROLS = """(skip) => {
  const all = document.querySelectorAll(
    "a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]");
  const wanted = [...all].filter((el) => {
    const native = el.matches("a[href], button, input, select, textarea, summary");
    if ((!native && el.tabIndex < 0) || el.disabled || (skip && el.closest(skip))) return false;
    const closed = el.closest("details:not([open])");
    if (closed && el !== closed.querySelector(":scope > summary")) return false;
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.height > 0 && getComputedStyle(el).visibility !== "hidden";
  });
  wanted.forEach((el, i) => { el.dataset.kb = String(i); });
  return wanted.map((el) => el.outerHTML.slice(0, 100));
}"""
# What has the focus, and whether a sighted user can see where it is.
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const ring = (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2)
               || style.boxShadow !== "none";
  return {key: el.dataset.kb ?? null, html: el.outerHTML.slice(0, 100),
          visible: el.matches(":focus-visible") && ring,
          cls: el.className && el.className.baseVal === undefined ? el.className : ""};
}"""


# The map has stopped moving at a zoom of at least `arg`, and its markers are drawn again.
MAP_SETTLED = f"""(zoom) => {{
  const map = {THE_MAP};
  return map.getZoom() >= zoom && !map._animatingZoom && !(map._panAnim && map._panAnim._inProgress)
    && !document.querySelector('.leaflet-zoom-anim, .leaflet-cluster-anim');
}}"""


def tab_through(page: Page, limit: int) -> list[dict[str, Any]]:
    """Press Tab from the top of the page until focus leaves it (or `limit` presses)."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    seen: list[dict[str, Any]] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None:
            break
        if not seen or focused["html"] != seen[-1]["html"]:  # a date field's parts keep the focus
            seen.append(focused)
    return seen


def assert_all_reached_with_visible_focus(page: Page, skip: str | None, limit: int) -> list[dict[str, Any]]:
    controls = page.evaluate(TAG_CONTROLS, skip)
    walk = tab_through(page, limit)
    reached = {f["key"] for f in walk}
    missed = [html for i, html in enumerate(controls) if str(i) not in reached]
    assert not missed, f"not reachable with Tab: {missed}"
    hidden = [f["html"] for f in walk if not f["visible"]]
    assert not hidden, f"focus not visible on: {hidden}"
    return walk


def test_map_page_works_from_the_keyboard_alone(browser: Browser, seeded: Seeded) -> None:
    site = seeded.site
    context, tab = open_guarded_tab(browser, site, **AT_BROVARY)
    page = tab.page
    try:
        tab.goto("/")
        walk = assert_all_reached_with_visible_focus(page, skip=".leaflet-container", limit=40)
        assert "skip-link" in walk[0]["cls"], walk[0]
        # Leaflet's buttons and the clusters have names in the page's language, not "Zoom in" or "46".
        expect(page.locator(".leaflet-control-zoom-in")).to_have_attribute("aria-label", "Наблизити")
        expect(page.locator(".leaflet-control-zoom-out")).to_have_attribute("aria-label", "Віддалити")
        cluster = page.get_by_role("button", name=re.compile(r"^\d+ пункт(и|ів)? тут: наблизити$"))
        expect(cluster.first).to_be_visible()
        assert any("leaflet-marker-icon" in f["cls"] for f in walk), "no marker or cluster took the focus"

        # The skip link leads past the header to the search; a name and Enter give the nearest list.
        page.evaluate("document.activeElement && document.activeElement.blur()")
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
        expect(page.locator("#search-input")).to_be_focused()
        page.keyboard.type(SETTLEMENT)
        page.keyboard.press("Enter")
        expect(page.locator("#map-app")).to_have_attribute("data-nearest", str(NEAREST_K))
        expect(page.locator("#status-line")).to_contain_text(SETTLEMENT)

        # "Near me" from the keyboard; then a point's page through the list, without the map.
        page.locator("#near-me").focus()
        page.keyboard.press("Enter")
        expect(page.locator("#status-line")).to_have_text(re.compile("до вас"))
        first = page.locator("#results li.result h3 a").first
        name = first.inner_text()
        for _ in range(12):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.matches('#results li.result h3 a')"):
                break
        expect(first).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.locator("h1")).to_have_text(name)

        # On the map: Tab to a marker (Enter on a cluster zooms in and leaves the focus on the map),
        # Enter opens its popup with the focus inside, Escape closes it and gives the focus back.
        tab.goto("/")
        page.locator("#near-me").focus()
        page.keyboard.press("Enter")
        expect(page.locator("#map-app")).to_have_attribute("data-nearest", str(NEAREST_K))
        page.wait_for_function(MAP_SETTLED, arg=0)  # fitted to the list, markers redrawn
        page.locator(".leaflet-container").first.focus()
        marker = None
        for _ in range(80):
            page.keyboard.press("Tab")
            focused = page.evaluate(FOCUSED)
            assert focused and focused["visible"], focused
            if "marker-cluster" in focused["cls"]:
                zoom = tab.map_eval("return map.getZoom();")
                page.keyboard.press("Enter")
                page.wait_for_function(MAP_SETTLED, arg=zoom + 0.5)
                expect(page.locator(".leaflet-container").first).to_be_focused()
            elif "leaflet-marker-icon" in focused["cls"]:
                marker = page.evaluate("document.activeElement.title")
                break
        assert marker, "Tab never reached a point's marker"
        page.keyboard.press("Enter")
        popup = page.locator(".leaflet-popup-content .popup")
        # a point's marker is titled "name — status", a numbered result's "1. name"
        expect(popup.locator("h3")).to_have_text(re.sub(r"^\d+\. ", "", marker.split(" — ")[0]))
        expect(popup.locator("a").first).to_be_focused()
        expect(page.locator(".leaflet-popup-close-button")).to_have_attribute("aria-label", "Закрити")
        assert page.evaluate(FOCUSED)["visible"]
        page.keyboard.press("Escape")
        expect(popup).to_have_count(0)
        assert page.evaluate("document.activeElement.title") == marker
        tab.guard.assert_clean(page)
    finally:
        context.close()


def test_console_point_page_works_from_the_keyboard_alone(browser: Browser, seeded: Seeded) -> None:
    site = seeded.site
    context, tab = open_guarded_tab(browser, site)
    page = tab.page
    try:
        page.goto(site.url("/operator/login"))
        expect(page.locator("#name")).to_be_focused()  # autofocus
        page.keyboard.type(OPERATOR)
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        expect(page).to_have_url(site.url("/operator/"))
        page.goto(site.url(f"/operator/points/{seeded.mobile['id']}"))
        walk = assert_all_reached_with_visible_focus(page, skip=None, limit=150)
        names = " ".join(f["html"] for f in walk)
        for control in ('value="closed"', "Відхилити повідомлення", 'id="stop-place"', "Додати зупинку"):
            assert control in names, control
        tab.guard.assert_clean(page)
    finally:
        context.close()
