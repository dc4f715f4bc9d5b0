"""Distances, the nearest-point index and the settlement gazetteer: all geometry in one place.

Exact great-circle nearest: points live in a KD-tree as 3-D unit vectors. Chord length grows
with arc length, so ranking by chord ranks by great-circle distance; the final order and the
distances come from the same haversine the tests use as their brute-force oracle.
"""

from __future__ import annotations

import math
import threading
import time
from array import array
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import NamedTuple

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
    utcnow,
)

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG), the sphere all distances use
COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
REBUILD_FRACTION = 0.05  # rebuild the tree when this share of points changed since it was built
REBUILD_MIN = 512
SUBSET_CACHE = 32  # filters whose subset trees are kept per base (LRU)
FETCH_MARGIN = 8  # first fetch k + this many, for rows hidden by changes or failing bbox/q
TIE_MARGIN = 1e-9  # relative chord margin so float rounding never drops a tied point
# The fast path (issue 5): a grid of ball radii, each holding at least K_FAST base points around
# any query in its cell, so a small-k lookup is one ball query instead of scipy's costlier k-NN.
K_FAST = 16
GRID_CELLS_PER_POINT = 0.1  # top grid: about this many cells per base point, refined where dense
GRID_BALL_MAX = 96  # refine a cell whose ball can hold more base points than this
GRID_MAX_DEPTH = 4  # refinements below the top grid (duplicates never thin out)
GRID_PAD_DEG = 0.1  # the grid covers the points' extent plus this margin
GRID_SLACK = 1.0
GRID_FINEST = 0.5
BALL_GUARD = 1e-12  # chord: float error of a ball query's edge is far below this

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


class Hit(NamedTuple):
    """A point and its great-circle distance (a tuple: made on every lookup, so kept cheap)."""

    point: Point
    distance_m: float


class _Cells:
    """One level of the grid: ny x nx cells, each holding a ball radius, or NaN and a finer level."""

    __slots__ = ("lat0", "lon0", "dlat", "dlon", "ny", "nx", "per_lat", "per_lon", "radii", "finer")

    def __init__(self, lat0: float, lon0: float, dlat: float, dlon: float, ny: int, nx: int):
        self.lat0, self.lon0, self.dlat, self.dlon, self.ny, self.nx = lat0, lon0, dlat, dlon, ny, nx
        self.per_lat, self.per_lon = 1 / dlat, 1 / dlon
        self.radii = array("d")
        self.finer: dict[int, _Cells] = {}

    def corners(self) -> tuple[np.ndarray, np.ndarray]:
        """South-west corner of every cell, row by row."""
        rows, cols = np.divmod(np.arange(self.ny * self.nx), self.nx)
        return self.lat0 + rows * self.dlat, self.lon0 + cols * self.dlon


