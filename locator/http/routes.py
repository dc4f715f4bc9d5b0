"""What the edge knows of a request before Flask has parsed it: its method class, whether it is
the API, and its sender's network. Read from the WSGI environ, so the paths answered before Flask
ask the same questions as Flask's hooks, the same way."""

from __future__ import annotations

from typing import Any

from locator.domain.senders import sender_group

API_PREFIX = "/api/"
READ_METHODS = ("GET", "HEAD", "OPTIONS")  # no state changes: no CSRF check, CORS for anyone
# API reads for signed-in users only (issue 19): they keep the console's session, and are never cached.
PRIVATE_READS = frozenset({"/api/v1/coverage"})


def request_path(environ: dict[str, Any]) -> str:
    """The path as Flask routes it (Werkzeug folds leading slashes: //api/x is /api/x), so no
    guard can be stepped around with a path Flask still sends to the API."""
    return "/" + environ.get("PATH_INFO", "").lstrip("/")


def is_api(environ: dict[str, Any]) -> bool:
    """request_path(environ).startswith(API_PREFIX), without making a string for most paths."""
    path = environ.get("PATH_INFO", "")
    if path.startswith(API_PREFIX):
        return True
    if path[:1] == "/" and path[1:2] != "/":
        return False  # an ordinary path, not the API's
    return request_path(environ).startswith(API_PREFIX)


def sender(config: dict[str, Any], environ: dict[str, Any]) -> str:
    """The network the request came from, as the limits count senders (LOCATOR_SENDER_PREFIX_V4
    and _V6; behind a trusted proxy, the proxy's client address, as ProxyFix set it)."""
    return sender_group(environ.get("REMOTE_ADDR"), config["SENDER_PREFIX_V4"], config["SENDER_PREFIX_V6"])
