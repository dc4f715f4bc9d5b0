"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json and shown at /api.

tests/test_openapi.py checks that every registered API route is described here and that real
responses match these schemas, so the document cannot drift from the code.
"""

from __future__ import annotations

from typing import Any

from locator.domain.point import (
    EDITABLE_FIELDS,
    MAX_STOPS,
    OPERATOR_STATUSES,
    SERVICES,
    Category,
    Kind,
    Status,
)
from locator.domain.reports import MAX_COMMENT, ReportKind
from locator.domain.validation import ID_PATTERN, MAX_COUNT, MAX_ID, MAX_NOTE, MAX_TEXT

PROBLEM = {"$ref": "#/components/responses/Problem"}


def _param(name: str, description: str, schema: dict, where: str = "query", required: bool = False) -> dict:
    return {"name": name, "in": where, "required": required, "description": description, "schema": schema}


def _list_param(name: str, description: str, values) -> dict:
    """A comma-separated list (?status=open,full): OpenAPI's form style, not exploded."""
    items = {"type": "array", "items": {"enum": [str(v) for v in values]}, "uniqueItems": True}
    return _param(name, description, items) | {"style": "form", "explode": False}


# What inputs may hold, as JSON Schema (ECMA-262) patterns; tests/test_fuzz_api.py holds the API to
# them. Free text has no control characters but tab and newline (model.CONTROL_CHARACTERS);
# required text has at least one visible character.
TEXT_CHAR = "[^\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f]"
VISIBLE_CHAR = "[^\\s\\u0000-\\u001f\\u007f-\\u009f]"


def _text(max_length: int, *, required: bool = False) -> dict:
    pattern = f"^{TEXT_CHAR}*{VISIBLE_CHAR}{TEXT_CHAR}*$" if required else f"^{TEXT_CHAR}*$"
    return {"type": "string", "maxLength": max_length, "pattern": pattern}


COORDINATE = {"lon": {"type": "number", "minimum": -180, "maximum": 180}}
COORDINATE["lat"] = {"type": "number", "minimum": -90, "maximum": 90}
FILTERS = [
    _param(
        "bbox",
        "minLon,minLat,maxLon,maxLat (each minimum at most its maximum)",
        {"type": "array", "prefixItems": [COORDINATE[axis] for axis in ("lon", "lat", "lon", "lat")]}
        | {"minItems": 4, "maxItems": 4},
    )
    | {"style": "form", "explode": False},
    _list_param("status", "Comma list of statuses", list(Status)),
    _list_param("kind", "fixed or mobile (comma list)", list(Kind)),
    _list_param("category", "state or business (comma list)", list(Category)),
    _param("base", "true: base points only", {"type": "string", "enum": ["true", "false"]}),
    _list_param("services", f"Comma list; all required. Known: {', '.join(SERVICES)}", SERVICES),
    _param("region", "Region, ignoring case", _text(MAX_TEXT)),
    _param("q", "Text in name, address or settlement", _text(MAX_TEXT)),
]
POINT_ID = _param("point_id", "The point's id", {"type": "string"}, "path", True)
NULLABLE_INT = {"type": ["integer", "null"], "minimum": 0}

