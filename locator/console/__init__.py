"""The operator console (/operator): who is logged in, points, the full form, stops, citizens'
reports, import and export, the planner. Every write goes through one command of locator.services."""

from __future__ import annotations

from flask import Flask, Response, request

from locator.console import (
    business,
    editor,
    imports,
    listing,
    planner,
    planner_data,
    points,
    proposals,
    reports,
    session,
    stops,
    undo,
)

# These add their pages to session.bp (the "operator" blueprint).
PAGES_OF_THE_OPERATOR_BLUEPRINT = (business, editor, imports, listing, points, proposals, undo)
PAGES_OF_THE_PLANNER_BLUEPRINT = (planner_data,)  # its writes, on planner.bp


def init_app(app: Flask) -> None:
    """Attach the logged-in user to every request, and register the console's blueprints."""
    app.before_request(session.load_user)
    app.before_request(business.fence)  # a business account sees its own points only
    app.after_request(_no_store)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)


BLUEPRINTS = (session.bp, reports.bp, stops.bp, planner.bp)
BLUEPRINT_NAMES = frozenset(blueprint.name for blueprint in BLUEPRINTS)


def _no_store(response: Response) -> Response:
    """Console pages and exports hold what only operators may see: no cache keeps a copy (a
    shared one could hand it to a stranger; a phone's, to whoever picks the phone up)."""
    if request.blueprint in BLUEPRINT_NAMES:
        response.headers["Cache-Control"] = "no-store"
    return response
