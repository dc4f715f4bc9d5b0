"""The whole HTTP edge, stacked in one place and in one order.

A request meets, from the outside in:

1. ProxyFix (only with LOCATOR_TRUSTED_PROXIES): the client's address and scheme, so everything
   after it (rate limit, HSTS, the log) sees the client, not the proxy.
2. Revalidations (http/revalidation.py): a repeated If-None-Match whose answer cannot have
   changed gets Flask's remembered 304, after admission.
3. FastNearest (http/fast_nearest.py): a plain nearest lookup, after admission, with the edge's
   header policy and encoding.
4. Flask, whose hooks run in this order:
   before the view: telemetry.start (the clock), admission.limit_body (the route's body limit),
   admission.admit (the guard chain: the anonymous
   rate limit, CSRF, and any guard added to it), then the app's own (the console's login);
   after the view: the app's own (the page language's Vary), then
   encoding.compress_unless_decided, policy.apply_headers (CORS, security headers) and
   telemetry.finish (the log line and metrics), last.
Errors, from any of them, become answers in http/errors.py.

The paths before Flask call the same functions as Flask's hooks (admission's judge, policy's
headers, encoding's decision, telemetry's record): a rule lives in one function, and a guard
added to ``app.extensions[ADMISSION].guards`` holds on all three paths.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from locator.http import admission, encoding, errors, policy, telemetry
from locator.http.fast_nearest import FastNearest, NearestQuery
from locator.http.flask_app import SessionUnlessApiRead
from locator.http.revalidation import Revalidations


def install(app: Flask, nearest: NearestQuery) -> None:
    """Stack the edge on this app: call once, before any other hook is registered (telemetry's
    must be first, to time the others)."""
    app.before_request(telemetry.start)
    telemetry.init_app(app)
    policy.init_app(app)
    encoding.init_app(app)
    admission.init_app(app)
    errors.register(app)
    app.session_interface = SessionUnlessApiRead()
    app.before_request(admission.limit_body)  # before anything reads the body (the CSRF check)
    app.before_request(admission.admit)
    # Flask runs after-request hooks last registered first: these three run after the app's own.
    app.after_request(telemetry.finish)
    app.after_request(policy.apply_headers)
    app.after_request(encoding.compress_unless_decided)
    # Middleware, innermost first.
    app.wsgi_app = FastNearest(app, app.wsgi_app, nearest)
    app.wsgi_app = Revalidations(app, app.wsgi_app)
    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        # Never X-Forwarded-Host (issue 16): a client can send it through the proxy, and the host
        # names the API in openapi.json and the widget's snippet.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0)
