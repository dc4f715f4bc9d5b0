"""The exact nearest-point index.

Exact great-circle nearest: points live in a KD-tree as 3-D unit vectors. Chord length grows
with arc length, so ranking by chord ranks by great-circle distance; the final order and the
distances come from the same haversine the tests use as their brute-force oracle."""

from __future__ import annotations

import bisect
import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime
from functools import cached_property
from typing import NamedTuple

import numpy as np
from scipy.spatial import cKDTree

# pykdtree answers one k-nearest query 2-3 times faster than scipy's cKDTree, with the same
# points and distances. It runs a batch of queries in parallel with OpenMP, but ours are one
# point each, and idle OpenMP threads spin between calls (2-4 times the CPU): one thread, set
# before the library loads its OpenMP runtime (an operator's own OMP_NUM_THREADS is kept).
os.environ.setdefault("OMP_NUM_THREADS", "1")
from pykdtree.kdtree import KDTree  # noqa: E402

from locator.domain.filters import PointFilter, fold, search_text
from locator.domain.hours import WORKING_STATUSES, open_now_test
from locator.domain.point import Category, Kind, Point, Status, services_mask, utcnow
from locator.domain.values import BusinessType
from locator.search.distance import haversine_each_m, unit_vectors
from locator.search.places import Place, settlements

SUBSET_CACHE = 32  # filters whose subset trees are kept per base (LRU)
FETCH_MARGIN = 8  # first fetch k + this many, for rows hidden by changes or failing bbox/q
TIE_MARGIN = 1e-9  # relative chord margin so float rounding never drops a tied point

STATUS_CODES = {status: code for code, status in enumerate(Status)}
KIND_CODES = {kind: code for code, kind in enumerate(Kind)}
CATEGORY_CODES = {category: code for code, category in enumerate(Category)}
BUSINESS_CODES = {kind: code for code, kind in enumerate(BusinessType)}


class Hit(NamedTuple):
    """A point and its great-circle distance (a tuple: made on every lookup, so kept cheap)."""

    point: Point
    distance_m: float


class _Subset:
    """Base rows that pass a filter's static part, with their own KD-tree (built on first use)."""

    def __init__(self, rows: np.ndarray | None, tree: KDTree | None):
        self.rows = rows  # None: every base row, searched with the base tree itself
        self.tree = tree

    def __len__(self) -> int:
        return 0 if self.tree is None else self.tree.n


