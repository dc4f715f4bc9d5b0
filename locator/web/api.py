"""Blueprint /api/v1: the read API. GeoJSON out, problem+json errors, ETag and 304."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from werkzeug.datastructures import MultiDict
from werkzeug.http import unquote_etag

from locator.domain.filters import PointFilter, parse_filter
from locator.domain.hours import WORKING_STATUSES
from locator.domain.parsers import whole_number
from locator.domain.point import Point, Status, format_time, utcnow
from locator.domain.trust import trust_of
from locator.domain.validation import ID_PATTERN, MAX_ID, ValidationError, parse_coordinate
from locator.domain.visibility import public_view
from locator.http import revalidation
from locator.http.bodies import BR_QUALITY_KEPT, BR_QUALITY_KEPT_LONG, BodyCache
from locator.http.encoding import json_response, kept_or_made_response
from locator.http.errors import ApiError
from locator.http.policy import etag_for, etag_valid_until, not_modified
from locator.http.urls import site_root
from locator.io.compact import compact_table
from locator.io.features import feature_collection, point_feature, points_csv
from locator.io.json_bytes import dump_json
from locator.search.distance import bearing_deg, compass
from locator.search.nearest import Snapshot
from locator.search.ranking import RankedHit, ranked_nearest
from locator.search.transliteration import latin_keys
from locator.store import NotFoundError, StoreBusy
from locator.web import openapi

bp = Blueprint("api", __name__, url_prefix="/api/v1")

K_DEFAULT, K_MAX = 5, 100
ORDERS = ("trust", "distance")  # nearest's order=: weighed by trust (domain/trust.py), or plain


def _bodies() -> BodyCache:
    """This app's cache (create_app): a body depends on the app's database, so two apps never
    share one."""
    return current_app.extensions["locator.bodies"]


def _stale_after() -> timedelta:
    return timedelta(hours=current_app.config["STALE_HOURS"])


def _filter(default_statuses=(), args: Mapping[str, str] | None = None) -> PointFilter:
    try:
        return parse_filter(request.args if args is None else args, default_statuses=default_statuses)
    except ValidationError as error:
        raise ApiError.from_validation(error) from None


def _store():
    return current_app.extensions["locator.store"]


def _index():
    return current_app.extensions["locator.index"]


FORMATS = {  # format -> media type
    "geojson": "application/geo+json",
    "compact": "application/json",
    "csv": "text/csv",
}


@bp.get("/points")
def list_points():
    """Points matching the filters, as GeoJSON (or the compact table the map page loads)."""
    chosen = request.args.get("format", "geojson")
    if chosen not in FORMATS:
        raise ApiError(400, "Invalid parameter", "format must be geojson, compact or csv", "format")
    return _points_response(chosen)


@bp.get("/points.geojson")
def download_geojson():
    """The open-data download: every matching point as a GeoJSON file."""
    return _points_response("geojson", download=True)


@bp.get("/points.csv")
def download_csv():
    """The open-data download: every matching point as CSV (one row per point)."""
    return _points_response("csv", download=True)


def _points_response(chosen: str, download: bool = False) -> Response:
    # The ETag comes from the raw arguments and the change counter, so a revalidation (most
    # reads of the map's data) is answered before the filters are even parsed.
    snapshot = _index().sync()
    seq, now = snapshot.seq, utcnow()
    # The compact table and CSV carry times, not "stale" flags (the map works staleness out
    # itself), so their ETag, and the cached body, last until the data changes or a mobile
    # point's scheduled stop starts or ends.
    # (open_now= is judged at the minute: then every format's answer depends on the clock)
    clock = chosen == "geojson" or "open_now" in request.args
    revalidation.holds(seq, etag_valid_until(clock, snapshot.next_schedule_moment(now)))
    etag = etag_for(
        "points",
        chosen,
        seq,
        snapshot.schedule_marker(now),
        sorted(request.args.items(multi=True)),
        clock=clock,
    )
    if (cached := not_modified(etag)) is not None:
        return cached
    wanted = _filter()

    def make() -> bytes:
        points = snapshot.matching(wanted, now)  # the index's points: the same as _store().find
        if chosen == "compact":
            return compact_table(points, seq, now, _stale_after(), latin_keys)
        if chosen == "csv":
            return points_csv(points, now).encode("utf-8")
        features = [point_feature(p, now, _stale_after()) for p in points]
        return dump_json(feature_collection(features, seq=seq, generated_at=format_time(now)))

    quality = BR_QUALITY_KEPT if clock else BR_QUALITY_KEPT_LONG
    response = kept_or_made_response(etag, make, FORMATS[chosen], quality)
    if download:
        extension = "csv" if chosen == "csv" else "geojson"
        name = f"points-of-invincibility-{utcnow():%Y%m%d-%H%M}.{extension}"
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


MAP_DATA = "/api/v1/points?format=compact"  # what the map page loads (and preloads)


def warm_map_data(app: Flask) -> None:
    """Make the map's data and its best brotli copy before anyone asks: gunicorn's master calls
    this (scripts/gunicorn.conf.py), so every worker forks holding them and the first map load
    on a fresh server does not wait ~3 s for them. Waits for the copy (no thread is left running
    across the fork)."""
    with app.test_request_context(MAP_DATA, headers={"Accept-Encoding": "identity"}):
        response = list_points()
        etag, _ = unquote_etag(response.headers["ETag"])
        _bodies().compressed(etag, response.get_data(), "br", BR_QUALITY_KEPT_LONG, quick=False)


@bp.get("/points/<point_id>")
def get_point(point_id: str):
    """One point as a GeoJSON Feature, as the public may see it (hidden: 404)."""
    point = public_view(point_or_404(point_id))
    if point is None:
        raise ApiError(404, "Not found", f"no point has the id {point_id!r}", "id")
    try:
        reports = dict(_store().reports.open_counts([point.id]).get(point.id, {}))
    except StoreBusy:  # (the counts come back with the database)
        reports = {}
    etag = point_etag(point, sorted(reports.items()))
    if (cached := not_modified(etag)) is not None:
        return cached
    feature = point_feature(point, utcnow(), _stale_after(), open_reports=reports)
    return json_response(dump_json(feature), etag)


def point_or_404(point_id: str) -> Point:
    """The point, or a 404 problem naming the id (ids that cannot exist never reach SQL)."""
    if len(point_id) <= MAX_ID and ID_PATTERN.match(point_id):
        try:
            return _store().get(point_id)
        except NotFoundError:
            pass
        except StoreBusy:  # the database is away or busy: the point as the public index last had it
            if (point := current_app.extensions["locator.index"].point(point_id)) is not None:
                return point
    raise ApiError(404, "Not found", f"no point has the id {point_id!r}", "id")


def point_etag(point: Point, *more: Any) -> str:
    """Starts with the version ("v7-..."), so If-Match on a write can name the version it read."""
    return f"v{point.version}-{etag_for('point', point.id, point.version, point.unconfirmed, *more)[:12]}"


@bp.get("/openapi.json")
def openapi_document():
    """The OpenAPI 3.1 description of this API."""
    server = site_root() + "/"  # LOCATOR_PUBLIC_URL, or this request's scheme and Host
    etag = etag_for("openapi", server, clock=False)
    if (cached := not_modified(etag)) is not None:
        return cached
    return json_response(dump_json(openapi.document(server)), etag, "application/json")


CHANGES_PAGE = 500  # default and largest page of the change feed


@bp.get("/changes")
def changes():
    """Every change after ?since=<cursor>, in order; follow next_cursor until has_more is false."""
    since, limit = _whole("since", 0, 2**62, 0), _whole("limit", 1, CHANGES_PAGE, CHANGES_PAGE)
    rows = _store().changes(since, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    body = {
        "changes": rows,
        "next_cursor": rows[-1]["cursor"] if rows else since,
        "has_more": more,
    }
    etag = etag_for("changes", since, limit, body["next_cursor"], more, clock=False)
    if (cached := not_modified(etag)) is not None:
        return cached
    return json_response(dump_json(body), etag, "application/json")


def _whole(param: str, low: int, high: int, default: int, args: Mapping[str, str] | None = None) -> int:
    raw = (request.args if args is None else args).get(param)
    if raw is None:
        return default
    number = whole_number(raw)
    if number is None or not low <= number <= high:
        raise ApiError(
            400, "Invalid parameter", f"{param} must be a whole number from {low} to {high}", param
        )
    return number


def _number(param: str, low: float, high: float, args: Mapping[str, str]) -> float:
    raw = args.get(param)
    if raw is None or not raw.strip():
        raise ApiError(400, "Missing parameter", f"{param} is required", param)
    try:
        return parse_coordinate(raw, low, high)
    except ValueError as error:
        raise ApiError(400, "Invalid parameter", f"{param}: {error}", param) from None


@bp.get("/nearest")
def nearest():
    """The k nearest points to lat/lon that pass the filters (open ones unless status= says).
    Plain lookups are answered before Flask, by http/fast_nearest.py, with these same functions."""
    snapshot = _index().sync()
    now = utcnow()
    revalidation.holds(snapshot.seq, etag_valid_until(True, snapshot.next_schedule_moment(now)))
    etag = nearest_etag(snapshot, now, request.args)
    if (cached := not_modified(etag)) is not None:
        return cached  # (an ETag is only ever given for valid arguments)
    body = nearest_body(snapshot, now, _stale_after(), request.args)
    return json_response(body, etag)


def nearest_etag(snapshot: Snapshot, now: datetime, args: MultiDict[str, str]) -> str:
    return etag_for("nearest", snapshot.seq, snapshot.schedule_marker(now), sorted(args.items(multi=True)))


def nearest_body(
    snapshot: Snapshot, now: datetime, stale_after: timedelta, args: MultiDict[str, str]
) -> bytes:
    """The nearest answer's JSON, or an ApiError naming the bad argument."""
    args = args.to_dict()  # the first of repeated values, as MultiDict.get; a miss costs nothing
    lat, lon = _number("lat", -90, 90, args), _number("lon", -180, 180, args)
    k = _whole("k", 1, K_MAX, K_DEFAULT, args)
    wanted = _filter((Status.OPEN,), args)
    if "open_now" not in args and wanted.statuses <= WORKING_STATUSES:
        wanted = replace(wanted, open_now=True)  # "nearest open" means open now (issue 17)
    order = _choice("order", ORDERS, args)
    if order == "distance":
        hits = [
            RankedHit(hit.point, hit.distance_m, trust_of(hit.point, now, stale_after))
            for hit in snapshot.nearest(lat, lon, k, wanted, now)
        ]
    else:
        hits = ranked_nearest(snapshot, lat, lon, k, wanted, now, stale_after)
    features = []
    for hit in hits:
        p = hit.point
        heading = bearing_deg(lat, lon, p.lat, p.lon)
        features.append(
            point_feature(
                p,
                now,
                stale_after,
                distance_m=round(hit.distance_m, 3),
                bearing_deg=round(heading, 1),
                direction=compass(heading),
                trust=hit.trust.value,
            )
        )
    query = {"lat": lat, "lon": lon, "k": k, "order": order}
    return dump_json(feature_collection(features, query=query, seq=snapshot.seq))


