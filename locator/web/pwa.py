"""The installable, offline map (issue 7): what the service worker keeps, and its version.

The worker (templates/public/sw.js, served at /sw.js so that its scope is the whole site) keeps
the map page, the static files it loads and the last points snapshot, and nothing else: the
console, the write API and every other request pass it untouched. Its static cache is named after
a hash of those files and of the worker itself, so a deploy that changes any of them installs a
new worker, which drops the old cache.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask, current_app, url_for
from flask_babel import force_locale, gettext

from locator.web.i18n import LANGUAGES, SCRIPT_LOCALE

# The map's ES modules: map.js and every module it imports, directly or not (tests/test_pwa.py
# follows the imports and checks this list, and the page's modulepreload links, against them).
MAP_MODULES = (
    "js/map.js",
    "js/clusters.js",
    "js/directions.js",
    "js/distance.js",
    "js/filters.js",
    "js/nearest.js",
    "js/offline.js",
    "js/points.js",
    "js/results.js",
    "js/search.js",
    "js/state.js",
    "js/words.js",
)
# Loaded only when a point has opening hours (static/js/hours.js, ~120 KB compressed): not part of
# the worker's install (the first view's budget), kept by the worker when first fetched.
LAZY_STATIC = ("js/hours.js", "vendor/opening_hours/opening_hours.js", "vendor/suncalc/suncalc.js")
# What the map page loads from static/ (tests/test_pwa.py checks the page against this list).
SHELL_STATIC = (
    "css/site.css",
    "vendor/leaflet/leaflet.css",
    "css/map.css",
    "vendor/leaflet/leaflet.js",
    "vendor/supercluster/supercluster.min.js",
    *MAP_MODULES,
    "icons/point.svg",
)
WORKER_TEMPLATE = "public/sw.js"
# Network first for the page and the data, but on a weak link give up after this long and show
# the last copy (the answer still lands in the cache when it comes).
NETWORK_TIMEOUT_MS = 4000
LIST_ANSWERS_KEPT = 10  # /list answers kept for offline use, most recent first
POINT_PAGES_KEPT = 30  # point pages kept (visited, or listed as nearest), most recent first
# Where a kept /list answer or point page says when it was saved (the worker fills it in).
SAVED_MARKER = "<!--offline-saved-->"
SNAPSHOT_HEADER = "X-Offline-Snapshot"  # marks an answer the worker took from its cache


def worker_settings() -> dict:
    """What sw.js needs, as one JSON object: URLs, cache version and timings."""
    return {
        "version": version(current_app),
        "page": url_for("public.map_page"),
        "list": url_for("public.list_page"),
        "data": url_for("api.list_points", format="compact"),
        "shell": [url_for("static", filename=name) for name in SHELL_STATIC],
        "lazy": [url_for("static", filename=name) for name in LAZY_STATIC],
        "timeoutMs": NETWORK_TIMEOUT_MS,
        "listAnswers": LIST_ANSWERS_KEPT,
        "pointPrefix": url_for("public.point_page", point_id="__ID__").removesuffix("__ID__"),
        "pointPages": POINT_PAGES_KEPT,
        "savedMarker": SAVED_MARKER,
        "snapshotHeader": SNAPSHOT_HEADER,
        "css": url_for("static", filename="css/site.css"),
        "languages": list(LANGUAGES),
        "words": {lang: _worker_words(lang) for lang in LANGUAGES},
    }


def _worker_words(lang: str) -> dict[str, str]:
    """The sentences of the pages the worker writes itself, offline, in one language."""
    with force_locale(lang):
        return {
            "lang": lang,
            "locale": SCRIPT_LOCALE[lang],
            "offline": gettext("Немає зв'язку"),
            # {time}: when the server sent the kept copy
            "saved": gettext("Офлайн: збережено %(time)s", time="{time}"),
            "no_answer": gettext("Немає збереженої відповіді для «%(place)s».", place="{place}"),
            "no_page": gettext("Ця сторінка не збережена для роботи без зв'язку."),
            "kept": gettext("Збережені відповіді"),
            "to_map": gettext("← До мапи"),
        }


def version(app: Flask) -> str:
    """A short hash of the cached static files and the worker's own template, once per process
    (a deploy restarts the processes)."""
    found = app.extensions.get("locator.pwa_version")
    if found is None:
        digest = hashlib.blake2b(digest_size=8)
        static = Path(app.static_folder or "static")
        for name in SHELL_STATIC + LAZY_STATIC:
            digest.update(name.encode() + b"\0" + (static / name).read_bytes())
        source, _, _ = app.jinja_loader.get_source(app.jinja_env, WORKER_TEMPLATE)
        digest.update(source.encode())
        found = app.extensions["locator.pwa_version"] = digest.hexdigest()
    return found
