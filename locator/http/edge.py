"""HTTP plumbing shared by every blueprint: errors, security headers, conditional GET.

One exception type (ApiError) and one handler: API paths answer application/problem+json
(RFC 9457) naming the offending parameter; pages answer an HTML error page.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import time
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, render_template, request
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Request

from locator.domain.validation import ValidationError
from locator.http.limits import TOKEN_TAKEN, TokenBuckets, retry_after
from locator.http.revalidation import Revalidations
from locator.store.errors import StoreBusy

PROBLEM_JSON = "application/problem+json"
ETAG_BUCKET_S = 60  # "stale" flags depend on the clock: ETags roll over at least once a minute


class ResponseHeaders(Headers):
    """Response headers whose misses cost nothing: Werkzeug answers a lookup of an absent header
    (``in``, ``get``) by building a BadRequestKeyError, an HTTP exception, and every response
    looks up several absent ones on its way out (about 4 % of a 304's time)."""

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        wanted = key.lower()
        return any(name.lower() == wanted for name, _ in self._list)

    def get(self, key, default=None, type=None):  # noqa: A002 (Headers.get's own signature)
        if isinstance(key, str) and key not in self:
            return default
        return super().get(key, default, type)

    def set_all(self, pairs: list[tuple[str, str]]) -> None:
        """Set several headers at once, replacing any of the same names: one pass over the list
        instead of one per header. Only for pairs this app built itself (they are not checked
        for line breaks again)."""
        names = {name.lower() for name, _ in pairs}
        self._list = [item for item in self._list if item[0].lower() not in names]
        self._list.extend(pairs)


class LocatorResponse(Response):
    def __init__(self, response=None, status=None, headers=None, *args, **kwargs):
        super().__init__(response, status, ResponseHeaders(headers), *args, **kwargs)


class LocatorFlask(Flask):
    """Flask with the two per-request costs it lets an app trim: response headers (above), and
    ``ensure_sync``, which asks ``inspect`` about every hook and view on every request (eleven
    times a request here); nothing here is async, and a function's answer never changes."""

    response_class = LocatorResponse

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._sync: dict[Any, Any] = {}

    def ensure_sync(self, func):
        try:
            return self._sync[func]
        except KeyError:
            made = self._sync[func] = super().ensure_sync(func)
            return made
        except TypeError:  # an unhashable callable
            return super().ensure_sync(func)


class ApiError(Exception):
    """An error with an HTTP status, a short title and, where one is to blame, a parameter."""

    def __init__(self, status: int, title: str, detail: str = "", param: str | None = None, **extra: Any):
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.param, self.extra = status, title, detail, param, extra

    @classmethod
    def from_validation(cls, error: ValidationError, status: int = 400) -> ApiError:
        first = error.problems[0]
        errors = [{"param": p.field, "detail": p.message} for p in error.problems]
        return cls(status, "Invalid parameter", str(error), first.field, errors=errors)


def problem_response(error: ApiError) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": error.title,
        "status": error.status,
        "detail": error.detail or error.title,
    }
    if error.param:
        body["param"] = error.param
    body.update(error.extra)
    response = current_app.response_class(
        json.dumps(body, ensure_ascii=False), status=error.status, mimetype=PROBLEM_JSON
    )
    response.headers["Cache-Control"] = "no-store"
    if "retry_after" in error.extra:
        response.headers["Retry-After"] = str(error.extra["retry_after"])
    return response


def _wants_problem_json() -> bool:
    return request.path.startswith("/api/")


def _handle_api_error(error: ApiError):
    if _wants_problem_json():
        return problem_response(error)
    return render_template(
        "error.html", status=error.status, title=error.title, detail=error.detail
    ), error.status


def _handle_http_exception(error: HTTPException):
    if _wants_problem_json():
        return problem_response(ApiError(error.code or 500, error.name, error.description or ""))
    return render_template("error.html", status=error.code, title=error.name, detail=""), error.code


def _handle_unexpected(error: Exception):
    if isinstance(error, StoreBusy) or isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
        # Another writer held the database past busy_timeout (a restore, a huge import): the
        # write did not happen, and trying again shortly will work. Never a 500 for that.
        current_app.logger.warning("database busy on %s: %s", request.path, error)
        busy = _Busy()
        response = current_app.make_response(_handle_http_exception(busy))
        response.headers["Retry-After"] = "5"
        return response
    current_app.logger.exception("unhandled error on %s", request.path)
    return _handle_http_exception(_InternalError())


