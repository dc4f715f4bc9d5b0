"""Offline, "near me" orders the kept points as the server does (domain/trust.py): the page's own
nearestHere (static/js/offline.js) against the API's answer, on random points and places, in a
real Chromium; and each result shows its mark."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from browser_support import Site, Tab, open_guarded_tab, serve
from helpers import random_record
from playwright.sync_api import Browser

from locator.domain.point import format_time
from locator.domain.reports import Report, ReportKind

SEED = 20261207
POINTS = 300
QUERIES = 60
KYIV = (50.45, 30.52)
SPREAD = 0.15  # degrees: a city and its edge, so trust and distance trade places often
STALE_HOURS = 12
BOUNDARY_GAP = timedelta(minutes=10)  # no age this close to the stale limit: the test's own clock ticks

# The map page's own modules, on the page's decoded points, as the offline map calls them.
RANK_HERE = """async (queries) => {
  const points = await import('/static/js/points.js');
  const offline = await import('/static/js/offline.js');
  const settings = JSON.parse(document.getElementById('map-app').dataset.settings);
  const table = points.decodeTable(await (await fetch(settings.pointsUrl)).json());
  const app = {settings: settings, form: document.getElementById('filters'), points: table.points};
  const answers = [];
  for (const [lat, lon] of queries) {
    const here = offline.nearestHere(app, lat, lon, 5).map((f) => [f.properties.id, f.properties.trust]);
    const url = settings.nearestUrl + '?lat=' + lat + '&lon=' + lon + '&k=5';
    const online = (await (await fetch(url)).json()).features.map((f) => [f.id, f.properties.trust]);
    const plain = (await (await fetch(url + '&order=distance')).json()).features.map((f) => f.id);
    answers.push({here: here, online: online, plain: plain});
  }
  return answers;
}"""


def _records(rng: random.Random, now: datetime) -> list[dict]:
    records = []
    limit = timedelta(hours=STALE_HOURS)
    for i in range(POINTS):
        lat = KYIV[0] + rng.uniform(-SPREAD, SPREAD)
        lon = KYIV[1] + rng.uniform(-SPREAD, SPREAD)
        record = random_record(rng, f"t{i:04d}", lat, lon)
        age = timedelta(minutes=rng.randrange(1, 3 * STALE_HOURS * 60))
        if abs(age - limit) < BOUNDARY_GAP:
            age += 2 * BOUNDARY_GAP
        record.update(verified_at=format_time(now - age), updated_at=format_time(now - age), stops=[])
        records.append(record)
    return records


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    rng = random.Random(SEED)
    records = _records(rng, datetime.now(UTC))
    config = {"REPORTS_TO_UNCONFIRM": 1, "REPORT_DISTINCT_SENDERS": False, "STALE_HOURS": STALE_HOURS}
    with serve(tmp_path_factory.mktemp("ranking"), records, **config) as site:
        reports = site.app.extensions["locator.store"].reports
        for record in rng.sample(records, POINTS // 6):
            reports.add(Report(record["id"], ReportKind.CLOSED), source=f"net-{record['id']}")
        yield site


@pytest.fixture
def tab(browser: Browser, site: Site) -> Iterator[Tab]:
    context, tab = open_guarded_tab(browser, site)
    try:
        tab.goto("/")
        yield tab
        tab.guard.assert_clean(tab.page)
    finally:
        context.close()


def test_offline_near_me_ranks_as_the_server_does(tab: Tab):
    rng = random.Random(SEED + 1)
    queries = [
        (round(KYIV[0] + rng.uniform(-SPREAD, SPREAD), 6), round(KYIV[1] + rng.uniform(-SPREAD, SPREAD), 6))
        for _ in range(QUERIES)
    ]
    answers = tab.page.evaluate(RANK_HERE, queries)
    marks = set()
    reordered = 0
    for query, answer in zip(queries, answers, strict=True):
        assert answer["here"] == answer["online"], query
        marks.update(trust for _, trust in answer["online"])
        reordered += [point_id for point_id, _ in answer["online"]] != answer["plain"]
    # The data really exercises the rule: every mark occurs, and trust often changes the order.
    assert marks == {"fresh", "stale", "reported_closed"}
    assert reordered >= QUERIES // 4, reordered


def test_each_near_me_result_shows_why_it_is_there(tab: Tab, site: Site):
    """A doubtful result says so in words; the heading says how the list is ordered."""
    page = tab.page
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": KYIV[0], "longitude": KYIV[1]})
    page.locator("#near-me").click()
    page.wait_for_function("() => document.getElementById('map-app').dataset.nearest === '5'")
    results = page.locator(".result")
    texts = results.all_inner_texts()
    body = page.evaluate(
        "async (url) => (await (await fetch(url)).json()).features.map((f) => f.properties.trust)",
        f"/api/v1/nearest?lat={KYIV[0]}&lon={KYIV[1]}&k=5",
    )
    words = {"stale": "Статус давній", "reported_closed": "Громадяни повідомили", "never_confirmed": "ще не"}
    for text, trust in zip(texts, body, strict=True):
        if trust in words:
            assert words[trust] in text, (trust, text)
    assert "Спершу свіжо підтверджені" in page.locator("#map-app").inner_text()
