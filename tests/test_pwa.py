"""The installable app's parts, over HTTP (issue 7): manifest, icons, the service worker script and
what it keeps. The browser behaviour is in test_offline_browser.py."""

from __future__ import annotations

import html
import json
import re
import shutil
import struct
from pathlib import Path

import pytest
from flask import Flask

from locator.web import pwa

PROJECT = Path(__file__).resolve().parent.parent
WORKER_SETTINGS = re.compile(r"^var SW = (\{.*\});$", re.MULTILINE)
# What a page loads from this site as it opens: scripts, styles, the favicon (not the touch icon).
SAME_SITE_ASSETS = re.compile(
    r'<script\b[^>]*\bsrc="(/static/[^"]+)"|<link rel="(?:stylesheet|icon)" href="(/static/[^"]+)"'
)
PUBLIC_PAGES = ("/", "/list", "/api", "/points/kyiv-01", "/embed/builder")
STATIC = PROJECT / "static"
IMPORT = re.compile(r'^import [^;]* from "\./([\w-]+\.js)";$', re.MULTILINE)
MODULE_PRELOAD = re.compile(r'<link rel="modulepreload" href="/static/([^"]+)">')
MODULE_ENTRY = re.compile(r'<script type="module" src="/static/([^"]+)" nonce="[^"]+"></script>')
MODULE_MAX_LINES = 300  # one concern each: a module past this is doing two jobs


def _worker(client) -> dict:
    found = WORKER_SETTINGS.search(client.get("/sw.js").get_data(as_text=True))
    assert found, "sw.js carries no settings line"
    return json.loads(found[1])


def _page_settings(body: str) -> dict:
    return json.loads(html.unescape(re.search(r'data-settings="([^"]+)"', body)[1]))


def test_worker_is_served_from_the_root_uncached_and_revalidated(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"  # a deploy's new worker is seen at once
    policy = dict(
        part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";")
    )
    assert "'self'" in policy.get("worker-src", policy["script-src"])
    assert "'self'" in policy["connect-src"]  # the worker fetches this site only
    again = client.get("/sw.js", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_worker_keeps_the_map_page_its_files_and_the_points_it_loads(client, seeded):
    worker = _worker(client)
    page = client.get("/").get_data(as_text=True)
    settings = _page_settings(page)
    assert settings["serviceWorker"] == "/sw.js"
    assert worker["page"] == "/" and worker["list"] == "/list"
    assert worker["data"] == settings["pointsUrl"]
    assert worker["snapshotHeader"] == settings["snapshotHeader"]
    # Every file the map page loads from this site is kept, so the page works offline; and
    # every kept URL exists.
    loaded = {script or link for script, link in SAME_SITE_ASSETS.findall(page)}
    # styles (3), Leaflet, supercluster, map.js and the icon
    assert len(loaded) >= 7 and loaded <= set(worker["shell"])
    for url in worker["shell"] + [worker["page"], worker["list"], worker["data"]]:
        assert client.get(url).status_code == 200, url
    data = client.get(worker["data"]).get_json()
    assert data["generated_at"] and len(data["rows"]) == len(seeded)


def _imported(entry: str) -> set[str]:
    """The module and every module it imports, directly or not, as paths under static/."""
    found, waiting = set(), [entry]
    while waiting:
        name = waiting.pop()
        if name not in found:
            found.add(name)
            source = (STATIC / name).read_text(encoding="utf-8")
            waiting += [f"js/{imported}" for imported in IMPORT.findall(source)]
    return found


@pytest.mark.parametrize("path", ["/", "/embed"])
def test_the_worker_keeps_and_the_page_preloads_every_module_the_map_imports(client, seeded, path):
    """Offline the map runs only if the worker kept every module map.js imports; the page fetches
    them side by side (modulepreload) rather than one import level after another."""
    page = client.get(path).get_data(as_text=True)
    assert MODULE_ENTRY.findall(page) == ["js/map.js"]
    graph = _imported("js/map.js")
    assert graph == set(pwa.MAP_MODULES) and set(pwa.MAP_MODULES) <= set(pwa.SHELL_STATIC)
    assert sorted(MODULE_PRELOAD.findall(page)) == sorted(graph - {"js/map.js"})


@pytest.mark.parametrize("name", pwa.MAP_MODULES)
def test_each_map_module_says_its_job_and_stays_small(name):
    lines = (STATIC / name).read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("/* ") and len(lines[0]) > 20, "start with a comment saying the module's job"
    assert len(lines) < MODULE_MAX_LINES


def test_the_embed_installs_no_worker(client, seeded):
    """The widget runs in partners' iframes: it registers nothing there."""
    body = client.get("/embed").get_data(as_text=True)
    assert "serviceWorker" not in _page_settings(body)


def test_worker_version_follows_the_files_it_keeps(app, tmp_path):
    static = tmp_path / "static"
    for name in pwa.SHELL_STATIC + pwa.LAZY_STATIC:
        (static / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PROJECT / "static" / name, static / name)

    def version() -> str:
        return pwa.version(
            Flask("copy", static_folder=str(static), template_folder=str(PROJECT / "templates"))
        )

    same = version()
    assert same == pwa.version(app)  # it depends on the files' contents, nothing else
    with (static / "js" / "map.js").open("a") as handle:
        handle.write("\n// a deploy\n")
    assert version() != same  # a new worker, a new cache name: the deploy replaces the old files


def test_manifest_names_the_app_and_its_icons(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = response.get_json(force=True)
    assert manifest["start_url"] == "/" and manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    assert manifest["name"] and len(manifest["short_name"]) <= 12
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    pngs = {
        (icon["sizes"], icon["purpose"]): icon["src"]
        for icon in manifest["icons"]
        if icon["type"] == "image/png"
    }
    assert set(pngs) == {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")}
    for (sizes, _), src in pngs.items():
        icon = client.get(src)
        assert icon.status_code == 200 and icon.mimetype == "image/png", src
        width, height = struct.unpack(">II", icon.data[16:24])  # the PNG's IHDR
        assert icon.data[:8] == b"\x89PNG\r\n\x1a\n" and f"{width}x{height}" == sizes, src


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_every_public_page_links_the_manifest(client, seeded, path):
    body = client.get(path).get_data(as_text=True)
    assert '<link rel="manifest" href="/manifest.webmanifest">' in body
    assert '<meta name="theme-color"' in body
