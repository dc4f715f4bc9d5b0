"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json and shown at /api.

The routes, their answers and the fixed schemas are data (openapi.json beside this file); the
Point's schemas are made from its field declaration (domain/fields.py), and the parameters and
schemas that state the code's rules (enums, limits, patterns) from the code's own constants.
tests/test_openapi.py checks that every registered API route is described and that real
responses match these schemas, so the document cannot drift from the code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from locator.domain import parsers
from locator.domain.fields import (
    ANSWER_SCHEMAS,
    EDITABLE_FIELDS,
    FEATURE_FIELDS,
    FIELD,
    INPUT_SCHEMAS,
    REQUIRED_INPUT,
)
from locator.domain.filters import NO_BUSINESS_TYPE
from locator.domain.point import SERVICES, Category, Kind, Status
from locator.domain.reports import MAX_COMMENT, ReportKind
from locator.domain.trust import Trust
from locator.domain.values import BusinessType

DATA_FILE = Path(__file__).with_name("openapi.json")
DATA: dict[str, Any] = json.loads(DATA_FILE.read_text(encoding="utf-8"))


def _param(name: str, description: str, schema: dict, where: str = "query", required: bool = False) -> dict:
    return {"name": name, "in": where, "required": required, "description": description, "schema": schema}


def _list_param(name: str, description: str, values) -> dict:
    """A comma-separated list (?status=open,full): OpenAPI's form style, not exploded."""
    items = {"type": "array", "items": {"enum": [str(v) for v in values]}, "uniqueItems": True}
    return _param(name, description, items) | {"style": "form", "explode": False}


LAT, LON = parsers.LAT_SCHEMA, parsers.LON_SCHEMA
FILTERS = [
    _param(
        "bbox",
        "minLon,minLat,maxLon,maxLat (each minimum at most its maximum)",
        {"type": "array", "prefixItems": [LON, LAT, LON, LAT], "minItems": 4, "maxItems": 4},
    )
    | {"style": "form", "explode": False},
    _list_param(
        "status",
        "Comma list of statuses; a point passes on its `status` or its `operator_status`, so an"
        " `unconfirmed` point is still found by the status its operator set, marked",
        list(Status),
    ),
    _list_param("kind", "fixed or mobile (comma list)", list(Kind)),
    _list_param(
        "category",
        "state, business (responsible business) or working_business (a business that keeps working);"
        " comma list",
        list(Category),
    ),
    _list_param(
        "business_type",
        "Comma list of business types; `none` stands for points of no business type (state points)",
        [t for t in BusinessType if t.value] + [NO_BUSINESS_TYPE],
    ),
    _param(
        "bed",
        "true: only support points with a bed free tonight (beds_free > 0)",
        {"type": "string", "enum": ["true", "false"]},
    ),
    _param("base", "true: base points only", {"type": "string", "enum": ["true", "false"]}),
    _list_param("services", f"Comma list; all required. Known: {', '.join(SERVICES)}", SERVICES),
    _param("region", "Region, ignoring case", parsers.text_schema(parsers.MAX_TEXT)),
    _param("q", "Text in name, address or settlement", parsers.text_schema(parsers.MAX_TEXT)),
    _param(
        "open_now",
        "true: only points open now (status open or full, and opening_hours allow this moment;"
        " a point without opening_hours counts on its status). /nearest: true when only open and full"
        " points are asked for (the default)",
        {"type": "string", "enum": ["true", "false"]},
    ),
]
# Parameters openapi.json names by a string, because they state the code's rules.
PARAMETERS: dict[str, list[dict[str, Any]]] = {
    "filters": FILTERS,
    "point_id": [_param("point_id", "The point's id", {"type": "string"}, "path", True)],
    "place_query": [
        _param(
            "q",
            "A settlement name or its beginning (case, apostrophes and hyphens ignored)",
            {"type": "string", "maxLength": 100, "pattern": parsers.VISIBLE_CHAR},
            required=True,
        )
    ],
}