class _Base:
    """Points as arrays and a KD-tree over their unit vectors: built once, never changed.

    Rare filters would make the main tree walk far to find k matches; instead each filter's
    static part (status, kind, category, base, services, region) gets a cached tree over just
    the rows that pass it, so a lookup with any filter stays a plain k-nearest query.
    """

    def __init__(self, points: list[Point]):
        n = len(points)
        lat = np.fromiter((p.lat for p in points), float, n)
        lon = np.fromiter((p.lon for p in points), float, n)
        if n:
            # Rows in the tree's own order: neighbours sit side by side in memory, so a lookup
            # touches fewer cache lines (a lookup is bound by memory on a busy machine).
            order = cKDTree(unit_vectors(lat, lon)).indices
            points, lat, lon = [points[i] for i in order.tolist()], lat[order], lon[order]
        self.points = points
        self.lat, self.lon = lat, lon
        self.xyz = unit_vectors(self.lat, self.lon)
        self.tree = KDTree(self.xyz) if n else None
        self.status = np.fromiter((STATUS_CODES[p.status] for p in points), np.int8, n)
        self.shown_status = np.fromiter((STATUS_CODES[p.public_status] for p in points), np.int8, n)
        self.kind = np.fromiter((KIND_CODES[p.kind] for p in points), np.int8, n)
        self.category = np.fromiter((CATEGORY_CODES[p.category] for p in points), np.int8, n)
        self.base = np.fromiter((p.base for p in points), bool, n)
        self.business_type = np.fromiter((BUSINESS_CODES[p.business_type] for p in points), np.int8, n)
        self.bed = np.fromiter(((p.beds_free or 0) > 0 for p in points), bool, n)
        self.archived = np.fromiter((p.archived for p in points), bool, n)
        self.services = np.fromiter((p.services_mask for p in points), np.int64, n)
        self.region = np.array([fold(p.region) for p in points], dtype=object)
        self.row_of = {p.id: i for i, p in enumerate(points)}
        self.built_at = time.time()  # /healthz reports how old the tree is
        self.moving = np.fromiter((bool(p.stops) for p in points), bool, n)  # rows with a schedule
        self.scheduled = int(self.moving.sum())  # checked one by one, never in the tree
        self._subsets: OrderedDict[tuple, _Subset] = OrderedDict()
        self._lock = threading.Lock()

    def subset(self, wanted: PointFilter) -> _Subset:
        """The cached subset (and tree) for the static part of this filter."""
        key = (
            wanted.statuses,
            wanted.kinds,
            wanted.categories,
            wanted.base,
            wanted.business_types,
            wanted.bed,
            wanted.services,
            fold(wanted.region),
            wanted.include_archived,
            wanted.open_now,
        )
        with self._lock:
            found = self._subsets.get(key)
            if found is not None:
                self._subsets.move_to_end(key)
                return found
        ok = self._static_mask(wanted)
        if ok is None:
            found = _Subset(None, self.tree)
        else:
            rows = np.flatnonzero(ok)
            found = _Subset(rows, KDTree(self.xyz[rows]) if len(rows) else None)
        with self._lock:
            self._subsets[key] = found
            while len(self._subsets) > SUBSET_CACHE:
                self._subsets.popitem(last=False)
        return found

    def _static_mask(self, wanted: PointFilter) -> np.ndarray | None:
        """Which base rows pass the filter's static part; None when it restricts nothing."""
        ok = None

        def both(more: np.ndarray) -> np.ndarray:
            return more if ok is None else ok & more

        if not wanted.include_archived and self.archived.any():
            ok = both(~self.archived)
        if wanted.open_now:  # its status part; the hours are judged per lookup (_dynamic_ok)
            ok = both(np.isin(self.status, [STATUS_CODES[s] for s in WORKING_STATUSES]))
        if wanted.statuses:  # either status passes: Point.has_status_in
            allowed = np.zeros(len(STATUS_CODES), bool)
            allowed[[STATUS_CODES[value] for value in wanted.statuses]] = True
            ok = both(allowed[self.status] | allowed[self.shown_status])
        for chosen, codes, column in (
            (wanted.kinds, KIND_CODES, self.kind),
            (wanted.categories, CATEGORY_CODES, self.category),
            (wanted.business_types, BUSINESS_CODES, self.business_type),
        ):
            if chosen:
                allowed = np.zeros(len(codes), bool)
                allowed[[codes[value] for value in chosen]] = True
                ok = both(allowed[column])
        if wanted.base is not None:
            ok = both(self.base == wanted.base)
        if wanted.bed:
            ok = both(self.bed)
        if wanted.services:
            mask = services_mask(wanted.services)
            ok = both((self.services & mask) == mask)
        if wanted.region:
            ok = both(self.region == fold(wanted.region))
        return ok