class _Busy(HTTPException):
    code = 503
    description = "The database is busy with another change; nothing was written. Try again in a few seconds."


class _InternalError(HTTPException):
    code = 500
    description = "Something went wrong on our side. Please try again."


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

    def for_response(self, embeddable: bool, nonce: str | None) -> list[tuple[str, str]]:
        headers = self.embeddable if embeddable else self.plain
        fill = f" 'nonce-{nonce}'" if nonce else ""
        name, policy = headers[0]
        return [(name, policy.replace(self.NONCE, fill)), *headers[1:]]


def _security_headers(response: Response) -> Response:
    chosen = security_headers(
        current_app, request.is_secure, request.endpoint == "embed.widget", g.get("csp_nonce")
    )
    set_headers(response, chosen)
    return response


def security_headers(
    app: Flask, secure: bool, embeddable: bool = False, nonce: str | None = None
) -> list[tuple[str, str]]:
    """Every answer's security headers (also for answers given before Flask, fast_nearest.py)."""
    chosen = app.extensions["locator.security_headers"].for_response(embeddable, nonce)
    if secure:
        chosen.append(("Strict-Transport-Security", "max-age=31536000"))
    return chosen


def set_headers(response: Response, pairs: list[tuple[str, str]]) -> None:
    """Set these headers, replacing any of the same names (built by this module, so checked)."""
    if isinstance(response.headers, ResponseHeaders):
        response.headers.set_all(pairs)
    else:  # (a response made outside this app's response class)
        for name, value in pairs:
            response.headers[name] = value


READ_METHODS = ("GET", "HEAD", "OPTIONS")


CORS_READ = [
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Expose-Headers", "ETag, Retry-After, Content-Disposition"),
]
CORS_PREFLIGHT = [
    *CORS_READ,
    ("Access-Control-Allow-Methods", "GET, HEAD"),
    ("Access-Control-Allow-Headers", "If-None-Match, Accept"),
    ("Access-Control-Max-Age", "86400"),
]


def _cors_for_reads(response: Response) -> Response:
    """Any site may read the API; no cross-site request may write (write endpoints get nothing)."""
    if request.method in READ_METHODS and request.path.startswith("/api/"):
        set_headers(response, CORS_PREFLIGHT if request.method == "OPTIONS" else CORS_READ)
    return response


def _limit_anonymous_api() -> None:
    """429 with Retry-After when one address sends more anonymous API requests than allowed."""
    if not request.path.startswith("/api/") or request.headers.get("Authorization", "").startswith("Bearer "):
        return
    if request.environ.get(TOKEN_TAKEN):
        return
    wait = current_app.extensions["locator.limiter"].take(request.remote_addr or "?")
    if wait:
        seconds = retry_after(wait)
        raise ApiError(
            429, "Too Many Requests", f"slow down: try again in {seconds} s", None, retry_after=seconds
        )


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


def cacheable(response: Response, etag: str) -> Response:
    response.set_etag(etag, weak=True)
    response.headers["Cache-Control"] = cache_control(current_app.config["CACHE_SECONDS"])
    if "Vary" in response.headers:
        response.vary.add("Accept-Encoding")
    else:
        response.headers["Vary"] = "Accept-Encoding"  # (parsing an empty Vary costs more)
    return response


def cache_control(max_age: int) -> str:
    return f"public, max-age={max_age}, stale-while-revalidate={max_age * 2}"


class SessionUnlessApiRead(SecureCookieSessionInterface):
    """The operator's session, except for API reads: they never use it, so they skip its
    cookie and signer (a cost on every request) and answer without Vary: Cookie, so a shared
    cache keeps one copy of each answer. Writing to the session in an API read raises."""

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        if request.method in READ_METHODS and request.path.startswith("/api/"):
            return self.make_null_session(app)
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    app.config["TILE_ORIGIN"] = tile_origin(app.config["TILE_URL"])
    app.extensions["locator.security_headers"] = SecurityHeaders(
        app.config["TILE_ORIGIN"], app.config["EMBED_ANCESTORS"]
    )
    app.session_interface = SessionUnlessApiRead()
    app.register_error_handler(ApiError, _handle_api_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(Exception, _handle_unexpected)
    app.wsgi_app = Revalidations(app, app.wsgi_app)  # inside ProxyFix: it sees the client's address
    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.extensions["locator.limiter"] = TokenBuckets(app.config["API_RATE_PER_MIN"])
    app.before_request(_limit_anonymous_api)
    app.after_request(_security_headers)
    app.after_request(_cors_for_reads)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
