"""Points as GeoJSON Features and flat CSV rows: the one place that decides their shape."""

from __future__ import annotations

import csv
import functools
import io
import json
from datetime import datetime, timedelta
from typing import Any

from locator.domain.fields import CSV_FIELDS
from locator.domain.hours import open_now_fields
from locator.domain.point import Point, format_time, sorted_services, utcnow
from locator.io.memo import PerPoint

# Columns of the CSV export: the declared fields marked in_csv (all), in order; import reads them back.
CSV_COLUMNS = CSV_FIELDS
# OWASP "CSV injection": a spreadsheet runs a cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CELL_GUARD = "'"  # shown by spreadsheets as text, not as part of the cell


def point_properties(
    point: Point, now: datetime, stale_after: timedelta, *, as_stored: bool = False
) -> dict[str, Any]:
    """Every field of a point as it is now (a mobile point at its current stop), plus whether
    its status is stale and how old it is, and whether it is open now (domain/hours.py).
    ``status`` is what citizens see ("unconfirmed" when
    their reports outweigh it); ``operator_status`` is the one an operator set.

    as_stored (``points export``, read back by ``points import``): the point where the operator
    put it, with its whole schedule and ``moved_at``. The current stop follows from those; written
    as the position, a re-import would move the point's base there for good.
    """
    if not point.stops and not as_stored:
        return (
            _fixed_properties(point)
            | {
                "stale": point.is_stale(now, stale_after),
                "status_age_s": _age_s(point, now),
            }
            | open_now_fields(point, now)
        )
    stop = point.current_stop(now) if point.stops else None
    point = point if as_stored or stop is None else point.at(now)
    return (
        _properties(point, now, stop, as_stored)
        | {
            "stale": point.is_stale(now, stale_after),
            "status_age_s": _age_s(point, now),
        }
        | ({"moved_at": format_time(point.moved_at) if point.moved_at else None} if as_stored else {})
        | open_now_fields(point, now)
    )


# The clock-free properties of points without stops (~1.5 KB each), kept for 16,384 points: all
# of today's 12,000-point network, or the busy part of a larger one. The nearest lookup and the
# GeoJSON lists show the same points again and again.
_FIXED = PerPoint(16_384)


def _fixed_properties(point: Point) -> dict[str, Any]:
    return _FIXED.get(point, lambda p: _properties(p, None, None, False))


def _properties(point: Point, now: datetime | None, stop, as_stored: bool) -> dict[str, Any]:
    """Everything but "stale" and "status_age_s"; ``now`` only matters for a point with stops.
    Written out for speed: tests/test_fields.py holds the keys to fields.FEATURE_FIELDS."""
    return {
        "id": point.id,
        "name": point.name,
        "kind": point.kind.value,
        "category": point.category.value,
        "base": point.base,
        "status": point.public_status.value,
        "operator_status": point.status.value,
        "unconfirmed": point.unconfirmed,
        "services": list(_in_order(point.services)),
        "address": point.address,
        "settlement": point.settlement,
        "region": point.region,
        "lat": point.lat,
        "lon": point.lon,
        "capacity": point.capacity,
        "occupancy": point.occupancy,
        "phone": point.phone,
        "hours": point.hours,
        "open_24_7": point.open_24_7,
        "note": point.note,
        "updated_at": format_time(point.updated_at),
        "verified_at": format_time(point.verified_at) if point.verified_at else None,
        "version": point.version,
        "archived": point.archived,
        "located_since": format_time(point.moved_at) if point.moved_at else None,
        "stop": stop.to_record() if stop else None,
        "stops": [s.to_record() for s in (point.stops if as_stored else point.upcoming_stops(now))]
        if point.stops
        else [],
        "opening_hours": point.opening_hours,
        "business_type": point.business_type.value,
        "visibility": point.visibility.value,
        "support": point.support,
        "beds": point.beds,
        "beds_free": point.beds_free,
    }


@functools.lru_cache(maxsize=4096)
def _in_order(services: frozenset[str]) -> tuple[str, ...]:
    """A point's services in canonical order; points share few distinct sets, and every API
    answer lists them for each point."""
    return tuple(sorted_services(services))


def _age_s(point: Point, now: datetime) -> int | None:
    """Seconds since the status was confirmed; None: never confirmed."""
    age = point.status_age(now)
    return None if age is None else int(age.total_seconds())


def point_feature(
    point: Point, now: datetime, stale_after: timedelta, *, as_stored: bool = False, **extra: Any
) -> dict[str, Any]:
    properties = point_properties(point, now, stale_after, as_stored=as_stored) | extra
    return {
        "type": "Feature",
        "id": point.id,
        "geometry": {"type": "Point", "coordinates": [properties["lon"], properties["lat"]]},
        "properties": properties,
    }


def feature_collection(features: list[dict[str, Any]], **members: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", **members, "features": features}


def points_csv(points: list[Point], now: datetime | None = None, *, as_stored: bool = False) -> str:
    """Points as CSV text with the CSV_COLUMNS header (the format `points import` reads back);
    text that a spreadsheet would run as a formula is guarded (guard_cell)."""
    now = now or utcnow()
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for point in points:
        writer.writerow({k: guard_cell(v) for k, v in csv_row(point, now, as_stored=as_stored).items()})
    return out.getvalue()


def guard_cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula (=, +, -, @, tab, CR first), with an apostrophe
    in front; text that already looks guarded gets one more, so unguard_cell gives back exactly
    what was stored. Numbers stay numbers: a negative longitude is not text."""
    if isinstance(value, str) and _needs_guard(value):
        return CELL_GUARD + value
    return value


def unguard_cell(value: Any) -> Any:
    """Undo guard_cell: CSV import reads back what the export wrote."""
    if isinstance(value, str) and value.startswith(CELL_GUARD) and _needs_guard(value[1:]):
        return value[1:]
    return value


def _needs_guard(text: str) -> bool:
    return text.startswith(FORMULA_STARTS) or (
        text.startswith(CELL_GUARD) and text[1:2] in (*FORMULA_STARTS, CELL_GUARD)
    )


def csv_row(point: Point, now: datetime | None = None, *, as_stored: bool = False) -> dict[str, Any]:
    """One flat row of the point as it is now (as_stored: see point_properties); the schedule
    travels as JSON text."""
    record = (point if as_stored else point.at(now or utcnow())).to_record()
    record["services"] = ",".join(record["services"])
    record["stops"] = json.dumps(record["stops"], ensure_ascii=False) if record["stops"] else ""
    return {column: record[column] for column in CSV_COLUMNS}
