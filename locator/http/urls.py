"""The site's own address in what it hands out (issue 16): the OpenAPI document's server, the
widget's snippet and its link home, the slash redirects.

LOCATOR_PUBLIC_URL names it when set, whatever Host a request came with; otherwise it is the
request's scheme and Host. Never X-Forwarded-Host: ProxyFix is told not to read it
(http/install.py), since a client can send it through the proxy.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app, request, url_for


def site_root() -> str:
    """The address of the site's root, without a trailing slash: https://poi.example.ua."""
    return current_app.config["PUBLIC_URL"] or request.url_root.rstrip("/")


def external_url(endpoint: str, **values) -> str:
    """url_for(endpoint, **values) as an absolute URL on the site's address."""
    return site_root() + url_for(endpoint, **values)[len(request.script_root) :]


def redirect_target(app: Flask, new_url: str) -> str:
    """Where a routing redirect (/operator -> /operator/) points: Werkzeug builds it from the
    request's Host, so it becomes the same path on LOCATOR_PUBLIC_URL, or without a host."""
    parts = urlsplit(new_url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    public = app.config.get("PUBLIC_URL")
    return public + path[len(request.script_root) :] if public else path
