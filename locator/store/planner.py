"""The planner's own data (issue 19): outage lists, and the files planners upload.

An outage list is the settlements (or whole regions) in a power outage now, as planners mark
them. Each save is a new list with its time and author; the newest is the current one, and a
save names the list it was made from (VersionConflict when another planner saved since), so
two planners never silently overwrite each other. Planner files (settlements with populations,
candidate sites) are kept per user and kind, validated rows as JSON, with a name, time and
author. SQL is written once with ``?`` (store/postgres.py translates it for PostgreSQL).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from locator.domain.point import format_time, utcnow
from locator.domain.validation import parse_time
from locator.store.errors import VersionConflict

if TYPE_CHECKING:
    from locator.store.points import Store

FILE_KINDS = ("settlements", "sites")


@dataclass(frozen=True)
class OutageEntry:
    """A region in an outage (settlement ""), or one settlement of it."""

    region: str
    settlement: str = ""


@dataclass(frozen=True)
class OutageList:
    """One saved outage list; id 0 (no author, no time) when none was ever saved."""

    id: int
    at: datetime | None
    author: str
    entries: tuple[OutageEntry, ...]


@dataclass(frozen=True)
class PlannerFile:
    """A planner's uploaded file, as validated rows."""

    kind: str
    name: str
    at: datetime
    author: str
    rows: list[dict[str, Any]]


EMPTY = OutageList(0, None, "", ())


class OutagesChanged(VersionConflict):
    """Another planner saved the outage list since this one was read; nothing was written."""

    def __init__(self, current: int):
        self.point = None
        self.current = current
        Exception.__init__(self, f"the outage list is at {current}: read it again")


class PlannerStore:
    """The outage lists and planner files, in the points' database and transactions."""

    def __init__(self, store: Store):
        self.store = store

    def current_outages(self) -> OutageList:
        """The newest outage list (EMPTY when none was saved)."""
        with self.store.read_transaction() as conn:
            return self._current(conn)

    def _current(self, conn) -> OutageList:
        head = conn.execute("SELECT id, at, author FROM outage_lists ORDER BY id DESC LIMIT 1").fetchone()
        if head is None:
            return EMPTY
        rows = conn.execute(
            "SELECT region, settlement FROM outage_entries WHERE list_id = ? ORDER BY region, settlement",
            [head[0]],
        ).fetchall()
        entries = tuple(OutageEntry(region, settlement) for region, settlement in rows)
        return OutageList(int(head[0]), parse_time(head[1]), head[2], entries)

    def save_outages(
        self, entries: list[OutageEntry], *, by: str, expected: int, now: datetime | None = None
    ) -> OutageList:
        """Make these entries the current list, if the current one is still ``expected``
        (VersionConflict otherwise: nothing written)."""
        now = now or utcnow()
        unique = sorted({(e.region, e.settlement) for e in entries})
        with self.store.transaction() as conn:
            current = self._current(conn).id
            if current != expected:
                raise OutagesChanged(current)
            list_id = conn.execute(
                "INSERT INTO outage_lists (at, author) VALUES (?, ?) RETURNING id", [format_time(now), by]
            ).fetchone()[0]
            conn.executemany(
                "INSERT INTO outage_entries (list_id, region, settlement) VALUES (?, ?, ?)",
                [(list_id, region, settlement) for region, settlement in unique],
            )
            return self._current(conn)

    def outage_history(self, limit: int = 10) -> list[dict[str, Any]]:
        """The latest lists: id, time, author and how many entries, newest first."""
        rows = self.store.db.execute(
            "SELECT l.id, l.at, l.author, (SELECT count(*) FROM outage_entries e WHERE e.list_id = l.id)"
            " FROM outage_lists l ORDER BY l.id DESC LIMIT ?",
            [limit],
        ).fetchall()
        return [{"id": r[0], "at": parse_time(r[1]), "author": r[2], "entries": r[3]} for r in rows]

    def save_file(
        self,
        owner: int,
        kind: str,
        name: str,
        rows: list[dict[str, Any]],
        *,
        by: str,
        now: datetime | None = None,
    ) -> PlannerFile:
        """Keep a user's file of this kind, replacing the one before."""
        if kind not in FILE_KINDS:
            raise ValueError(f"kind must be one of {', '.join(FILE_KINDS)}")
        at = format_time(now or utcnow())
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM planner_files WHERE owner = ? AND kind = ?", [owner, kind])
            conn.execute(
                "INSERT INTO planner_files (owner, kind, name, at, author, body) VALUES (?, ?, ?, ?, ?, ?)",
                [owner, kind, name, at, by, json.dumps(rows, ensure_ascii=False)],
            )
        return PlannerFile(kind, name, parse_time(at), by, rows)

    def planner_file(self, owner: int, kind: str) -> PlannerFile | None:
        """A user's file of this kind, or None."""
        row = self.store.db.execute(
            "SELECT name, at, author, body FROM planner_files WHERE owner = ? AND kind = ?", [owner, kind]
        ).fetchone()
        if row is None:
            return None
        return PlannerFile(kind, row[0], parse_time(row[1]), row[2], json.loads(row[3]))

    def drop_file(self, owner: int, kind: str) -> bool:
        """Forget a user's file of this kind; whether there was one."""
        with self.store.transaction() as conn:
            return (
                conn.execute("DELETE FROM planner_files WHERE owner = ? AND kind = ?", [owner, kind]).rowcount
                > 0
            )
