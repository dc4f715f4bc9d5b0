"""Planning an import: which points it adds, changes, leaves and removes, and the rows it writes.

Pure functions over the points stored and the points given; Store.import_points runs them
inside one write transaction, Store.plan_import without one (the console's dry run).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from locator.domain.point import Point, format_time
from locator.store.history import differences, flag_history, still_unconfirmed
from locator.store.rows import point_row


@dataclass
class ImportSummary:
    """The ids an import adds, changes, leaves as they are and (with replace) removes; for each
    changed id, its changed fields as (field, old, new) text, as the history will record them."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changes: dict[str, list[tuple[str, str | None, str | None]]] = field(default_factory=dict)

    def writes_anything(self) -> bool:
        return bool(self.added or self.changed or self.removed)


def plan(
    existing: dict[str, Point], points: list[Point], *, replace: bool, untimed: frozenset[str]
) -> tuple[list[Point], ImportSummary]:
    """The points as they would be stored (untimed ones keep their verification time when
    nothing else changed), and what the import would do."""
    points = _keep_verification(existing, points, untimed)
    return points, _classify(existing, points, replace)


def import_rows(
    existing: dict[str, Point],
    points: list[Point],
    summary: ImportSummary,
    *,
    seq: int,
    now: datetime,
    by: str,
) -> tuple[list[dict[str, Any]], list[tuple]]:
    """The point rows and history rows that add and change what the summary says."""
    at = format_time(now)
    rows, history = [], []
    added, changed = set(summary.added), set(summary.changed)
    for point in points:
        old = existing.get(point.id)
        if point.id in added:
            rows.append(point_row(point, seq, version=1))
            history.append((point.id, seq, at, by, "created", None, point.status.value))
        elif point.id in changed:
            diffs = differences(old, point)
            moved = (point.lat, point.lon) != (old.lat, old.lon)
            confirmed = _newer(point.verified_at, old.verified_at)
            updated = point.with_changes(
                version=old.version + 1,
                updated_at=now,
                moved_at=point.moved_at or (now if moved else old.moved_at),
                # A re-import that confirms the status anew answers the citizens' reports.
                unconfirmed=still_unconfirmed(old, point, verified=confirmed),
            )
            rows.append(point_row(updated, seq))
            history.extend((point.id, seq, at, by, *diff) for diff in diffs)
            history.extend(flag_history(old, updated, seq, now, by))
    return rows, history


def remove_points(
    conn: sqlite3.Connection, points: list[Point], *, seq: int, now: datetime, by: str
) -> list[tuple]:
    """Delete points and record them as deleted (for every index's sync), with the visibility
    each had (the change feed tells nothing of a point deleted while hidden); their history rows."""
    at = format_time(now)
    history = []
    for point in points:
        point_id = point.id
        conn.execute("DELETE FROM points WHERE id = ?", [point_id])
        conn.execute(
            "INSERT INTO deleted_points (id, seq, visibility) VALUES (?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, visibility = excluded.visibility",
            [point_id, seq, point.visibility.value],
        )
        history.append((point_id, seq, at, by, "deleted", None, None))
    return history


def _newer(moment: datetime | None, than: datetime | None) -> bool:
    return moment is not None and (than is None or moment > than)


def _keep_verification(
    existing: dict[str, Point], points: list[Point], untimed: frozenset[str]
) -> list[Point]:
    """An import is not a confirmation (issue 17): an untimed point (never confirmed, as the
    file gave no verified_at) that matches the stored one in every field keeps its times; one
    whose status and place are the stored ones keeps the operator's confirmation of that status;
    any other is never confirmed."""
    if not untimed:
        return points
    kept = []
    for point in points:
        old = existing.get(point.id)
        if old is not None and point.id in untimed:
            same_times = point.with_changes(verified_at=old.verified_at, updated_at=old.updated_at)
            if not differences(old, same_times):
                point = same_times
            elif (old.status, old.lat, old.lon) == (point.status, point.lat, point.lon):
                point = point.with_changes(verified_at=old.verified_at)
        kept.append(point)
    return kept


def _classify(existing: dict[str, Point], points: list[Point], replace: bool) -> ImportSummary:
    summary = ImportSummary()
    for point in points:
        old = existing.get(point.id)
        if old is None:
            summary.added.append(point.id)
        elif diffs := differences(old, point):
            summary.changed.append(point.id)
            summary.changes[point.id] = diffs
        else:
            summary.unchanged.append(point.id)
    if replace:
        keep = {point.id for point in points}
        summary.removed = sorted(set(existing) - keep)
    return summary
