"""All SQL lives here: schema, points, history and the change counter.

SQLite is the single source of truth. Every write runs in one IMMEDIATE transaction that bumps
the change counter (meta.seq) and stamps each touched row with it, so any process can bring its
in-memory index up to date from ``changed_since(seq)`` without re-reading everything.
"""

from __future__ import annotations

import json
import logging
import operator
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from locator.domain.fields import STORED_COLUMNS
from locator.domain.filters import PointFilter, fold, search_text
from locator.domain.point import (
    EDITABLE_FIELDS,
    Category,
    Kind,
    Point,
    Status,
    format_time,
    services_mask,
    sorted_services,
    utcnow,
)
from locator.domain.validation import parse_point, parse_stops, parse_time
from locator.io import gcpause
from locator.store import schema
from locator.store.beacon import CONFIRM_EVERY_S, SeqBeacon
from locator.store.errors import DuplicateIdError, NotFoundError, VersionConflict
from locator.store.errors import StoreBusy as StoreBusy  # raised by writes; re-exported

POINT_COLUMNS = STORED_COLUMNS | {  # the declared fields' columns, and the store's own
    "services_mask": int,  # services as bits, for exact "has all of" filters in SQL
    "region_key": str,  # folded region, for case-insensitive equality
    "search_text": str,  # folded name+address+settlement, for q=
    "seq": int,  # value of meta.seq when this row last changed
}
# Built once from the fixed column list above; values always travel as parameters.
UPSERT_POINT = "INSERT OR REPLACE INTO points ({}) VALUES ({})".format(
    ", ".join(POINT_COLUMNS), ", ".join("?" * len(POINT_COLUMNS))
)
ROW_VALUES = operator.itemgetter(*POINT_COLUMNS)  # a row dict -> UPSERT_POINT's parameters
HISTORY_FIELDS = EDITABLE_FIELDS + ("verified_at",)
# PRAGMA synchronous by LOCATOR_SYNCHRONOUS (README, Production; issue 5). In WAL mode FULL fsyncs
# the WAL in every commit: 4 ms on this machine's disk when quiet, p99 256 ms beside other tenants'
# I/O. NORMAL fsyncs only at checkpoints: an acknowledged write survives a crash of the process
# (SIGKILL, OOM) either way; after power loss NORMAL may lose the writes since the last checkpoint.
SYNCHRONOUS_PRAGMAS = {"FULL": "PRAGMA synchronous = FULL", "NORMAL": "PRAGMA synchronous = NORMAL"}
# With checkpoints in a background thread, a commit checkpoints only past this many WAL pages
# (10 times SQLite's default), should that thread ever stop.
AUTOCHECKPOINT_FALLBACK = "PRAGMA wal_autocheckpoint = 10000"
PUBLIC_STATUS = "(CASE WHEN unconfirmed THEN 'unconfirmed' ELSE status END)"  # Point.public_status


@dataclass
class ImportSummary:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


