"""Support for tests/test_pages_browser.py: seed data, its oracle, the live server, the page guard.

Everything a browser test expects is computed here from the seed written here, never copied from
the app: counts by filter, and the nearest open points by a brute-force haversine over every point.
"""

from __future__ import annotations

import json
import random
import struct
import urllib.request
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from helpers import haversine as haversine_m
from helpers import serving
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Request, Route, expect

from locator import create_app
from locator.cli import seed_if_empty
from locator.domain.point import SERVICES
from locator.domain.trust import Trust, ranked_distance

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TILE_HOST = "tiles.test.invalid"
TILE_URL = f"https://{TILE_HOST}/{{z}}/{{x}}/{{y}}.png"
MAP_CENTER = (50.4501, 30.5234)
MAP_ZOOM = 9
STALE_HOURS = 12
EARTH_RADIUS_M = 6_371_008.8  # the sphere the app measures on; the oracle below is our own code
NEAREST_K = 5  # map.js asks for five
TIMEOUT_MS = 10_000

STATUSES = ("open", "full", "standby", "closed")
REGION = "Київська область"
# name: (id prefix, lat and lon of the centre, scatter in degrees, number of points)
SETTLEMENTS = {
    "Київ": ("kyiv", 50.4501, 30.5234, 0.07, 120),
    "Бровари": ("brovary", 50.5110, 30.7909, 0.025, 50),
    "Бориспіль": ("boryspil", 50.3527, 30.9550, 0.025, 45),
    "Ірпінь": ("irpin", 50.5218, 30.2506, 0.025, 45),
    "Біла Церква": ("bila-tserkva", 49.7968, 30.1311, 0.03, 40),
}
BROVARY = (50.5110, 30.7909)

HOSTILE_ID = "hostile-1"
HOSTILE_NAME = "<img src=x onerror=alert(1)>"
HOSTILE_ADDRESS = '"><script>alert(2)</script>'
HOSTILE_NOTE = "javascript:alert(3)"
HOSTILE_AT = (50.5600, 30.1900)  # north-west of Irpin, alone
STALE_ID = "stale-1"
STALE_NAME = "Стара школа №3 (давно не підтверджено)"
STALE_AT = (49.7600, 30.0600)  # south-west of Bila Tserkva, alone


# -- seed data -----------------------------------------------------------------------------------


def make_seed(now: datetime) -> list[dict[str, Any]]:
    """About 300 varied points around Kyiv, plus one hostile point and one stale point."""
    rng = random.Random(20251123)
    points = []
    for settlement, (prefix, lat, lon, scatter, count) in SETTLEMENTS.items():
        for i in range(count):
            services = [s for s in SERVICES if rng.random() < (0.8 if s in ("power", "heat") else 0.3)]
            points.append(
                {
                    "id": f"{prefix}-{i:03d}",
                    "name": f"Пункт незламності {settlement} №{i + 1}",
                    "kind": "mobile" if rng.random() < 0.2 else "fixed",
                    "category": "business" if rng.random() < 0.35 else "state",
                    "base": rng.random() < 0.15,
                    "status": rng.choices(STATUSES, weights=(50, 15, 15, 20))[0],
                    "services": services,
                    "lat": round(lat + rng.uniform(-scatter, scatter), 5),
                    "lon": round(lon + rng.uniform(-scatter, scatter), 5),
                    "address": f"вул. Соборна, {i + 1}",
                    "settlement": settlement,
                    "region": settlement if settlement == "Київ" else REGION,
                    "verified_at": _iso(now - timedelta(minutes=rng.randint(1, 300))),
                }
            )
    points.append(
        {
            "id": HOSTILE_ID,
            "name": HOSTILE_NAME,
            "kind": "fixed",
            "category": "business",
            "base": False,
            "status": "open",
            "services": ["power", "heat", "water"],
            "lat": HOSTILE_AT[0],
            "lon": HOSTILE_AT[1],
            "address": HOSTILE_ADDRESS,
            "settlement": "Ірпінь",
            "region": REGION,
            "note": HOSTILE_NOTE,
            "verified_at": _iso(now - timedelta(minutes=5)),
        }
    )
    three_days_ago = _iso(now - timedelta(days=3))
    points.append(
        {
            "id": STALE_ID,
            "name": STALE_NAME,
            "kind": "fixed",
            "category": "state",
            "base": False,
            "status": "open",
            "services": ["power", "heat"],
            "lat": STALE_AT[0],
            "lon": STALE_AT[1],
            "address": "вул. Ярослава Мудрого, 3",
            "settlement": "Біла Церква",
            "region": REGION,
            "updated_at": three_days_ago,
            "verified_at": three_days_ago,
        }
    )
    return points


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_geojson(points: list[dict[str, Any]], path: Path) -> Path:
    """Write the points as a GeoJSON FeatureCollection, the way an operator's file looks."""
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [p["lon"], p["lat"]]},
            "properties": {k: v for k, v in p.items() if k not in ("lat", "lon")},
        }
        for p in points
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False))
    return path


