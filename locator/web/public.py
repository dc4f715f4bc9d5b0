"""Blueprint for the pages citizens see: the map and one page per point."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask_babel import gettext
from markupsafe import Markup

from locator.domain.filters import PointFilter
from locator.domain.point import SERVICES, Category, Kind, Status, utcnow
from locator.domain.reports import ReportKind
from locator.domain.trust import WEIGHT
from locator.domain.validation import ID_PATTERN, MAX_ID, parse_coordinate
from locator.domain.values import BusinessType
from locator.domain.visibility import public_view
from locator.http.urls import site_root
from locator.search.distance import bearing_deg, compass
from locator.search.gazetteer import Settlement
from locator.search.ranking import ranked_nearest
from locator.store import NotFoundError, StoreBusy
from locator.web import hours_words, i18n, labels, openapi, pwa
from locator.web.maps import build_map

bp = Blueprint("public", __name__)
VIEW_FIRST_FROM = 2000  # points: below this, the whole table is as quick as the view's (demo: 450)


@bp.app_context_processor
def _offline_marker() -> dict:
    """Where a page kept for offline use says when it was saved (the service worker fills it)."""
    return {"OFFLINE_SAVED": Markup(pwa.SAVED_MARKER)}


POINT_ZOOM = 15
STATUS_HISTORY_FIELDS = {"status", "created", "verified_at", "deleted"}
# The map's state in its address (static/js/state.js): a point's page carries it from the map,
# so that "← До мапи" comes back to the same answer (issue 17).
MAP_STATE = (
    "place",
    "near",
    "services",
    "open",
    "base",
    "bed",
    "kind",
    "category",
    "business_type",
    "point",
    "view",
)
MAP_STATE_MAX = 200  # characters of one value: a place name, a list of services


def map_state(args) -> dict[str, str]:
    """The map's state among these query arguments (only its own keys, each bounded)."""
    return {key: args[key][:MAP_STATE_MAX] for key in MAP_STATE if args.get(key)}


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
        # Many points: the opening view's first, so markers show before the whole table comes.
        "viewUrl": url_for(
            "api.list_points",
            format="compact",
            bbox=",".join(f"{v:g}" for v in fmap.opening_box()),
            **filters,
        )
        if len(current_app.extensions["locator.index"].sync().base.points) >= VIEW_FIRST_FROM
        else None,
        "trustWeights": {trust.value: list(weight) for trust, weight in WEIGHT.items()},
        "services": list(SERVICES),
    }


def _view_url(fmap, filters: dict[str, str]) -> str | None:
    """With many points, the opening view's points, asked for first: markers show before the
    whole table has crossed a slow link. None: the whole table is as quick."""
    if len(current_app.extensions["locator.index"].sync().base.points) < VIEW_FIRST_FROM:
        return None
    box = ",".join(f"{value:g}" for value in fmap.opening_box())
    return url_for("api.list_points", format="compact", bbox=box, **filters)


@bp.get("/")
def map_page():
    """Show the map of all points, with filters, "near me" and settlement search."""
    config = current_app.config
    fmap = build_map(config["MAP_CENTER"], config["MAP_ZOOM"], config["TILE_URL"], config["TILE_ATTRIBUTION"])
    # Only this page installs the offline worker: the embed lives in partners' iframes.
    settings = {**map_settings(fmap), "serviceWorker": url_for("public.service_worker")}
    settings["snapshotHeader"] = pwa.SNAPSHOT_HEADER
    return render_template(
        "public/map.html",
        fmap=fmap,
        settings=settings,
        labels=labels.for_script(),
        services=SERVICES,
        statuses=list(Status),
        kinds=list(Kind),
        categories=list(Category),
        business_types=list(BusinessType),
    )


@bp.get("/sw.js")
def service_worker():
    """The offline worker, served from the root so that its scope is the whole site."""
    settings = pwa.worker_settings()
    response = current_app.response_class(
        render_template(pwa.WORKER_TEMPLATE, sw=settings), mimetype="text/javascript"
    )
    response.headers["Cache-Control"] = "no-cache"  # a deploy's new worker is seen on the next visit
    response.set_etag(settings["version"])
    return response.make_conditional(request)


@bp.get("/manifest.webmanifest")
def manifest():
    """The web app manifest: name, icons and start page for "add to home screen"."""
    response = current_app.send_static_file("manifest.webmanifest")
    response.mimetype = "application/manifest+json"
    return response


LIST_RESULTS = 10