SCHEMAS: dict[str, Any] = {
    "Properties": {
        "type": "object",
        "required": [
            "id",
            "name",
            "kind",
            "category",
            "base",
            "status",
            "services",
            "lat",
            "lon",
            "verified_at",
            "updated_at",
            "version",
            "stale",
            "archived",
        ],
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "kind": {"enum": [k.value for k in Kind]},
            "category": {"enum": [c.value for c in Category]},
            "base": {"type": "boolean"},
            "status": {"enum": [s.value for s in Status]},
            "services": {"type": "array", "items": {"enum": list(SERVICES)}, "uniqueItems": True},
            "address": {"type": "string"},
            "settlement": {"type": "string"},
            "region": {"type": "string"},
            "lat": {"type": "number", "minimum": -90, "maximum": 90},
            "lon": {"type": "number", "minimum": -180, "maximum": 180},
            "capacity": NULLABLE_INT,
            "occupancy": NULLABLE_INT,
            "phone": {"type": "string"},
            "hours": {"type": "string"},
            "open_24_7": {"type": "boolean"},
            "note": {"type": "string"},
            "updated_at": {"type": "string", "format": "date-time"},
            "verified_at": {"type": "string", "format": "date-time"},
            "version": {"type": "integer", "minimum": 1},
            "archived": {"type": "boolean"},
            "operator_status": {
                "enum": [s.value for s in OPERATOR_STATUSES],
                "description": "the status an operator set; `status` is what citizens see",
            },
            "unconfirmed": {
                "type": "boolean",
                "description": "enough recent citizen reports say it is closed; `status` is then"
                " `unconfirmed` until an operator acts",
            },
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
            "stops": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/Stop"},
                "description": "a mobile point's schedule: stops not yet ended (input: the whole list)",
            },
            "stale": {"type": "boolean", "description": "status older than LOCATOR_STALE_HOURS"},
            "status_age_s": {"type": "integer", "minimum": 0},
            "distance_m": {"type": "number", "minimum": 0, "description": "nearest only"},
            "bearing_deg": {"type": "number", "minimum": 0, "maximum": 360, "description": "nearest only"},
            "direction": {
                "enum": ["N", "NE", "E", "SE", "S", "SW", "W", "NW"],
                "description": "nearest only",
            },
        },
    },
    "Stop": {
        "type": "object",
        "required": ["place", "lat", "lon", "starts_at", "ends_at"],
        "properties": {
            "place": {"type": "string", "maxLength": 200},
            "lat": {"type": "number", "minimum": -90, "maximum": 90},
            "lon": {"type": "number", "minimum": -180, "maximum": 180},
            "starts_at": {"type": "string", "format": "date-time"},
            "ends_at": {"type": "string", "format": "date-time"},
        },
    },
    "ReportInput": {
        "type": "object",
        "required": ["kind"],
        "properties": {
            "kind": {"enum": [k.value for k in ReportKind]},
            "service": {"enum": ["", *SERVICES], "description": "for kind missing_service: which one"},
            "comment": _text(MAX_COMMENT) | {"description": "plain text"},
        },
    },
    "ReportAccepted": {
        "type": "object",
        "required": ["point_id", "accepted", "made_unconfirmed"],
        "properties": {
            "point_id": {"type": "string"},
            "accepted": {"const": True},
            "made_unconfirmed": {"type": "boolean", "description": "this report tipped the point"},
        },
    },
    "Feature": {
        "type": "object",
        "required": ["type", "id", "geometry", "properties"],
        "properties": {
            "type": {"const": "Feature"},
            "id": {"type": "string"},
            "geometry": {
                "type": "object",
                "required": ["type", "coordinates"],
                "properties": {
                    "type": {"const": "Point"},
                    "coordinates": {
                        "type": "array",
                        "items": {"type": "number"},
                        "minItems": 2,
                        "maxItems": 2,
                    },
                },
            },
            "properties": {"$ref": "#/components/schemas/Properties"},
        },
    },
    "FeatureCollection": {
        "type": "object",
        "required": ["type", "features"],
        "properties": {
            "type": {"const": "FeatureCollection"},
            "features": {"type": "array", "items": {"$ref": "#/components/schemas/Feature"}},
            "seq": {"type": "integer", "description": "data version (change counter)"},
        },
    },
    "Compact": {
        "type": "object",
        "required": ["fields", "rows", "services", "seq", "generated_at", "stale_after_s"],
        "properties": {
            "fields": {"type": "array", "items": {"type": "string"}},
            "services": {"type": "array", "items": {"type": "string"}},
            "rows": {"type": "array", "items": {"type": "array"}},
            "seq": {"type": "integer"},
            "generated_at": {"type": "string"},
            "stale_after_s": {"type": "integer"},
        },
    },
    "Places": {
        "type": "object",
        "required": ["places"],
        "properties": {
            "places": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": [
                        "name",
                        "region",
                        "lat",
                        "lon",
                        "points",
                        "name_en",
                        "region_en",
                        "population",
                        "source",
                        "match",
                    ],
                    "properties": {
                        "name": {"type": "string", "description": "Ukrainian name"},
                        "region": {
                            "type": "string",
                            "description": "oblast (Ukrainian), tells same names apart",
                        },
                        "lat": {"type": "number"},
                        "lon": {"type": "number"},
                        "points": {
                            "type": "integer",
                            "minimum": 0,
                            "description": "points in this settlement",
                        },
                        "name_en": {"type": "string", "description": "official Latin spelling (KMU 2010)"},
                        "region_en": {"type": "string"},
                        "population": {"type": "integer", "minimum": 0, "description": "0: unknown"},
                        "source": {
                            "type": "string",
                            "enum": ["geonames", "points"],
                            "description": "the GeoNames gazetteer, or only the points' settlement field",
                        },
                        "match": {"type": "string", "enum": ["exact", "prefix", "substring"]},
                    },
                },
            }
        },
    },
    "Changes": {
        "type": "object",
        "required": ["changes", "next_cursor", "has_more"],
        "properties": {
            "changes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["cursor", "point_id", "field", "old", "new", "at"],
                    "properties": {
                        "cursor": {"type": "integer"},
                        "point_id": {"type": "string"},
                        "field": {"type": "string"},
                        "old": {"type": ["string", "null"]},
                        "new": {"type": ["string", "null"]},
                        "at": {"type": "string"},
                    },
                },
            },
            "next_cursor": {"type": "integer"},
            "has_more": {"type": "boolean"},
        },
    },
    "Problem": {
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string"},
            "param": {"type": "string", "description": "the parameter, field or header to blame"},
            "errors": {"type": "array"},
            "current_version": {"type": "integer"},
            "retry_after": {"type": "integer"},
        },
    },
    "PointInput": {
        "type": "object",
        "description": "Fields to change (PATCH); the id cannot change.",
        "additionalProperties": False,
        "properties": {},  # filled below: the editable fields, as input
    },
    "PointCreate": {
        "type": "object",
        "description": "A new point (POST): id, name, status, lat and lon are required.",
        "required": ["id", "name", "status", "lat", "lon"],
        "additionalProperties": False,
        "properties": {},  # filled below: id and the editable fields, as input
    },
    "StopInput": {
        "type": "object",
        "description": "A stop of a mobile point's schedule: ends after it starts, lasts at most 7 days.",
        "required": ["place", "lat", "lon", "starts_at", "ends_at"],
        "additionalProperties": True,
        "properties": {
            "place": _text(MAX_TEXT, required=True),
            "lat": COORDINATE["lat"],
            "lon": COORDINATE["lon"],
            "starts_at": {"type": "string", "format": "date-time"},
            "ends_at": {"type": "string", "format": "date-time"},
        },
    },
}

