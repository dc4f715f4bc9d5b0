"""Revalidations of public API reads answered before Flask, when the answer cannot have changed.

Most reads of the map's data and of the nearest lookup are revalidations: browsers, the service
worker and partner sites send If-None-Match. Flask's own request and response machinery costs
more than deciding that nothing changed (a 304 through Flask: ~280 µs in process, against ~100 µs
for a bare Flask app). So a view that answers 304 also says how long its ETag stays true
(``holds``): until the change counter moves and, for answers that depend on the clock, until the
minute turns or a mobile point's stop starts or ends. The same revalidation then gets the same
304, with the very headers Flask gave it (made by http/policy.py), from here: after the same
admission (http/admission.py: a refused request goes on to Flask, which answers the refusal),
and counted in the same metrics and request log (http/telemetry.py).

Only answers whose ETag follows from the URL, the change counter and the clock opt in (a point's
own answer, whose ETag also counts citizens' reports, does not).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any, NamedTuple

from flask import Flask, request
from werkzeug.http import parse_etags, unquote_etag

from locator.http import telemetry
from locator.http.admission import ADMISSION

ENTRIES = 4096  # revalidations remembered per process (URL, query, scheme, method), oldest dropped
REVALIDATED_METHODS = ("GET", "HEAD")  # (an OPTIONS carries no validator)
NOT_MODIFIED = "304 NOT MODIFIED"
MARK = "locator.revalidation"  # the environ key a view's ``holds`` leaves for the middleware


class _Entry(NamedTuple):
    etag: str
    seq: int
    until: float  # time.time() at which the ETag may change without a write
    headers: list[tuple[str, str]]
    route: str


def holds(seq: int, until: float) -> None:
    """Called by a view that answers 304: its ETag stays true while the change counter is
    ``seq`` and the clock is before ``until`` (a Unix time)."""
    request.environ[MARK] = (seq, until, request.url_rule.rule)


class Revalidations:
    """WSGI middleware in front of the Flask app (inside ProxyFix, so addresses and scheme are
    the client's)."""

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        self.entries: OrderedDict[tuple, _Entry] = OrderedDict()
        self.admission = app.extensions[ADMISSION]

    def __call__(self, environ: dict[str, Any], start_response):
        method = environ.get("REQUEST_METHOD")
        if method not in REVALIDATED_METHODS or "HTTP_AUTHORIZATION" in environ:
            return self.wsgi_app(environ, start_response)
        key = (
            method,
            environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""),
            environ.get("wsgi.url_scheme"),
        )
        sent = environ.get("HTTP_IF_NONE_MATCH")
        if sent:
            started = time.perf_counter()
            entry = self.entries.get(key)
            if entry is not None and self._still_true(entry) and parse_etags(sent).contains_weak(entry.etag):
                if self.admission.judge(environ) is None:  # else Flask answers the refusal
                    start_response(NOT_MODIFIED, list(entry.headers))
                    self._record(entry.route, method, time.perf_counter() - started, environ)
                    return []
        return self.wsgi_app(environ, self._remembering(key, environ, start_response))

    def _remembering(self, key: tuple, environ: dict[str, Any], start_response):
        def remember(status: str, headers: list[tuple[str, str]], exc_info=None):
            mark = environ.get(MARK)
            if mark is not None and status.startswith("304"):
                etag = next((value for name, value in headers if name.lower() == "etag"), None)
                if etag is not None:
                    seq, until, route = mark
                    self.entries[key] = _Entry(unquote_etag(etag)[0], seq, until, list(headers), route)
                    self.entries.move_to_end(key)
                    while len(self.entries) > ENTRIES:
                        self.entries.popitem(last=False)
            return start_response(status, headers, exc_info)

        return remember

    def _still_true(self, entry: _Entry) -> bool:
        if time.time() >= entry.until:
            return False
        store = self.app.extensions["locator.store"]
        return store.latest_seq(entry.seq) == entry.seq

    def _record(self, route: str, method: str, seconds: float, environ: dict[str, Any]) -> None:
        telemetry.record(self.app, route, method, 304, seconds, None, environ.get("REMOTE_ADDR"))
