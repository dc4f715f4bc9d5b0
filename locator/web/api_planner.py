"""The planner's API (issue 19): GET /api/v1/coverage and POST /api/v1/plans/mobile.

Authenticated only (an API token, or a console session; anonymous: 401), scoped by
services/planner.py, never cached (Cache-Control: no-store: coverage gaps show where help is
missing). Thin: parse, call coverage_for / plan_for, answer; a bad parameter is 400
problem+json naming it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, g, request

from locator.domain.parsers import parse_time, whole_number
from locator.domain.point import format_time, utcnow
from locator.domain.scope import Forbidden
from locator.domain.users import User
from locator.domain.validation import (
    MAX_TEXT,
    Problem,
    ValidationError,
    clean_text,
    parse_coordinate,
    parse_services,
)
from locator.http.admission import bearer_user
from locator.http.errors import ApiError
from locator.io.coverage_out import (
    coverage_csv,
    coverage_document,
    coverage_geojson,
    coverage_gpkg,
    need_document,
    source_document,
)
from locator.io.json_bytes import dump_json
from locator.search.coverage import DEFAULT_DISTANCE_KM, KIND_CHOICES, MAX_DISTANCE_KM, STATUS_MODES, Need
from locator.search.planning import Site
from locator.search.regions import canonical_region
from locator.services.planner import MAX_N, MobilePlan, coverage_for, plan_for, planner_settlements

bp = Blueprint("api_planner", __name__, url_prefix="/api/v1")

LIMIT_DEFAULT, LIMIT_MAX = 100, 10_000  # uncovered settlements listed in the JSON answer
MAX_CANDIDATES = 20_000  # candidate sites in one plan request
AT_RANGE_DAYS = 366  # a moment of the schedules: within a year of now
FORMATS = {
    "json": "application/json",
    "geojson": "application/geo+json",
    "csv": "text/csv",
    "gpkg": "application/geopackage+sqlite3",
}
PLAN_FIELDS = frozenset(
    {"n", "services", "distance_km", "status", "kinds", "region", "at", "candidates", "fleet"}
)


def reader() -> User:
    """The user behind this request (token or console session), whatever their role; else 401."""
    if request.headers.get("Authorization", "").startswith("Bearer "):
        user = bearer_user(current_app, request.environ)
        if user is None:
            raise ApiError(
                401, "Unauthorized", "the API token is unknown, expired or revoked", "Authorization"
            )
        return user
    user = g.get("user")
    if user is None:
        raise ApiError(401, "Unauthorized", "send Authorization: Bearer <token> or log in", "Authorization")
    return user


def parse_need(values: Mapping[str, Any]) -> tuple[Need, str]:
    """The need and region from query parameters or a JSON body; ValidationError naming each."""
    problems: list[Problem] = []
    fields: dict[str, Any] = {}

    def attempt(name: str, parse) -> None:
        if values.get(name) is None or values.get(name) == "":
            return
        try:
            fields[name] = parse(values[name])
        except ValueError as error:
            problems.append(Problem.from_error(name, error))

    attempt("services", parse_services)
    attempt("status", lambda v: _choice(v, STATUS_MODES))
    attempt("kinds", lambda v: _choice(v, KIND_CHOICES))
    attempt("distance_km", _distance)
    attempt("at", _moment)
    attempt("region", _region)
    if problems:
        raise ValidationError(problems)
    region = fields.pop("region", "")
    return Need(**fields), region


def _choice(value: Any, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value.strip() not in allowed:
        raise ValueError(f"must be one of {', '.join(allowed)}")
    return value.strip()


def _distance(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError("expected a number of kilometres")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise ValueError("expected a number of kilometres") from None
    if not (math.isfinite(number) and 0 < number <= MAX_DISTANCE_KM):
        raise ValueError(
            f"must be more than 0 and at most {MAX_DISTANCE_KM:g} km (default {DEFAULT_DISTANCE_KM:g})"
        )
    return number


def _moment(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("expected an ISO 8601 date and time")
    moment = parse_time(value)
    if abs((moment - utcnow()).days) > AT_RANGE_DAYS:
        raise ValueError(f"must be within {AT_RANGE_DAYS} days of now")
    return moment


def _region(value: Any) -> str:
    region = canonical_region(clean_text(value, MAX_TEXT))
    if not region:
        raise ValueError("unknown region")
    return region


def _settlements(snapshot):
    return planner_settlements(current_app.extensions["locator.gazetteer"], snapshot)


def _private(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _refusing(call):
    try:
        return call()
    except Forbidden as refusal:
        raise ApiError(403, "Forbidden", refusal.detail, "region") from None


@bp.get("/coverage")
def coverage():
    """Each settlement in the reader's scope: the nearest point serving the need, covered or not."""
    user = reader()
    chosen = request.args.get("format", "json")
    if chosen not in FORMATS:
        raise ApiError(400, "Invalid parameter", f"format must be one of {', '.join(FORMATS)}", "format")
    limit = LIMIT_DEFAULT
    if "limit" in request.args:
        limit = whole_number(request.args["limit"])
        if limit is None or not 1 <= limit <= LIMIT_MAX:
            raise ApiError(400, "Invalid parameter", f"limit must be a whole number 1-{LIMIT_MAX}", "limit")
    try:
        need, region = parse_need(request.args)
    except ValidationError as error:
        raise ApiError.from_validation(error) from None
    snapshot = current_app.extensions["locator.operator_index"].sync()
    result = _refusing(lambda: coverage_for(user, snapshot, _settlements(snapshot), need, region=region))
    if chosen == "json":
        document = coverage_document(result, limit) | {"region": region or None}
        response = Response(dump_json(document), mimetype=FORMATS[chosen])
    elif chosen == "geojson":
        response = Response(dump_json(coverage_geojson(result)), mimetype=FORMATS[chosen])
    else:
        body = coverage_csv(result).encode("utf-8") if chosen == "csv" else coverage_gpkg(result)
        response = Response(body, mimetype=FORMATS[chosen])
        name = f"coverage-{utcnow():%Y%m%d-%H%M}.{chosen}"
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return _private(response)


