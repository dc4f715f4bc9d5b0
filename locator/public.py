"""Blueprint for the pages citizens see: the map and one page per point."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, current_app, render_template, request, url_for

from . import labels, openapi
from .maps import build_map
from .model import ID_PATTERN, MAX_ID, SERVICES, Category, Kind, Status, utcnow
from .store import NotFoundError

bp = Blueprint("public", __name__)

POINT_ZOOM = 15
STATUS_HISTORY_FIELDS = {"status", "created", "verified_at", "deleted"}


def map_settings(fmap, filters: dict[str, str] | None = None) -> dict:
    """What map.js needs, handed over through one data attribute (never string-built JS).

    filters (the embed's region, services, status...) restrict both the points loaded and
    the nearest lookups.
    """
    config = current_app.config
    filters = filters or {}
    return {
        "map": fmap.name,
        "filters": filters,
        "pointsUrl": url_for("api.list_points", format="compact", **filters),
        "nearestUrl": url_for("api.nearest"),
        "placesUrl": url_for("api.places"),
        "pointUrl": url_for("public.point_page", point_id="__ID__"),
        "staleAfterS": int(config["STALE_HOURS"] * 3600),
        "services": list(SERVICES),
    }


@bp.get("/")
def map_page():
    """Show the map of all points, with filters, "near me" and settlement search."""
    config = current_app.config
    fmap = build_map(config["MAP_CENTER"], config["MAP_ZOOM"], config["TILE_URL"], config["TILE_ATTRIBUTION"])
    return render_template(
        "public/map.html",
        fmap=fmap,
        settings=map_settings(fmap),
        labels=labels.for_script(),
        services=SERVICES,
        statuses=list(Status),
        kinds=list(Kind),
        categories=list(Category),
    )


@bp.get("/api")
def api_page():
    """Show the API for developers: every endpoint, its parameters and answers."""
    return render_template("public/api.html", doc=openapi.document(request.host_url))


@bp.get("/points/<point_id>")
def point_page(point_id: str):
    """Show everything about one point: status and its age, history, directions, a map."""
    if len(point_id) > MAX_ID or not ID_PATTERN.match(point_id):
        abort(404)
    store = current_app.extensions["locator.store"]
    try:
        point = store.get(point_id)
    except NotFoundError:
        abort(404)
    config = current_app.config
    now = utcnow()
    fmap = build_map(
        (point.lat, point.lon),
        POINT_ZOOM,
        config["TILE_URL"],
        config["TILE_ATTRIBUTION"],
        marker=(point.lat, point.lon),
    )
    history = [row for row in store.history(point.id) if row["field"] in STATUS_HISTORY_FIELDS]
    return render_template(
        "public/point.html",
        point=point,
        fmap=fmap,
        now=now,
        stale=point.is_stale(now, timedelta(hours=config["STALE_HOURS"])),
        history=history,
    )
