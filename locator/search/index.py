"""NearestIndex: the in-memory index of every point, kept in step with the database.

Lookups never wait for the database: the change counter is read from memory (SQLite: the
workers' shared page, store/beacon.py; PostgreSQL: what this process's listener heard,
store/pg_listen.py), and only the changes since are read when it moves. While the database
cannot be reached, the index keeps answering from the state it last had.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from locator.domain.filters import PointFilter
from locator.domain.point import Point
from locator.search.nearest import Hit, Snapshot
from locator.store.errors import StoreBusy

REBUILD_FRACTION = 0.05  # rebuild the tree when this share of points changed since it was built
REBUILD_MIN = 512


class NearestIndex:
    """The nearest-point index, kept in step with the database through its change counter:
    before each lookup ``sync`` reads it (from memory: store/beacon.py, store/pg_listen.py) and
    applies just the changes since; the tree is rebuilt only when many points have changed."""

    def __init__(self, store, view: Callable[[Point], Point | None] | None = None):
        """``view``: what this index holds of each stored point (None: nothing). The public
        index holds domain/visibility.public_view's, so nothing it answers can leak (issue 20)."""
        self.store = store
        self._view = view
        self._lock = threading.Lock()
        self._snapshot = Snapshot(-1, [])

    def sync(self) -> Snapshot:
        """The database's current state; while it cannot be reached, the last one (as_of: when)."""
        snapshot = self._snapshot
        try:
            if self.store.latest_seq(snapshot.seq) == snapshot.seq:
                return snapshot
            with self._lock:
                self._snapshot = self._follow(self._snapshot)
        except StoreBusy:  # (StoreUnavailable too): answer from what it has
            if self._snapshot.seq < 0:
                raise  # nothing to answer from yet
        return self._snapshot

    def _follow(self, snapshot: Snapshot) -> Snapshot:
        changes = self._seen(self.store.changed_since(max(snapshot.seq, 0)))
        if snapshot.seq < 0 or changes.seq < snapshot.seq:  # first, or a database older than ours
            if snapshot.seq > 0:
                changes = self._seen(self.store.changed_since(0))
            return Snapshot(changes.seq, changes.points, as_of=changes.at)
        snapshot = snapshot.with_changes(changes.seq, changes.points, changes.deleted, changes.at)
        changed_since_build = len(snapshot.changes) - snapshot.base.scheduled
        if changed_since_build > max(REBUILD_MIN, REBUILD_FRACTION * len(snapshot.points)):
            snapshot = Snapshot(changes.seq, snapshot.current_points(), as_of=changes.at)
        return snapshot

    def _seen(self, changes):
        """The changes as this index's view sees them: a point it must not hold counts as deleted."""
        if self._view is None:
            return changes
        seen, gone = [], list(changes.deleted)
        for point in changes.points:
            view = self._view(point)
            if view is None:
                gone.append(point.id)
            else:
                seen.append(view)
        return changes._replace(points=seen, deleted=gone)

    def as_of(self) -> datetime | None:
        """When the last change the index holds was written (no sync)."""
        return self._snapshot.as_of

    def point(self, point_id: str) -> Point | None:
        """One point as the index last had it: what a page shows while the database is away."""
        snapshot = self._snapshot
        if point_id in snapshot.changes:
            return snapshot.changes[point_id]
        row = snapshot.base.row_of.get(point_id)
        return None if row is None or snapshot.hidden[row] else snapshot.base.points[row]

    def nearest(self, lat: float, lon: float, k: int, wanted: PointFilter, now=None) -> list[Hit]:
        return self.sync().nearest(lat, lon, k, wanted, now)
