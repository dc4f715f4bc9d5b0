"""The points: reads (get, find, the changes since a sequence, history) and writes (create,
update, confirm, import), each write one transaction with its history rows and change counter.

PointsStore holds them once, over the internal API both databases give (``db``,
``transaction``, ``next_seq``...): Store is it on SQLite (connection.py), PostgresStore on
PostgreSQL (pg_store.py); each is store/interface.py's PointsBackend.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from locator.domain.filters import PointFilter, fold
from locator.domain.hours import is_open_now
from locator.domain.point import Point, format_time, services_mask, utcnow
from locator.domain.validation import merged_record, parse_point
from locator.io import gcpause
from locator.store.connection import READ_COUNTER, SQLiteConnection, from_unix_ms
from locator.store.errors import DuplicateIdError, NotFoundError, VersionConflict
from locator.store.health import stats as health_stats
from locator.store.history import (
    UNDO_FIELD,
    change_feed,
    differences,
    flag_history,
    point_history,
    record_history,
    still_unconfirmed,
)
from locator.store.imports import ImportSummary, import_rows, plan, remove_points
from locator.store.planner import PlannerStore
from locator.store.reports import ReportStore
from locator.store.rows import STATUS_IN, point_from_row, point_row, upsert_rows
from locator.store.schema import migrate as migrate_schema


class Changes(NamedTuple):
    """What changed after a change counter, read at one moment (NearestIndex.sync applies it)."""

    seq: int  # the counter now
    points: list[Point]  # points written after the given counter
    deleted: list[str]  # ids deleted after it
    at: datetime | None  # when the counter last moved (None: never)


class PointsStore:
    """The points' reads and writes, on whichever database the connection class gives."""

    reports: ReportStore
    planner: PlannerStore

    # -- reads ---------------------------------------------------------------------------------

    def count(self) -> int:
        """How many points are stored, archived ones included."""
        return self.db.execute("SELECT count(*) FROM points").fetchone()[0]

    def get(self, point_id: str) -> Point:
        """The point with this id; NotFoundError when there is none."""
        row = self.db.execute("SELECT * FROM points WHERE id = ?", [point_id]).fetchone()
        if row is None:
            raise NotFoundError(point_id)
        return self._point(row)

    def all(self) -> list[Point]:
        """Every point, archived ones included, ordered by id."""
        columns = self.columns()
        return [point_from_row(columns, row) for row in self.db.execute("SELECT * FROM points ORDER BY id")]

    def find(self, wanted: PointFilter, now: datetime | None = None) -> list[Point]:
        """Points that match the filter, ordered by id; the SQL mirrors PointFilter.matches
        (tests/test_filter_equivalence.py holds the two to the same answers)."""
        where, params = [], []
        if not wanted.include_archived:
            where.append("archived = 0")
        for condition, chosen in (
            (STATUS_IN, wanted.statuses),
            ("kind IN (SELECT value FROM json_each(?))", wanted.kinds),
            ("category IN (SELECT value FROM json_each(?))", wanted.categories),
            ("business_type IN (SELECT value FROM json_each(?))", wanted.business_types),
        ):
            if chosen:
                where.append(condition)
                params.append(json.dumps(sorted(value.value for value in chosen)))
        if wanted.bed:
            where.append("beds_free > 0")
        if wanted.base is not None:
            where.append("base = ?")
            params.append(int(wanted.base))
        if wanted.services:
            mask = services_mask(wanted.services)
            where.append("(services_mask & ?) = ?")
            params.extend([mask, mask])
        if wanted.region:
            where.append("region_key = ?")
            params.append(fold(wanted.region))
        if wanted.q:
            where.append("instr(search_text, ?) > 0")
            params.append(fold(wanted.q))
        if wanted.bbox is not None:
            min_lon, min_lat, max_lon, max_lat = wanted.bbox
            # A scheduled point may stand elsewhere now: it is checked in Python below.
            where.append("((lat BETWEEN ? AND ? AND lon BETWEEN ? AND ?) OR stops != '')")
            params.extend([min_lat, max_lat, min_lon, max_lon])
        sql = "SELECT * FROM points"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id"
        columns = self.columns()
        found = [point_from_row(columns, row) for row in self.db.execute(sql, params)]
        if wanted.bbox is not None:
            now = now or utcnow()
            found = [p for p in found if not p.stops or wanted.matches(p.at(now), now)]
        if wanted.open_now:  # opening hours are judged in Python (domain/hours.py), not SQL
            now = now or utcnow()
            found = [p for p in found if is_open_now(p, now)]
        return found

    def regions(self) -> list[str]:
        """Every region a point names, sorted (the embed builder's choices)."""
        return [
            row[0]
            for row in self.db.execute("SELECT DISTINCT region FROM points WHERE region != '' ORDER BY 1")
        ]

    def changed_since(self, seq: int) -> Changes:
        """The counter now, the points changed and the ids deleted after seq, read consistently."""
        columns = self.columns()
        with self.read_transaction() as conn:
            meta = dict(conn.execute(READ_COUNTER).fetchall())
            current = meta["seq"]
            rows = conn.execute("SELECT * FROM points WHERE seq > ?", [seq])
            changed = [point_from_row(columns, row) for row in rows]
            deleted = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM deleted_points WHERE seq > ? AND id NOT IN (SELECT id FROM points)",
                    [seq],
                )
            ]
        changed_at = meta.get("changed_at") or 0
        return Changes(current, changed, deleted, from_unix_ms(changed_at) if changed_at else None)

    def history(self, point_id: str, limit: int = 200, *, authors: bool = True) -> list[dict[str, Any]]:
        """A point's changes, newest first; authors=False: no names (store/history.py)."""
        return point_history(self.db, point_id, limit, authors=authors)

    def changes(self, since: int, limit: int) -> list[dict[str, Any]]:
        """History rows after a cursor, oldest first: the public change feed (no authors)."""
        return change_feed(self.db, since, limit)

    def stats(self, stale_before: datetime) -> dict[str, Any]:
        """Points by public status, archived, stale, the change counter and the last change (/metrics)."""
        return health_stats(self, stale_before)

    # -- writes --------------------------------------------------------------------------------

    def import_points(
        self,
        points: Iterable[Point],
        *,
        replace: bool = False,
        by: str = "import",
        untimed: frozenset[str] = frozenset(),
    ) -> ImportSummary:
        """Add or update every point (and with replace, delete the rest) in one transaction.

        Points in ``untimed`` came without a verification time: if nothing else about them
        changed they keep the stored one, so a re-import never makes stale points look fresh.
        """
        now = utcnow()
        with gcpause.paused(), self.transaction() as conn:
            existing = {point.id: point for point in self.all()}
            points, summary = plan(existing, list(points), replace=replace, untimed=untimed)
            if not summary.writes_anything():
                return summary  # nothing to write: the change counter (and every ETag) stays
            seq = self.next_seq(conn)
            rows, history = import_rows(existing, points, summary, seq=seq, now=now, by=by)
            if replace:
                removed = [existing[point_id] for point_id in summary.removed]
                history += remove_points(conn, removed, seq=seq, now=now, by=by)
            upsert_rows(conn, rows)
            record_history(conn, history)
        return summary

    def plan_import(
        self, points: Iterable[Point], *, replace: bool = False, untimed: frozenset[str] = frozenset()
    ) -> ImportSummary:
        """What import_points would do, without writing anything (the console's dry run)."""
        existing = {point.id: point for point in self.all()}
        return plan(existing, list(points), replace=replace, untimed=untimed)[1]

    def create(self, record: dict[str, Any], *, by: str) -> Point:
        """Add one new point from raw input; a taken id is a validation problem, not an overwrite."""
        now = utcnow()
        point = parse_point(record | {"updated_at": now, "verified_at": now, "version": 1}, now=now)
        point = point.with_changes(moved_at=now)
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM points WHERE id = ?", [point.id]).fetchone():
                raise DuplicateIdError(point.id)
            seq = self.next_seq(conn)
            upsert_rows(conn, [point_row(point, seq)])
            record_history(conn, [(point.id, seq, format_time(now), by, "created", None, point.status.value)])
        return point

    def confirm(self, point_id: str, *, by: str, expected_version: int | None = None) -> Point:
        """ "Still true": the status stands, confirmed now (a change of its own, with history)."""
        with self.transaction() as conn:
            old = self.get(point_id)
            if expected_version is not None and expected_version != old.version:
                raise VersionConflict(old)
            now = utcnow()
            seq = self.next_seq(conn)
            new = old.with_changes(
                verified_at=now, updated_at=now, version=old.version + 1, unconfirmed=False
            )
            upsert_rows(conn, [point_row(new, seq)])
            before = format_time(old.verified_at) if old.verified_at else None  # None: never confirmed
            change = ("verified_at", before, format_time(now))
            record_history(
                conn,
                [(point_id, seq, format_time(now), by, *change), *flag_history(old, new, seq, now, by)],
            )
            self.reports.resolve_open(conn, point_id, by=by, resolution="acted", now=now)
        return new

    def update(
        self,
        point_id: str,
        changes: dict[str, Any],
        *,
        by: str,
        expected_version: int | None = None,
        verify: bool = True,
        undo: bool = False,
        undo_to: datetime | None = None,
    ) -> Point:
        """Change some fields of one point; with verify, its status counts as confirmed now.

        undo marks the write as an undo (services/undo.py): the point's confirmation goes back
        to undo_to (None: never confirmed), and an "undo" history row (old: the status undone,
        new: the one restored) says so beside the fields' own rows."""
        with self.transaction() as conn:
            old = self.get(point_id)
            if expected_version is not None and expected_version != old.version:
                raise VersionConflict(old)
            now = utcnow()
            merged = merged_record(old, changes)
            verified_at = undo_to if undo else (now if verify else old.verified_at)
            merged.update(updated_at=now, verified_at=verified_at, version=old.version)
            new = parse_point(merged, now=now)
            if undo or not verify:  # (parse_point would give a never-confirmed point a time)
                new = new.with_changes(verified_at=verified_at)
            diffs = differences(old, new)
            if not diffs and not (verify and old.unconfirmed):  # a confirmation within the same second
                return old
            seq = self.next_seq(conn)
            moved = (new.lat, new.lon) != (old.lat, old.lon)
            new = new.with_changes(
                version=old.version + 1,
                moved_at=now if moved else old.moved_at,
                unconfirmed=still_unconfirmed(old, new, verified=verify),
            )
            upsert_rows(conn, [point_row(new, seq)])
            marks = [(point_id, seq, format_time(now), by, UNDO_FIELD, old.status.value, new.status.value)]
            record_history(
                conn,
                [(point_id, seq, format_time(now), by, *diff) for diff in diffs]
                + flag_history(old, new, seq, now, by)
                + (marks if undo else []),
            )
            if verify:
                self.reports.resolve_open(conn, point_id, by=by, resolution="acted", now=now)
        return new

    # -- rows ----------------------------------------------------------------------------------

    def _point(self, row) -> Point:
        return point_from_row(self.columns(), row)

    def _row(self, point: Point, seq: int, *, version: int | None = None) -> dict[str, Any]:
        """The point's row (store/rows.py point_row; tests/test_import_fast.py calls it here)."""
        return point_row(point, seq, version=version)


class Store(SQLiteConnection, PointsStore):
    """The points in a SQLite file; one connection per thread, opened on first use."""

    def __init__(self, path: str | Path, *, synchronous: str = "FULL"):
        super().__init__(path, synchronous=synchronous)
        self.reports = ReportStore(self)
        self.planner = PlannerStore(self)

    def migrate(self) -> list[int]:
        """Bring the schema up to date (store/schema.py); safe to run at every start.

        Raises SchemaError when the database was made by a newer release.
        """
        applied = migrate_schema(self.db, where=self.path)
        self.forget_columns()
        self.publish_seq()  # a beacon left beside another database file starts out right
        return applied