@bp.post("/plans/mobile")
def plan_mobile():
    """Where to send n mobile points: the sites that cover the most people not yet covered."""
    user = reader()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "Invalid body", "send a JSON object (n, services, distance_km, ...)", "body")
    unknown = sorted(set(body) - PLAN_FIELDS)
    if unknown:
        raise ApiError(400, "Invalid body", f"unknown field {str(unknown[0])[:60]!r}", str(unknown[0])[:60])
    try:
        need, region = parse_need(body)
    except ValidationError as error:
        raise ApiError.from_validation(error) from None
    n = body.get("n")
    if n is not None and (type(n) is not int or not 1 <= n <= MAX_N):
        raise ApiError(400, "Invalid parameter", f"n must be a whole number 1-{MAX_N}", "n")
    fleet = body.get("fleet", False)
    if type(fleet) is not bool:
        raise ApiError(400, "Invalid parameter", "fleet must be true or false", "fleet")
    if n is None and not fleet:
        raise ApiError(400, "Invalid parameter", "n is required (or fleet: true with a region)", "n")
    candidates = _candidates(body.get("candidates"))
    snapshot = current_app.extensions["locator.operator_index"].sync()

    def plan() -> MobilePlan:
        try:
            return plan_for(
                user,
                snapshot,
                _settlements(snapshot),
                need,
                n=n,
                region=region,
                candidates=candidates,
                fleet=fleet,
            )
        except ValueError as error:
            raise ApiError(
                400, "Invalid parameter", str(error), "candidates" if candidates else "n"
            ) from None

    result = _refusing(plan)
    return _private(Response(dump_json(plan_document(result)), mimetype="application/json"))


def _candidates(value: Any) -> list[Site] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value or len(value) > MAX_CANDIDATES:
        raise ApiError(
            400, "Invalid parameter", f"candidates must be a list of 1-{MAX_CANDIDATES} sites", "candidates"
        )
    sites = []
    for number, item in enumerate(value):
        where = f"candidates[{number}]"
        if not isinstance(item, dict):
            raise ApiError(400, "Invalid parameter", f"{where} must be an object {{name, lat, lon}}", where)
        try:
            name = clean_text(item.get("name"), MAX_TEXT) or f"site {number + 1}"
            lat = parse_coordinate(item.get("lat"), -90, 90)
            lon = parse_coordinate(item.get("lon"), -180, 180)
        except ValueError as error:
            raise ApiError(400, "Invalid parameter", f"{where}: {error}", where) from None
        sites.append(Site(name, lat, lon))
    return sites


def plan_document(plan: MobilePlan) -> dict[str, Any]:
    """A plan as JSON: the need, the people before and after, and each site with what it adds."""
    return {
        "need": need_document(plan.need),
        "moment": format_time(plan.before.moment),
        "region": plan.region or None,
        "n": plan.n,
        "candidates": plan.candidates,
        "population": plan.population,
        "covered_before": plan.covered_before,
        "covered_after": plan.covered_after,
        "uncovered_before": plan.population - plan.covered_before,
        "uncovered_after": plan.population - plan.covered_after,
        "sites": [
            {
                "name": pick.site.name,
                "region": pick.site.region,
                "lat": pick.site.lat,
                "lon": pick.site.lon,
                "adds_population": pick.adds_population,
                "adds_settlements": pick.adds_settlements,
            }
            for pick in plan.choice.picks
        ],
        "fleet": [{"id": p.id, "name": p.name} for p in plan.fleet],
        "source": source_document(),
    }