@bp.get("/list")
def list_page():
    """Text-only nearest open points for a settlement or coordinates: no JavaScript, no map."""
    args = request.args
    index = current_app.extensions["locator.index"]
    snapshot = index.sync()
    place, places, error, hits = None, [], "", []
    chosen = [s for s in args.getlist("services") if s in SERVICES]
    query = (args.get("q") or args.get("place") or "").strip()[:100]
    try:
        if args.get("lat") and args.get("lon"):
            lat, lon = parse_coordinate(args["lat"], -90, 90), parse_coordinate(args["lon"], -180, 180)
            place = {"name": args.get("label", "")[:100] or f"{lat:.4f}, {lon:.4f}", "lat": lat, "lon": lon}
        elif query:
            # An exact name (in either script) answers at once, the biggest such place first, with
            # the others of that name offered below; otherwise the reader picks from the matches.
            matches = current_app.extensions["locator.gazetteer"].find(query, snapshot.places)
            exact = [m.settlement for m in matches if m.exact]
            if exact or len(matches) == 1:
                best, places = (exact[0], exact[1:]) if exact else (matches[0].settlement, [])
                shown = _shown(best)
                place = {**shown, "name": shown["label" if places else "name"]}
                places = [_shown(other) for other in places]
            elif matches:
                places = [_shown(m.settlement) for m in matches]
            else:
                error = gettext(
                    "Населений пункт «%(name)s» не знайдено. Перевірте назву (українською або латиницею, "
                    "напр. «Бровари» чи «Brovary») або вкажіть координати.",
                    name=query,
                )
    except ValueError:
        error = gettext("Координати мають бути числами: широта від -90 до 90, довгота від -180 до 180.")
    now = utcnow()
    stale_after = timedelta(hours=current_app.config["STALE_HOURS"])
    if place:  # open now: by status and by opening hours (issue 17)
        wanted = PointFilter(statuses=frozenset({Status.OPEN}), services=frozenset(chosen), open_now=True)
        hits = ranked_nearest(snapshot, place["lat"], place["lon"], LIST_RESULTS, wanted, now, stale_after)
    rows = [
        {
            "point": hit.point,
            "distance": i18n.distance(hit.distance_m),
            "direction": labels.COMPASS[
                compass(bearing_deg(place["lat"], place["lon"], hit.point.lat, hit.point.lon))
            ],
            "stale": hit.point.is_stale(now, stale_after),
            "trust": hit.trust.value,
            "hours": hours_words.line(hit.point, now),
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
        query=query,
    )


def _shown(settlement: Settlement) -> dict:
    """A settlement as the reader's language names it; label adds the region that tells
    same-named places apart."""
    english = i18n.current_language() == "en"
    name = settlement.name_en if english else settlement.name
    region = settlement.region_en if english else settlement.region
    return {
        "name": name,
        "region": region,
        "label": f"{name}, {region}" if region and region != name else name,
        "lat": settlement.lat,
        "lon": settlement.lon,
        "points": settlement.points,
    }


@bp.get("/api")
def api_page():
    """Show the API for developers: every endpoint, its parameters and answers."""
    return render_template("public/api.html", doc=openapi.document(site_root() + "/"))


@bp.get("/points/<point_id>")
def point_page(point_id: str):
    """Show everything about one point: status and its age, history, directions, a map."""
    return render_point_page(point_id)


def render_point_page(point_id: str, status: int = 200, **report_state):
    """The point page; the report form's answers (thanks, problems, limits) come in report_state."""
    if len(point_id) > MAX_ID or not ID_PATTERN.match(point_id):
        abort(404)
    store = current_app.extensions["locator.store"]
    live = True
    try:
        stored = public_view(store.get(point_id))  # issue 20: hidden 404, approximate without details
    except NotFoundError:
        abort(404)
    except StoreBusy:  # the database is away or busy: the point as this node last knew it
        stored, live = current_app.extensions["locator.index"].point(point_id), False
        if stored is None:
            abort(404)
    if stored is None:
        abort(404)
    config = current_app.config
    now = utcnow()
    point = stored.at(now)  # a mobile point where it stands now
    active = stored.current_stop(now)
    fmap = build_map(
        (point.lat, point.lon),
        POINT_ZOOM,
        config["TILE_URL"],
        config["TILE_ATTRIBUTION"],
        marker=(point.lat, point.lon),
    )
    # Without authors: operators' names never leave the console (issue 16).
    history, reports = [], {}
    if live:
        history = [
            row for row in store.history(point.id, authors=False) if row["field"] in STATUS_HISTORY_FIELDS
        ]
        reports = store.reports.open_counts([point.id]).get(point.id, {})
    state = map_state(request.args)
    page = render_template(
        "public/point.html",
        point=point,
        fmap=fmap,
        now=now,
        stale=point.is_stale(now, timedelta(hours=config["STALE_HOURS"])),
        history=history,
        active_stop=active,
        upcoming_stops=[stop for stop in point.upcoming_stops(now) if stop.starts_at > now],
        open_reports=reports,
        report_kinds=list(ReportKind),
        reported=request.args.get("reported") == "1",
        map_state=state,
        back_url=url_for("public.map_page", **state),
        **report_state,
    )
    response = current_app.make_response((page, status))
    response.headers["Cache-Control"] = "no-store" if report_state or status != 200 else "no-cache"
    return response
