"""Offline, the map judges opening hours at the moment of viewing (issue 17): after one online
visit the service worker keeps the hours library, and with no connection, at a Sunday evening on
the page's clock, "near me" from the snapshot leaves out the point closed by its hours and its
popup says when it opens."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from browser_support import BROVARY, write_geojson
from helpers import make_record
from playwright.sync_api import Browser, expect
from pwa_support import LiveSite, open_context, serve_site

from locator.domain.hours import KYIV

SUNDAY_EVENING = datetime(2026, 12, 6, 21, 33, tzinfo=KYIV)
LAT, LON = BROVARY
POINTS = [
    make_record("lyceum", name="Ліцей №13", lat=LAT, lon=LON + 0.001, opening_hours="Mo-Fr 09:00-18:00"),
    make_record("night", name="Нічний пункт", lat=LAT + 0.01, lon=LON, opening_hours="Mo-Su 20:00-08:00"),
    make_record("nohours", name="Пункт без графіка", lat=LAT - 0.02, lon=LON),
]
CONTROLLED = "() => navigator.serviceWorker.controller !== null"
# wait_for_function does not await a promise: each poll starts a look and reads the last one.
LIBRARY_KEPT = """() => {
  caches.keys()
    .then((names) => Promise.all(names.map((name) => caches.open(name).then((c) => c.keys()))))
    .then((lists) => {
      const paths = lists.flat().map((request) => new URL(request.url).pathname);
      window.__kept = paths.includes('/static/vendor/opening_hours/opening_hours.js')
        && paths.includes('/static/vendor/suncalc/suncalc.js') && paths.includes('/static/js/hours.js');
    });
  return window.__kept === true;
}"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    folder = tmp_path_factory.mktemp("hours-offline")
    with serve_site(folder, write_geojson(POINTS, folder / "points.geojson")) as site:
        yield site


def test_offline_the_map_judges_hours_at_the_moment_shown(browser: Browser, site: LiveSite) -> None:
    context, page, watch = open_context(
        browser, site, geolocation={"latitude": LAT, "longitude": LON}, permissions=["geolocation"]
    )
    try:
        page.clock.set_fixed_time(SUNDAY_EVENING)
        page.goto(site.url("/"))
        expect(page.locator("#map-app")).to_have_attribute("data-hours", "ready")
        page.wait_for_function(CONTROLLED)
        page.wait_for_function(LIBRARY_KEPT)

        context.set_offline(True)
        page.reload()
        expect(page.locator("#offline-banner")).to_be_visible()
        expect(page.locator("#map-app")).to_have_attribute("data-hours", "ready")
        page.click("#near-me")
        expect(page.locator("#map-app")).to_have_attribute("data-nearest", "2")
        names = page.locator("#results li.result h3").all_inner_texts()
        assert names == ["Нічний пункт", "Пункт без графіка"]  # the lyceum, nearest, is closed now
        lines = page.locator("#results li.result .hours-line").all_inner_texts()
        assert lines == ["Відчинено за графіком, зачиниться у понеділок о 08:00", "Графік не вказано"]
        assert not watch.page_errors and not watch.foreign
    finally:
        context.close()
