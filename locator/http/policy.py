"""The header policy every answer gets, whichever path gives it: security headers, CORS and the
cache headers (with the ETag helpers they go with).

Flask's hook (apply_headers) and the answers given before Flask (http/fast_nearest.py) call the
same functions here; the revalidations (http/revalidation.py) replay headers Flask made with them.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request
from werkzeug.http import quote_etag

from locator.http.flask_app import ResponseHeaders
from locator.http.routes import API_PREFIX, READ_METHODS

ETAG_BUCKET_S = 60  # "stale" flags depend on the clock: ETags roll over at least once a minute
EMBED_ENDPOINT = "embed.widget"  # the only page other sites may frame
SECURITY = "locator.security_headers"  # app.extensions key: this app's SecurityHeaders
HSTS = ("Strict-Transport-Security", "max-age=31536000")

CORS_READ = [
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Expose-Headers", "ETag, Retry-After, Content-Disposition, X-Data-As-Of"),
]
CORS_PREFLIGHT = [
    *CORS_READ,
    ("Access-Control-Allow-Methods", "GET, HEAD"),
    ("Access-Control-Allow-Headers", "If-None-Match, Accept"),
    ("Access-Control-Max-Age", "86400"),
]


# -- security headers --------------------------------------------------------------------------


def csp_nonce() -> str:
    """The per-response nonce that lets our own inline scripts and styles run, and no others."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def tile_origin(tile_url: str) -> str:
    """The CSP source for the tile host ({s} subdomains become a wildcard)."""
    parts = urlsplit(tile_url.replace("{s}", "*"))
    return f"{parts.scheme}://{parts.netloc}"


def embed_ancestors(configured: str) -> str:
    """LOCATOR_EMBED_ANCESTORS plus 'self', so the builder's preview of the widget still loads
    when only partner sites are listed."""
    sources = configured.split()
    if "*" in sources or "'self'" in sources:
        return configured
    return f"{configured} 'self'"


