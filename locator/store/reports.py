"""Citizens' reports about points: the queue operators work through, and the "unconfirmed" flag.

A report never changes a point's status. Enough recent open reports that a point shown as
working is closed set ``points.unconfirmed``; that stamps the row with a new change sequence
(so every index and ETag follows) but not a new version (an operator's edit in flight is not a
conflict). Any operator verification of the point answers its open reports and clears the flag.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlite_utils

from locator.domain.point import Status, format_time, utcnow
from locator.domain.reports import Report, ReportKind
from locator.domain.validation import parse_time
from locator.store.history import record_history

if TYPE_CHECKING:
    from locator.store.points import Store

HOUR = timedelta(hours=1)
SHOWN_AS_WORKING = (Status.OPEN.value, Status.FULL.value)


@dataclass(frozen=True)
class ReportRules:
    """How many reports make a point unconfirmed, and how many anyone may send."""

    threshold: int = 3  # open "closed" reports since the last verification
    window: timedelta = timedelta(hours=6)  # only reports this recent count
    # A sender is a network (domain/senders.py), its reports' ``source`` a keyed hash of it.
    per_sender_per_hour: int = 5
    per_point_per_hour: int = 20  # about one point, from one sender: a flood locks out no one else
    distinct_senders: bool = True  # one report per sender counts towards the threshold


class ReportLimited(RuntimeError):
    """Too many reports from this sender's network, about this point or at all; nothing was stored."""

    def __init__(self, scope: str, retry_after_s: int):
        self.scope = scope
        self.retry_after_s = retry_after_s
        super().__init__(f"too many reports {scope}; retry after {retry_after_s} s")


class ReportStore:
    """The reports table, in the points' database and transactions."""

    def __init__(self, store: Store):
        self.store = store
        self.rules = ReportRules()

    @property
    def db(self) -> sqlite_utils.Database:
        return self.store.db

    def add(self, report: Report, *, source: str, now: datetime | None = None) -> bool:
        """Store a report, within the limits; True when it made the point unconfirmed."""
        now = now or utcnow()
        rules = self.rules
        hour_ago = format_time(now - HOUR)
        with self.store.transaction() as conn:
            point = self.store.get(report.point_id)  # NotFoundError for an unknown id
            for scope, sql, param, limit in (
                ("from your network", "source = ?", [source], rules.per_sender_per_hour),
                (
                    "about this point from your network",
                    "point_id = ? AND source = ?",
                    [report.point_id, source],
                    rules.per_point_per_hour,
                ),
            ):
                rows = conn.execute(
                    f"SELECT count(*), min(at) FROM reports WHERE {sql} AND at > ?", [*param, hour_ago]
                ).fetchone()
                if rows[0] >= limit:
                    free_at = parse_time(rows[1]) + HOUR
                    raise ReportLimited(scope, max(1, math.ceil((free_at - now).total_seconds())))
            conn.execute(
                "INSERT INTO reports (point_id, kind, service, comment, at, source)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    report.point_id,
                    report.kind.value,
                    report.service,
                    report.comment,
                    format_time(now),
                    source,
                ],
            )
            if point.unconfirmed or point.status.value not in SHOWN_AS_WORKING:
                return False
            if self._closed_reports(conn, point.id, point.verified_at, now) < rules.threshold:
                return False
            seq = self.store.next_seq(conn)
            conn.execute("UPDATE points SET unconfirmed = 1, seq = ? WHERE id = ?", [seq, point.id])
            record_history(
                conn, [(point.id, seq, format_time(now), "citizens", "unconfirmed", "false", "true")]
            )
            return True

    def _closed_reports(
        self, conn: sqlite3.Connection, point_id: str, verified_at: datetime | None, now
    ) -> int:
        """Open "closed" reports made after the last verification (if any) and within the window."""
        window_start = now - self.rules.window
        since = format_time(window_start if verified_at is None else max(verified_at, window_start))
        counted = "count(DISTINCT source)" if self.rules.distinct_senders else "count(*)"
        return conn.execute(
            f"SELECT {counted} FROM reports WHERE point_id = ? AND kind = ? AND resolved_at IS NULL"
            " AND at >= ?",  # the verification itself resolved what it answered
            [point_id, ReportKind.CLOSED.value, since],
        ).fetchone()[0]

    def resolve_open(self, conn: sqlite3.Connection, point_id: str, *, by: str, resolution: str, now) -> int:
        """Mark every open report of a point answered (inside the caller's transaction)."""
        return conn.execute(
            "UPDATE reports SET resolved_at = ?, resolved_by = ?, resolution = ?"
            " WHERE point_id = ? AND resolved_at IS NULL",
            [format_time(now), by, resolution, point_id],
        ).rowcount

    def dismiss(self, point_id: str, *, by: str) -> int:
        """The operator checked and the point is as shown: close its reports, clear the flag."""
        now = utcnow()
        with self.store.transaction() as conn:
            point = self.store.get(point_id)
            dismissed = self.resolve_open(conn, point_id, by=by, resolution="dismissed", now=now)
            if point.unconfirmed:
                seq = self.store.next_seq(conn)
                conn.execute("UPDATE points SET unconfirmed = 0, seq = ? WHERE id = ?", [seq, point_id])
                record_history(conn, [(point_id, seq, format_time(now), by, "unconfirmed", "true", "false")])
        return dismissed

    def open_for(self, point_id: str, limit: int = 200) -> list[dict[str, Any]]:
        """A point's unanswered reports, newest first (no sender information)."""
        return list(
            self.db.query(
                "SELECT id, kind, service, comment, at FROM reports"
                " WHERE point_id = ? AND resolved_at IS NULL ORDER BY id DESC LIMIT ?",
                [point_id, limit],
            )
        )

    def open_senders(self, point_id: str) -> int:
        """How many sender networks the point's unanswered reports came from: many reports from
        one network are one signal (a flood, or one shared Wi-Fi), however many they are."""
        return self.db.execute(
            "SELECT count(DISTINCT source) FROM reports WHERE point_id = ? AND resolved_at IS NULL",
            [point_id],
        ).fetchone()[0]

    def answered_for(self, point_id: str, limit: int = 50) -> list[dict[str, Any]]:
        return list(
            self.db.query(
                "SELECT id, kind, service, comment, at, resolved_at, resolved_by, resolution FROM reports"
                " WHERE point_id = ? AND resolved_at IS NOT NULL ORDER BY id DESC LIMIT ?",
                [point_id, limit],
            )
        )

    def open_counts(self, point_ids: list[str] | None = None) -> dict[str, Counter]:
        """Unanswered reports by point and kind (all points, or just these)."""
        sql = "SELECT point_id, kind, count(*) FROM reports WHERE resolved_at IS NULL"
        params: list[Any] = []
        if point_ids is not None:
            sql += " AND point_id IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(point_ids))
        counts: dict[str, Counter] = {}
        for point_id, kind, count in self.db.execute(sql + " GROUP BY point_id, kind", params):
            counts.setdefault(point_id, Counter())[kind] = count
        return counts
