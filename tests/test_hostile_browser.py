"""Hostile text in every field, on every page that shows it, in a real headless browser (issue 9).

A corpus of script-injection strings goes into every text field a point can carry, a report's
comment, a stop's place and a user's name; then each page that shows them is loaded in Chromium.
Each payload tries to set window.__pwned and to fetch /__beacon/<tag> from this very server (so
no CSP rule of ours would stop the request): neither may happen, no dialog may open, no CSP
violation may be reported, and the exact string must show as text where the page displays it.

Adding a field is one line in FIELDS: its name, its length limit and the pages that show it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest
from browser_support import MAP_CENTER, MAP_ZOOM, TILE_URL, Site, Tab, open_guarded_tab
from helpers import PASSWORD, make_record
from playwright.sync_api import Browser, BrowserContext
from werkzeug.serving import make_server

from locator import create_app
from locator.domain.point import POINT_FIELDS, utcnow
from locator.domain.reports import MAX_COMMENT, Report, ReportKind, parse_report
from locator.domain.validation import MAX_NOTE, MAX_TEXT, parse_point, parse_stops
from locator.services.accounts import hash_password

BEACON = "/__beacon/"
HOUR = timedelta(hours=1)
# {tag} becomes a tag unique to the field and payload: the global's value and the beacon's path.
PAYLOADS = (
    "<script>window.__pwned='{tag}';fetch('/__beacon/{tag}')</script>",
    '"><img src=/__beacon/{tag} onerror="window.__pwned=\'{tag}\'">',
    "'><img src=/__beacon/{tag} onerror='window.__pwned=1'>",
    '" autofocus onfocus="fetch(\'/__beacon/{tag}\')" x="',
    "' autofocus onfocus='fetch(\"/__beacon/{tag}\")' x='",
    "javascript:fetch('/__beacon/{tag}')",
    " JaVaScRiPt:window.__pwned='{tag}'",
    "<a href=\"javascript:fetch('/__beacon/{tag}')\">{tag}</a>",
    "<svg onload=\"fetch('/__beacon/{tag}')\"><circle r=9 /></svg>",
    "<svg><script>window.__pwned='{tag}'</script></svg>",
    "</script><script>window.__pwned='{tag}';fetch('/__beacon/{tag}')</script>",
    "</title><img src=/__beacon/{tag}>",
    "</textarea><img src=/__beacon/{tag}>",
    "<img src=x onerror=alert('{tag}')>",
    "<body onload=confirm('{tag}')>",
    "<iframe srcdoc=\"<script>parent.__pwned='{tag}'</script>\"></iframe>",
    "<style>@import '/__beacon/{tag}';</style><link rel=stylesheet href=/__beacon/{tag}>",
    "<object data=/__beacon/{tag}></object><embed src=/__beacon/{tag}>",
    "{{7*7}} ${7*7} #{7*7} <%= 7*7 %> {{'{tag}'.constructor.constructor('alert(1)')()}}",
    "\"]}};window.__pwned='{tag}';//</script>",
    "\u202e<img src=/__beacon/{tag}>\u202d gnp.exe",  # right-to-left override
    "\u200b<\u200bimg src=/__beacon/{tag}>\u200d\ufeff{tag}",  # zero-width characters
    "＜script＞window.__pwned='{tag}'＜/script＞",  # fullwidth brackets
    "<math><mtext><table><mglyph><style><img src=/__beacon/{tag} onerror=alert(1)>",
    '<!--<img src="--><img src=/__beacon/{tag} onerror=alert(1)>',
    "<img src=/__beacon/{tag} onerror=alert(1)>" * 40,  # very long: cut at each field's limit
)
# Ids are letters, digits and . _ : - only; these are the hostile ones those rules allow.
IDS = ("javascript:window.__pwned", "data:text.html", "vbscript:msgbox", "a.--.b", "0..", "x:--")


@dataclass(frozen=True)
class Field:
    name: str  # a point field, or "report_comment", "stop_place", "username"
    limit: int  # the longest text it takes
    pages: tuple[str, ...]  # where it shows as text (PAGES below)


ON_MAP = ("map_popup", "map_nearest", "embed_nearest", "list")
FIELDS = (
    Field("name", MAX_TEXT, (*ON_MAP, "point", "console_list", "console_point", "console_history")),
    Field("address", MAX_TEXT, (*ON_MAP, "point", "console_list", "console_point", "console_history")),
    Field("settlement", MAX_TEXT, (*ON_MAP, "point", "console_list", "console_point", "console_history")),
    Field("region", MAX_TEXT, ("point", "console_point", "console_list", "console_history", "builder")),
    Field("phone", 40, ("point", "console_history")),
    Field("hours", MAX_TEXT, ("point", "console_history")),
    Field("note", MAX_NOTE, ("point", "console_point", "console_history")),
    Field("report_comment", MAX_COMMENT, ("console_point",)),
    Field("stop_place", MAX_TEXT, ("point", "console_point")),
    Field("username", 100, ("console_history",)),  # the public point page names no operator
)
# Query parameters a page repeats back: no exact-text check (some are quoted), only no injection.
REFLECTED = (
    "/list?lat=50.45&lon=30.52&label={value}",
    "/list?place={value}",
    "/embed?region={value}",
    "/embed?settlement={value}",
)
REFLECTED_EVERY = 3  # of the corpus, every third payload goes through each (pages with a map are slow)
GROUP = 5  # points per group: one "near me" lists a whole group (the map asks for five)
CONSOLE_USER = 1  # the hostile user the console is browsed as (a short payload, so it can log in)


def text_for(field: Field, index: int) -> str:
    """The corpus entry `index`, tagged for this field, cut to the field's length."""
    tag = f"{field.name[:3]}{index}"
    return PAYLOADS[index].replace("{tag}", tag)[: field.limit].strip()