def brute_force_nearest(
    points: list[dict[str, Any]],
    lat: float,
    lon: float,
    services: tuple[str, ...] = (),
    k: int = NEAREST_K,
    reported: frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """The oracle: the k best open points having every service, by scanning them all and weighing
    each distance by trust as "near me" does (domain/trust.py; ``reported``: ids citizens have
    reported closed)."""
    now = datetime.now(UTC)

    def trust(p: dict[str, Any]) -> Trust:
        if p["id"] in reported:
            return Trust.REPORTED_CLOSED
        if not p.get("verified_at"):
            return Trust.NEVER_CONFIRMED
        verified = datetime.fromisoformat(p["verified_at"].replace("Z", "+00:00"))
        return Trust.STALE if now - verified > timedelta(hours=STALE_HOURS) else Trust.FRESH

    def rank(p: dict[str, Any]) -> tuple[float, float, str]:
        distance = haversine_m(lat, lon, p["lat"], p["lon"])
        return ranked_distance(distance, trust(p)), distance, p["id"]

    candidates = [p for p in points if p["status"] == "open" and set(services) <= set(p["services"])]
    candidates.sort(key=rank)
    return candidates[:k]


# -- the live server -----------------------------------------------------------------------------


@dataclass
class Site:
    """The running app and the points it was seeded with."""

    base_url: str
    points: list[dict[str, Any]] = field(repr=False)
    app: Any = field(default=None, repr=False)

    @property
    def by_name(self) -> dict[str, dict[str, Any]]:
        return {p["name"]: p for p in self.points}

    def url(self, path: str) -> str:
        return self.base_url + path

    def api(self, path: str, **params: Any) -> dict[str, Any]:
        with urllib.request.urlopen(self.url(path) + "?" + urlencode(params), timeout=10) as response:
            return json.load(response)


@contextmanager
def serve(folder: Path, points: list[dict] | None = None, **config: Any) -> Iterator[Site]:
    """Run the real app on a real SQLite file seeded from our GeoJSON (or these points), on a
    free port; config overrides the app's settings. The site's app is ``site.app``."""
    points = make_seed(datetime.now(UTC)) if points is None else points
    app = create_app(
        {
            "DATABASE": str(folder / "locator.db"),
            "SEED_FILE": str(write_geojson(points, folder / "points.geojson")),
            "TILE_URL": TILE_URL,
            "MAP_CENTER": MAP_CENTER,
            "MAP_ZOOM": MAP_ZOOM,
            "STALE_HOURS": STALE_HOURS,
        }
        | config
    )
    seed_if_empty(app)
    assert app.extensions["locator.store"].count() == len(points), "the seed file was not imported"
    try:
        with serving(app) as port:
            yield Site(f"http://127.0.0.1:{port}", points, app)
    finally:
        app.extensions["locator.store"].close()


# -- the browser and the guard around every page -------------------------------------------------


def _png_1x1() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)  # 1x1, 8-bit RGBA
    pixels = zlib.compress(b"\x00" + b"\x00\x00\x00\x00")  # filter byte + one transparent pixel
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


TILE_PNG = _png_1x1()

