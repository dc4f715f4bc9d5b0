"""The nearest lookup answered before Flask: the read that citizens and partner widgets send most.

Through Flask a nearest answer costs about five times a bare Flask app's constant JSON (~570 µs
in process), and the lookup with its JSON is only ~120 µs of it: the rest is Flask's request
and response machinery and the hooks every request passes. Here a plain GET of /api/v1/nearest
(no credentials, no If-None-Match) is answered with the body the view makes (the same two
functions, NearestQuery), after the same admission (http/admission.py), with the same header
policy (http/policy.py), encoding (http/encoding.py), log line and metrics (http/telemetry.py).
Anything else goes on to Flask, and so does every request this cannot answer exactly as Flask
would: a refusal (Flask raises the same one), bad arguments (Flask's problem+json) and any error.
tests/test_fast_nearest.py compares both answers, byte for byte, on random queries.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from flask import Flask
from werkzeug.datastructures import MultiDict

from locator.domain.point import utcnow
from locator.http import encoding, policy, telemetry
from locator.http.admission import ADMISSION
from locator.http.errors import ApiError

PATH = "/api/v1/nearest"  # also the route name in metrics and the request log, as Flask names it
MEDIA_TYPE = "application/geo+json"


class NearestQuery(NamedTuple):
    """What the nearest view answers with (web/api.py), given to the edge by create_app."""

    etag: Callable[[Any, datetime, MultiDict], str]  # (snapshot, now, args) -> ETag
    body: Callable[[Any, datetime, timedelta, MultiDict], bytes]  # ... -> JSON, or ApiError


class FastNearest:
    """WSGI middleware just in front of the Flask app (inside revalidations and ProxyFix)."""

    def __init__(self, app: Flask, wsgi_app, query: NearestQuery):
        self.app = app
        self.wsgi_app = wsgi_app
        self.query = query
        self.admission = app.extensions[ADMISSION]

    def __call__(self, environ: dict[str, Any], start_response):
        if (
            environ.get("PATH_INFO") != PATH
            or environ.get("REQUEST_METHOD") != "GET"
            or "HTTP_AUTHORIZATION" in environ
            or "HTTP_IF_NONE_MATCH" in environ
        ):
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        try:
            answer = self._answer(environ)
        except Exception:  # noqa: BLE001 (Flask does it again, and answers or logs the error)
            answer = None
        if answer is None:
            return self.wsgi_app(environ, start_response)
        headers, body = answer
        start_response("200 OK", headers)
        client = environ.get("REMOTE_ADDR")
        telemetry.record(self.app, PATH, "GET", 200, time.perf_counter() - started, len(body), client)
        return [body]

    def _answer(self, environ: dict[str, Any]) -> tuple[list[tuple[str, str]], bytes] | None:
        """The headers and body Flask would send, or None to leave the request to Flask."""
        if self.admission.judge(environ) is not None:
            return None  # refused: Flask's hook raises the same refusal (judged once)
        app = self.app
        request = app.request_class(environ)
        snapshot = app.extensions["locator.index"].sync()
        now = utcnow()
        etag = self.query.etag(snapshot, now, request.args)
        try:
            body = self.query.body(snapshot, now, timedelta(hours=app.config["STALE_HOURS"]), request.args)
        except ApiError:
            return None  # Flask names the bad argument, as problem+json
        chosen = encoding.response_encoding(body, request.accept_encodings)
        headers = [("Content-Type", MEDIA_TYPE)]
        if chosen is not None:
            if len(body) >= encoding.KEEP_COMPRESSED_AT:
                return None  # kept per ETag in the app's body cache: Flask's business
            body = encoding.compress_small(body, chosen)
            headers += [("Content-Length", str(len(body))), ("Content-Encoding", chosen)]
        else:
            headers.append(("Content-Length", str(len(body))))
        headers += policy.cache_headers(app, etag)
        headers += policy.edge_headers(app, "GET", PATH, request.is_secure)
        return headers, body
