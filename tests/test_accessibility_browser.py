"""WCAG 2.1 AA in a real browser (issue 7): axe-core on every public page, the widget and the console,
in both languages, and a keyboard walk through the map page and a console point page.

axe-core is vendored for the tests only (tests/vendor/, refreshed by tests/vendor/refresh.sh); its
checksum is checked before it is injected. Our CSP allows no inline script, so the axe runs use a
browser context with bypass_csp; the keyboard test runs under the real CSP.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from browser_support import (
    BROVARY,
    MAP_CENTER,
    MAP_ZOOM,
    NEAREST_K,
    STALE_HOURS,
    TILE_URL,
    Site,
    Tab,
    make_seed,
    open_guarded_tab,
    write_geojson,
)
from helpers import PASSWORD
from playwright.sync_api import Browser, Page, expect
from werkzeug.serving import make_server

from locator import create_app
from locator.model import Report, ReportKind

VENDOR = Path(__file__).parent / "vendor"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
BLOCKING = ("serious", "critical")  # fail on these; print the moderate and minor ones
OPERATOR, ADMIN = "olena", "admin"
SETTLEMENT = "Бровари"  # olena's scope


def axe_source() -> str:
    """The vendored axe.min.js, refused unless it matches the checksum we pinned."""
    expected = (VENDOR / "SHA256SUMS").read_text().split()[0]
    data = (VENDOR / "axe.min.js").read_bytes()
    assert hashlib.sha256(data).hexdigest() == expected, "tests/vendor/axe.min.js does not match SHA256SUMS"
    return data.decode("utf-8")


# -- a live server with a mobile point on its schedule, reports and two console users ---------------


@dataclass
class Seeded:
    site: Site
    mobile: dict[str, Any]  # has stops (one under way) and citizens' reports
    fixed: dict[str, Any]


@contextmanager
def serve_seeded(folder: Path, password_hash: str) -> Iterator[Seeded]:
    now = datetime.now(UTC).replace(microsecond=0)
    points = make_seed(now)
    mobile = next(p for p in sorted(points, key=lambda p: p["id"]) if p["settlement"] == SETTLEMENT
                  and p["kind"] == "mobile" and p["status"] == "open")
    fixed = next(p for p in sorted(points, key=lambda p: p["id"]) if p["settlement"] == SETTLEMENT
                 and p["kind"] == "fixed" and p["status"] == "open")

    def stop(place: str, lat: float, lon: float, starts: timedelta, ends: timedelta) -> dict[str, Any]:
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        return {"place": place, "lat": lat, "lon": lon, "starts_at": (now + starts).strftime(fmt),
                "ends_at": (now + ends).strftime(fmt)}

    mobile["stops"] = [
        stop("Бровари, площа Свободи", 50.5105, 30.7905, timedelta(hours=-1), timedelta(hours=2)),
        stop("Бровари, вокзал", 50.5060, 30.7760, timedelta(hours=3), timedelta(hours=6)),
    ]
    app = create_app(
        {
            "DATABASE": str(folder / "locator.db"),
            "SEED_FILE": str(write_geojson(points, folder / "points.geojson")),
            "TILE_URL": TILE_URL,
            "MAP_CENTER": MAP_CENTER,
            "MAP_ZOOM": MAP_ZOOM,
            "STALE_HOURS": STALE_HOURS,
        }
    )
    store = app.extensions["locator.store"]
    users = app.extensions["locator.users"]
    users.create(OPERATOR, password_hash, "operator", (), (SETTLEMENT,))
    users.create(ADMIN, password_hash, "admin")
    for kind, comment in ((ReportKind.CLOSED, "Зачинено з ранку"), (ReportKind.FULL, "")):
        store.reports.add(Report(mobile["id"], kind, comment=comment), source="a11y-test")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="a11y-browser-server", daemon=True)
    thread.start()
    try:
        yield Seeded(Site(f"http://127.0.0.1:{server.server_port}", points), mobile, fixed)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        store.close()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, password_hash: str) -> Iterator[Seeded]:
    with serve_seeded(tmp_path_factory.mktemp("a11y-site"), password_hash) as seeded:
        yield seeded


# -- axe -----------------------------------------------------------------------------------------

AXE_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}, iframes: false,
                                          resultTypes: ["violations"]});
  return result.violations.concat(result.incomplete.map((v) => ({...v, impact: "INCOMPLETE-" + v.impact}))).map((v) => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({target: n.target.join(" "), html: n.html.slice(0, 160),
                                 why: n.failureSummary}))}));
}"""


