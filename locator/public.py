"""Blueprint for the pages citizens see: the map and one page per point."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, current_app, render_template, request, url_for

from . import labels, openapi
from .geo import bearing_deg, compass, find_places
from .maps import build_map
from .model import (
    ID_PATTERN,
    MAX_ID,
    SERVICES,
    Category,
    Kind,
    PointFilter,
    ReportKind,
    Status,
    fold,
    parse_coordinate,
    utcnow,
)
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


LIST_RESULTS = 10


@bp.get("/list")
def list_page():
    """Text-only nearest open points for a settlement or coordinates: no JavaScript, no map."""
    args = request.args
    index = current_app.extensions["locator.index"]
    snapshot = index.sync()
    place, places, error, hits = None, [], "", []
    chosen = [s for s in args.getlist("services") if s in SERVICES]
    try:
        if args.get("lat") and args.get("lon"):
            lat, lon = parse_coordinate(args["lat"], -90, 90), parse_coordinate(args["lon"], -180, 180)
            place = {"name": args.get("label", "")[:100] or f"{lat:.4f}, {lon:.4f}", "lat": lat, "lon": lon}
        elif args.get("place", "").strip():
            places = find_places(snapshot.places, args["place"][:100])
            if len(places) == 1 or (places and fold(places[0].name) == fold(args["place"].strip())):
                best = places[0]
                place, places = {"name": best.name, "lat": best.lat, "lon": best.lon}, []
            elif not places:
                error = f"Населений пункт «{args['place'].strip()[:100]}» не знайдено серед пунктів."
    except ValueError:
        error = "Координати мають бути числами: широта від -90 до 90, довгота від -180 до 180."
    if place:
        wanted = PointFilter(statuses=frozenset({Status.OPEN}), services=frozenset(chosen))
        hits = snapshot.nearest(place["lat"], place["lon"], LIST_RESULTS, wanted)
    now = utcnow()
    rows = [
        {
            "point": hit.point,
            "distance": _distance_text(hit.distance_m),
            "direction": labels.COMPASS[
                compass(bearing_deg(place["lat"], place["lon"], hit.point.lat, hit.point.lon))
            ],
            "stale": hit.point.is_stale(now, timedelta(hours=current_app.config["STALE_HOURS"])),
        }
        for hit in hits
    ]
    return render_template(
        "public/list.html",
        place=place,
        places=places,
        rows=rows,
        error=error,
        now=now,
        chosen=chosen,
        query=args.get("place", ""),
    )


def _distance_text(metres: float) -> str:
    if metres < 1000:
        return f"{round(metres)} м"
    return f"{metres / 1000:.1f} км".replace(".", ",")


@bp.get("/api")
def api_page():
    """Show the API for developers: every endpoint, its parameters and answers."""
    return render_template("public/api.html", doc=openapi.document(request.host_url))


@bp.get("/points/<point_id>")
def point_page(point_id: str):
    """Show everything about one point: status and its age, history, directions, a map."""
    return render_point_page(point_id)


def render_point_page(point_id: str, status: int = 200, **report_state):
    """The point page; the report form's answers (thanks, problems, limits) come in report_state."""
    if len(point_id) > MAX_ID or not ID_PATTERN.match(point_id):
        abort(404)
    store = current_app.extensions["locator.store"]
    try:
        stored = store.get(point_id)
    except NotFoundError:
        abort(404)
    config = current_app.config
    now = utcnow()
    point = stored.at(now)  # a mobile point where it stands now
    fmap = build_map(
        (point.lat, point.lon),
        POINT_ZOOM,
        config["TILE_URL"],
        config["TILE_ATTRIBUTION"],
        marker=(point.lat, point.lon),
    )
    history = [row for row in store.history(point.id) if row["field"] in STATUS_HISTORY_FIELDS]
    reports = store.reports.open_counts([point.id]).get(point.id, {})
    page = render_template(
        "public/point.html",
        point=point,
        fmap=fmap,
        now=now,
        stale=point.is_stale(now, timedelta(hours=config["STALE_HOURS"])),
        history=history,
        active_stop=point.active_stop(now),
        upcoming_stops=[stop for stop in point.upcoming_stops(now) if stop.starts_at > now],
        open_reports=reports,
        report_kinds=list(ReportKind),
        reported=request.args.get("reported") == "1",
        **report_state,
    )
    response = current_app.make_response((page, status))
    response.headers["Cache-Control"] = "no-store" if report_state or status != 200 else "no-cache"
    return response