def accepted(field: Field, value: str) -> bool:
    """Whether the app's own validation takes the value (what it refuses can never be shown)."""
    if field.name == "username":
        return 0 < len(value) <= field.limit  # what the login form takes
    try:
        if field.name == "report_comment":
            parse_report("p", {"kind": "wrong_place", "comment": value})
        elif field.name == "stop_place":
            parse_stops([stop(value, 50.0, 30.0, utcnow())])
        else:
            parse_point(make_record(**{field.name: value}))
    except ValueError:  # a ValidationError naming the field, or a refused stop
        return False
    return True


def stop(place: str, lat: float, lon: float, starts_at: datetime) -> dict[str, Any]:
    """A two-hour stop of a mobile point's schedule."""
    return {"place": place, "lat": lat, "lon": lon, "starts_at": starts_at, "ends_at": starts_at + 2 * HOUR}


@dataclass
class Hostile:
    """One hostile point: the text of every field (None where validation refused it)."""

    index: int
    id: str
    lat: float
    lon: float
    values: dict[str, str | None]

    def shown_on(self, page: str) -> list[str]:
        return [self.values[f.name] for f in FIELDS if page in f.pages and self.values[f.name] is not None]


def hostile_points() -> list[Hostile]:
    made = []
    for index in range(len(PAYLOADS)):
        group, place = divmod(index, GROUP)
        values = {}
        for field in FIELDS:
            value = text_for(field, index)
            values[field.name] = value if accepted(field, value) else None
        made.append(
            Hostile(
                index=index,
                id=IDS[index] if index < len(IDS) else f"hostile-{index}",
                lat=48.3 + 0.45 * group + 0.02 * place,
                lon=24.5 + 2.0 * group + 0.03 * place,
                values=values,
            )
        )
    return made


def seed(app, points: list[Hostile]) -> None:
    """Each point: imported plainly, then changed to hostile text by its hostile user (so the
    history holds old and new text and the user's name), with a stop and a citizen's report."""
    store, users = app.extensions["locator.store"], app.extensions["locator.users"]
    now = utcnow()
    store.import_points(
        [
            parse_point(
                make_record(
                    p.id, name=f"Пункт {p.index}", kind="mobile", status="standby", lat=p.lat, lon=p.lon
                ),
                now=now,
            )
            for p in points
        ]
    )
    password_hash = hash_password(PASSWORD)
    for p in points:
        by = p.values["username"] or f"user-{p.index}"
        users.create(by, password_hash, "admin")
        changes: dict[str, Any] = {"status": "open"}
        for field in FIELDS:
            if field.name in POINT_FIELDS and p.values[field.name] is not None:
                changes[field.name] = p.values[field.name]
        if p.values["stop_place"] is not None:  # one stop under way (where the point is), one next
            changes["stops"] = [
                stop(p.values["stop_place"], p.lat, p.lon, now + start * HOUR) for start in (-1, 3)
            ]
        store.update(p.id, changes, by=by)
        if p.values["report_comment"] is not None:
            report = Report(p.id, ReportKind.WRONG_PLACE, comment=p.values["report_comment"])
            store.reports.add(report, source=f"source-{p.index}")


@dataclass
class World:
    site: Site
    points: list[Hostile]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    folder: Path = tmp_path_factory.mktemp("hostile")
    app = create_app(
        {
            "DATABASE": str(folder / "hostile.db"),
            "SEED_FILE": "",
            "TILE_URL": TILE_URL,
            "MAP_CENTER": MAP_CENTER,
            "MAP_ZOOM": MAP_ZOOM,
            "API_RATE_PER_MIN": 0,
        }
    )
    points = hostile_points()
    seed(app, points)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="hostile-test-server", daemon=True)
    thread.start()
    try:
        yield World(Site(f"http://127.0.0.1:{server.server_port}", []), points)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        app.extensions["locator.store"].close()