# Input is held to what model.parse_point accepts (output keeps the looser shapes above).
INPUT_COUNT = {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_COUNT}
INPUT_FIELDS: dict[str, Any] = {
    name: SCHEMAS["Properties"]["properties"][name] for name in EDITABLE_FIELDS
} | {
    "status": SCHEMAS["Properties"]["properties"]["operator_status"],
    "name": _text(MAX_TEXT, required=True),
    **{name: _text(MAX_TEXT) for name in ("address", "settlement", "region", "hours")},
    "note": _text(MAX_NOTE),
    # model.PHONE_PATTERN once surrounding spaces are stripped; empty means none
    "phone": {"type": "string", "pattern": "^$|^\\+?[0-9()\\-][0-9 ()\\-]{1,28}[0-9()\\-]$"},
    "capacity": INPUT_COUNT,
    "occupancy": INPUT_COUNT,
    "stops": {
        "type": "array",
        "maxItems": MAX_STOPS,
        "items": {"$ref": "#/components/schemas/StopInput"},
        "description": "a mobile point's whole schedule (fixed points have none)",
    },
}
SCHEMAS["PointInput"]["properties"] = INPUT_FIELDS
SCHEMAS["PointCreate"]["properties"] = {
    "id": {"type": "string", "maxLength": MAX_ID, "pattern": ID_PATTERN.pattern}
} | INPUT_FIELDS


