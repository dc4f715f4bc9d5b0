"""The Points of Invincibility locator: create_app wires config, store, index and blueprints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from flask_compress import Compress

from . import api, cli, config, labels, public, web
from .geo import NearestIndex
from .store import Store

ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings from the environment, then overrides (tests pass theirs here)."""
    app = Flask(
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
        SEND_FILE_MAX_AGE_DEFAULT=3600,
    )
    store = Store(_resolve(app.config["DATABASE"]))
    store.migrate()
    if store.count() == 0 and app.config["SEED_FILE"]:
        cli.seed(store, _resolve(app.config["SEED_FILE"]))
    app.extensions["locator.store"] = store
    app.extensions["locator.index"] = NearestIndex(store)

    app.json.sort_keys = False
    web.init_app(app)
    labels.init_app(app)
    Compress(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(public.bp)
    cli.init_app(app)
    return app


def _resolve(path: str) -> Path:
    """Relative paths in settings are relative to the project, wherever the app starts from."""
    candidate = Path(path)
    return candidate if candidate.is_absolute() else ROOT / candidate