@dataclass
class Watch:
    """One guarded browser context, plus every request it made for a beacon."""

    context: BrowserContext
    tab: Tab
    beacons: list[str]
    problems: list[str]

    def load(self, path: str, *, ready: str = "load") -> None:
        response = self.tab.page.goto(self.tab.site.url(path), wait_until=ready)
        assert response is not None and response.status < 500, f"{path}: {response and response.status}"
        if response.status >= 400:  # a refused option: the browser logs the page's own status
            own = [line for line in self.tab.guard.console if line.endswith(f"({response.url})")]
            for line in own:
                self.tab.guard.console.remove(line)
        self.check(path)

    def check(self, where: str) -> None:
        """Nothing injected ran or loaded on the page as it is now."""
        page = self.tab.page
        for frame in page.frames:
            try:
                pwned = frame.evaluate("() => window.__pwned")
            except Exception:  # a frame of another origin: its globals are not ours to read
                pwned = None
            if pwned is not None:
                self.problems.append(f"{where}: window.__pwned = {pwned!r} (frame {frame.url})")
        scheme_links = page.evaluate(
            """() => [...document.querySelectorAll('a[href], area[href]')]
                .filter(a => ['javascript:', 'data:', 'vbscript:'].includes(a.protocol))
                .map(a => a.getAttribute('href'))"""
        )
        if scheme_links:
            self.problems.append(f"{where}: links with a script scheme: {scheme_links}")
        if self.beacons:
            self.problems.append(f"{where}: beacons fetched: {self.beacons}")
            self.beacons.clear()
        guard = self.tab.guard
        found = {
            "dialogs": guard.dialogs,
            "CSP violations": guard.csp + page.evaluate("window.__cspViolations || []"),
            "page errors": guard.page_errors,
            "console": guard.console,
            "third parties": guard.foreign,
        }
        for name, items in found.items():
            if items:
                self.problems.append(f"{where}: {name}: {items}")
                items.clear()

    def expect_text(self, where: str, expected: list[str], scope: str | None = None) -> None:
        """Each string is in the page's text (not in a script, not only in an attribute)."""
        missing = self.tab.page.evaluate(SHOWN_AS_TEXT, [expected, scope])
        for value in missing:
            self.problems.append(f"{where}: not shown as text: {value!r}")


# The page's text as the reader gets it: text nodes outside script and style, each kept apart.
SHOWN_AS_TEXT = """([expected, scope]) => {
  const root = scope ? document.querySelector(scope) : document.documentElement;
  if (!root) return expected;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
    acceptNode: (node) => node.parentElement.closest('script, style, noscript, template')
      ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
  });
  const parts = [];
  while (walker.nextNode()) parts.push(walker.currentNode.nodeValue);
  const text = parts.join('\\u0000');
  return expected.filter((value) => !text.includes(value));
}"""


@pytest.fixture
def watch(browser: Browser, world: World) -> Iterator[Callable[..., Watch]]:
    opened: list[Watch] = []

    def open_(**context_options: Any) -> Watch:
        context, tab = open_guarded_tab(browser, world.site, **context_options)
        beacons: list[str] = []
        context.on(
            "request",
            lambda request: (
                beacons.append(request.url) if urlsplit(request.url).path.startswith(BEACON) else None
            ),
        )
        opened.append(Watch(context, tab, beacons, []))
        return opened[-1]

    yield open_
    for watched in opened:
        watched.context.close()


def assert_clean(*watches: Watch) -> None:
    problems = [problem for watched in watches for problem in watched.problems]
    assert not problems, "\n".join(problems)


def groups(points: list[Hostile]) -> list[list[Hostile]]:
    return [points[i : i + GROUP] for i in range(0, len(points), GROUP)]


# -- what validation keeps out -------------------------------------------------------------------


def test_the_corpus_reaches_every_field_but_the_phone(world: World):
    """Every field but the phone takes most of the corpus (so the pages below really show it);
    the phone's pattern refuses all of it."""
    for field in FIELDS:
        taken = [p for p in world.points if p.values[field.name] is not None]
        if field.name == "phone":
            assert taken == []
        else:
            assert len(taken) == len(PAYLOADS), field.name


# -- the public site -----------------------------------------------------------------------------

LOADED = "() => document.getElementById('map-app').dataset.loaded === 'true'"
MAP_IDLE = "() => !document.querySelector('.leaflet-zoom-anim, .leaflet-cluster-anim')"
MARKER_AT = (
    """([x, y]) => { const e = document.elementFromPoint(x, y); return !!(e && e.closest('.poi')); }"""
)