def _choice(param: str, allowed: tuple[str, ...], args: Mapping[str, str]) -> str:
    """One of ``allowed`` (the first is the default), or an ApiError naming the parameter."""
    raw = args.get(param)
    if raw is None or raw == "":
        return allowed[0]
    if raw not in allowed:
        raise ApiError(400, "Invalid parameter", f"{param} must be one of: {', '.join(allowed)}", param)
    return raw


@bp.get("/places")
def places():
    """Settlements matching q= (Ukrainian or Latin, any apostrophe), best first: the offline
    gazetteer merged with the points' own settlements, each with a position to search from."""
    q = request.args.get("q", "").strip()
    if not q:
        raise ApiError(400, "Missing parameter", "q is required", "q")
    if len(q) > 100:
        raise ApiError(400, "Invalid parameter", "q is longer than 100 characters", "q")
    snapshot = _index().sync()
    names = current_app.extensions["locator.gazetteer"]
    etag = etag_for("places", snapshot.seq, names.stamp, q, clock=False)
    if (cached := not_modified(etag)) is not None:
        return cached
    found = names.find(q, snapshot.places)
    body = {
        "places": [
            {
                "name": p.name,
                "region": p.region,
                "lat": round(p.lat, 5),
                "lon": round(p.lon, 5),
                "points": p.points,
                "name_en": p.name_en,
                "region_en": p.region_en,
                "population": p.population,
                "source": p.source,
                "match": match.kind,
            }
            for match in found
            for p in (match.settlement,)
        ]
    }
    return json_response(dump_json(body), etag, "application/json")