class _Grid:
    """Ball radii over the base points' extent, for the fast path of small-k lookups.

    Around any query inside a cell, a ball of the cell's radius holds at least K_FAST base
    points: the radius is the chord from the cell's centre to its K_FAST-th neighbour plus the
    chord from the centre to the cell's farthest corner. Cells whose ball could hold many more
    points (towns) are split into finer cells. Only speed depends on these radii: a lookup
    accepts a ball's answer only when its k-th match lies well inside the ball.
    """

    def __init__(self, lat: np.ndarray, lon: np.ndarray, tree: cKDTree):
        pad = GRID_PAD_DEG
        self.lat_min, self.lat_max = max(-90.0, float(lat.min()) - pad), min(90.0, float(lat.max()) + pad)
        self.lon_min, self.lon_max = max(-180.0, float(lon.min()) - pad), min(180.0, float(lon.max()) + pad)
        span_lat, span_lon = self.lat_max - self.lat_min, self.lon_max - self.lon_min
        # Cells about square on the ground: a degree of longitude shrinks with cos(latitude).
        shrink = max(0.1, math.cos(math.radians((self.lat_min + self.lat_max) / 2)))
        side = math.sqrt(span_lat * span_lon * shrink / max(1.0, GRID_CELLS_PER_POINT * tree.n))
        ny = min(1024, max(1, math.ceil(span_lat / side)))
        nx = min(1024, max(1, math.ceil(span_lon * shrink / side)))
        self.top = _Cells(self.lat_min, self.lon_min, span_lat / ny, span_lon / nx, ny, nx)
        self.cells = 0
        level = [self.top]
        for depth in range(GRID_MAX_DEPTH + 1):
            level = self._fill(level, tree, refine=depth < GRID_MAX_DEPTH)
            if not level:
                break

    def _fill(self, level: list[_Cells], tree: cKDTree, refine: bool) -> list[_Cells]:
        """Give every cell of these levels its radius; return the finer levels of crowded cells."""
        centre_lat, centre_lon, corner_lat, corner_lon, south_west = [], [], [], [], []
        offset = 0
        for cells in level:
            row, col = np.divmod(np.arange(cells.ny * cells.nx), cells.nx)
            centre_lat.append(cells.lat0 + (row + 0.5) * cells.dlat)
            centre_lon.append(cells.lon0 + (col + 0.5) * cells.dlon)
            corner_row, corner_col = np.divmod(np.arange((cells.ny + 1) * (cells.nx + 1)), cells.nx + 1)
            corner_lat.append(np.minimum(90.0, cells.lat0 + corner_row * cells.dlat))
            corner_lon.append(cells.lon0 + corner_col * cells.dlon)
            south_west.append(offset + row * (cells.nx + 1) + col)
            offset += (cells.ny + 1) * (cells.nx + 1)
        centre = unit_vectors(np.concatenate(centre_lat), np.concatenate(centre_lon))
        level_dlat = np.concatenate([np.full(cells.ny * cells.nx, cells.dlat) for cells in level])
        level_dlon = np.concatenate([np.full(cells.ny * cells.nx, cells.dlon) for cells in level])
        at_corner = tree.query(unit_vectors(np.concatenate(corner_lat), np.concatenate(corner_lon)), k=K_FAST)[0][:, -1]
        radius = tree.query(centre, k=K_FAST)[0][:, -1]
        half_diagonal = np.linalg.norm(unit_vectors(np.concatenate(centre_lat) + level_dlat / 2, np.concatenate(centre_lon) + level_dlon / 2) - centre, axis=1)
        start = 0
        for cells, sw in zip(level, south_west):
            end = start + len(sw)
            for corner in (sw, sw + 1, sw + cells.nx + 1, sw + cells.nx + 2):
                np.maximum(radius[start:end], at_corner[corner], out=radius[start:end])
            start = end
        radius *= GRID_SLACK
        crowded = np.zeros(len(radius), bool)
        if refine:
            most = tree.query_ball_point(centre, radius, return_length=True)
            crowded = (most > GRID_BALL_MAX) & (half_diagonal > radius * GRID_FINEST)
            split = np.clip(np.ceil(np.sqrt(most / GRID_BALL_MAX)), 2, 4).astype(int)
        radius[crowded] = np.nan
        finer, start = [], 0
        for cells in level:
            end = start + cells.ny * cells.nx
            cells.radii = array("d", radius[start:end].tolist())
            for slot in np.flatnonzero(crowded[start:end]).tolist():
                s = int(split[start + slot])
                i, j = divmod(slot, cells.nx)
                child = _Cells(
                    cells.lat0 + i * cells.dlat,
                    cells.lon0 + j * cells.dlon,
                    cells.dlat / s,
                    cells.dlon / s,
                    s,
                    s,
                )
                cells.finer[slot] = child
                finer.append(child)
            start = end
        self.cells += len(radius)
        return finer

    def radius(self, lat: float, lon: float) -> float:
        """The ball radius (chord) for a query here; 0 outside the grid."""
        if not (self.lat_min <= lat <= self.lat_max and self.lon_min <= lon <= self.lon_max):
            return 0.0
        cells = self.top
        while True:
            slot = min(int((lat - cells.lat0) * cells.per_lat), cells.ny - 1) * cells.nx + min(
                int((lon - cells.lon0) * cells.per_lon), cells.nx - 1
            )
            found = cells.radii[slot]
            if found == found:  # not NaN
                return found
            cells = cells.finer[slot]

    def nbytes(self) -> int:
        """Memory of the radii (and a rough share for each level's object)."""
        total, level = 0, [self.top]
        while level:
            total += sum(cells.radii.itemsize * len(cells.radii) + 200 for cells in level)
            level = [child for cells in level for child in cells.finer.values()]
        return total


class _Subset:
    """Base rows that pass a filter's static part, with their own KD-tree (built on first use)."""

    def __init__(self, rows: np.ndarray | None, tree: cKDTree | None, mask: np.ndarray | None = None):
        self.rows = rows  # None: every base row, searched with the base tree itself
        self.tree = tree
        self.mask = mask  # the same rows as a mask over the base (None: every row)

    def __len__(self) -> int:
        return 0 if self.tree is None else self.tree.n


