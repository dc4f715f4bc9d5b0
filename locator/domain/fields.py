"""The Point's fields, declared once; every other list of them is derived here or pinned to this.

Each field says what a Point holds, how input becomes it (parser, required, value when missing),
whether a caller may edit it, how the store keeps it, where it travels (GeoJSON properties, CSV,
the map's compact rows) and its JSON Schema in the OpenAPI document. From this one tuple come
the Point dataclass itself, parse_point's table, EDITABLE_FIELDS, the store's columns, the CSV
columns and the OpenAPI Point schemas. The few places tuned by hand for speed (Point.to_record,
the feature properties, the compact row, the store's row) are held to it by tests/test_fields.py.

Adding a field: one entry here (new fields go last, with a default, so old files still import),
then a schema step in store/schema.py for its column; the tests say what else must follow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime
from typing import Any

from locator.domain import parsers as parse
from locator.domain.hours import OPENING_HOURS_SCHEMA, parse_opening_hours
from locator.domain.regions import PUBLIC_NAMES, UKRAINE_BOUNDS
from locator.domain.values import (
    OPERATOR_STATUSES,
    SERVICES,
    BusinessType,
    Category,
    Kind,
    Status,
    Stop,
    Visibility,
    utcnow,
)

# parse_point's value for a missing time: the `now` it was given; the updated_at it read.
NOW_DEFAULT, UPDATED_AT_DEFAULT = object(), object()
SAME_AS_DEFAULT = object()  # Field.missing: the Point's default (None: the parser decides)
NO_DEFAULT = object()  # Field.default: the Point cannot be made without it


@dataclass(frozen=True)
class Field:
    """One field of a Point and everything the app derives from it."""

    name: str
    annotation: Any  # the type the Point holds
    column: type  # how the store holds it: str, int or float (SQLite TEXT, INTEGER, REAL)
    schema: dict[str, Any]  # JSON Schema of the value in answers (OpenAPI "Properties")
    parse: Callable[[Any], Any] | None = None  # raw input -> value or ValueError; None: never input
    required: bool = False  # input must carry it (blank counts as missing)
    default: Any = NO_DEFAULT  # the Point's default
    default_factory: Callable[[], Any] | None = None
    missing: Any = SAME_AS_DEFAULT  # what parse_point puts in when input lacks it
    editable: bool = False  # a caller may set it (API PATCH/POST, console); else the store's
    input_schema: dict[str, Any] | None = None  # JSON Schema of input; None: the answers' schema
    in_feature: bool = True  # a GeoJSON property under its own name
    in_csv: bool = True  # a column of the CSV export (and of what `points import` reads)
    in_compact: bool = False  # a column of the map's compact table (io/compact.py)


BOOLEAN = {"type": "boolean"}
STRING = {"type": "string"}
NULLABLE_COUNT = {"type": ["integer", "null"], "minimum": 0}


def _within(schema: dict[str, Any], low: float, high: float) -> dict[str, Any]:
    """A coordinate as a write takes it: inside LOCATOR_BOUNDS (the document states the default)."""
    return schema | {
        "minimum": low,
        "maximum": high,
        "description": "within LOCATOR_BOUNDS (default: Ukraine)",
    }


def _enum(values) -> dict[str, Any]:
    return {"enum": [str(value) for value in values]}


# The order is the Point's (fields without a default first) and parse_point's, which lists
# problems in it; the CSV export's columns follow it too.
POINT_DECLARATION: tuple[Field, ...] = (
    Field(
        "id", str, str, STRING, parse.parse_id, required=True, input_schema=parse.ID_SCHEMA, in_compact=True
    ),
    Field(
        "name",
        str,
        str,
        STRING,
        parse.parse_text,
        required=True,
        editable=True,
        input_schema=parse.text_schema(parse.MAX_TEXT, required=True),
        in_compact=True,
    ),
    Field(
        "kind", Kind, str, _enum(Kind), parse.parse_kind, missing=Kind.FIXED, editable=True, in_compact=True
    ),
    Field(
        "category",
        Category,
        str,
        _enum(Category),
        parse.parse_category,
        missing=Category.STATE,
        editable=True,
        in_compact=True,
    ),
    Field("base", bool, int, BOOLEAN, parse.parse_bool, missing=False, editable=True, in_compact=True),
    Field(
        "status",
        Status,
        str,
        _enum(Status),  # in answers: what citizens see, "unconfirmed" included
        parse.parse_status,
        required=True,
        editable=True,
        input_schema=_enum(OPERATOR_STATUSES)
        | {"description": "the status an operator set; `status` is what citizens see"},
        in_compact=True,
    ),
    Field(
        "services",
        frozenset[str],
        str,  # comma-separated, canonical order
        {"type": "array", "items": _enum(SERVICES), "uniqueItems": True},
        parse.parse_services,
        missing=frozenset(),
        editable=True,
        in_compact=True,  # as a bit mask
    ),
    *(
        Field(
            name,
            float,
            float,
            schema,
            parser,
            required=True,
            editable=True,
            in_compact=True,
            input_schema=_within(schema, UKRAINE_BOUNDS[low], UKRAINE_BOUNDS[high]),
        )
        for name, schema, parser, low, high in (
            ("lat", parse.LAT_SCHEMA, parse.parse_lat, 1, 3),
            ("lon", parse.LON_SCHEMA, parse.parse_lon, 0, 2),
        )
    ),
    *(
        Field(
            name,
            str,
            str,
            STRING,
            parse.parse_text,
            default="",
            editable=True,
            input_schema=parse.text_schema(parse.MAX_TEXT),
            in_compact=True,
        )
        for name in ("address", "settlement")
    ),
    Field(
        "region",
        str,
        str,
        STRING,
        parse.parse_text,
        default="",
        editable=True,
        input_schema={
            "type": "string",
            "enum": ["", *PUBLIC_NAMES],
            "description": "one of the regions' public names (other spellings of one are read as it);"
            " blank: the region the coordinates lie in. A region given must lie within 1 km of them",
        },
    ),
    *(
        Field(
            name,
            int | None,
            int,
            NULLABLE_COUNT,
            parse.parse_count,
            default=None,
            editable=True,
            input_schema=parse.COUNT_SCHEMA,
        )
        for name in ("capacity", "occupancy")
    ),
    Field(
        "phone",
        str,
        str,
        STRING,
        parse.parse_phone,
        default="",
        editable=True,
        input_schema=parse.PHONE_SCHEMA,
    ),
    Field(
        "hours",
        str,
        str,
        STRING,
        parse.parse_text,
        default="",
        editable=True,
        input_schema=parse.text_schema(parse.MAX_TEXT),
    ),
    Field("open_24_7", bool, int, BOOLEAN, parse.parse_bool, default=False, editable=True),
    Field(
        "note",
        str,
        str,
        STRING,
        parse.parse_note,
        default="",
        editable=True,
        input_schema=parse.text_schema(parse.MAX_NOTE),
    ),
    Field(
        "updated_at",
        datetime,
        str,
        parse.TIME_SCHEMA,
        parse.parse_time,
        default_factory=utcnow,
        missing=NOW_DEFAULT,
    ),
    # When an operator last confirmed the status; None: never (a point an import brought without
    # a time of its own: only an operator's act confirms; issue 17). Such a point counts as stale.
    Field(
        "verified_at",
        datetime | None,
        str,
        {
            "type": ["string", "null"],
            "format": "date-time",
            "description": "when the status was last confirmed; null: never confirmed (counts as stale)",
        },
        parse.parse_time,
        default_factory=utcnow,
        missing=UPDATED_AT_DEFAULT,
        in_compact=True,
    ),
    Field("version", int, int, {"type": "integer", "minimum": 1}, parse.parse_version, default=1),
    # off the public map and API lists, history kept
    Field("archived", bool, int, BOOLEAN, parse.parse_bool, default=False, editable=True),
    Field(
        "stops",
        tuple[Stop, ...],
        str,  # JSON list, "" when none
        {
            "type": "array",
            "items": {"$ref": "#/components/schemas/Stop"},
            "description": "a mobile point's schedule: stops not yet ended (input: the whole list)",
        },
        parse.parse_stops,
        default=(),
        editable=True,
        input_schema={
            "type": "array",
            "maxItems": parse.MAX_STOPS,
            "items": {"$ref": "#/components/schemas/StopInput"},
            "description": "a mobile point's whole schedule (fixed points have none)",
        },
    ),
    # When the point was last put at lat/lon, set by the store; answers say "located_since".
    Field(
        "moved_at",
        datetime | None,
        str,
        {"type": ["string", "null"], "format": "date-time"},
        parse.parse_moved_at,
        default=None,
        in_feature=False,
        in_compact=True,  # as "located_since"
    ),
    # Enough citizens reported it closed: set by the store, never by input.
    Field(
        "unconfirmed",
        bool,
        int,
        {
            "type": "boolean",
            "description": "enough recent citizen reports say it is closed; `status` is then"
            " `unconfirmed` until an operator acts",
        },
        default=False,
        in_compact=True,
    ),
    # OpenStreetMap opening_hours (issue 17): "open now" is the status and these hours together.
    Field(
        "opening_hours",
        str,
        str,
        OPENING_HOURS_SCHEMA,
        parse_opening_hours,
        default="",
        editable=True,
        in_compact=True,
    ),
    # -- issue 20: the official map's business types, visibility and support points ------------
    Field(
        "business_type",
        BusinessType,
        str,
        _enum(BusinessType) | {"description": 'what kind of business; "" for a state point'},
        parse.parse_business_type,
        default=BusinessType.NONE,
        editable=True,
        in_compact=True,
    ),
    Field(
        "visibility",
        Visibility,
        str,
        _enum(Visibility)
        | {
            "description": "public; approximate: published only at its settlement's centre, without"
            " address, phone or note; hidden: operators only. Public answers never carry a hidden point"
        },
        parse.parse_visibility,
        default=Visibility.PUBLIC,
        editable=True,
        in_compact=True,
    ),
    # A support point (опорний пункт): opens after 48 h without life support, runs 24/7, has beds.
    Field(
        "support",
        bool,
        int,
        BOOLEAN | {"description": "a support point (opornyi punkt): 24/7, with beds"},
        parse.parse_bool,
        default=False,
        editable=True,
        in_compact=True,
    ),
    *(
        Field(
            name,
            int | None,
            int,
            NULLABLE_COUNT | {"description": description},
            parse.parse_count,
            default=None,
            editable=True,
            input_schema=parse.COUNT_SCHEMA | {"description": description},
            in_compact=True,
        )
        for name, description in (
            ("beds", "a support point's beds"),
            ("beds_free", "beds free tonight (at most beds)"),
        )
    ),
)


def declared_fields(cls: type) -> type:
    """Make cls (which brings the behaviour) a frozen dataclass with the declared fields."""
    cls.__annotations__ = {f.name: f.annotation for f in POINT_DECLARATION}
    for f in POINT_DECLARATION:
        if f.default_factory is not None:
            setattr(cls, f.name, dataclass_field(default_factory=f.default_factory))
        elif f.default is not NO_DEFAULT:
            setattr(cls, f.name, f.default)
    return dataclass(frozen=True)(cls)


def _when_missing(f: Field) -> Any:
    if f.missing is not SAME_AS_DEFAULT:
        return f.missing
    return None if f.default is NO_DEFAULT else f.default


# -- derived once, at import ---------------------------------------------------------------------

FIELD = {f.name: f for f in POINT_DECLARATION}
POINT_FIELDS: tuple[str, ...] = tuple(FIELD)
# Fields a caller may set; version, updated_at and the change bookkeeping belong to the store.
EDITABLE_FIELDS: tuple[str, ...] = tuple(f.name for f in POINT_DECLARATION if f.editable)
REQUIRED_INPUT: tuple[str, ...] = tuple(f.name for f in POINT_DECLARATION if f.required)
# What parse_point reads, in the order it lists problems: (field, parser, required, value when
# missing; None lets the parser decide). One table, not closures made at every call: validating
# an import of 100,000 points takes a quarter less time (issue 5).
POINT_INPUT: tuple[tuple[str, Callable[[Any], Any], bool, Any], ...] = tuple(
    (f.name, f.parse, f.required, _when_missing(f)) for f in POINT_DECLARATION if f.parse is not None
)
STORED_COLUMNS: dict[str, type] = {f.name: f.column for f in POINT_DECLARATION}
CSV_FIELDS: tuple[str, ...] = tuple(f.name for f in POINT_DECLARATION if f.in_csv)
FEATURE_FIELDS: tuple[str, ...] = tuple(f.name for f in POINT_DECLARATION if f.in_feature)
COMPACT_SOURCES: frozenset[str] = frozenset(f.name for f in POINT_DECLARATION if f.in_compact)
# JSON Schemas: of each field in answers, and of each field a caller may send (id on creation).
ANSWER_SCHEMAS: dict[str, dict[str, Any]] = {f.name: f.schema for f in POINT_DECLARATION if f.in_feature}
INPUT_SCHEMAS: dict[str, dict[str, Any]] = {
    f.name: f.input_schema or f.schema for f in POINT_DECLARATION if f.editable or f.required
}