# Reports CSP violations twice: into the page (window.__cspViolations, read per page) and to the
# test through an exposed binding (survives navigations).
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const record = {directive: event.violatedDirective, blocked: event.blockedURI, sample: event.sample};
  window.__cspViolations.push(record);
  if (window.__reportCsp) window.__reportCsp(record);
});
"""


@dataclass
class Guard:
    """What a page did that a person should never see, plus the tile requests."""

    app_host: str
    console: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp: list[Any] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    tiles: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def route(self, route: Route) -> None:
        url = urlsplit(route.request.url)
        if url.hostname == self.app_host:
            route.continue_()
        elif url.hostname == TILE_HOST:
            self.tiles.append(route.request.url)
            route.fulfill(status=200, content_type="image/png", body=TILE_PNG)
        else:
            self.foreign.append(route.request.url)
            route.abort()

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.console.append(f"{message.type}: {message.text} ({message.location.get('url')})")

    def on_request_failed(self, request: Request) -> None:
        # A request cut short because the test moved on to another page is not the app's fault.
        if request.failure != "net::ERR_ABORTED":
            self.failed.append(f"{request.url}: {request.failure}")

    def assert_clean(self, page: Page, allow_console: Callable[[str], bool] = lambda text: False) -> None:
        in_page = page.evaluate("window.__cspViolations || []")
        problems = {
            "console": [text for text in self.console if not allow_console(text)],
            "page errors": self.page_errors,
            "CSP violations": self.csp + in_page,
            "dialogs": self.dialogs,
            "third-party requests": self.foreign,
            "failed requests": self.failed,
        }
        assert not any(problems.values()), {name: found for name, found in problems.items() if found}


# Visible controls smaller than 48x48 CSS px; a checkbox or radio is measured with its label, a
# link inside a sentence is left alone (as /work/shared/tools/screens.py measures them).
SMALL_TARGETS = """(least) => {
  const out = [];
  const controls = 'a[href], button, input, select, textarea, summary, [role=button]';
  for (const el of document.querySelectorAll(controls)) {
    if (el.type === 'hidden') continue;
    const box = el.type === 'checkbox' || el.type === 'radio';
    const label = box && (el.closest('label') || (el.id && document.querySelector(`label[for="${el.id}"]`)));
    const r = (label || el).getBoundingClientRect(), st = getComputedStyle(el);
    if (!r.width || !r.height || st.visibility === 'hidden' || st.display === 'none') continue;
    if (r.bottom < 0 || r.right < 0 || r.left > innerWidth) continue;
    const sentence = el.tagName === 'A' && el.closest('p, li');
    if (sentence && sentence.textContent.trim().length > el.textContent.trim().length + 20) continue;
    const name = (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 30);
    if (r.width < least || r.height < least) out.push(`${el.tagName} "${name}" ${r.width}x${r.height}`);
  }
  return out;
}"""

# JS: the page's Leaflet map (folium names it; map.js finds it through data-settings).
THE_MAP = "window[JSON.parse(document.getElementById('map-app').dataset.settings).map]"


@dataclass
class Tab:
    """A guarded page on the site, with the few moves the tests make on the map page."""

    page: Page
    guard: Guard = field(repr=False)
    site: Site = field(repr=False)

    def goto(self, path: str, loaded: bool = True):
        response = self.page.goto(self.site.url(path))
        if loaded:
            expect(self.page.locator("#map-app")).to_have_attribute("data-loaded", "true")
        return response

    def map_eval(self, body: str, arg: Any = None) -> Any:
        """Run JS with `map` bound to the page's Leaflet map."""
        return self.page.evaluate(f"(arg) => {{ const map = {THE_MAP}; {body} }}", arg)

    def shown(self) -> int:
        return int(self.page.get_attribute("#map-app", "data-shown"))

    def open_filters(self) -> None:
        if not self.page.eval_on_selector("#filters", "details => details.open"):
            self.page.click("#filters summary")

    def result_names(self) -> list[str]:
        return self.page.locator("#results li.result h3").all_inner_texts()


def open_guarded_tab(browser: Browser, site: Site, **context_options: Any) -> tuple[BrowserContext, Tab]:
    """A fresh context and page (context options as keywords) with the guard listening."""
    context = browser.new_context(locale="uk-UA", timezone_id="Europe/Kyiv", **context_options)
    context.set_default_timeout(TIMEOUT_MS)
    guard = Guard(app_host=urlsplit(site.base_url).hostname)
    context.route("**/*", guard.route)
    context.expose_binding("__reportCsp", lambda source, record: guard.csp.append(record))
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.on("console", guard.on_console)
    page.on("pageerror", lambda error: guard.page_errors.append(str(error)))
    page.on("requestfailed", guard.on_request_failed)

    def on_dialog(dialog) -> None:
        guard.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return context, Tab(page, guard, site)