def _ok(schema: str, media: str = "application/json", description: str = "OK") -> dict:
    return {
        "description": description,
        "content": {media: {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _errors(*codes: int) -> dict:
    return {str(code): PROBLEM for code in codes}


READ_ERRORS = _errors(400, 429)
CACHED = {"304": {"description": "Not modified (If-None-Match matched the ETag)"}}
WRITE_ERRORS = _errors(400, 401, 403, 404)

PATHS: dict[str, Any] = {
    "/api/v1/points": {
        "get": {
            "summary": "Points matching the filters",
            "parameters": [
                *FILTERS,
                _param(
                    "format", "geojson (default), compact or csv", {"enum": ["geojson", "compact", "csv"]}
                ),
            ],
            "responses": {
                "200": {
                    "description": "GeoJSON, the compact table (format=compact) or CSV (format=csv)",
                    "content": {
                        "application/geo+json": {
                            "schema": {"$ref": "#/components/schemas/FeatureCollection"}
                        },
                        "application/json": {"schema": {"$ref": "#/components/schemas/Compact"}},
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                **CACHED,
                **READ_ERRORS,
            },
        },
        "post": {
            "summary": "Create a point (token or session + X-CSRFToken)",
            "security": [{"token": []}, {"session": []}],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PointCreate"}}},
            },
            "responses": {
                "201": _ok("Feature", "application/geo+json", "Created"),
                "409": PROBLEM,
                **WRITE_ERRORS,
            },
        },
    },
    "/api/v1/points.geojson": {
        "get": {
            "summary": "Download matching points as a GeoJSON file",
            "parameters": FILTERS,
            "responses": {"200": _ok("FeatureCollection", "application/geo+json"), **CACHED, **READ_ERRORS},
        }
    },
    "/api/v1/points.csv": {
        "get": {
            "summary": "Download matching points as CSV (the columns `points import` reads)",
            "parameters": FILTERS,
            "responses": {
                "200": {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}},
                **CACHED,
                **READ_ERRORS,
            },
        }
    },
    "/api/v1/points/{point_id}": {
        "get": {
            "summary": "One point",
            "parameters": [POINT_ID],
            "responses": {"200": _ok("Feature", "application/geo+json"), **CACHED, **_errors(404, 429)},
        },
        "patch": {
            "summary": 'Change fields of a point; If-Match with the ETag (or "v<version>") is required',
            "security": [{"token": []}, {"session": []}],
            "parameters": [
                POINT_ID,
                _param(
                    "If-Match",
                    'ETag or version read ("v7"), or *',
                    {"type": "string", "pattern": '^(\\*|(W/)?"?v?[0-9]+(-[A-Za-z0-9]*)?"?)$'},
                    "header",
                    True,
                ),
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PointInput"}}},
            },
            "responses": {
                "200": _ok("Feature", "application/geo+json"),
                "412": PROBLEM,
                "428": PROBLEM,
                **WRITE_ERRORS,
            },
        },
    },
    "/api/v1/points/{point_id}/reports": {
        "post": {
            "summary": "A citizen reports a problem at a point (no account; rate-limited)",
            "description": "Limited per address and per point. Enough recent `closed` reports"
            " (LOCATOR_REPORTS_TO_UNCONFIRM) make a point shown as working `unconfirmed` until an"
            " operator acts. Browsers may send it from this site's pages only.",
            "parameters": [POINT_ID],
            "requestBody": {
                "required": True,
                "content": {
                    media: {"schema": {"$ref": "#/components/schemas/ReportInput"}}
                    for media in ("application/json", "application/x-www-form-urlencoded")
                },
            },
            "responses": {
                "201": _ok("ReportAccepted", description="Stored"),
                "429": {**PROBLEM, "description": "Too many reports; see Retry-After. Nothing stored."},
                **_errors(400, 403, 404),
            },
        }
    },
    "/api/v1/nearest": {
        "get": {
            "summary": "The k nearest points by great-circle distance (status defaults to open)",
            "parameters": [
                _param(
                    "lat", "Latitude, WGS84", {"type": "number", "minimum": -90, "maximum": 90}, required=True
                ),
                _param(
                    "lon",
                    "Longitude, WGS84",
                    {"type": "number", "minimum": -180, "maximum": 180},
                    required=True,
                ),
                _param("k", "How many (1-100, default 5)", {"type": "integer", "minimum": 1, "maximum": 100}),
                *FILTERS,
            ],
            "responses": {"200": _ok("FeatureCollection", "application/geo+json"), **CACHED, **READ_ERRORS},
        }
    },
    "/api/v1/places": {
        "get": {
            "summary": "Settlements by name, best first (exact, then prefix, then substring; bigger first), "
            "in Ukrainian or Latin letters, old spellings too (Kiev, Kharkov). Settlement data: GeoNames "
            "(geonames.org), CC BY 4.0, plus the points' own settlements",
            "parameters": [
                _param(
                    "q",
                    "A settlement name or its beginning (case, apostrophes and hyphens ignored)",
                    {"type": "string", "maxLength": 100, "pattern": VISIBLE_CHAR},
                    required=True,
                )
            ],
            "responses": {"200": _ok("Places"), **CACHED, **READ_ERRORS},
        }
    },
    "/api/v1/changes": {
        "get": {
            "summary": "Changes after a cursor, oldest first (follow next_cursor while has_more)",
            "parameters": [
                _param("since", "Cursor (0 to start)", {"type": "integer", "minimum": 0, "maximum": 2**62}),
                _param("limit", "Page size (1-500)", {"type": "integer", "minimum": 1, "maximum": 500}),
            ],
            "responses": {"200": _ok("Changes"), **CACHED, **READ_ERRORS},
        }
    },
    "/api/v1/openapi.json": {
        "get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1 JSON"}}}
    },
}


def document(server_url: str = "/") -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Points of Invincibility locator API",
            "version": "1",
            "description": "Open data on Points of Invincibility: where they are, what they offer, "
            "and how fresh their status is. Errors are application/problem+json (RFC 9457).",
        },
        "servers": [{"url": server_url}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "responses": {
                "Problem": {
                    "description": "Problem details; `param` names what to fix",
                    "content": {
                        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                    },
                }
            },
            "securitySchemes": {
                "token": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "from `flask --app app users token`",
                },
                "session": {"type": "apiKey", "in": "cookie", "name": "poi_session"},
            },
        },
    }
