"""The history table: one row per changed field of a point, which is also the public change feed.

A history row is (point_id, seq, at, by, field, old, new), values as text. Every write of the
store adds its rows in the same transaction as the change itself.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

import sqlite_utils

from locator.domain.point import EDITABLE_FIELDS, Point, Status, format_time
from locator.domain.users import author_kind

HISTORY_FIELDS = EDITABLE_FIELDS + ("verified_at",)
UNDO_FIELD = "undo"  # a row marking a write as an operator's undo; the console's history only
# What the change feed tells of an approximate point (issue 20): never where it is, its address,
# phone, note, name or stops (domain/visibility.py); hidden points' rows never appear. Of a
# deleted point only that it was made and deleted, and its statuses; of one deleted while hidden,
# nothing (deleted_points keeps the visibility it had).
APPROXIMATE_FEED_FIELDS = (
    "created deleted status kind category base services settlement region capacity occupancy"
    " open_24_7 verified_at archived opening_hours business_type visibility support beds beds_free"
).split()
PUBLIC_OF_APPROXIMATE = ", ".join(f"'{name}'" for name in APPROXIMATE_FEED_FIELDS)
INSERT_HISTORY = 'INSERT INTO history (point_id, seq, at, "by", field, old, new) VALUES (?, ?, ?, ?, ?, ?, ?)'


def record_history(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    """Add history rows (point_id, seq, at, by, field, old, new) inside the caller's transaction."""
    conn.executemany(INSERT_HISTORY, rows)


def point_history(
    db: sqlite_utils.Database, point_id: str, limit: int, *, authors: bool = True
) -> list[dict[str, Any]]:
    """A point's changes, newest first. With authors, "by" names who (the console of the point's
    own operators); without, "author" says only what kind of author ("operator", "citizens",
    "import": users.author_kind) and no row carries a name."""
    rows = list(
        db.query(
            'SELECT seq, at, "by", field, old, new FROM history WHERE point_id = ? ORDER BY id DESC LIMIT ?',
            [point_id, limit],
        )
    )
    if not authors:
        for row in rows:
            row["author"] = author_kind(row.pop("by") or "")
    return rows


def change_feed(db: sqlite_utils.Database, since: int, limit: int) -> list[dict[str, Any]]:
    """History rows after a cursor, oldest first: the public change feed (no authors; an
    undo shows as the fields it changed back, without its "undo" mark).

    Writers are serialised by SQLite, so row ids are committed in order: a reader that pages by
    id never misses or repeats a change.
    """
    return list(
        db.query(
            "SELECT h.id AS cursor, h.point_id, h.field, h.old, h.new, h.at FROM history h"
            " LEFT JOIN points p ON p.id = h.point_id LEFT JOIN deleted_points d ON d.id = h.point_id"
            " WHERE h.id > ? AND h.field != ? AND p.visibility = 'public'"
            f" OR h.id > ? AND h.field IN ({PUBLIC_OF_APPROXIMATE}) AND p.visibility = 'approximate'"
            # A deleted point (no row): that it was made and deleted and its statuses, no details;
            # nothing at all of one deleted while hidden (deleted_points.visibility, schema 10)
            " OR h.id > ? AND h.field IN ('created', 'deleted', 'status') AND p.id IS NULL"
            " AND d.visibility IN ('public', 'approximate')"
            " ORDER BY h.id LIMIT ?",
            [since, UNDO_FIELD, since, since, limit],
        )
    )


def differences(old: Point, new: Point) -> list[tuple[str, str | None, str | None]]:
    """(field, old, new) for each field that differs, as text, for the history table."""
    changed = [name for name in HISTORY_FIELDS if getattr(old, name) != getattr(new, name)]
    if not changed:
        return []
    before, after = old.to_record(), new.to_record()
    return [(name, _as_text(before[name]), _as_text(after[name])) for name in changed]


def still_unconfirmed(old: Point, new: Point, *, verified: bool) -> bool:
    """The citizens' flag outlives a write only if nobody confirmed the point and it is still
    shown as working (a closed point "unconfirmed" would tell citizens it might be open)."""
    return old.unconfirmed and not verified and new.status in (Status.OPEN, Status.FULL)


def flag_history(old: Point, new: Point, seq: int, now: datetime, by: str) -> list[tuple]:
    """The history row for a write that clears the flag (ReportStore records it being set), so
    the change feed shows "unconfirmed" going as well as coming."""
    if old.unconfirmed and not new.unconfirmed:
        return [(new.id, seq, format_time(now), by, "unconfirmed", "true", "false")]
    return []


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        if value and isinstance(value[0], dict):  # a schedule of stops
            return json.dumps(value, ensure_ascii=False)
        return ",".join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_time(value)
    return str(value)
