"""The Points of Invincibility locator: create_app wires config, store, index and blueprints."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, request, session
from flask_compress import Compress
from flask_wtf.csrf import CSRFProtect

from locator import cli, config, console
from locator.http import edge as web
from locator.http.bodies import BodyCache, SharedCopies
from locator.http.fast_nearest import FastNearest
from locator.search.gazetteer import shared as shared_gazetteer
from locator.search.nearest import NearestIndex
from locator.store import Store, UserStore
from locator.store.reports import ReportRules
from locator.web import api, api_write, embed, i18n, labels, ops, public, reporting

csrf = CSRFProtect()
UPLOAD_FORM_BYTES = 64 * 1024  # multipart framing and form fields around an uploaded file

ROOT = config.ROOT


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings from the environment, then overrides (tests pass theirs here)."""
    app = web.LocatorFlask(
        __name__,
        static_folder=str(ROOT / "static"),
        template_folder=str(ROOT / "templates"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.from_mapping(config.load())
    app.config.update(overrides or {})
    app.config.update(
        COMPRESS_MIMETYPES=[
            "text/html",
            "text/css",
            "application/javascript",
            "text/javascript",
            "application/json",
            "application/geo+json",
            "application/problem+json",
            "image/svg+xml",
        ],
        COMPRESS_ALGORITHM=["br", "gzip"],
        COMPRESS_MIN_SIZE=512,
        COMPRESS_REGISTER=False,  # registered through _compress_unless_done
        SEND_FILE_MAX_AGE_DEFAULT=3600,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=app.config["ENV"] == "production",
        SESSION_COOKIE_NAME="poi_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=app.config["SESSION_HOURS"]),
        WTF_CSRF_CHECK_DEFAULT=False,  # checked in _csrf_unless_token: token-authenticated API calls skip it
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        # An import file and the few form fields around it; bigger uploads get ops' 413 page.
        MAX_CONTENT_LENGTH=app.config["IMPORT_MAX_BYTES"] + UPLOAD_FORM_BYTES,
    )
    database = config.project_path(app.config["DATABASE"])
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _development_secret(database.parent / "secret_key")
    store = Store(database, synchronous=app.config["SYNCHRONOUS"])
    store.reports.rules = ReportRules(
        threshold=app.config["REPORTS_TO_UNCONFIRM"],
        window=timedelta(hours=app.config["REPORT_WINDOW_HOURS"]),
        per_address_per_hour=app.config["REPORTS_PER_ADDRESS_HOUR"],
        per_point_per_hour=app.config["REPORTS_PER_POINT_HOUR"],
        distinct_addresses=app.config["REPORT_DISTINCT_ADDRESSES"],
    )
    store.migrate()
    users = UserStore(store)
    app.extensions["locator.users"] = users
    app.extensions["locator.store"] = store
    app.extensions["locator.index"] = NearestIndex(store)
    app.extensions["locator.bodies"] = BodyCache(shared=_shared_copies(database))
    # Settlement names (issue 7): built once per process, its index kept in instance/ between starts.
    app.extensions["locator.gazetteer"] = shared_gazetteer(app.instance_path)

    app.json.sort_keys = False
    # Ukrainian as UTF-8, not \uXXXX: the words pages hand to their scripts (data-labels) take
    # a quarter fewer bytes on the wire (issue 7, first view of /).
    app.json.ensure_ascii = False
    ops.init_app(app)  # first: its hooks time everything the others do
    # Plain nearest lookups are answered before Flask; web.init_app then puts the revalidations
    # and ProxyFix in front of it, so it sees the client's address and scheme.
    app.wsgi_app = FastNearest(app, app.wsgi_app)
    web.init_app(app)
    i18n.init_app(app)
    labels.init_app(app)
    app.extensions["locator.compress"] = Compress(app)  # one per app: it keeps the app's settings
    app.after_request(_compress_unless_done)
    csrf.init_app(app)
    app.before_request(_csrf_unless_token)
    console.init_app(app)  # the user on g, then the console's blueprints
    app.register_blueprint(api.bp)
    app.register_blueprint(api_write.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(embed.bp)
    app.register_blueprint(reporting.bp)
    cli.init_app(app)
    return app


def _shared_copies(database: Path) -> SharedCopies | None:
    """Where the workers of this server share the map data's compressed copies (bodies.py),
    emptied at start; none if the database's directory is not writable."""
    try:
        shared = SharedCopies(database.with_name(database.name + "-bodies"))
        shared.clear()
    except OSError:
        return None
    return shared


def _compress_unless_done(response: Response) -> Response:
    """Flask-Compress for pages and files. The API compresses its own answers (api.json_response,
    once per ETag for big ones) and a 304 has no body: they skip Flask-Compress's header work.
    An API answer left plain stays plain: Flask-Compress 1.25 would compress it even for a
    client that refused the encoding ("br;q=0")."""
    if (
        response.status_code == 304
        or getattr(response, "encoding_decided", False)
        or "Content-Encoding" in response.headers
    ):
        return response
    return current_app.extensions["locator.compress"].after_request(response)


def _csrf_unless_token() -> None:
    """Every state-changing request carries a CSRF token, except API calls with a bearer token
    (those send no cookie a forged cross-site request could ride on)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if request.headers.get("Authorization", "").startswith("Bearer "):
        return
    if request.blueprint == "reports":
        return  # anonymous, no session to ride on; reporting.same_site_or_403 stops other sites
    if request.path.startswith("/api/") and "uid" not in session:
        return  # no session, nothing to forge: the write API answers 401 itself
    csrf.protect()


def _development_secret(path: Path) -> str:
    """Outside production a missing SECRET_KEY is made once and kept beside the database,
    so sessions survive restarts and every worker signs with the same key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Write a draft, then hard-link it into place: the key appears whole, and when several
        # workers start at once only the first one's key wins (no one reads a half-written file).
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()
