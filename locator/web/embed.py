"""Blueprint /embed: the partner widget (a map made for an iframe) and its builder page.

Options travel in the query string and are validated like API parameters; a bad option gets a
plain 400 page naming it. Only /embed may be framed (CSP frame-ancestors from
LOCATOR_EMBED_ANCESTORS); the widget sets no cookie and needs no same-origin access, so it works
in an iframe sandboxed with SANDBOX, which the builder's snippet and preview both carry.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for

from locator.domain.filters import fold, parse_filter
from locator.domain.parsers import whole_number
from locator.domain.point import SERVICES, Category, Kind, Status
from locator.domain.validation import ValidationError, parse_coordinate
from locator.domain.values import BusinessType
from locator.http.errors import ApiError
from locator.http.urls import external_url
from locator.web import labels
from locator.web.i18n import LANGUAGES
from locator.web.maps import build_map
from locator.web.public import map_settings

# What the widget's frame may do: run its scripts, submit its own place search (a form), and open
# a point on our site in a new tab that leaves the sandbox, so its report form can be sent.
SANDBOX = "allow-scripts allow-forms allow-popups allow-popups-to-escape-sandbox"

bp = Blueprint("embed", __name__, url_prefix="/embed")

PLACE_ZOOM = 12
FILTER_PARAMS = ("region", "services", "status", "kind", "category", "base", "business_type", "bed")


def _options() -> dict:
    """The widget's options from the query string; a bad one is a 400 naming it."""
    args = request.args
    try:
        wanted = parse_filter({key: args[key] for key in FILTER_PARAMS if key in args})
    except ValidationError as error:
        raise ApiError(400, "Invalid option", str(error), error.problems[0].field) from None
    lang = args.get("lang", "")  # none: the reader's language (locator/i18n.py)
    if lang and lang not in LANGUAGES:
        raise ApiError(400, "Invalid option", "lang must be uk or en", "lang")
    config = current_app.config
    center, zoom = config["MAP_CENTER"], config["MAP_ZOOM"]
    if args.get("zoom", "").strip():
        zoom = whole_number(args["zoom"])
        if zoom is None or not 3 <= zoom <= 18:
            raise ApiError(400, "Invalid option", "zoom must be a whole number from 3 to 18", "zoom")
    if args.get("center", "").strip():
        parts = args["center"].split(",")
        try:
            if len(parts) != 2:
                raise ValueError("expected lat,lon")
            center = (parse_coordinate(parts[0], -90, 90), parse_coordinate(parts[1], -180, 180))
        except ValueError as error:
            raise ApiError(400, "Invalid option", f"center: {error}", "center") from None
    elif args.get("settlement", "").strip() or wanted.region:
        center, zoom = _place_center(args.get("settlement", "").strip(), wanted.region, center, zoom)
    return {"filter": wanted, "lang": lang, "center": center, "zoom": zoom}


def _place_center(settlement: str, region: str, default: tuple, zoom: int) -> tuple[tuple, int]:
    """Centre on the settlement (or the region's points) if we know it, else the default."""
    places = current_app.extensions["locator.index"].sync().places
    if region:
        places = [p for p in places if fold(p.region) == fold(region)]
    if settlement:
        # The one place-name search (any script, old spellings), biggest first, in the region if
        # one is chosen: "Brovary" and "Бровари" centre the same widget.
        names = current_app.extensions["locator.gazetteer"].find(settlement[:100], places, limit=50)
        found = [
            m.settlement
            for m in names
            if m.exact and (not region or fold(m.settlement.region) == fold(region))
        ]
        if not found:
            raise ApiError(
                400, "Invalid option", f"settlement {settlement[:100]!r} is not known", "settlement"
            )
        return (found[0].lat, found[0].lon), max(zoom, PLACE_ZOOM)
    if places:
        total = sum(p.points for p in places)
        lat = sum(p.lat * p.points for p in places) / total
        lon = sum(p.lon * p.points for p in places) / total
        return (lat, lon), zoom
    return default, zoom


@bp.get("")
def widget():
    """The embeddable map: filters and the nearest list, points open on this site in a new tab."""
    options = _options()
    config = current_app.config
    fmap = build_map(options["center"], options["zoom"], config["TILE_URL"], config["TILE_ATTRIBUTION"])
    passed = {key: request.args[key] for key in FILTER_PARAMS if request.args.get(key, "").strip()}
    settings = map_settings(fmap, passed)
    settings["embed"] = True
    return render_template(
        "embed/widget.html",
        fmap=fmap,
        settings=settings,
        labels=labels.for_script(),
        services=SERVICES,
        chosen=options["filter"].services,
        statuses=list(Status),
        home_url=external_url("public.map_page"),  # opens in a new tab, on the site's address
        switch=[
            (code, url_for("embed.widget", **(request.args.to_dict() | {"lang": code}))) for code in LANGUAGES
        ],
    )


def _public_regions() -> list[str]:
    """The regions of the points the public sees (issue 20: a hidden point names none)."""
    points = current_app.extensions["locator.index"].sync().current_points()
    return sorted({point.region for point in points if point.region})


@bp.get("/builder")
def builder():
    """Pick the widget's options on a live preview and copy the <iframe> snippet."""
    return render_template(
        "embed/builder.html",
        services=SERVICES,
        statuses=list(Status),
        kinds=list(Kind),
        categories=list(Category),
        regions=sorted(
            {p.region for p in current_app.extensions["locator.index"].sync().current_points() if p.region}
        ),
        business_types=[t for t in BusinessType if t.value],
        # The snippet names the site's address (LOCATOR_PUBLIC_URL); the preview is this site,
        # whatever address the builder was opened at (the page's CSP frames only its own origin).
        widget_url=external_url("embed.widget"),
        preview_url=url_for("embed.widget"),
        places_url=url_for("api.places"),
        place_zoom=PLACE_ZOOM,
        sandbox=SANDBOX,
    )
