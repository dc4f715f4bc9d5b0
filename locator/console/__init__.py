"""The operator console (/operator): who is logged in, points, the full form, stops, citizens'
reports, import and export. Every write goes through one command of locator.services."""

from __future__ import annotations

from flask import Flask

from locator.console import editor, imports, points, reports, session, stops

# editor, imports and points add their pages to session.bp (the "operator" blueprint).
PAGES_OF_THE_OPERATOR_BLUEPRINT = (editor, imports, points)


def init_app(app: Flask) -> None:
    """Attach the logged-in user to every request, and register the console's blueprints."""
    app.before_request(session.load_user)
    app.register_blueprint(session.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(stops.bp)