class Store:
    """The database behind the app; one connection per thread, opened on first use."""

    def __init__(self, path: str | Path, *, synchronous: str = "FULL"):
        self.path = str(path)
        self._synchronous = SYNCHRONOUS_PRAGMAS[synchronous]  # KeyError: not FULL or NORMAL
        self._checkpoint_every_s = 0.0  # 0: commits checkpoint (SQLite's own autocheckpoint)
        self._local = threading.local()
        self.reports = ReportStore(self)
        self.beacon = SeqBeacon(self.path)
        self._confirmed_at = float("-inf")  # when latest_seq last asked SQLite itself
        # A forked worker (gunicorn --preload) must never reuse its parent's SQLite connection.
        os.register_at_fork(after_in_child=self._forget_connections)

    def _forget_connections(self) -> None:
        self._local = threading.local()

    def checkpoint_in_background(self, every_s: float) -> threading.Thread:
        """Take WAL checkpoints out of this process's requests (call it after fork, in each
        server process): SQLite checkpoints inside whichever commit crosses 1,000 WAL pages,
        25-700 ms of writes and fsyncs in one operator's request. Here commits stop doing it
        and a daemon thread runs a PASSIVE checkpoint, which waits for no reader or writer,
        every every_s seconds; with synchronous=NORMAL it is also what fsyncs the WAL."""
        self._checkpoint_every_s = every_s
        db = getattr(self._local, "db", None)
        if db is not None:  # this thread's connection, opened before
            db.execute(AUTOCHECKPOINT_FALLBACK)
        thread = threading.Thread(target=self._checkpoint_loop, name="wal-checkpoint", daemon=True)
        thread.start()
        return thread

    def _checkpoint_loop(self) -> None:
        while True:
            time.sleep(self._checkpoint_every_s)
            try:
                self.checkpoint()
            except sqlite3.Error as error:  # tried again next time; commits take over past the fallback
                logging.getLogger(__name__).warning("WAL checkpoint failed: %s", error)

    def checkpoint(self) -> tuple[int, int, int]:
        """One PASSIVE checkpoint: (1 if it could not finish, WAL frames, frames checkpointed)."""
        busy, frames, done = self.db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return busy, frames, done

    # -- connection and schema -------------------------------------------------------------

    @property
    def db(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 5000")  # ms a writer waits for another
            conn.execute("PRAGMA journal_mode = WAL")
            # LOCATOR_SYNCHRONOUS (README, Production): NORMAL leaves fsync to checkpoints.
            conn.execute(self._synchronous)
            if self._checkpoint_every_s:  # a thread of this process checkpoints, never a commit
                conn.execute(AUTOCHECKPOINT_FALLBACK)
            db = sqlite_utils.Database(conn)
            self._local.db = db
        return db

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.conn.close()
            self._local.db = None

    def migrate(self) -> list[int]:
        """Bring the schema up to date (store/schema.py); safe to run at every start.

        Raises SchemaError when the database was made by a newer release.
        """
        applied = schema.migrate(self.db, where=self.path)
        self._local.columns = None
        try:
            with self._write() as conn:  # a beacon left beside another database file starts out right
                self.beacon.publish(conn.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()[0])
        except sqlite3.OperationalError:
            pass  # busy (a restore): readers find the beacon wrong and ask SQLite until the next write
        return applied

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: all of it is written, or none of it."""
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _next_seq(self, conn: sqlite3.Connection) -> int:
        """Bump the change counter (inside a write transaction) and publish it to readers."""
        seq = conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'seq' RETURNING value").fetchone()[
            0
        ]
        self.beacon.publish(seq)
        return seq

    # -- reads -------------------------------------------------------------------------------

    def change_seq(self) -> int:
        """The change counter: it moves whenever any point changes, in any process."""
        return self.db.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()[0]

    def latest_seq(self, known: int) -> int:
        """The change counter, for a reader that last saw ``known``: from the shared beacon when
        it still says ``known`` (no SQL), else, and at least once a second, from SQLite."""
        now = time.monotonic()
        if self.beacon.read() == known and now - self._confirmed_at < CONFIRM_EVERY_S:
            return known
        seq = self.change_seq()
        self._confirmed_at = now
        return seq

    def count(self) -> int:
        return self.db.execute("SELECT count(*) FROM points").fetchone()[0]

    def get(self, point_id: str) -> Point:
        row = self.db.execute("SELECT * FROM points WHERE id = ?", [point_id]).fetchone()
        if row is None:
            raise NotFoundError(point_id)
        return self._point(row)

    def all(self) -> list[Point]:
        return [self._point(row) for row in self.db.execute("SELECT * FROM points ORDER BY id")]

    def find(self, wanted: PointFilter, now: datetime | None = None) -> list[Point]:
        """Points that match the filter, ordered by id; the SQL mirrors PointFilter.matches."""
        where, params = [], []
        if not wanted.include_archived:
            where.append("archived = 0")
        for condition, chosen in (
            (f"{PUBLIC_STATUS} IN (SELECT value FROM json_each(?))", wanted.statuses),
            ("kind IN (SELECT value FROM json_each(?))", wanted.kinds),
            ("category IN (SELECT value FROM json_each(?))", wanted.categories),
        ):
            if chosen:
                where.append(condition)
                params.append(json.dumps(sorted(value.value for value in chosen)))
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
        found = [self._point(row) for row in self.db.execute(sql, params)]
        if wanted.bbox is not None:
            now = now or utcnow()
            found = [p for p in found if not p.stops or wanted.matches(p.at(now))]
        return found

    def changed_since(self, seq: int) -> tuple[int, list[Point], list[str]]:
        """(current seq, points changed after seq, ids deleted after seq), read consistently."""
        conn = self.db.conn
        conn.execute("BEGIN")
        try:
            current = self.change_seq()
            changed = [self._point(row) for row in conn.execute("SELECT * FROM points WHERE seq > ?", [seq])]
            deleted = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM deleted_points WHERE seq > ? AND id NOT IN (SELECT id FROM points)",
                    [seq],
                )
            ]
        finally:
            conn.execute("COMMIT")
        return current, changed, deleted

    def history(self, point_id: str, limit: int = 200) -> list[dict[str, Any]]:
        """A point's changes, newest first."""
        return list(
            self.db.query(
                "SELECT seq, at, by, field, old, new FROM history"
                " WHERE point_id = ? ORDER BY id DESC LIMIT ?",
                [point_id, limit],
            )
        )

    def changes(self, since: int, limit: int) -> list[dict[str, Any]]:
        """History rows after a cursor, oldest first: the public change feed (no authors).

        Writers are serialised by SQLite, so row ids are committed in order: a reader that
        pages by id never misses or repeats a change.
        """
        return list(
            self.db.query(
                "SELECT id AS cursor, point_id, field, old, new, at FROM history"
                " WHERE id > ? ORDER BY id LIMIT ?",
                [since, limit],
            )
        )

    def _point(self, row: sqlite3.Row | tuple) -> Point:
        record = dict(zip(self._columns(), row, strict=True))
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
            verified_at=parse_time(record["verified_at"]),
            version=record["version"],
            archived=bool(record["archived"]),
            stops=parse_stops(record["stops"]) if record["stops"] else (),
            moved_at=parse_time(record["moved_at"]) if record["moved_at"] else None,
            unconfirmed=bool(record["unconfirmed"]),
        )

    def _columns(self) -> list[str]:
        columns = getattr(self._local, "columns", None)
        if columns is None:
            columns = [row[1] for row in self.db.execute("PRAGMA table_info(points)")]
            self._local.columns = columns
        return columns

    # -- writes ------------------------------------------------------------------------------

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
        at = format_time(now)
        with gcpause.paused(), self._write() as conn:
            existing = {point.id: point for point in self.all()}
            points = _keep_verification(existing, list(points), untimed)
            summary = _classify(existing, points, replace)
            if not (summary.added or summary.changed or summary.removed):
                return summary  # nothing to write: the change counter (and every ETag) stays
            seq = self._next_seq(conn)
            rows, history = [], []
            added, changed = set(summary.added), set(summary.changed)
            for point in points:
                old = existing.get(point.id)
                if point.id in added:
                    rows.append(self._row(point, seq, version=1))
                    history.append((point.id, seq, at, by, "created", None, point.status.value))
                elif point.id in changed:
                    diffs = _differences(old, point)
                    moved = (point.lat, point.lon) != (old.lat, old.lon)
                    updated = point.with_changes(
                        version=old.version + 1,
                        updated_at=now,
                        moved_at=point.moved_at or (now if moved else old.moved_at),
                        # A re-import that confirms the status anew answers the citizens' reports.
                        unconfirmed=_still_unconfirmed(
                            old, point, verified=point.verified_at > old.verified_at
                        ),
                    )
                    rows.append(self._row(updated, seq))
                    history.extend((point.id, seq, at, by, *diff) for diff in diffs)
                    history.extend(_flag_history(old, updated, seq, now, by))
            if replace:
                for point_id in summary.removed:
                    conn.execute("DELETE FROM points WHERE id = ?", [point_id])
                    conn.execute(
                        "INSERT OR REPLACE INTO deleted_points (id, seq) VALUES (?, ?)", [point_id, seq]
                    )
                    history.append((point_id, seq, at, by, "deleted", None, None))
            self._upsert_rows(conn, rows)
            self._add_history(conn, history)
        return summary

    def plan_import(
        self, points: Iterable[Point], *, replace: bool = False, untimed: frozenset[str] = frozenset()
    ) -> ImportSummary:
        """What import_points would do, without writing anything (the console's dry run)."""
        existing = {point.id: point for point in self.all()}
        return _classify(existing, _keep_verification(existing, list(points), untimed), replace)

    def create(self, record: dict[str, Any], *, by: str) -> Point:
        """Add one new point from raw input; a taken id is a validation problem, not an overwrite."""
        now = utcnow()
        point = parse_point(record | {"updated_at": now, "verified_at": now, "version": 1}, now=now)
        point = point.with_changes(moved_at=now)
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM points WHERE id = ?", [point.id]).fetchone():
                raise DuplicateIdError(point.id)
            seq = self._next_seq(conn)
            self._upsert_rows(conn, [self._row(point, seq)])
            self._add_history(
                conn, [(point.id, seq, format_time(now), by, "created", None, point.status.value)]
            )
        return point

    def confirm(self, point_id: str, *, by: str, expected_version: int | None = None) -> Point:
        """ "Still true": the status stands, confirmed now (a change of its own, with history)."""
        with self._write() as conn:
            old = self.get(point_id)
            if expected_version is not None and expected_version != old.version:
                raise VersionConflict(old)
            now = utcnow()
            seq = self._next_seq(conn)
            new = old.with_changes(
                verified_at=now, updated_at=now, version=old.version + 1, unconfirmed=False
            )
            self._upsert_rows(conn, [self._row(new, seq)])
            change = ("verified_at", format_time(old.verified_at), format_time(now))
            self._add_history(
                conn,
                [(point_id, seq, format_time(now), by, *change), *_flag_history(old, new, seq, now, by)],
            )
            self.reports.resolve_open(conn, point_id, by=by, resolution="acted", now=now)
        return new

    def regions(self) -> list[str]:
        return [
            row[0]
            for row in self.db.execute("SELECT DISTINCT region FROM points WHERE region != '' ORDER BY 1")
        ]

    def update(
        self,
        point_id: str,
        changes: dict[str, Any],
        *,
        by: str,
        expected_version: int | None = None,
        verify: bool = True,
    ) -> Point:
        """Change some fields of one point; with verify, its status counts as confirmed now."""
        with self._write() as conn:
            old = self.get(point_id)
            if expected_version is not None and expected_version != old.version:
                raise VersionConflict(old)
            now = utcnow()
            merged = old.to_record() | {key: changes[key] for key in changes if key in EDITABLE_FIELDS}
            merged.update(updated_at=now, verified_at=now if verify else old.verified_at, version=old.version)
            new = parse_point(merged, now=now)
            diffs = _differences(old, new)
            if not diffs and not (verify and old.unconfirmed):  # a confirmation within the same second
                return old
            seq = self._next_seq(conn)
            moved = (new.lat, new.lon) != (old.lat, old.lon)
            new = new.with_changes(
                version=old.version + 1,
                moved_at=now if moved else old.moved_at,
                unconfirmed=_still_unconfirmed(old, new, verified=verify),
            )
            self._upsert_rows(conn, [self._row(new, seq)])
            self._add_history(
                conn,
                [(point_id, seq, format_time(now), by, *diff) for diff in diffs]
                + _flag_history(old, new, seq, now, by),
            )
            if verify:
                self.reports.resolve_open(conn, point_id, by=by, resolution="acted", now=now)
        return new

    def _row(self, point: Point, seq: int, *, version: int | None = None) -> dict[str, Any]:
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
            "verified_at": format_time(point.verified_at),
            "version": point.version if version is None else version,
            "archived": int(point.archived),
            "stops": _stops_text(point),
            "moved_at": format_time(point.moved_at) if point.moved_at else None,
            "unconfirmed": int(point.unconfirmed),
            "seq": seq,
        }

    def _upsert_rows(self, conn: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        conn.executemany(UPSERT_POINT, map(ROW_VALUES, rows))

    def _add_history(self, conn: sqlite3.Connection, rows: list[tuple]) -> None:
        conn.executemany(
            'INSERT INTO history (point_id, seq, at, "by", field, old, new) VALUES (?, ?, ?, ?, ?, ?, ?)',
            rows,
        )


def _stops_text(point: Point) -> str:
    """A mobile point's schedule as the stops column holds it: JSON, or "" when it has none."""
    if not point.stops:
        return ""
    return json.dumps([stop.to_record() for stop in point.stops], ensure_ascii=False)


def _still_unconfirmed(old: Point, new: Point, *, verified: bool) -> bool:
    """The citizens' flag outlives a write only if nobody confirmed the point and it is still
    shown as working (a closed point "unconfirmed" would tell citizens it might be open)."""
    return old.unconfirmed and not verified and new.status in (Status.OPEN, Status.FULL)


def _flag_history(old: Point, new: Point, seq: int, now: datetime, by: str) -> list[tuple]:
    """The history row for a write that clears the flag (ReportStore records it being set), so
    the change feed shows "unconfirmed" going as well as coming."""
    if old.unconfirmed and not new.unconfirmed:
        return [(new.id, seq, format_time(now), by, "unconfirmed", "true", "false")]
    return []


def _keep_verification(
    existing: dict[str, Point], points: list[Point], untimed: frozenset[str]
) -> list[Point]:
    """Untimed points that match the stored one in every field keep its verification time."""
    if not untimed:
        return points
    kept = []
    for point in points:
        old = existing.get(point.id)
        if old is not None and point.id in untimed:
            same_times = point.with_changes(verified_at=old.verified_at, updated_at=old.updated_at)
            if not _differences(old, same_times):
                point = same_times
        kept.append(point)
    return kept


def _classify(existing: dict[str, Point], points: list[Point], replace: bool) -> ImportSummary:
    summary = ImportSummary()
    for point in points:
        old = existing.get(point.id)
        if old is None:
            summary.added.append(point.id)
        elif _differences(old, point):
            summary.changed.append(point.id)
        else:
            summary.unchanged.append(point.id)
    if replace:
        keep = {point.id for point in points}
        summary.removed = sorted(set(existing) - keep)
    return summary


def _differences(old: Point, new: Point) -> list[tuple[str, str | None, str | None]]:
    """(field, old, new) for each field that differs, as text, for the history table."""
    changed = [name for name in HISTORY_FIELDS if getattr(old, name) != getattr(new, name)]
    if not changed:
        return []
    before, after = old.to_record(), new.to_record()
    return [(name, _as_text(before[name]), _as_text(after[name])) for name in changed]


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


from locator.store.reports import ReportStore as ReportStore  # noqa: E402
from locator.store.schema import SCHEMA_VERSION as SCHEMA_VERSION  # noqa: E402
from locator.store.schema import SchemaError as SchemaError  # noqa: E402
from locator.store.users import UserStore as UserStore  # noqa: E402  (re-exported: users and tokens)
