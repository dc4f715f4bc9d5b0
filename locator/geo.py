"""Distances, the nearest-point index and the settlement gazetteer: all geometry in one place.

Exact great-circle nearest: points live in a KD-tree as 3-D unit vectors. Chord length grows
with arc length, so ranking by chord ranks by great-circle distance; the final order and the
distances come from the same haversine the tests use as their brute-force oracle.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from .model import (
    Category,
    Kind,
    Point,
    PointFilter,
    Status,
    fold,
    search_text,
    services_mask,
)

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG), the sphere all distances use
COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
REBUILD_FRACTION = 0.05  # rebuild the tree when this share of points changed since it was built
REBUILD_MIN = 512
BRUTE_FORCE_AFTER = 4096  # candidates fetched from the tree before a full filtered scan is cheaper
TIE_MARGIN = 1e-9  # relative chord margin so float rounding never drops a tied point

STATUS_CODES = {status: code for code, status in enumerate(Status)}
KIND_CODES = {kind: code for code, kind in enumerate(Kind)}
CATEGORY_CODES = {category: code for code, category in enumerate(Category)}


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres on a sphere of radius EARTH_RADIUS_M."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial bearing from the first point to the second, degrees clockwise from north."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dlmb = math.radians(lon2 - lon1)
    x = math.sin(dlmb) * math.cos(phi2)
    y = math.cos(phi1) * math.sin(phi2) - math.sin(phi1) * math.cos(phi2) * math.cos(dlmb)
    return (math.degrees(math.atan2(x, y)) + 360) % 360


def compass(degrees: float) -> str:
    """One of eight compass points (N, NE, ...) for a bearing."""
    return COMPASS[round(degrees / 45) % 8]


def unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    phi, lmb = np.radians(lat), np.radians(lon)
    cos_phi = np.cos(phi)
    return np.column_stack((cos_phi * np.cos(lmb), cos_phi * np.sin(lmb), np.sin(phi)))


@dataclass(frozen=True)
class Hit:
    point: Point
    distance_m: float


class _Snapshot:
    """An immutable view of all points: a KD-tree over a base set plus a small set of changes."""

    def __init__(self, seq: int, points: list[Point]):
        self.seq = seq
        self.points = points
        n = len(points)
        self.lat = np.fromiter((p.lat for p in points), float, n)
        self.lon = np.fromiter((p.lon for p in points), float, n)
        self.tree = cKDTree(unit_vectors(self.lat, self.lon)) if n else None
        self.status = np.fromiter((STATUS_CODES[p.status] for p in points), np.int8, n)
        self.kind = np.fromiter((KIND_CODES[p.kind] for p in points), np.int8, n)
        self.category = np.fromiter((CATEGORY_CODES[p.category] for p in points), np.int8, n)
        self.base = np.fromiter((p.base for p in points), bool, n)
        self.archived = np.fromiter((p.archived for p in points), bool, n)
        self.services = np.fromiter((p.services_mask for p in points), np.int64, n)
        self.region = np.array([fold(p.region) for p in points], dtype=object)
        self.row_of = {p.id: i for i, p in enumerate(points)}
        self.hidden = np.zeros(n, bool)  # base rows replaced by a change or deleted
        self.changes: dict[str, Point] = {}

    def with_changes(self, seq: int, changed: Iterable[Point], deleted: Iterable[str]) -> _Snapshot:
        """A new snapshot with these changes applied over the same tree (no rebuild)."""
        new = object.__new__(_Snapshot)
        new.__dict__.update(self.__dict__)
        new.seq = seq
        new.hidden = self.hidden.copy()
        new.changes = dict(self.changes)
        for point_id in deleted:
            new.changes.pop(point_id, None)
            if point_id in self.row_of:
                new.hidden[self.row_of[point_id]] = True
        for point in changed:
            new.changes[point.id] = point
            if point.id in self.row_of:
                new.hidden[self.row_of[point.id]] = True
        return new

    def current_points(self) -> list[Point]:
        kept = [p for i, p in enumerate(self.points) if not self.hidden[i]]
        return kept + list(self.changes.values())

    def _mask(self, rows: np.ndarray, wanted: PointFilter) -> np.ndarray:
        """Which of these base rows pass the filter (and are not hidden), vectorised."""
        ok = ~self.hidden[rows]
        if not wanted.include_archived:
            ok &= ~self.archived[rows]
        if wanted.statuses:
            allowed = np.zeros(len(STATUS_CODES), bool)
            allowed[[STATUS_CODES[s] for s in wanted.statuses]] = True
            ok &= allowed[self.status[rows]]
        if wanted.kinds:
            allowed = np.zeros(len(KIND_CODES), bool)
            allowed[[KIND_CODES[k] for k in wanted.kinds]] = True
            ok &= allowed[self.kind[rows]]
        if wanted.categories:
            allowed = np.zeros(len(CATEGORY_CODES), bool)
            allowed[[CATEGORY_CODES[c] for c in wanted.categories]] = True
            ok &= allowed[self.category[rows]]
        if wanted.base is not None:
            ok &= self.base[rows] == wanted.base
        if wanted.services:
            mask = services_mask(wanted.services)
            ok &= (self.services[rows] & mask) == mask
        if wanted.region:
            ok &= self.region[rows] == fold(wanted.region)
        if wanted.bbox is not None:
            min_lon, min_lat, max_lon, max_lat = wanted.bbox
            lat, lon = self.lat[rows], self.lon[rows]
            ok &= (lat >= min_lat) & (lat <= max_lat) & (lon >= min_lon) & (lon <= max_lon)
        if wanted.q:
            needle = fold(wanted.q)
            for j in np.flatnonzero(ok):
                ok[j] = needle in search_text(self.points[rows[j]])
        return ok

    def _base_candidates(self, target: np.ndarray, k: int, wanted: PointFilter) -> np.ndarray:
        """Base rows that can be among the k nearest matches, ties included."""
        n = len(self.points)
        fetch = min(n, max(2 * k, 16))
        while True:
            chord, rows = self.tree.query(target, k=fetch)
            chord, rows = np.atleast_1d(chord), np.atleast_1d(rows)
            ok = self._mask(rows, wanted)
            if np.count_nonzero(ok) >= k:
                limit = chord[np.flatnonzero(ok)[k - 1]] * (1 + TIE_MARGIN) + 1e-15
                if fetch == n or chord[-1] > limit:
                    return rows[ok & (chord <= limit)]
            elif fetch == n:
                return rows[ok]
            if fetch >= BRUTE_FORCE_AFTER:
                return self._scan(target, k, wanted)
            fetch = min(n, fetch * 4)

    def _scan(self, target: np.ndarray, k: int, wanted: PointFilter) -> np.ndarray:
        """A full filtered scan for rare filters: cheaper than walking the tree further."""
        rows = np.flatnonzero(self._mask(np.arange(len(self.points)), wanted))
        if len(rows) <= k:
            return rows
        chord = np.linalg.norm(self.tree.data[rows] - target, axis=1)
        kth = np.partition(chord, k - 1)[k - 1]
        return rows[chord <= kth * (1 + TIE_MARGIN) + 1e-15]

    def nearest(self, lat: float, lon: float, k: int, wanted: PointFilter) -> list[Hit]:
        hits = [
            Hit(p, haversine_m(lat, lon, p.lat, p.lon)) for p in self.changes.values() if wanted.matches(p)
        ]
        if self.tree is not None:
            target = unit_vectors(np.array([lat]), np.array([lon]))[0]
            for row in self._base_candidates(target, k, wanted):
                p = self.points[row]
                hits.append(Hit(p, haversine_m(lat, lon, p.lat, p.lon)))
        hits.sort(key=lambda hit: (hit.distance_m, hit.point.id))
        return hits[:k]


class NearestIndex:
    """The nearest-point index, kept in step with the database through its change counter.

    Before each lookup, ``sync`` reads one integer from the database; when another process (or
    this one) has written since, it applies just those changes. The tree is rebuilt only when
    many points have changed since it was built.
    """

    def __init__(self, store):
        self.store = store
        self._lock = threading.Lock()
        self._snapshot = _Snapshot(-1, [])

    def sync(self) -> _Snapshot:
        """Bring the index up to the database's current state and return that state."""
        snapshot = self._snapshot
        if self.store.change_seq() == snapshot.seq:
            return snapshot
        with self._lock:
            snapshot = self._snapshot
            if snapshot.seq < 0:
                seq, changed, deleted = self.store.changed_since(0)
                snapshot = _Snapshot(seq, changed)
            else:
                seq, changed, deleted = self.store.changed_since(snapshot.seq)
                snapshot = snapshot.with_changes(seq, changed, deleted)
                if len(snapshot.changes) > max(REBUILD_MIN, REBUILD_FRACTION * len(snapshot.points)):
                    snapshot = _Snapshot(seq, snapshot.current_points())
            self._snapshot = snapshot
        return snapshot

    def nearest(self, lat: float, lon: float, k: int, wanted: PointFilter) -> list[Hit]:
        return self.sync().nearest(lat, lon, k, wanted)


@dataclass(frozen=True)
class Place:
    name: str
    region: str
    lat: float
    lon: float
    points: int


def find_places(points: Iterable[Point], query: str, limit: int = 10) -> list[Place]:
    """Settlements whose name matches the query (case and apostrophes ignored), best first.

    The gazetteer here is the points' own settlements, placed at the mean of their points;
    exact names rank before prefixes, prefixes before substrings, then by number of points.
    """
    needle = fold(query.strip())
    if not needle:
        return []
    groups: dict[tuple[str, str], list[Point]] = {}
    for point in points:
        if point.settlement and needle in fold(point.settlement):
            groups.setdefault((point.settlement, point.region), []).append(point)
    places = [
        Place(
            name,
            region,
            sum(p.lat for p in members) / len(members),
            sum(p.lon for p in members) / len(members),
            len(members),
        )
        for (name, region), members in groups.items()
    ]

    def rank(place: Place) -> tuple:
        folded = fold(place.name)
        return (folded != needle, not folded.startswith(needle), -place.points, place.name)

    return sorted(places, key=rank)[:limit]