class SecurityHeaders:
    """The security headers, built once per app (they depend only on settings), so a response
    pays for a list, not for a policy string; only a page's CSP nonce is put in per response."""

    NONCE = "\0nonce\0"  # where a page's nonce goes in the policy (no real policy holds a NUL)

    def __init__(self, tile_origin: str, ancestors: str):
        self.plain = self._headers(tile_origin, frame_ancestors="'none'")
        # The only page other sites may frame (and our own builder, for its preview).
        self.embeddable = self._headers(tile_origin, frame_ancestors=embed_ancestors(ancestors))

    def _headers(self, tile_origin: str, frame_ancestors: str) -> list[tuple[str, str]]:
        own = "'self'" + self.NONCE
        policy = {
            "default-src": "'self'",
            "script-src": own,
            "style-src": own,
            "img-src": f"'self' data: {tile_origin}",
            "connect-src": "'self'",
            "font-src": "'self'",
            "object-src": "'none'",
            "base-uri": "'none'",
            "form-action": "'self'",
            "frame-ancestors": frame_ancestors,
        }
        headers = [
            ("Content-Security-Policy", "; ".join(f"{k} {v}" for k, v in policy.items())),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "strict-origin-when-cross-origin"),
            # Geolocation for this site only: the widget is this site too (a partner's iframe
            # delegates it with allow="geolocation"); nothing here uses the camera or microphone.
            ("Permissions-Policy", "geolocation=(self), camera=(), microphone=()"),
        ]
        if frame_ancestors == "'none'":
            headers.append(("X-Frame-Options", "DENY"))
        return headers

    def for_response(
        self, embeddable: bool, nonce: str | None, before: list[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        """A new list: ``before`` (CORS), then these headers with the page's nonce put in."""
        headers = self.embeddable if embeddable else self.plain
        fill = f" 'nonce-{nonce}'" if nonce else ""
        name, policy = headers[0]
        return [*before, (name, policy.replace(self.NONCE, fill)), *headers[1:]]


# The map's ES modules are fetched in CORS mode, and the embed runs them in a sandboxed frame
# (an opaque origin): the static files must be readable cross-site, as the API is.
STATIC_PREFIX = "/static/"


def cors_headers(method: str, path: str) -> list[tuple[str, str]]:
    """Any site may read the API and the static files; no cross-site request may write (write
    endpoints get nothing)."""
    if method in READ_METHODS and path.startswith((API_PREFIX, STATIC_PREFIX)):
        return CORS_PREFLIGHT if method == "OPTIONS" else CORS_READ
    return []


def edge_headers(
    app: Flask, method: str, path: str, secure: bool, embeddable: bool = False, nonce: str | None = None
) -> list[tuple[str, str]]:
    """Every answer's CORS and security headers, in one new list (Flask's hook and the answers
    given before Flask both send these)."""
    chosen = app.extensions[SECURITY].for_response(embeddable, nonce, cors_headers(method, path))
    if secure:
        chosen.append(HSTS)
    if method in READ_METHODS and (as_of := app.extensions["locator.index"].as_of()) is not None:
        # When the last change this node holds was written: while the database cannot be
        # reached, reads go on from memory and say how old they may be.
        chosen.append(("X-Data-As-Of", as_of.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"))
    return chosen


def set_headers(response: Response, pairs: list[tuple[str, str]]) -> None:
    """Set these headers, replacing any of the same names (built by the edge, so checked)."""
    if isinstance(response.headers, ResponseHeaders):
        response.headers.set_all(pairs)
    else:  # (a response made outside this app's response class)
        for name, value in pairs:
            response.headers[name] = value


def apply_headers(response: Response) -> Response:
    """Flask's after-request hook: the edge's headers on every answer Flask gives."""
    set_headers(
        response,
        edge_headers(
            current_app,
            request.method,
            request.path,
            request.is_secure,
            request.endpoint == EMBED_ENDPOINT,
            g.get("csp_nonce"),
        ),
    )
    return response


# -- cache headers and ETags -------------------------------------------------------------------


def etag_for(*parts: Any, clock: bool = True) -> str:
    """A weak ETag from the data version and the request's arguments, and, for bodies that
    say whether a status is stale (clock=True), the clock's minute."""
    bucket = int(time.time() // ETAG_BUCKET_S) if clock else 0
    text = "|".join(map(str, (*parts, bucket)))
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def etag_valid_until(clock: bool, *moments: datetime | None) -> float:
    """Until when (Unix time) an ETag made now by etag_for stays true with no write: the turn
    of its minute for clock=True, and any of these moments (the next stop of a mobile point).
    Asked before the ETag is made, so a minute turning in between only shortens it."""
    until = (int(time.time() // ETAG_BUCKET_S) + 1) * ETAG_BUCKET_S if clock else float("inf")
    for moment in moments:
        if moment is not None:
            until = min(until, moment.timestamp())
    return until


def cache_control(max_age: int) -> str:
    return f"public, max-age={max_age}, stale-while-revalidate={max_age * 2}"


def cache_headers(app: Flask, etag: str) -> list[tuple[str, str]]:
    """A cacheable answer's headers: its weak ETag, how long shared caches keep it, and that
    it varies with the encoding (cacheable() and the answers given before Flask send these)."""
    return [
        ("ETag", quote_etag(etag, weak=True)),
        ("Cache-Control", cache_control(app.config["CACHE_SECONDS"])),
        ("Vary", "Accept-Encoding"),
    ]


def cacheable(response: Response, etag: str) -> Response:
    pairs = cache_headers(current_app, etag)
    if "Vary" in response.headers:  # (parsing an empty Vary costs more: only when there is one)
        response.vary.add("Accept-Encoding")
        pairs.pop()
    set_headers(response, pairs)
    return response


def not_modified(etag: str) -> Response | None:
    """A 304 response when the client already has this version, else None."""
    if request.if_none_match.contains_weak(etag):
        response = current_app.response_class(status=304)
        # No body, so no type: hooks meant for pages (text/html, the default) leave it alone,
        # and its Vary stays the one the 200 carried.
        del response.headers["Content-Type"]
        cacheable(response, etag)
        return response
    return None


def init_app(app: Flask) -> None:
    """The security headers, built once from the settings; the nonce for templates."""
    app.config["TILE_ORIGIN"] = tile_origin(app.config["TILE_URL"])
    app.extensions[SECURITY] = SecurityHeaders(app.config["TILE_ORIGIN"], app.config["EMBED_ANCESTORS"])
    app.jinja_env.globals["csp_nonce"] = csp_nonce
