"""The content encoding of every answer, decided here and nowhere else.

API answers are compressed by the edge itself (json_response): a big body once per ETag and
encoding, kept in the app's BodyCache; a small one on the fly at a low quality, where the bytes
hardly differ but the CPU does; below COMPRESS_AT not at all. The nearest lookup answered before
Flask (http/fast_nearest.py) asks the same response_encoding and compress_small. Everything else
(pages, static files, errors) goes through Flask-Compress, in compress_unless_decided.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, Response, current_app, request
from flask_compress import Compress
from werkzeug.datastructures import Accept

from locator.http.bodies import BR_QUALITY_KEPT, BR_QUALITY_SMALL, BodyCache, compress
from locator.http.policy import cacheable

ENCODINGS = ("br", "gzip")  # what the API compresses with, best first
COMPRESS_AT = 512  # bytes: smaller answers go out as they are
KEEP_COMPRESSED_AT = 256 * 1024  # bytes: larger bodies are compressed once per ETag and kept
COMPRESS = "locator.compress"  # app.extensions key: this app's Flask-Compress
BODIES = "locator.bodies"  # app.extensions key: this app's BodyCache
COMPRESSED_TYPES = [  # what Flask-Compress compresses (pages, files, errors)
    "text/html",
    "text/css",
    "application/javascript",
    "text/javascript",
    "application/json",
    "application/geo+json",
    "application/problem+json",
    "image/svg+xml",
]


def best_encoding(accepted: Accept) -> str | None:
    """The best of ENCODINGS this client takes, whatever the body's size."""
    return accepted.best_match(ENCODINGS)


def response_encoding(body: bytes, accepted: Accept) -> str | None:
    """The encoding an answer goes out in: none below COMPRESS_AT bytes."""
    return best_encoding(accepted) if len(body) >= COMPRESS_AT else None


def compress_small(body: bytes, encoding: str) -> bytes:
    """An answer below KEEP_COMPRESSED_AT, compressed as json_response does."""
    return compress(body, encoding, BR_QUALITY_SMALL)


def _bodies() -> BodyCache:
    """This app's cache (create_app): a body depends on the app's database, so two apps never
    share one."""
    return current_app.extensions[BODIES]


def json_response(
    body: bytes, etag: str, mimetype: str = "application/geo+json", *, quality: int = BR_QUALITY_KEPT
) -> Response:
    """A cacheable answer, compressed here: a large body once per ETag and encoding, at this
    brotli quality, and kept; a small one at a low quality."""
    encoding = response_encoding(body, request.accept_encodings)
    if encoding is not None:
        if len(body) >= KEEP_COMPRESSED_AT:
            body = _bodies().compressed(etag, body, encoding, quality)
        else:
            body = compress_small(body, encoding)
    return encoded_response(body, encoding, etag, mimetype)


def kept_or_made_response(etag: str, make: Callable[[], bytes], mimetype: str, quality: int) -> Response:
    """json_response of the body ``make`` makes, kept by ETag; when a compressed copy is kept
    already (maybe by another worker), that copy, without making the body at all."""
    encoding = best_encoding(request.accept_encodings)
    kept = _bodies().kept_copy(etag, encoding) if encoding is not None else None
    if kept is not None:
        return encoded_response(kept, encoding, etag, mimetype)
    return json_response(_bodies().get_or_make(etag, make), etag, mimetype, quality=quality)


def encoded_response(body: bytes, encoding: str | None, etag: str, mimetype: str) -> Response:
    response = current_app.response_class(body, mimetype=mimetype)
    response.encoding_decided = True  # Flask-Compress must not judge it again
    if encoding is not None:
        response.headers["Content-Encoding"] = encoding
    return cacheable(response, etag)


def compress_unless_decided(response: Response) -> Response:
    """Flask's after-request hook: Flask-Compress for pages and files. An API answer's encoding
    was decided above, and a 304 has no body: they skip Flask-Compress's header work. An API
    answer left plain stays plain: Flask-Compress 1.25 would compress it even for a client
    that refused the encoding ("br;q=0")."""
    if (
        response.status_code == 304
        or getattr(response, "encoding_decided", False)  # (False for a foreign response class)
        or "Content-Encoding" in response.headers
    ):
        return response
    return current_app.extensions[COMPRESS].after_request(response)


def init_app(app: Flask) -> None:
    app.config.update(
        COMPRESS_MIMETYPES=COMPRESSED_TYPES,
        COMPRESS_ALGORITHM=list(ENCODINGS),
        COMPRESS_MIN_SIZE=COMPRESS_AT,
        COMPRESS_REGISTER=False,  # registered through compress_unless_decided
    )
    app.extensions[COMPRESS] = Compress(app)  # one per app: it keeps the app's settings
