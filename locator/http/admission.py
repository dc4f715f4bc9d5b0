"""Who gets in: one chain of guards that every request passes, whichever path answers it.

A guard is a function ``guard(app, environ)`` that returns None to let the request on, or the
refusal to answer it with (an ApiError or an HTTPException, rendered by http/errors.py). The app
holds the chain (``app.extensions[ADMISSION].guards``, a list): Flask's hook (admit), the nearest
lookup answered before Flask and the revalidations answered before Flask all call judge(), so a
guard added to the list holds on every path. The verdict is kept in the environ: a request judged
before Flask and passed on to it is not judged again (no rate limit token taken twice), and a
refused one reaches Flask, whose hook raises the very same refusal, so every refusal is Flask's
answer, byte for byte.

Guards see the WSGI environ, and only GET and HEAD requests are answered before Flask: a guard that
needs Flask's request or session (the CSRF check) lets the read methods through first.

Only a valid API token earns anything (skipping the anonymous rate limit and the CSRF check); a
bogus, expired or revoked one, or a disabled user's, is no token at all. Its user is looked up once
per request, and only for requests that carry an Authorization header
(bearer_user, which the write API's writer() reuses).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, request, session
from flask_wtf.csrf import CSRFError, CSRFProtect

from locator.domain.users import User
from locator.http.errors import ApiError
from locator.http.limits import TokenBuckets, retry_after
from locator.http.routes import READ_METHODS, is_api
from locator.services.accounts import token_digest

ADMISSION = "locator.admission"  # app.extensions key: this app's Admission
LIMITER = "locator.limiter"  # app.extensions key: the anonymous API's TokenBuckets
VERDICT = "locator.verdict"  # environ key: the chain's verdict, None when let in
BEARER_USER = "locator.bearer_user"  # environ key: the user of the request's valid token, or None
BEARER = "Bearer "
UNJUDGED = object()  # (an environ key's absence, told apart from a None kept there)
CSRF_FREE_BLUEPRINTS = frozenset({"reports"})  # anonymous, no session to ride on (see below)

Guard = Callable[[Flask, dict[str, Any]], Exception | None]


class Admission:
    """The app's chain of guards, in the order they run (the first refusal wins)."""

    def __init__(self, app: Flask, guards: list[Guard]):
        self.app = app
        self.guards = guards

    def judge(self, environ: dict[str, Any]) -> Exception | None:
        """The refusal for this request, or None to let it in; judged once per request."""
        refusal = environ.get(VERDICT, UNJUDGED)
        if refusal is not UNJUDGED:
            return refusal
        refusal = None
        for guard in self.guards:
            refusal = guard(self.app, environ)
            if refusal is not None:
                break
        environ[VERDICT] = refusal
        return refusal


def admit() -> None:
    """Flask's before-request hook: raise the chain's refusal, if any."""
    refusal = current_app.extensions[ADMISSION].judge(request.environ)
    if refusal is not None:
        raise refusal


# The largest body each route reads (issue 16): a citizen's report or a login is a few fields, an
# API write a point with its stops (50 stops: ~15 KB); only the console's import takes a file
# (the app's MAX_CONTENT_LENGTH: LOCATOR_IMPORT_MAX_BYTES and the form around it).
SMALL_BODY_BYTES = 16 * 1024
BODY_BYTES = 256 * 1024
SMALL_BODY_ENDPOINTS = frozenset({"reports.report_api", "reports.report_form", "operator.login"})
FILE_BODY_ENDPOINTS = frozenset(
    {"operator.import_points", "operator_planner.upload_file", "operator_planner.import_outages"}
)


def limit_body() -> None:
    """Flask's before-request hook: past its route's limit a body is refused with 413, unread."""
    endpoint = request.endpoint
    if endpoint not in FILE_BODY_ENDPOINTS:
        limit = SMALL_BODY_BYTES if endpoint in SMALL_BODY_ENDPOINTS else BODY_BYTES
        request.max_content_length = min(limit, current_app.config["MAX_CONTENT_LENGTH"] or limit)


def bearer_user(app: Flask, environ: dict[str, Any]) -> User | None:
    """The enabled user whose active API token this request carries (Authorization: Bearer ...),
    or None for no token, a bogus, expired or revoked one, or a disabled user. Looked up once per
    request."""
    user = environ.get(BEARER_USER, UNJUDGED)
    if user is not UNJUDGED:
        return user
    header = environ.get("HTTP_AUTHORIZATION", "")
    user = None
    if header.startswith(BEARER):
        user = app.extensions["locator.users"].for_token(token_digest(header[len(BEARER) :].strip()))
    environ[BEARER_USER] = user
    return user


def _valid_token(app: Flask, environ: dict[str, Any]) -> bool:
    return "HTTP_AUTHORIZATION" in environ and bearer_user(app, environ) is not None


# -- the guards ------------------------------------------------------------------------------------


def anonymous_rate_limit(app: Flask, environ: dict[str, Any]) -> ApiError | None:
    """429 with Retry-After when one address sends more API requests than allowed without a
    valid token."""
    if not is_api(environ) or _valid_token(app, environ):
        return None
    wait = app.extensions[LIMITER].take(environ.get("REMOTE_ADDR") or "?")
    if not wait:
        return None
    seconds = retry_after(wait)
    return ApiError(
        429, "Too Many Requests", f"slow down: try again in {seconds} s", None, retry_after=seconds
    )


def csrf_unless_token(app: Flask, environ: dict[str, Any]) -> CSRFError | None:
    """Every state-changing request carries a CSRF token, except API calls with a valid token
    (those send no cookie a forged cross-site request could ride on)."""
    if environ.get("REQUEST_METHOD") in READ_METHODS:
        return None  # (first: the reads answered before Flask stop here, with no Flask request)
    if _valid_token(app, environ):
        return None
    if request.blueprint in CSRF_FREE_BLUEPRINTS:
        return None  # anonymous, no session to ride on; reporting.same_site_or_403 stops other sites
    if is_api(environ) and "uid" not in session:
        return None  # no session, nothing to forge: the write API answers 401 itself
    try:
        app.extensions["csrf"].protect()
    except CSRFError as refusal:
        return refusal
    return None


def init_app(app: Flask) -> Admission:
    """The limiter, the CSRF protection (checked by the guard, not by Flask-WTF's own hook) and
    the chain: the rate limit first (the cheapest refusal), then CSRF."""
    app.config.update(
        WTF_CSRF_CHECK_DEFAULT=False,  # checked in csrf_unless_token: valid API tokens skip it
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )
    CSRFProtect(app)
    app.extensions[LIMITER] = TokenBuckets(app.config["API_RATE_PER_MIN"])
    admission = app.extensions[ADMISSION] = Admission(app, [anonymous_rate_limit, csrf_unless_token])
    return admission
