"""Make the README's pictures from the real app: the map and an operator's point page on a phone.

Run it after a change to the pages, and commit the two PNGs it writes:

    .venv/bin/python scripts/screenshots.py            # writes docs/img/map-phone.png, console-phone.png

It works as a newcomer would: a temporary database filled from data/points.geojson with
`flask --app app points import`, a temporary operator made with `flask --app app users create`,
the app served by gunicorn with scripts/gunicorn.conf.py, and Debian's headless Chromium
(Playwright, never `playwright install`) logging in. Map tiles come from a third-party host: every
tile request is answered here with a plain grey tile, and anything else bound for another host is
refused, so the pictures do not depend on the network and nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Page, Route, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "docs" / "img"
SEED_FILE = ROOT / "data" / "points.geojson"

PHONE = {"width": 390, "height": 844}  # an iPhone 12-15 sized screen, in CSS pixels
DEVICE_SCALE = 2  # sharp on a high-density screen; the grey tiles keep the files small
MAX_PNG_BYTES = 300_000  # a README picture should not weigh down a clone

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [  # as tests/browser_support.py
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 20_000
SERVER_START_S = 60  # gunicorn preloads the app and builds the index before it answers

OPERATOR = "docs-operator"
OPERATOR_REGION = "Київська область"  # every demo point is in it
TILE_SIZE = 256
TILE_GREY = (0xE8, 0xE8, 0xE6)  # a quiet background that the status colours stand out on


def grey_tile() -> bytes:
    """A 256x256 opaque grey PNG, written by hand so the script needs no imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", TILE_SIZE, TILE_SIZE, 8, 2, 0, 0, 0)  # 8-bit RGB
    row = b"\x00" + bytes(TILE_GREY) * TILE_SIZE  # filter byte, then the pixels
    pixels = zlib.compress(row * TILE_SIZE, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def flask(env: dict[str, str], *args: str, stdin: str | None = None) -> None:
    """Run one `flask --app app ...` command the way an administrator would."""
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        text=True,
        check=True,
        stdout=subprocess.DEVNULL,
    )


@contextmanager
def served(env: dict[str, str], port: int) -> Iterator[str]:
    """gunicorn with the production settings file, on a local port; yields the base URL."""
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "scripts/gunicorn.conf.py", "app:app"],
        cwd=ROOT,
        env={**env, "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("gunicorn did not start; its messages are above")
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


class Network:
    """Lets the page reach the app only; tiles get the grey tile, anything else is refused."""

    def __init__(self, base: str) -> None:
        self.app_host = urlsplit(base).netloc
        self.tile = grey_tile()
        self.refused: list[str] = []

    def route(self, route: Route) -> None:
        request = route.request
        if urlsplit(request.url).netloc == self.app_host:
            route.continue_()
        elif request.resource_type == "image":
            route.fulfill(status=200, content_type="image/png", body=self.tile)
        else:
            self.refused.append(request.url)
            route.abort()


def shoot(page: Page, name: str) -> Path:
    path = OUT_DIR / name
    page.screenshot(path=str(path))
    size = path.stat().st_size
    if size > MAX_PNG_BYTES:
        raise SystemExit(f"{path} is {size:,} bytes, over {MAX_PNG_BYTES:,}: lower DEVICE_SCALE")
    print(f"{path.relative_to(ROOT)}: {size:,} bytes")
    return path


def take_pictures(base: str, password: str) -> None:
    network = Network(base)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(
            viewport=PHONE,
            device_scale_factor=DEVICE_SCALE,
            is_mobile=True,
            has_touch=True,
            locale="uk-UA",
            timezone_id="Europe/Kyiv",
            service_workers="block",  # the worker would fetch on its own, outside the route below
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.route("**/*", network.route)
        page = context.new_page()

        page.goto(f"{base}/")
        page.wait_for_selector("#map-app[data-loaded='true']")
        page.wait_for_load_state("networkidle")  # every visible tile has been answered
        shoot(page, "map-phone.png")

        page.goto(f"{base}/operator/login")
        page.fill("#name", OPERATOR)
        page.fill("#password", password)
        with page.expect_navigation():
            page.click("button[type=submit]")
        if "/operator/login" in page.url:
            raise SystemExit("the operator could not log in")
        # A point's page: the one-tap status buttons are what an operator comes for.
        with page.expect_navigation():
            page.locator(".point-row a:has(.badge-open)").first.click()
        page.wait_for_load_state("networkidle")
        shoot(page, "console-phone.png")
        browser.close()
    if network.refused:
        raise SystemExit(f"the pages asked other hosts for more than tiles: {network.refused}")


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    argparse.ArgumentParser(description=__doc__, formatter_class=raw).parse_args()  # --help only
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="locator-screenshots-") as folder:
        env = {
            **os.environ,
            "LOCATOR_DB": str(Path(folder) / "locator.db"),
            "LOCATOR_SEED_FILE": "",  # filled below with the command an administrator uses
            "LOCATOR_REQUEST_LOG": "off",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "PROMETHEUS_MULTIPROC_DIR": "",
        }
        flask(env, "points", "import", str(SEED_FILE))
        flask(
            env,
            *("users", "create", OPERATOR, "--role", "operator", "--region", OPERATOR_REGION),
            "--password-stdin",
            stdin=password + "\n",
        )
        with served(env, free_port()) as base:
            take_pictures(base, password)


if __name__ == "__main__":
    main()