class Auditor:
    """Runs axe on pages of one context and keeps every violation by page and state."""

    def __init__(self, page: Page, source: str):
        self.page = page
        self.source = source
        self.found: dict[str, list[dict[str, Any]]] = {}

    def check(self, state: str) -> None:
        import time
        t0 = time.monotonic()
        if not self.page.evaluate("typeof window.axe !== 'undefined'"):
            self.page.add_script_tag(content=self.source)
        self.found[state] = self.page.evaluate(AXE_RUN, AXE_TAGS)
        print(f"TIME {state}: {time.monotonic() - t0:.2f}")

    def report(self) -> tuple[list[str], list[str]]:
        blocking, other = [], []
        for state, violations in self.found.items():
            for v in violations:
                lines = [f"{state}: [{v['impact']}] {v['id']}: {v['help']}"]
                lines += [f"    {n['target']}  {n['html']}\n      {n['why']}" for n in v["nodes"][:40]]
                (blocking if v["impact"] in BLOCKING else other).append("\n".join(lines))
        return blocking, other


def log_in(page: Page, site: Site, name: str) -> None:
    page.goto(site.url("/operator/login"))
    page.locator("#name").fill(name)
    page.locator("#password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(site.url("/operator/"))


def test_axe_finds_no_serious_violation_anywhere(browser: Browser, seeded: Seeded) -> None:
    site = seeded.site
    context, tab = open_guarded_tab(
        browser,
        site,
        bypass_csp=True,
        geolocation={"latitude": BROVARY[0], "longitude": BROVARY[1]},
        permissions=["geolocation"],
    )
    page = tab.page
    axe = Auditor(page, axe_source())
    try:
        for lang in ("uk", "en"):
            tab.goto(f"/?lang={lang}")
            axe.check(f"map ({lang})")
            tab.open_filters()
            if lang == "uk":
                page.click("#near-me")
            else:  # Chromium answers one geolocation request per context quickly; search the other time
                page.fill("#search-input", "Brovary")
                page.press("#search-input", "Enter")
            expect(page.locator("#map-app")).to_have_attribute("data-nearest", str(NEAREST_K))
            page.locator("#results li.result button").first.click()
            expect(page.locator(".leaflet-popup-content .popup")).to_be_visible()
            axe.check(f"map, filters + nearest + popup ({lang})")
            for path, state in (
                ("/list", "list, empty"),
                (f"/list?place={SETTLEMENT}", "list, results"),
                ("/list?place=Бро", "list, pick a place"),
                ("/list?place=Немаєтакогомісця", "list, not found"),
                (f"/points/{seeded.fixed['id']}", "point"),
                (f"/points/{seeded.mobile['id']}", "mobile point"),
                ("/api", "api"),
                ("/embed", "embed"),
                ("/embed/builder", "builder"),
                ("/no/such/page", "404"),
                ("/operator/login", "console login"),
            ):
                page.goto(site.url(f"{path}{'&' if '?' in path else '?'}lang={lang}"))
                if path == "/embed":
                    expect(page.locator("#map-app")).to_have_attribute("data-loaded", "true")
                axe.check(f"{state} ({lang})")
        page.goto(site.url(f"/points/{seeded.fixed['id']}?lang=uk"))
        form = page.locator("#report form")
        form.locator('input[name="kind"][value="missing_service"]').check()
        with page.expect_navigation():
            form.locator('button[type="submit"]').click()
        expect(page.locator("#report .form-error")).to_be_visible()
        axe.check("point, report error")

        log_in(page, site, OPERATOR)
        axe.check("console, my points")
        page.goto(site.url(f"/operator/points/{seeded.mobile['id']}"))
        axe.check("console, point with reports and schedule")
        page.goto(site.url(f"/operator/points/{seeded.mobile['id']}/edit"))
        page.locator("#f-name").fill("")
        page.locator("#f-lat").fill("north")
        with page.expect_navigation():
            page.locator("form.edit-form button[type=submit]").click()
        axe.check("console, edit with errors")
        page.goto(site.url(f"/operator/points/{seeded.mobile['id']}/history"))
        axe.check("console, history")
        log_in(page, site, ADMIN)
        page.goto(site.url("/operator/import"))
        axe.check("console, import")
    finally:
        context.close()
    blocking, other = axe.report()
    print("\n".join(["", f"axe: {len(axe.found)} page states checked", *other]))
    assert not blocking, "\n" + "\n".join(blocking)