class _Base:
    """Points as arrays and a KD-tree over their unit vectors: built once, never changed.

    Rare filters would make the main tree walk far to find k matches; instead each filter's
    static part (status, kind, category, base, services, region) gets a cached tree over just
    the rows that pass it, so a lookup with any filter stays a plain k-nearest query.
    """

    def __init__(self, points: list[Point]):
        self.points = points
        n = len(points)
        self.lat = np.fromiter((p.lat for p in points), float, n)
        self.lon = np.fromiter((p.lon for p in points), float, n)
        self.xyz = unit_vectors(self.lat, self.lon)
        self.tree = cKDTree(self.xyz) if n else None
        self.status = np.fromiter((STATUS_CODES[p.public_status] for p in points), np.int8, n)
        self.kind = np.fromiter((KIND_CODES[p.kind] for p in points), np.int8, n)
        self.category = np.fromiter((CATEGORY_CODES[p.category] for p in points), np.int8, n)
        self.base = np.fromiter((p.base for p in points), bool, n)
        self.archived = np.fromiter((p.archived for p in points), bool, n)
        self.services = np.fromiter((p.services_mask for p in points), np.int64, n)
        self.region = np.array([fold(p.region) for p in points], dtype=object)
        self.row_of = {p.id: i for i, p in enumerate(points)}
        self.grid = _Grid(self.lat, self.lon, self.tree) if n >= K_FAST else None
        self.built_at = time.time()  # /healthz reports how old the tree is
        self.scheduled = sum(1 for p in points if p.stops)  # checked one by one, never in the tree
        self._subsets: OrderedDict[tuple, _Subset] = OrderedDict()
        self._lock = threading.Lock()

    def subset(self, wanted: PointFilter) -> _Subset:
        """The cached subset (and tree) for the static part of this filter."""
        key = (
            wanted.statuses,
            wanted.kinds,
            wanted.categories,
            wanted.base,
            wanted.services,
            fold(wanted.region),
            wanted.include_archived,
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
            found = _Subset(rows, cKDTree(self.xyz[rows]) if len(rows) else None, ok)
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
        for chosen, codes, column in (
            (wanted.statuses, STATUS_CODES, self.status),
            (wanted.kinds, KIND_CODES, self.kind),
            (wanted.categories, CATEGORY_CODES, self.category),
        ):
            if chosen:
                allowed = np.zeros(len(codes), bool)
                allowed[[codes[value] for value in chosen]] = True
                ok = both(allowed[column])
        if wanted.base is not None:
            ok = both(self.base == wanted.base)
        if wanted.services:
            mask = services_mask(wanted.services)
            ok = both((self.services & mask) == mask)
        if wanted.region:
            ok = both(self.region == fold(wanted.region))
        return ok


class _Snapshot:
    """An immutable view of all points: a base (arrays and trees) plus a small set of changes."""

    def __init__(self, seq: int, points: list[Point], base: _Base | None = None):
        self.seq = seq
        self.made_at = time.time()  # when this process last brought its index up to date
        self.base = base or _Base(points)
        # Base rows replaced or deleted, and mobile points with a schedule: where those stand
        # depends on the clock, so they are checked one by one at each lookup, never in the tree.
        self.hidden = np.fromiter((bool(p.stops) for p in self.base.points), bool, len(self.base.points))
        self.changes: dict[str, Point] = {p.id: p for p in self.base.points if p.stops}

    @property
    def tree(self) -> cKDTree | None:
        return self.base.tree

    @property
    def points(self) -> list[Point]:
        return self.base.points

    def with_changes(self, seq: int, changed: Iterable[Point], deleted: Iterable[str]) -> _Snapshot:
        """A new snapshot with these changes applied over the same base (no rebuild)."""
        new = _Snapshot(seq, [], self.base)
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
        passed = [
            moment
            for point in self.changes.values()
            for stop in point.stops
            for moment in (stop.starts_at, stop.ends_at)
            if moment <= now
        ]
        return max(passed).isoformat() if passed else ""

    @cached_property
    def places(self) -> list[Place]:
        """The settlement gazetteer of this snapshot, made on first search."""
        return settlements(self.current_points())

    def current_points(self) -> list[Point]:
        kept = [p for i, p in enumerate(self.base.points) if not self.hidden[i]]
        return kept + list(self.changes.values())

    def _dynamic_ok(self, rows: np.ndarray, wanted: PointFilter) -> np.ndarray:
        """The per-lookup part of the filter: not replaced by a change, inside bbox, text."""
        ok = ~self.hidden[rows]
        if wanted.bbox is not None:
            min_lon, min_lat, max_lon, max_lat = wanted.bbox
            lat, lon = self.base.lat[rows], self.base.lon[rows]
            ok &= (lat >= min_lat) & (lat <= max_lat) & (lon >= min_lon) & (lon <= max_lon)
        if wanted.q:
            needle = fold(wanted.q)
            points = self.base.points
            for j in np.flatnonzero(ok):
                ok[j] = needle in search_text(points[rows[j]])
        return ok

    def _base_candidates(self, target: list[float], k: int, wanted: PointFilter) -> np.ndarray:
        """Base rows that can be among the k nearest matches, ties included."""
        subset = self.base.subset(wanted)
        size = len(subset)
        if size == 0:
            return np.empty(0, np.intp)
        fetch = min(size, k + FETCH_MARGIN)
        while True:
            chord, found = subset.tree.query(target, k=fetch)
            chord, found = np.atleast_1d(chord), np.atleast_1d(found)
            rows = found if subset.rows is None else subset.rows[found]
            ok = self._dynamic_ok(rows, wanted)
            matched = np.flatnonzero(ok)
            if len(matched) >= k:
                limit = chord[matched[k - 1]] * (1 + TIE_MARGIN) + 1e-15
                if fetch == size or chord[-1] > limit:
                    return rows[ok & (chord <= limit)]
            elif fetch == size:
                return rows[ok]
            fetch = min(size, fetch * 4)

    def _ball_candidates(
        self, lat: float, lon: float, target: np.ndarray, k: int, wanted: PointFilter
    ) -> np.ndarray | None:
        """The same rows as _base_candidates from one ball query (scipy's k-NN call costs several
        times more from Python), or None when the ball cannot prove it holds them all."""
        base = self.base
        if base.grid is None or k > K_FAST or wanted.q:
            return None
        subset = base.subset(wanted)
        if len(subset) * K_FAST < k * len(base.points):
            return None  # a rare filter: the ball would seldom hold k matches
        radius = base.grid.radius(lat, lon)
        if radius <= 0.0:
            return None  # outside the grid
        rows = np.array(base.tree.query_ball_point(target, radius), np.intp)
        ok = self._dynamic_ok(rows, wanted)
        if subset.mask is not None:
            ok &= subset.mask[rows]
        rows = rows[ok]
        if len(rows) < k:
            return None
        offset = base.xyz.take(rows, 0) - target
        chord = np.sqrt(np.einsum("ij,ij->i", offset, offset))
        kth = np.partition(chord, k - 1)[k - 1] if len(chord) > k else chord.max()
        limit = kth * (1 + TIE_MARGIN) + 1e-15
        if limit >= radius - BALL_GUARD:
            return None  # a match (or a tie) just outside the ball could be as near
        return rows[chord <= limit]

    def nearest(
        self, lat: float, lon: float, k: int, wanted: PointFilter, now: datetime | None = None
    ) -> list[Hit]:
        """The k nearest matches, each where it stands at ``now`` (a mobile point at its stop)."""
        found = []  # (distance, id, point): ids are unique, so tuples sort by distance, then id
        if self.changes:
            now = now or utcnow()
            for point in self.changes.values():
                here = point.at(now) if point.stops else point
                if wanted.matches(here):
                    found.append((haversine_m(lat, lon, here.lat, here.lon), here.id, here))
        if self.base.tree is not None:
            phi, lmb = math.radians(lat), math.radians(lon)
            cos_phi = math.cos(phi)
            target = np.array((cos_phi * math.cos(lmb), cos_phi * math.sin(lmb), math.sin(phi)))
            rows = self._ball_candidates(lat, lon, target, k, wanted)
            if rows is None:
                rows = self._base_candidates(target, k, wanted)
            points = self.base.points
            for row in rows.tolist():
                p = points[row]
                found.append((haversine_m(lat, lon, p.lat, p.lon), p.id, p))
        found.sort()
        return [Hit(point, distance) for distance, _, point in found[:k]]


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
                changed_since_build = len(snapshot.changes) - snapshot.base.scheduled
                if changed_since_build > max(REBUILD_MIN, REBUILD_FRACTION * len(snapshot.points)):
                    snapshot = _Snapshot(seq, snapshot.current_points())
            self._snapshot = snapshot
        return snapshot

    def nearest(
        self, lat: float, lon: float, k: int, wanted: PointFilter, now: datetime | None = None
    ) -> list[Hit]:
        return self.sync().nearest(lat, lon, k, wanted, now)


@dataclass(frozen=True)
class Place:
    name: str
    region: str
    lat: float
    lon: float
    points: int


def settlements(points: Iterable[Point]) -> list[Place]:
    """The points' own settlements, each placed at the mean position of its points."""
    groups: dict[tuple[str, str], list[float]] = {}
    for point in points:
        if point.settlement:
            total = groups.setdefault((point.settlement, point.region), [0.0, 0.0, 0])
            total[0] += point.lat
            total[1] += point.lon
            total[2] += 1
    return [Place(name, region, lat / n, lon / n, n) for (name, region), (lat, lon, n) in groups.items()]


def find_places(places: Iterable[Place], query: str, limit: int = 10) -> list[Place]:
    """Settlements whose name contains the query (case and apostrophes ignored), best first:
    exact names before prefixes, prefixes before substrings, then by number of points."""
    needle = fold(query.strip())
    if not needle:
        return []
    found = [place for place in places if needle in fold(place.name)]

    def rank(place: Place) -> tuple:
        folded = fold(place.name)
        return (folded != needle, not folded.startswith(needle), -place.points, place.name)

    return sorted(found, key=rank)[:limit]
