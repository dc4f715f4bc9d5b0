"""The Points of Invincibility locator: create_app wires config, store, index and blueprints."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask

from locator import cli, config, console
from locator.domain.visibility import public_view
from locator.http.bodies import BodyCache, SharedCopies
from locator.http.fast_nearest import NearestQuery
from locator.http.flask_app import LocatorFlask
from locator.http.install import install
from locator.search.gazetteer import shared as shared_gazetteer
from locator.search.index import NearestIndex
from locator.search.regions import Territory, public_region_names
from locator.store import UserStore, open_store
from locator.store.proposals import ProposalStore
from locator.store.reports import ReportRules
from locator.web import api, api_planner, api_write, embed, i18n, join, labels, ops, public, reporting

UPLOAD_FORM_BYTES = 64 * 1024  # multipart framing and form fields around an uploaded file

ROOT = config.ROOT


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings from the environment, then overrides (tests pass theirs here)."""
    app = LocatorFlask(
        __name__,
        static_folder=str(ROOT / "static"),
        template_folder=str(ROOT / "templates"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.from_mapping(config.load())
    app.config.update(overrides or {})
    app.config.update(
        SEND_FILE_MAX_AGE_DEFAULT=3600,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=app.config["ENV"] == "production",
        SESSION_COOKIE_NAME="poi_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=app.config["SESSION_HOURS"]),
        # An import file and the few form fields around it; bigger uploads get http/errors.py's 413.
        MAX_CONTENT_LENGTH=app.config["IMPORT_MAX_BYTES"] + UPLOAD_FORM_BYTES,
    )
    database = config.project_path(app.config["DATABASE"])
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _development_secret(database.parent / "secret_key")
    store = open_store(
        database,
        url=app.config["DATABASE_URL"],
        synchronous=app.config["SYNCHRONOUS"],
        pool_size=app.config["DATABASE_POOL_SIZE"],
    )
    store.reports.rules = ReportRules(
        threshold=app.config["REPORTS_TO_UNCONFIRM"],
        window=timedelta(hours=app.config["REPORT_WINDOW_HOURS"]),
        per_sender_per_hour=app.config["REPORTS_PER_SENDER_HOUR"],
        per_point_per_hour=app.config["REPORTS_PER_POINT_HOUR"],
        distinct_senders=app.config["REPORT_DISTINCT_SENDERS"],
    )
    store.migrate()
    app.teardown_appcontext(lambda _error: store.release())
    users = UserStore(store)
    app.extensions["locator.users"] = users
    app.extensions["locator.store"] = store
    app.extensions["locator.proposals"] = ProposalStore(store)  # businesses join (issue 20)
    # Where points may be written (LOCATOR_BOUNDS, regions from coordinates): every write's check.
    app.extensions["locator.territory"] = Territory(
        app.config["BOUNDS"], approximate_regions=public_region_names(app.config["APPROXIMATE_REGIONS"])
    )
    # What citizens read (nearest, map data, lists, pages, widget) comes from the public views
    # only (issue 20); the console's planner reads every point it may see from its own index.
    app.extensions["locator.index"] = NearestIndex(store, view=public_view)
    app.extensions["locator.operator_index"] = NearestIndex(store)
    app.extensions["locator.bodies"] = BodyCache(shared=_shared_copies(database))
    # Settlement names (issue 7): built once per process, its index kept in instance/ between starts.
    app.extensions["locator.gazetteer"] = shared_gazetteer(app.instance_path)

    app.json.sort_keys = False
    # Ukrainian as UTF-8, not \uXXXX: the words pages hand to their scripts (data-labels) take
    # a quarter fewer bytes on the wire (issue 7, first view of /).
    app.json.ensure_ascii = False
    # The HTTP edge (http/install.py), first: its hooks run first and last, around the others.
    install(app, NearestQuery(etag=api.nearest_etag, body=api.nearest_body))
    ops.init_app(app)
    i18n.init_app(app)
    labels.init_app(app)
    console.init_app(app)  # the user on g, then the console's blueprints
    app.register_blueprint(api.bp)
    app.register_blueprint(api_write.bp)
    app.register_blueprint(api_planner.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(embed.bp)
    app.register_blueprint(reporting.bp)
    app.register_blueprint(join.bp)
    cli.init_app(app)
    return app


def _shared_copies(database: Path) -> SharedCopies | None:
    """Where the workers of this server share the map data's compressed copies (http/bodies.py),
    emptied at start; none if the database's directory is not writable."""
    try:
        shared = SharedCopies(database.with_name(database.name + "-bodies"))
        shared.clear()
    except OSError:
        return None
    return shared


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