# What answers carry besides the declared fields (fields.FEATURE_FIELDS).
FEATURE_EXTRAS: dict[str, Any] = {
    "operator_status": FIELD["status"].input_schema,
    "located_since": {
        "type": ["string", "null"],
        "format": "date-time",
        "description": "since when the point is at lat/lon (its current stop, or its last move)",
    },
    "stop": {
        "oneOf": [{"$ref": "#/components/schemas/Stop"}, {"type": "null"}],
        "description": "the scheduled stop the point stands at now (none once an operator"
        " moved it after the stop began)",
    },
    "stale": {
        "type": "boolean",
        "description": "status confirmed longer ago than LOCATOR_STALE_HOURS, or never confirmed",
    },
    "status_age_s": {
        "type": ["integer", "null"],
        "minimum": 0,
        "description": "seconds since the status was confirmed; null: never confirmed",
    },
    "open_now": {
        "type": "boolean",
        "description": "status open or full, and opening_hours allow this moment (none given: the status)",
    },
    "hours_state": {"enum": ["open", "open_unknown", "closed_by_hours", "closed_by_status"]},
    "next_change_at": {
        "type": ["string", "null"],
        "format": "date-time",
        "description": "when opening_hours next open or close the point (RFC 3339, UTC); null: none",
    },
    "next_change_to": {"enum": ["open", "closed", None], "description": "what the next change makes it"},
    "distance_m": {"type": "number", "minimum": 0, "description": "nearest only"},
    "bearing_deg": {"type": "number", "minimum": 0, "maximum": 360, "description": "nearest only"},
    "direction": {"enum": ["N", "NE", "E", "SE", "S", "SW", "W", "NW"], "description": "nearest only"},
    "trust": {
        "enum": [t.value for t in Trust],
        "description": "nearest only: why the point stands where it does in the answer (fresh, stale,"
        " never confirmed by an operator, reported closed by citizens); see docs/api.md#ranking",
    },
}
STOP_TIMES = {name: parsers.TIME_SCHEMA for name in ("starts_at", "ends_at")}


def _and(names: tuple[str, ...]) -> str:
    return ", ".join(names[:-1]) + " and " + names[-1]


# The schemas made from code; the others are in openapi.json.
POINT_SCHEMAS: dict[str, Any] = {
    "Properties": {
        "type": "object",
        "required": [*FEATURE_FIELDS, "stale"],
        "properties": ANSWER_SCHEMAS | FEATURE_EXTRAS,
    },
    "PointInput": {
        "type": "object",
        "description": "Fields to change (PATCH); the id cannot change.",
        "additionalProperties": False,
        "properties": {name: INPUT_SCHEMAS[name] for name in EDITABLE_FIELDS},
    },
    "PointCreate": {
        "type": "object",
        "description": f"A new point (POST): {_and(REQUIRED_INPUT)} are required.",
        "required": list(REQUIRED_INPUT),
        "additionalProperties": False,
        "properties": INPUT_SCHEMAS,
    },
    "Stop": {
        "type": "object",
        "required": ["place", "lat", "lon", "starts_at", "ends_at"],
        "properties": {"place": {"type": "string", "maxLength": parsers.MAX_TEXT}, "lat": LAT, "lon": LON}
        | STOP_TIMES,
    },
    "StopInput": {
        "type": "object",
        "description": "A stop of a mobile point's schedule: ends after it starts, lasts at most"
        f" {parsers.MAX_STOP_LENGTH.days} days.",
        "required": ["place", "lat", "lon", "starts_at", "ends_at"],
        "additionalProperties": True,
        "properties": {"place": parsers.text_schema(parsers.MAX_TEXT, required=True), "lat": LAT, "lon": LON}
        | STOP_TIMES,
    },
    "ReportInput": {
        "type": "object",
        "required": ["kind"],
        "properties": {
            "kind": {"enum": [k.value for k in ReportKind]},
            "service": {"enum": ["", *SERVICES], "description": "for kind missing_service: which one"},
            "comment": parsers.text_schema(MAX_COMMENT) | {"description": "plain text"},
        },
    },
}


def _expand(parameters: list[str | dict[str, Any]]) -> list[dict[str, Any]]:
    """An operation's parameters with the names openapi.json uses replaced by what they name."""
    return [
        item for entry in parameters for item in (PARAMETERS[entry] if isinstance(entry, str) else [entry])
    ]


PATHS: dict[str, Any] = {
    path: {
        method: operation
        | ({"parameters": _expand(operation["parameters"])} if "parameters" in operation else {})
        for method, operation in item.items()
    }
    for path, item in DATA["paths"].items()
}
COMPONENTS: dict[str, Any] = DATA["components"] | {"schemas": DATA["components"]["schemas"] | POINT_SCHEMAS}


def document(server_url: str = "/") -> dict[str, Any]:
    """The whole document, for a site served at server_url (http/urls.site_root)."""
    return {
        "openapi": DATA["openapi"],
        "info": DATA["info"],
        "servers": [{"url": server_url}],
        "paths": PATHS,
        "components": COMPONENTS,
    }
