"""Flask trimmed of the per-request costs it lets an app trim: the response headers' misses,
``ensure_sync``'s questions and the session of API reads."""

from __future__ import annotations

from typing import Any, NoReturn

import orjson
from flask import Flask, Response
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from werkzeug.datastructures import Headers
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Request

from locator.http.routes import API_PREFIX, PRIVATE_READS, READ_METHODS
from locator.http.urls import redirect_target


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
    # True once the edge chose this answer's encoding itself (http/encoding.py): Flask-Compress
    # must not judge it again.
    encoding_decided = False

    def __init__(self, response=None, status=None, headers=None, *args, **kwargs):
        super().__init__(response, status, ResponseHeaders(headers), *args, **kwargs)


class StrictJSONProvider(DefaultJSONProvider):
    """Request bodies read by orjson: JSON nested past 1,024 levels (which made Python's json
    raise RecursionError, a 500) and lone surrogates ("\\ud800", which no database or page can
    hold) are refused as invalid JSON, a ValueError, so every view answers 400 (issue 16)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return orjson.loads(s)


class LocatorFlask(Flask):
    """Flask with the two per-request costs it lets an app trim: response headers (above), and
    ``ensure_sync``, which asks ``inspect`` about every hook and view on every request (eleven
    times a request here); nothing here is async, and a function's answer never changes. Its
    JSON bodies are read strictly (StrictJSONProvider), and its slash redirects name the site's
    address, not the request's Host (http/urls.py)."""

    response_class = LocatorResponse
    json_provider_class = StrictJSONProvider

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

    def raise_routing_exception(self, request: Request) -> NoReturn:
        error = request.routing_exception
        if isinstance(error, RequestRedirect):
            error.new_url = redirect_target(self, error.new_url)
        super().raise_routing_exception(request)


class SessionUnlessApiRead(SecureCookieSessionInterface):
    """The operator's session, except for API reads: they never use it, so they skip its
    cookie and signer (a cost on every request) and answer without Vary: Cookie, so a shared
    cache keeps one copy of each answer. Writing to the session in an API read raises. The
    private reads (routes.PRIVATE_READS: the planner's coverage) keep the session: a console
    user reads them logged in, and they are never cached."""

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        path = request.path
        if request.method in READ_METHODS and path.startswith(API_PREFIX) and path not in PRIVATE_READS:
            return self.make_null_session(app)
        return super().open_session(app, request)
