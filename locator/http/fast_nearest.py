"""The nearest lookup answered before Flask: the read that citizens and partner widgets send most.

Through Flask a nearest answer costs about five times a bare Flask app's constant JSON (~570 µs
in process), and the lookup with its JSON is only ~120 µs of it: the rest is Flask's request
and response machinery and the hooks every request passes. Here a plain GET of /api/v1/nearest
(no credentials, no If-None-Match) is answered with the body the view makes (api.nearest_body,
one function for both), the same ETag, the same headers, the same anonymous rate limit, log line
and metrics. Anything else goes on to Flask, and so does every request this cannot answer
exactly as Flask would: bad arguments (Flask's problem+json), a rate limit reached (Flask's 429)
and any error. tests/test_fast_nearest.py compares both answers, byte for byte, on random queries.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from flask import Flask
from werkzeug.http import quote_etag

from locator.domain.point import utcnow
from locator.http.edge import CORS_READ, cache_control, security_headers
from locator.http.limits import TOKEN_TAKEN
from locator.web import api, ops

PATH = "/api/v1/nearest"  # also the route name in metrics and the request log, as Flask names it
MEDIA_TYPE = "application/geo+json"


class FastNearest:
    """WSGI middleware just in front of the Flask app (inside revalidations and ProxyFix)."""

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app

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
        ops.record(self.app, PATH, "GET", 200, time.perf_counter() - started, len(body), client)
        return [body]

    def _answer(self, environ: dict[str, Any]) -> tuple[list[tuple[str, str]], bytes] | None:
        """The headers and body Flask would send, or None to leave the request to Flask."""
        app = self.app
        request = app.request_class(environ)
        if app.extensions["locator.limiter"].take(request.remote_addr or "?"):
            return None  # over the limit: Flask answers 429 (taking no second token)
        environ[TOKEN_TAKEN] = True  # so Flask, if it gets the request after all, takes none
        snapshot = app.extensions["locator.index"].sync()
        now = utcnow()
        etag = api.nearest_etag(snapshot, now, request.args)
        try:
            body = api.nearest_body(snapshot, now, timedelta(hours=app.config["STALE_HOURS"]), request.args)
        except api.ApiError:
            return None  # Flask names the bad argument, as problem+json
        encoding = api.response_encoding(body, request.accept_encodings)
        headers = [("Content-Type", MEDIA_TYPE)]
        if encoding is not None:
            if len(body) >= api.KEEP_COMPRESSED_AT:
                return None  # kept per ETag in the app's body cache: Flask's business
            body = api.compress_small(body, encoding)
            headers += [("Content-Length", str(len(body))), ("Content-Encoding", encoding)]
        else:
            headers.append(("Content-Length", str(len(body))))
        headers += [
            ("ETag", quote_etag(etag, weak=True)),
            ("Cache-Control", cache_control(app.config["CACHE_SECONDS"])),
            ("Vary", "Accept-Encoding"),
            *CORS_READ,
            *security_headers(app, request.is_secure),
        ]
        return headers, body
