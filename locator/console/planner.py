"""The console's planner (issue 19): who is out of reach, and where to send the mobile points.

GET /operator/planner answers the form (a need, a region, the outage list, the user's own
files) with coverage totals, the uncovered settlements ranked by people, a light map and, when
asked, a plan of N sites; each site has a form that turns it into a stop of a mobile point
(console/planner_data.py). Everything is scoped by services/planner.py, never here; the map
carries numbers and names as JSON in a data attribute, and static/js/console_planner.js puts
names on the page as text, never as HTML.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, g, render_template, request
from flask_babel import gettext

from locator.console.session import login_required, store
from locator.console.stops import local_moment
from locator.domain.parsers import whole_number
from locator.domain.point import Kind, utcnow
from locator.domain.regions import REGIONS
from locator.domain.scope import Forbidden
from locator.domain.validation import Problem, ValidationError
from locator.io.coverage_out import coverage_csv, coverage_geojson, coverage_gpkg
from locator.io.json_bytes import dump_json
from locator.search.coverage import Coverage, Need
from locator.services import outages, places
from locator.services import planner_files as files
from locator.services.planner import MAX_N, coverage_for, plan_for, planner_settlements
from locator.web.api_planner import parse_need
from locator.web.maps import build_map
from locator.web.messages import say

bp = Blueprint("operator_planner", __name__, url_prefix="/operator")

PAGE_SIZE = 20  # uncovered settlements per page of the list
MAP_UNCOVERED = 300  # settlements drawn: the most populous uncovered ones...
MAP_COVERED = 150  # ...and covered ones: a phone draws ~450 markers without a stutter
MAP_CIRCLES = 300  # points' circles, within the drawn settlements' box
DEFAULT_N, MAX_FORM_N = 5, 50  # sites in a plan asked from the console
EXPORTS = {"gpkg": "application/geopackage+sqlite3", "geojson": "application/geo+json", "csv": "text/csv"}


def _form() -> dict[str, Any]:
    """The form's values as sent (strings; parsed below), for echoing them back."""
    args = request.args
    return {
        "services": args.getlist("services"),
        "status": args.get("status", "open_now"),
        "kinds": args.get("kinds", "both"),
        "distance_km": args.get("distance_km", "5"),
        "region": args.get("region", ""),
        "at": args.get("at", ""),
        "outage": args.get("outage") == "1",
        "data": args.get("data", "geonames"),
        "n": args.get("n", str(DEFAULT_N)),
        "candidates": args.get("candidates", "settlements"),
        "plan": args.get("plan") == "1",
    }


def _need(form: dict[str, Any]) -> tuple[Need, str]:
    """The need and region (ValidationError naming each bad field)."""
    values = {
        "services": ",".join(form["services"]),
        "status": form["status"],
        "kinds": form["kinds"],
        "distance_km": form["distance_km"],
        "region": form["region"],
        "at": local_moment(form["at"]) if form["at"] else "",
    }
    return parse_need(values)


def _settlements(form: dict[str, Any], snapshot, kept) -> list:
    """GeoNames' (and the points') settlements, or the user's file; only the outage list's
    when asked."""
    chosen = kept.get("settlements") if form["data"] == "file" else None
    if chosen is not None:
        found = files.settlements_of(chosen)
    else:
        found = planner_settlements(current_app.extensions["locator.gazetteer"], snapshot)
    if form["outage"]:
        found = outages.restrict(found, store().planner.current_outages())
    return found


def _answer(form: dict[str, Any]):
    """Coverage for the form, or problems to show."""
    need, region = _need(form)
    snapshot = current_app.extensions["locator.operator_index"].sync()
    kept = files.kept(store(), g.user)
    settlements = _settlements(form, snapshot, kept)
    return need, region, snapshot, kept, settlements


