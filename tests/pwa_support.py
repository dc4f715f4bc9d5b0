"""Support for the offline and first-view browser tests: the app and a tile server on loopback.

These tests use no Playwright routes. A route turns the browser's HTTP cache off and stands
between a page and its service worker, and both are what these tests measure. Tiles come from
a second local server instead (another origin, as real tiles are), and a log of every request
the app answered tells whether the network was really used.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from browser_support import MAP_CENTER, MAP_ZOOM, STALE_HOURS, TILE_PNG, TIMEOUT_MS
from helpers import serving
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page

from locator import create_app
from locator.cli import seed_if_empty

WORKER_SCRIPT_FETCH = "script"  # the Service-Worker header of the browser's fetch of a worker script


@dataclass
class LiveSite:
    """The running app, its tile server, and what each has answered so far."""

    base_url: str
    tile_origin: str
    answered: list[str] = field(default_factory=list)  # "GET /path?query" the app answered
    # The browser's own checks of the worker script for an update (they carry the header
    # "Service-Worker: script"), apart from what the page and its worker asked: Chromium makes one
    # about a second after every navigation to a page the worker controls (the spec's Soft Update),
    # from the browser process, where Playwright's offline mode does not reach. On a real phone
    # offline it fails, harmlessly; here it reaches the app, at a moment that depends on the load.
    update_checks: list[str] = field(default_factory=list)
    tiles: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def hosts(self) -> set[str]:
        return {urlsplit(self.base_url).netloc, urlsplit(self.tile_origin).netloc}


def _tile_app(site: LiveSite):
    def app(environ, start_response):
        site.tiles.append(environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "image/png"), ("Content-Length", str(len(TILE_PNG)))])
        return [TILE_PNG]

    return app


def _recording(site: LiveSite, wsgi_app):
    def app(environ, start_response):
        query = environ.get("QUERY_STRING", "")
        line = f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}{'?' + query if query else ''}"
        if environ.get("HTTP_SERVICE_WORKER") == WORKER_SCRIPT_FETCH:
            site.update_checks.append(line)
        else:
            site.answered.append(line)
        return wsgi_app(environ, start_response)

    return app


@contextmanager
def serve_site(folder: Path, seed_file: Path, **overrides: Any) -> Iterator[LiveSite]:
    """The real app on a real SQLite file seeded from seed_file, and a tile server, on free ports."""
    site = LiveSite(base_url="", tile_origin="")
    with serving(_tile_app(site)) as tile_port:
        site.tile_origin = f"http://127.0.0.1:{tile_port}"
        app = create_app(
            {
                "DATABASE": str(folder / "locator.db"),
                "SEED_FILE": str(seed_file),
                "TILE_URL": site.tile_origin + "/{z}/{x}/{y}.png",
                "MAP_CENTER": MAP_CENTER,
                "MAP_ZOOM": MAP_ZOOM,
                "STALE_HOURS": STALE_HOURS,
                **overrides,
            }
        )
        seed_if_empty(app)
        app.wsgi_app = _recording(site, app.wsgi_app)
        try:
            with serving(app) as port:
                site.base_url = f"http://127.0.0.1:{port}"
                yield site
        finally:
            app.extensions["locator.store"].close()


@dataclass
class Watch:
    """What the pages of one context did that a person should never see."""

    hosts: set[str]
    console: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.console.append(f"{message.type}: {message.text}")

    def on_request(self, request) -> None:
        if (
            urlsplit(request.url).scheme in ("http", "https")
            and urlsplit(request.url).netloc not in self.hosts
        ):
            self.foreign.append(request.url)


def open_context(browser: Browser, site: LiveSite, **options: Any) -> tuple[BrowserContext, Page, Watch]:
    """A fresh context (a cold cache, no service worker yet) and a page, watched."""
    context = browser.new_context(
        locale="uk-UA", timezone_id="Europe/Kyiv", service_workers="allow", **options
    )
    context.set_default_timeout(TIMEOUT_MS)
    watch = Watch(site.hosts)
    context.on("request", watch.on_request)  # the page's and its service worker's
    page = context.new_page()
    page.on("console", watch.on_console)
    page.on("pageerror", lambda error: watch.page_errors.append(str(error)))
    return context, page, watch