def open_popup(tab: Tab, point: Hostile) -> None:
    """Zoom to the point and click its marker, as a person would."""
    tab.map_eval("map.setView([arg[0], arg[1]], 17, {animate: false}); return true;", [point.lat, point.lon])
    tab.page.wait_for_function(MAP_IDLE)
    x, y = tab.map_eval(
        "const p = map.latLngToContainerPoint([arg[0], arg[1]]);"
        " const r = map.getContainer().getBoundingClientRect(); return [r.left + p.x, r.top + p.y];",
        [point.lat, point.lon],
    )
    tab.page.wait_for_function(MARKER_AT, arg=[x, y])
    tab.page.mouse.click(x, y)
    tab.page.wait_for_function(
        "(id) => { const a = document.querySelector('.leaflet-popup-content .popup .actions a');"
        " return !!a && a.getAttribute('href') === '/points/' + encodeURIComponent(id); }",
        arg=point.id,
    )


def near_me(watched: Watch, path: str, group: list[Hostile], where: str) -> None:
    """From beside the group's first point, load the page and list the nearest open points: the
    whole group. (A fresh page: the map accepts a position up to two minutes old.)"""
    first = group[0]
    watched.context.set_geolocation({"latitude": first.lat - 0.001, "longitude": first.lon - 0.001})
    watched.load(path)
    page = watched.tab.page
    page.wait_for_function(LOADED)
    page.click("#near-me")
    page.wait_for_function(
        "(n) => document.querySelectorAll('#results li.result').length >= n", arg=min(len(group), 5)
    )
    watched.check(where)
    watched.expect_text(where, [v for p in group for v in p.shown_on(where.split()[0])], "#results")


def test_the_map_shows_hostile_text_as_text_in_popups_and_the_nearest_list(watch, world: World):
    watched = watch(permissions=["geolocation"], geolocation={"latitude": 50.0, "longitude": 30.0})
    watched.load("/")
    tab = watched.tab
    tab.page.wait_for_function(LOADED)
    assert tab.shown() == len(world.points)
    for point in world.points:
        open_popup(tab, point)
        where = f"map_popup {point.id}"
        watched.check(where)
        watched.expect_text(where, point.shown_on("map_popup"), ".leaflet-popup-content")
    for number, group in enumerate(groups(world.points)):
        near_me(watched, "/", group, f"map_nearest group {number}")
    assert_clean(watched)


def test_the_embed_widget_shows_hostile_text_as_text(watch, world: World):
    watched = watch(permissions=["geolocation"])
    for number, group in enumerate(groups(world.points)):
        near_me(watched, "/embed", group, f"embed_nearest group {number}")
    watched.load("/embed/builder")
    watched.expect_text("builder", [v for p in world.points for v in p.shown_on("builder")])
    assert_clean(watched)


def test_point_pages_and_the_list_show_hostile_text_as_text(watch, world: World):
    watched = watch()
    for point in world.points:
        watched.load("/points/" + point.id)
        watched.expect_text(f"point {point.id}", point.shown_on("point"))
        title = watched.tab.page.title()
        if not title.startswith(point.values["name"]):
            watched.problems.append(f"point {point.id}: the title is {title!r}")
    for number, group in enumerate(groups(world.points)):
        first = group[0]
        watched.load("/list?" + urlencode({"lat": first.lat, "lon": first.lon}))
        watched.expect_text(f"list group {number}", [v for p in group for v in p.shown_on("list")])
    assert_clean(watched)


def test_query_parameters_repeated_back_stay_text(watch, world: World):
    watched = watch()
    for pattern in REFLECTED:
        for index in range(0, len(PAYLOADS), REFLECTED_EVERY):
            value = PAYLOADS[index].replace("{tag}", f"q{index}")[:100]
            watched.load(pattern.replace("{value}", quote(value, safe="")))
    assert_clean(watched)


# -- the operator console ------------------------------------------------------------------------


def test_the_console_shows_hostile_text_as_text(watch, world: World):
    watched = watch()
    user = world.points[CONSOLE_USER].values["username"]
    page = watched.tab.page
    page.goto(world.site.url("/operator/login"))
    page.fill('input[name="name"]', user)
    page.fill('input[name="password"]', PASSWORD)
    page.click('form button[type="submit"]')
    page.wait_for_url("**/operator/")
    watched.check("console_list")
    everything = [v for p in world.points for v in p.shown_on("console_list")]
    watched.expect_text("console_list", [*everything, user])
    for point in world.points:
        watched.load(f"/operator/points/{quote(point.id, safe='')}")
        watched.expect_text(f"console_point {point.id}", point.shown_on("console_point"))
        watched.load(f"/operator/points/{quote(point.id, safe='')}/history")
        watched.expect_text(f"console_history {point.id}", point.shown_on("console_history"))
    assert_clean(watched)
