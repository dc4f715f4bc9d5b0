"""A Point as the points table holds it, and back: the columns, the row and the upsert."""

from __future__ import annotations

import json
import operator
import sqlite3
from collections.abc import Sequence
from typing import Any

from locator.domain.fields import STORED_COLUMNS
from locator.domain.filters import fold, search_text
from locator.domain.point import Category, Kind, Point, Status, format_time, services_mask, sorted_services
from locator.domain.validation import parse_stops, parse_time
from locator.domain.values import BusinessType, Visibility

POINT_COLUMNS = STORED_COLUMNS | {  # the declared fields' columns, and the store's own
    "services_mask": int,  # services as bits, for exact "has all of" filters in SQL
    "region_key": str,  # folded region, for case-insensitive equality
    "search_text": str,  # folded name+address+settlement, for q=
    "seq": int,  # value of meta.seq when this row last changed
}
# Built once from the fixed column list above; values always travel as parameters.
# An upsert both databases read alike (SQLite 3.24+, PostgreSQL 9.5+).
UPSERT_POINT = "INSERT INTO points ({}) VALUES ({}) ON CONFLICT (id) DO UPDATE SET {}".format(
    ", ".join(POINT_COLUMNS),
    ", ".join("?" * len(POINT_COLUMNS)),
    ", ".join(f"{column} = excluded.{column}" for column in POINT_COLUMNS if column != "id"),
)
ROW_VALUES = operator.itemgetter(*POINT_COLUMNS)  # a row dict -> UPSERT_POINT's parameters
PUBLIC_STATUS = "(CASE WHEN unconfirmed != 0 THEN 'unconfirmed' ELSE status END)"  # Point.public_status
# Point.has_status_in: the operator's status or the one citizens see is among a JSON list (?).
STATUS_IN = f"EXISTS (SELECT 1 FROM json_each(?) WHERE value IN (status, {PUBLIC_STATUS}))"


def point_row(point: Point, seq: int, *, version: int | None = None) -> dict[str, Any]:
    """The point's row: Point.to_record's values as SQLite holds them, made field by field
    (an import makes 100,000; tests/test_import_fast.py holds the two to the same values)."""
    services = sorted_services(point.services)
    return {
        "id": point.id,
        "name": point.name,
        "kind": point.kind.value,
        "category": point.category.value,
        "base": int(point.base),
        "status": point.status.value,
        "services": ",".join(services),
        "services_mask": services_mask(services),
        "lat": point.lat,
        "lon": point.lon,
        "address": point.address,
        "settlement": point.settlement,
        "region": point.region,
        "region_key": fold(point.region),
        "search_text": search_text(point),
        "capacity": point.capacity,
        "occupancy": point.occupancy,
        "phone": point.phone,
        "hours": point.hours,
        "open_24_7": int(point.open_24_7),
        "note": point.note,
        "updated_at": format_time(point.updated_at),
        "verified_at": format_time(point.verified_at) if point.verified_at else None,
        "version": point.version if version is None else version,
        "archived": int(point.archived),
        "stops": stops_text(point),
        "moved_at": format_time(point.moved_at) if point.moved_at else None,
        "unconfirmed": int(point.unconfirmed),
        "opening_hours": point.opening_hours,
        "business_type": point.business_type.value,
        "visibility": point.visibility.value,
        "support": int(point.support),
        "beds": point.beds,
        "beds_free": point.beds_free,
        "seq": seq,
    }


def point_from_row(columns: Sequence[str], row: sqlite3.Row | tuple) -> Point:
    """The Point a ``SELECT *`` row holds (columns: the table's, in its order)."""
    record = dict(zip(columns, row, strict=True))
    return Point(
        id=record["id"],
        name=record["name"],
        kind=Kind(record["kind"]),
        category=Category(record["category"]),
        base=bool(record["base"]),
        status=Status(record["status"]),
        services=frozenset(filter(None, (record["services"] or "").split(","))),
        lat=record["lat"],
        lon=record["lon"],
        address=record["address"] or "",
        settlement=record["settlement"] or "",
        region=record["region"] or "",
        capacity=record["capacity"],
        occupancy=record["occupancy"],
        phone=record["phone"] or "",
        hours=record["hours"] or "",
        open_24_7=bool(record["open_24_7"]),
        note=record["note"] or "",
        updated_at=parse_time(record["updated_at"]),
        verified_at=parse_time(record["verified_at"]) if record["verified_at"] else None,
        version=record["version"],
        archived=bool(record["archived"]),
        stops=parse_stops(record["stops"]) if record["stops"] else (),
        moved_at=parse_time(record["moved_at"]) if record["moved_at"] else None,
        unconfirmed=bool(record["unconfirmed"]),
        opening_hours=record["opening_hours"] or "",
        business_type=BusinessType(record["business_type"] or ""),
        visibility=Visibility(record["visibility"] or "public"),
        support=bool(record["support"]),
        beds=record["beds"],
        beds_free=record["beds_free"],
    )


def upsert_rows(conn: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
    """Write whole point rows (point_row's), inside the caller's write transaction."""
    if rows:
        conn.executemany(UPSERT_POINT, map(ROW_VALUES, rows))


def stops_text(point: Point) -> str:
    """A mobile point's schedule as the stops column holds it: JSON, or "" when it has none."""
    if not point.stops:
        return ""
    return json.dumps([stop.to_record() for stop in point.stops], ensure_ascii=False)