class Snapshot:
    """An immutable view of all points: a base (arrays and trees) plus a small set of changes."""

    def __init__(self, seq: int, points: list[Point], base: _Base | None = None, as_of=None):
        self.seq = seq
        self.made_at = time.time()  # when this process last brought its index up to date
        self.as_of = as_of  # when the last change it holds was written (X-Data-As-Of)
        self.base = base or _Base(points)
        # Base rows replaced or deleted, and mobile points with a schedule: where those stand
        # depends on the clock, so they are checked one by one at each lookup, never in the tree.
        self.hidden = self.base.moving.copy()
        moving = [self.base.points[row] for row in np.flatnonzero(self.base.moving).tolist()]
        self.changes: dict[str, Point] = {p.id: p for p in moving}
        self._changes_made: tuple[str, _Base] | None = None  # (schedule marker, base): see _changes_base

    @property
    def tree(self) -> KDTree | None:
        return self.base.tree

    @property
    def points(self) -> list[Point]:
        return self.base.points

    def with_changes(
        self, seq: int, changed: Iterable[Point], deleted: Iterable[str], as_of: datetime | None = None
    ) -> Snapshot:
        """A new snapshot with these changes applied over the same base (no rebuild)."""
        new = Snapshot(seq, [], self.base, as_of or self.as_of)
        new.hidden = self.hidden.copy()
        new.changes = dict(self.changes)
        row_of = self.base.row_of
        for point_id in deleted:
            new.changes.pop(point_id, None)
            if point_id in row_of:
                new.hidden[row_of[point_id]] = True
        for point in changed:
            new.changes[point.id] = point
            if point.id in row_of:
                new.hidden[row_of[point.id]] = True
        return new

    def schedule_marker(self, now: datetime) -> str:
        """Changes whenever a scheduled stop starts or ends: part of the ETag of any answer
        that places mobile points, so caches let go of a point's old stop on time."""
        moments = self._schedule_moments
        passed = bisect.bisect_right(moments, now)
        return moments[passed - 1].isoformat() if passed else ""

    def next_schedule_moment(self, now: datetime) -> datetime | None:
        """The next stop start or end after ``now``: when schedule_marker changes next."""
        moments = self._schedule_moments
        upcoming = bisect.bisect_right(moments, now)
        return moments[upcoming] if upcoming < len(moments) else None

    @cached_property
    def _schedule_moments(self) -> list[datetime]:
        """Every stop's start and end, sorted: asked on every API read, so found by bisection."""
        return sorted(
            {
                moment
                for point in self.changes.values()
                for stop in point.stops
                for moment in (stop.starts_at, stop.ends_at)
            }
        )

    @cached_property
    def any_hidden(self) -> bool:
        """Whether any base row is replaced, deleted or scheduled (asked after with_changes)."""
        return bool(self.hidden.any())

    @cached_property
    def places(self) -> list[Place]:
        """The settlement gazetteer of this snapshot, made on first search."""
        return settlements(self.current_points())

    def current_points(self) -> list[Point]:
        kept = [p for i, p in enumerate(self.base.points) if not self.hidden[i]]
        return kept + list(self.changes.values())

    def matching(self, wanted: PointFilter, now: datetime | None = None) -> list[Point]:
        """What Store.find gives for this filter, from memory: the points as stored, ordered by id,
        a scheduled one judged where it stands at ``now``. Reading 100,000 rows back from SQLite
        into Points takes seconds; this takes a fraction of one."""
        subset = self.base.subset(wanted)
        rows = np.arange(len(self.base.points)) if subset.rows is None else subset.rows
        if self.any_hidden:
            rows = rows[~self.hidden[rows]]
        points = self.base.points
        found = [points[i] for i in rows.tolist()]
        now = now or utcnow()
        if wanted.bbox is not None or wanted.q or wanted.open_now:
            found = [point for point in found if wanted.matches(point, now)]
        for point in self.changes.values():
            if wanted.matches(point.at(now) if point.stops else point, now):
                found.append(point)
        found.sort(key=lambda point: point.id)
        return found

    def _changes_base(self, now: datetime) -> _Base | None:
        """The changed and scheduled points where they stand at ``now``, as a small base of their
        own (arrays and a tree), so a lookup weighs them as it weighs the rest instead of one by
        one in Python (a few hundred scheduled mobile points made that a millisecond a lookup).
        Made on first use per snapshot (that is, after a write) and per schedule marker."""
        if not self.changes:
            return None
        marker = self.schedule_marker(now)
        made = self._changes_made
        if made is None or made[0] != marker:
            here = [point.at(now) if point.stops else point for point in self.changes.values()]
            made = self._changes_made = (marker, _Base(here))
        return made[1]

    def nearest(
        self, lat: float, lon: float, k: int, wanted: PointFilter, now: datetime | None = None
    ) -> list[Hit]:
        """The k nearest matches, each where it stands at ``now`` (a mobile point at its stop)."""
        found = []  # (distance, id, point): ids are unique, so tuples sort by distance, then id
        phi, lmb = math.radians(lat), math.radians(lon)
        cos_phi = math.cos(phi)
        target = np.array(((cos_phi * math.cos(lmb), cos_phi * math.sin(lmb), math.sin(phi)),))
        now = now or utcnow()
        searched = [(self.base, self.hidden if self.any_hidden else None)]
        if self.changes:
            searched.append((self._changes_base(now), None))
        for base, hidden in searched:
            if base.tree is None:
                continue
            points = base.points
            rows = _candidates(base, hidden, target, k, wanted, now).tolist()
            candidates = [points[row] for row in rows]
            # The tree ranks by chord; the final order and distances are haversine_m's, to the bit.
            for p, distance in zip(candidates, haversine_each_m(lat, lon, candidates), strict=True):
                found.append((distance, p.id, p))
        found.sort()
        return [Hit(point, distance) for distance, _, point in found[:k]]


