"""The map's data: a compact table, one row per point, far smaller than GeoJSON."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from locator.domain.point import SERVICES, Kind, Point, format_time, utcnow
from locator.io.json_bytes import dump_json
from locator.io.memo import PerPoint

# The map's columns, in the order the map and other readers expect: the declared fields marked
# in_compact (fields.COMPACT_SOURCES), moved_at as located_since. tests/test_fields.py holds this
# list and compact_row to the declaration.
COMPACT_FIELDS = (
    "id",
    "lat",
    "lon",
    "status",  # the operator's; "unconfirmed" marks it (the map shows both, filters on either)
    "kind",
    "category",
    "base",
    "services",
    "verified_at",  # unix time; 0: never confirmed
    "name",
    "settlement",
    "address",
    "located_since",  # mobile points: unix time they arrived where they stand (0 unknown)
    "unconfirmed",  # 1: citizens reported it closed; Point.has_status_in keeps it in filters
    "opening_hours",  # OSM syntax, "" none: the map judges "open now" itself (static/js/hours.js)
    "business_type",  # "" for a state point (issue 20)
    "visibility",  # "public" or "approximate": the public table never holds a hidden point
    "support",  # 1: a support point (опорний пункт)
    "beds",  # null: unknown / not a support point
    "beds_free",  # "a bed tonight": beds_free > 0
)
ROWS_KEPT = 300_000  # compact rows kept per process (~0.3 KB each); past that the cache starts over


def compact_table(
    points: Iterable[Point],
    seq: int,
    now: datetime,
    stale_after: timedelta,
    latin: Callable[[Iterable[str]], dict[str, list[str]]] | None = None,
) -> bytes:
    """The map's data: one row per point (COMPACT_FIELDS), only what the map draws and its popup
    shows; far smaller than GeoJSON. Rows of points without stops come from _ROWS. ``latin``
    gives the settlements' Latin keys (search/transliteration.py) for the offline search."""
    points = points if isinstance(points, list) else list(points)
    head = dump_json(
        {
            "seq": seq,
            "generated_at": format_time(utcnow()),
            "stale_after_s": int(stale_after.total_seconds()),
            "services": list(SERVICES),
            "fields": list(COMPACT_FIELDS),
            "latin": latin(p.settlement for p in points) if latin else {},
            "rows": [],
        }
    )
    rows = b",".join([_row_bytes(p, now) for p in points])
    return head[: -len(b"]}")] + rows + b"]}"


_ROWS = PerPoint(ROWS_KEPT)


def _row_bytes(point: Point, now: datetime) -> bytes:
    """A point's row as JSON, kept per Point object; a point with stops stands somewhere that
    depends on the clock, so its row is made each time."""
    if point.stops:
        return dump_json(compact_row(point.at(now)))
    return _ROWS.get(point, lambda p: dump_json(compact_row(p)))


def compact_row(p: Point) -> list[Any]:
    """One row, in COMPACT_FIELDS order, of a point where it stands (Point.at for one with stops)."""
    return [
        p.id,
        round(p.lat, 5),
        round(p.lon, 5),
        p.status.value,
        p.kind.value,
        p.category.value,
        int(p.base),
        p.services_mask,
        int(p.verified_at.timestamp()) if p.verified_at else 0,  # 0: never confirmed
        p.name,
        p.settlement,
        p.address,
        int(p.moved_at.timestamp()) if p.moved_at and p.kind is Kind.MOBILE else 0,
        int(p.unconfirmed),
        p.opening_hours,
        p.business_type.value,
        p.visibility.value,
        int(p.support),
        p.beds,
        p.beds_free,
    ]