@bp.get("/planner")
@login_required
def planner():
    """The planner: coverage for a need, a map, exports, and a plan for N mobile points."""
    form = _form()
    context: dict[str, Any] = {"form": form, "problems": [], "result": None, "plan": None}
    context |= _common()
    try:
        need, region, snapshot, kept, settlements = _answer(form)
        result = coverage_for(g.user, snapshot, settlements, need, region=region)
    except ValidationError as error:
        context["problems"] = [say(p) for p in error.problems]
        return render_template("operator/planner.html", **context), 400
    except Forbidden:
        context["problems"] = [gettext("Цей регіон поза вашою зоною відповідальності.")]
        return render_template("operator/planner.html", **context), 403
    context["kept"] = kept
    context["result"] = result
    uncovered = result.uncovered
    page = max(1, min(whole_number(request.args.get("page", "1")) or 1, 1 + len(uncovered) // PAGE_SIZE))
    context |= {
        "uncovered": uncovered[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
        "uncovered_total": len(uncovered),
        "page": page,
        "pages": max(1, -(-len(uncovered) // PAGE_SIZE)),
        "query": {k: request.args.getlist(k) for k in request.args if k != "page"},
    }
    plan_sites: list[dict[str, Any]] = []
    if form["plan"]:
        try:
            context["plan"] = _plan(form, need, region, snapshot, settlements, kept)
        except ValidationError as error:
            context["problems"] = [say(p) for p in error.problems]
        except Forbidden:
            context["problems"] = [gettext("Цей регіон поза вашою зоною відповідальності.")]
        if context["plan"] is not None:
            plan_sites = [[p.site.lat, p.site.lon, p.site.name] for p in context["plan"].choice.picks]
            context["fleet"] = _fleet(snapshot)
    context["fmap"], context["settings"] = _map(result, snapshot, plan_sites)
    return render_template("operator/planner.html", **context)


def _common() -> dict[str, Any]:
    return {
        "regions": [names[0] for names in sorted(REGIONS.values())],
        "outages": outages.visible(store(), g.user),
        "kept": {},
        "MAX_FORM_N": MAX_FORM_N,
        "now": utcnow(),
    }


def _plan(form, need: Need, region: str, snapshot, settlements, kept):
    n = whole_number(form["n"])
    if n is None or not 1 <= n <= min(MAX_N, MAX_FORM_N):
        raise ValidationError([Problem("n", f"must be between 1 and {MAX_FORM_N}")])
    candidates = None
    if form["candidates"] == "file" and kept.get("sites") is not None:
        candidates = files.sites_of(g.user, kept["sites"])
        if not candidates:
            raise ValidationError([Problem("candidates", "no candidate site of the file is in your scope")])
    return plan_for(g.user, snapshot, settlements, need, n=n, region=region, candidates=candidates)


def _fleet(snapshot) -> list:
    """The mobile points this user may write (the stops' choice), by name."""
    mobile = [
        p
        for p in snapshot.current_points()
        if p.kind is Kind.MOBILE and not p.archived and places.may_edit(g.user, p)
    ]
    return sorted(mobile, key=lambda p: (p.name, p.id))


def _map(result: Coverage, snapshot, plan_sites: list) -> tuple[Any, dict[str, Any]]:
    """The folium base map and what static/js/console_planner.js draws on it: the most
    populous settlements of each kind, the qualifying points' circles within their box, and
    the plan's sites (numbers and names only)."""
    config = current_app.config
    fmap = build_map(config["MAP_CENTER"], 6, config["TILE_URL"], config["TILE_ATTRIBUTION"])
    uncovered = result.uncovered[:MAP_UNCOVERED]
    covered = sorted(result.covered, key=lambda r: -r.settlement.population)[:MAP_COVERED]

    def row(reach) -> list:
        s = reach.settlement
        return [round(s.lat, 5), round(s.lon, 5), s.name, s.population]

    drawn = [r.settlement for r in uncovered + covered]
    circles: list[list[float]] = []
    if drawn:
        margin = result.need.distance_km / 70  # degrees, generously (a degree of longitude >= 70 km here)
        south, north = min(s.lat for s in drawn) - margin, max(s.lat for s in drawn) + margin
        west, east = min(s.lon for s in drawn) - margin * 1.6, max(s.lon for s in drawn) + margin * 1.6
        wanted = result.need.point_filter()
        for point in snapshot.current_points():
            here = point.at(result.moment)
            inside = south <= here.lat <= north and west <= here.lon <= east
            if inside and wanted.matches(here, result.moment):
                circles.append([round(here.lat, 5), round(here.lon, 5)])
                if len(circles) >= MAP_CIRCLES:
                    break
    settings = {
        "map": fmap.name,
        "radius_m": result.need.distance_m,
        "uncovered": [row(r) for r in uncovered],
        "covered": [row(r) for r in covered],
        "circles": circles,
        "sites": plan_sites,
        "words": {
            "uncovered": gettext("не охоплено"),
            "covered": gettext("охоплено"),
            "people": gettext("осіб"),
            "site": gettext("пропозиція"),
        },
    }
    return fmap, settings


@bp.get("/planner/coverage.<fmt>")
@login_required
def export(fmt: str):
    """The coverage the page shows, every settlement, as GeoPackage, GeoJSON or CSV."""
    if fmt not in EXPORTS:
        abort(404)
    form = _form()
    try:
        need, region, snapshot, kept, settlements = _answer(form)
        result = coverage_for(g.user, snapshot, settlements, need, region=region)
    except ValidationError:
        abort(400)
    except Forbidden:
        abort(403)
    imported = kept["settlements"].name if form["data"] == "file" and kept.get("settlements") else ""
    if fmt == "geojson":
        body = dump_json(coverage_geojson(result, imported))
    elif fmt == "csv":
        body = coverage_csv(result, imported).encode("utf-8")
    else:
        body = coverage_gpkg(result, imported)
    response = current_app.response_class(body, mimetype=EXPORTS[fmt])
    name = f"coverage-{utcnow():%Y%m%d-%H%M}.{fmt}"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response