def _dynamic_ok(
    base: _Base, hidden: np.ndarray | None, rows: np.ndarray, wanted: PointFilter, now: datetime
) -> np.ndarray:
    """The per-lookup part of the filter: not replaced by a change, inside bbox, text, and open
    now by the hours (judged on these candidates only, kept per hours and minute)."""
    ok = np.ones(len(rows), bool) if hidden is None else ~hidden[rows]
    if wanted.bbox is not None:
        min_lon, min_lat, max_lon, max_lat = wanted.bbox
        lat, lon = base.lat[rows], base.lon[rows]
        ok &= (lat >= min_lat) & (lat <= max_lat) & (lon >= min_lon) & (lon <= max_lon)
    if wanted.q:
        needle = fold(wanted.q)
        points = base.points
        for j in np.flatnonzero(ok):
            ok[j] = needle in search_text(points[rows[j]])
    if wanted.open_now:
        points, is_open = base.points, open_now_test(now)
        for j in np.flatnonzero(ok).tolist():
            ok[j] = is_open(points[rows[j]])
    return ok


def _candidates(
    base: _Base, hidden: np.ndarray | None, target: np.ndarray, k: int, wanted: PointFilter, now: datetime
) -> np.ndarray:
    """Rows of this base that can be among the k nearest matches, ties included (``hidden``:
    rows replaced by a change, or None when there are none)."""
    subset = base.subset(wanted)
    size = len(subset)
    if size == 0:
        return np.empty(0, np.intp)
    fetch = min(size, k + FETCH_MARGIN)
    # Nothing hidden and no bbox or text: every row the tree gives matches (the common case).
    plain = hidden is None and wanted.bbox is None and not wanted.q and not wanted.open_now
    while True:
        chord, found = subset.tree.query(target, k=fetch)
        chord, found = chord.reshape(-1), found.reshape(-1)
        rows = found if subset.rows is None else subset.rows[found]
        if plain:
            if size <= k:
                return rows
            limit = chord[k - 1] * (1 + TIE_MARGIN) + 1e-15
            if fetch == size or chord[-1] > limit:
                return rows[chord <= limit]
            fetch = min(size, fetch * 4)
            continue
        ok = _dynamic_ok(base, hidden, rows, wanted, now)
        matched = np.flatnonzero(ok)
        if len(matched) >= k:
            limit = chord[matched[k - 1]] * (1 + TIE_MARGIN) + 1e-15
            if fetch == size or chord[-1] > limit:
                return rows[ok & (chord <= limit)]
        elif fetch == size:
            return rows[ok]
        fetch = min(size, fetch * 4)
