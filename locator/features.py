"""Points as GeoJSON Features and flat CSV rows: the one place that decides their shape."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from typing import Any

from .model import POINT_FIELDS, Point, format_time, sorted_services, utcnow

# Columns of the CSV export: every field of a Point, in order; import reads the same names back.
CSV_COLUMNS = POINT_FIELDS


def point_properties(point: Point, now: datetime, stale_after: timedelta) -> dict[str, Any]:
    """Every field of a point as it is now (a mobile point at its current stop), plus whether
    its status is stale and how old it is. ``status`` is what citizens see ("unconfirmed" when
    their reports outweigh it); ``operator_status`` is the one an operator set."""
    point = point.at(now)
    stop = point.active_stop(now)
    return {
        "id": point.id,
        "name": point.name,
        "kind": point.kind.value,
        "category": point.category.value,
        "base": point.base,
        "status": point.public_status.value,
        "operator_status": point.status.value,
        "unconfirmed": point.unconfirmed,
        "services": sorted_services(point.services),
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
        "verified_at": format_time(point.verified_at),
        "version": point.version,
        "archived": point.archived,
        "located_since": format_time(point.moved_at) if point.moved_at else None,
        "stop": stop.to_record() if stop else None,
        "stops": [upcoming.to_record() for upcoming in point.upcoming_stops(now)],
        "stale": point.is_stale(now, stale_after),
        "status_age_s": int(point.status_age(now).total_seconds()),
    }


def point_feature(point: Point, now: datetime, stale_after: timedelta, **extra: Any) -> dict[str, Any]:
    properties = point_properties(point, now, stale_after) | extra
    return {
        "type": "Feature",
        "id": point.id,
        "geometry": {"type": "Point", "coordinates": [properties["lon"], properties["lat"]]},
        "properties": properties,
    }


def feature_collection(features: list[dict[str, Any]], **members: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", **members, "features": features}


def points_csv(points: list[Point], now: datetime | None = None) -> str:
    """Points as CSV text with the CSV_COLUMNS header (the format `points import` reads back)."""
    now = now or utcnow()
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_row(p, now) for p in points)
    return out.getvalue()


def csv_row(point: Point, now: datetime | None = None) -> dict[str, Any]:
    """One flat row of the point as it is now; the schedule travels as JSON text."""
    record = point.at(now or utcnow()).to_record()
    record["services"] = ",".join(record["services"])
    record["stops"] = json.dumps(record["stops"], ensure_ascii=False) if record["stops"] else ""
    return {column: record[column] for column in CSV_COLUMNS}
