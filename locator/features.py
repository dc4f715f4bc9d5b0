"""Points as GeoJSON Features and flat CSV rows: the one place that decides their shape."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

from .model import POINT_FIELDS, Point, format_time, sorted_services

# Columns of the CSV export: every field of a Point, in order; import reads the same names back.
CSV_COLUMNS = POINT_FIELDS


def point_properties(point: Point, now: datetime, stale_after: timedelta) -> dict[str, Any]:
    """Every field of a point, plus whether its status is stale and how old it is."""
    return {
        "id": point.id,
        "name": point.name,
        "kind": point.kind.value,
        "category": point.category.value,
        "base": point.base,
        "status": point.status.value,
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
        "stale": point.is_stale(now, stale_after),
        "status_age_s": int(point.status_age(now).total_seconds()),
    }


def point_feature(point: Point, now: datetime, stale_after: timedelta, **extra: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": point.id,
        "geometry": {"type": "Point", "coordinates": [point.lon, point.lat]},
        "properties": point_properties(point, now, stale_after) | extra,
    }


def feature_collection(features: list[dict[str, Any]], **members: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", **members, "features": features}


def points_csv(points: list[Point]) -> str:
    """Points as CSV text with the CSV_COLUMNS header (the format `points import` reads back)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_row(p) for p in points)
    return out.getvalue()


def csv_row(point: Point) -> dict[str, Any]:
    record = point.to_record()
    record["services"] = ",".join(record["services"])
    return {column: record[column] for column in CSV_COLUMNS}
