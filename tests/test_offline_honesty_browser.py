"""Offline must not mislead (issue 17, part 4), in a real Chromium with its service worker.

- An offline /list answer is only ever the answer to the question asked: another place's saved
  answer is never given in its stead; a kept answer says when it was saved.
- Point pages the citizen visited, and those the map listed as nearest, are kept (phone included).
- The map page is kept per language.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from browser_support import BROVARY, NEAREST_K, make_seed, write_geojson
from playwright.sync_api import Browser, Page, expect
from pwa_support import LiveSite, open_context, serve_site

from locator.search.transliteration import key, loose, script

CONTROLLED = "() => navigator.serviceWorker.controller !== null"
# Each poll starts a look at the data cache and reads the previous look's answer.
KEPT_PATHS = """(paths) => {
  caches.open('poi-data').then((cache) => cache.keys()).then((kept) => {
    const have = new Set(kept.map((request) => request.url));
    window.__keptAll = paths.every((path) => have.has(new URL(path, location.origin).href));
  });
  return window.__keptAll === true;
}"""
LAST_LANGUAGE_IS = """(lang) => {
  caches.match('/__poi/last-language').then((r) => r && r.text()).then((text) => { window.__last = text; });
  return window.__last === lang;
}"""
BROVARY_LIST = "/list?" + urlencode({"place": "Бровари"})
KYIV_LIST = "/list?" + urlencode({"place": "Київ"})
PHONE = "+380 44 123 45 67"


@pytest.fixture(scope="module")
def points() -> list[dict]:
    seed = make_seed(datetime.now(UTC))
    for record in seed:
        record["phone"] = PHONE
    return seed


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, points: list[dict]) -> Iterator[LiveSite]:
    folder = tmp_path_factory.mktemp("offline-honesty")
    with serve_site(folder, write_geojson(points, folder / "points.geojson")) as site:
        yield site


def _first_visit(page: Page, site: LiveSite, path: str = "/") -> None:
    page.goto(site.url(path))
    expect(page.locator("#map-app")).to_have_attribute("data-loaded", "true")
    page.wait_for_function(CONTROLLED)


def test_offline_list_answers_only_the_question_asked(browser: Browser, site: LiveSite) -> None:
    context, page, watch = open_context(browser, site)
    try:
        _first_visit(page, site)
        page.goto(site.url(BROVARY_LIST))
        expect(page.locator("ol.results li")).not_to_have_count(0)
        page.wait_for_function(KEPT_PATHS, arg=[BROVARY_LIST])
        assert page.locator(".offline-note").count() == 0  # online: no note

        context.set_offline(True)
        response = page.goto(site.url(KYIV_LIST))
        assert response is not None and response.from_service_worker
        expect(page.locator("[role=alert]")).to_have_text("Немає збереженої відповіді для «Київ».")
        assert page.locator("ol.results").count() == 0  # never Бровари's answer for Київ
        saved = page.locator("main ul a")
        expect(saved).to_have_text(["Бровари"])
        saved.first.click()  # the kept answer, saying when it was saved
        expect(page.locator(".offline-note")).to_have_text(re.compile(r"^Офлайн: збережено .*\d\d:\d\d$"))
        expect(page.locator("ol.results li")).not_to_have_count(0)
        assert "Бровари" in page.locator("h1").inner_text()
        # the asked place is text, never HTML, in the page the worker writes
        hostile = '<img src=x onerror="document.title=1">"\'&'
        page.goto(site.url("/list?" + urlencode({"place": hostile})))
        expect(page.locator("[role=alert]")).to_have_text(f"Немає збереженої відповіді для «{hostile}».")
        assert page.locator("main img").count() == 0 and page.title() == "Немає зв'язку"
        assert not watch.page_errors and not watch.foreign
    finally:
        context.close()


def test_point_pages_listed_as_nearest_or_visited_are_kept(
    browser: Browser, site: LiveSite, points: list[dict]
) -> None:
    context, page, watch = open_context(
        browser,
        site,
        geolocation={"latitude": BROVARY[0], "longitude": BROVARY[1]},
        permissions=["geolocation"],
    )
    try:
        _first_visit(page, site)
        page.click("#near-me")
        expect(page.locator("#map-app")).to_have_attribute("data-nearest", str(NEAREST_K))
        links = page.locator("#results li.result h3 a")
        listed = [links.nth(i).get_attribute("href") for i in range(links.count())]
        assert len(listed) == NEAREST_K
        page.wait_for_function(KEPT_PATHS, arg=listed)
        others = [p["id"] for p in points if f"/points/{p['id']}" not in listed]
        visited = f"/points/{others[0]}"
        page.goto(site.url(visited))
        page.wait_for_function(KEPT_PATHS, arg=[visited])

        context.set_offline(True)
        for path in [*listed, visited]:
            response = page.goto(site.url(path))
            assert response is not None and response.from_service_worker, path
            expect(page.locator(".offline-note")).to_contain_text("Офлайн: збережено")
            expect(page.locator(f'a[href="tel:{PHONE.replace(" ", "")}"]').first).to_be_attached()
        never = f"/points/{others[1]}"
        page.goto(site.url(never))
        expect(page.locator("[role=alert]")).to_have_text("Ця сторінка не збережена для роботи без зв'язку.")
        assert not watch.page_errors and not watch.foreign
    finally:
        context.close()


def test_the_map_page_is_kept_per_language(browser: Browser, site: LiveSite) -> None:
    context, page, watch = open_context(browser, site)
    try:
        _first_visit(page, site)  # installs the worker; it keeps the page in the browser's language
        for lang in ("en", "uk"):  # the reader reads in English, then in Ukrainian
            _first_visit(page, site, f"/?lang={lang}")
            page.wait_for_function(LAST_LANGUAGE_IS, arg=lang)
        context.set_offline(True)
        for path, lang in (("/?lang=en", "en"), ("/?lang=uk", "uk"), ("/", "uk")):
            response = page.goto(site.url(path))
            assert response is not None and response.from_service_worker, path
            assert page.get_attribute("html", "lang") == lang, path
        context.set_offline(False)
        _first_visit(page, site, "/?lang=en")  # the reader switched back: "/" offline is English
        page.wait_for_function(LAST_LANGUAGE_IS, arg="en")
        context.set_offline(True)
        page.goto(site.url("/"))
        assert page.get_attribute("html", "lang") == "en"
        expect(page.locator("#map-app")).to_have_attribute("data-loaded", "true")
        assert not watch.page_errors and not watch.foreign
    finally:
        context.close()


LATIN_KEYS = """async (queries) => {
  const offline = await import('/static/js/offline.js');
  return queries.map((query) => offline.latinKeys(query));
}"""


def test_the_snapshot_carries_latin_keys_and_the_page_reads_queries_as_the_server(
    browser: Browser, site: LiveSite
) -> None:
    """static/js/offline.js latinKeys is transliteration.py's key and loose, on Latin queries."""
    rng = random.Random(17)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFXYZ -'’.0123456789ąčęėįšųūžłøđıæœðéüö"
    queries = ["Brovary", "BILA-Tserkva", "Vinnitsa", "Łódź", "Zaporizhzhia", "Ærø", "Čop", "o'clock"]
    queries += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 14))) for _ in range(300)]
    queries = [q for q in queries if script(q) == "latin"]
    context, page, _ = open_context(browser, site)
    try:
        _first_visit(page, site)
        got = page.evaluate(LATIN_KEYS, queries)
        assert got == [[key(q), loose(key(q))] for q in queries]
        data = page.evaluate(
            "async () => (await (await fetch('/api/v1/points?format=compact')).json()).latin"
        )
        assert data["Бровари"] == ["brovary", "brovar"] and data["Київ"] == [key("Київ"), loose(key("Київ"))]
    finally:
        context.close()


def test_offline_search_finds_latin_names(browser: Browser, site: LiveSite) -> None:
    context, page, watch = open_context(browser, site)
    try:
        _first_visit(page, site)
        context.set_offline(True)
        page.reload()
        expect(page.locator("#offline-banner")).to_be_visible()
        answers = {}
        for query in ("бровари", "Brovary", "brovari"):
            page.fill("#search-input", query)
            page.click("#search-form button[type=submit]")
            expect(page.locator("#results li.result")).not_to_have_count(0)
            expect(page.locator("#status-line")).to_contain_text("Бровари")
            answers[query] = page.locator("#results li.result h3").all_inner_texts()
        assert answers["Brovary"] == answers["бровари"] == answers["brovari"]
        assert not watch.page_errors
    finally:
        context.close()
