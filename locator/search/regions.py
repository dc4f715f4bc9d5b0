"""Which region a place lies in, from its coordinates, and the rule every write's place obeys.

The polygons are data/regions.json (built by scripts/build_regions.py from Natural Earth, with
Kyiv city redrawn from GeoNames: read that script for what the border is worth). Near a border the
data can be off by about a kilometre, so a place within BORDER_M of a region counts as possibly in
it: a point there may carry either region, and nowhere else is a region taken on trust.

Lookups are plain numpy, no shapely (a web worker never loads it): a grid of 0.05° cells answers
most places from one test of the cell's centre; only cells a border crosses test the polygons.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

from locator.domain.point import Point, Stop
from locator.domain.regions import PUBLIC_NAMES, UKRAINE_BOUNDS
from locator.domain.validation import Invalid, Problem, ValidationError
from locator.domain.values import Visibility
from locator.domain.visibility import region_default
from locator.search.settlements import REGIONS, region_code

REGIONS_FILE = Path(__file__).resolve().parents[2] / "data" / "regions.json"
BORDER_M = 1_000  # how far the shipped borders may be off; within it, either region is accepted
CELL_DEG = 0.05
METRES_PER_DEG = 111_195.0
KNOWN = ", ".join(PUBLIC_NAMES)


@dataclass(frozen=True)
class Located:
    region: str  # the region it lies in, or the nearest within BORDER_M; "" when none is
    nearby: frozenset[str]  # every region within BORDER_M, its own included


class RegionMap:
    """The regions' polygons as edge arrays, and a grid that remembers which cells no border crosses."""

    def __init__(self, document: dict):
        self.names: list[str] = []
        edges: list[np.ndarray] = []
        for code, polygons in sorted(document["regions"].items()):
            rings = [np.asarray(ring, float) for polygon in polygons for ring in polygon]
            edges.append(np.concatenate([np.hstack([ring[:-1], ring[1:]]) for ring in rings]))
            self.names.append(REGIONS[code][0])
        self.edges = edges  # per region: rows of x1, y1, x2, y2 (lon, lat)
        self.boxes = np.array(
            [[e[:, [0, 2]].min(), e[:, [1, 3]].min(), e[:, [0, 2]].max(), e[:, [1, 3]].max()] for e in edges]
        )
        self.crossed = self._crossed_cells()
        self._settled: dict[tuple[int, int], int] = {}  # uncrossed cell -> region index (-1 none)
        self._lock = threading.Lock()

    def _crossed_cells(self) -> dict[tuple[int, int], list[tuple[int, np.ndarray]]]:
        """Cells within BORDER_M of an edge: region index -> the rows of its edges there."""
        margin_y = BORDER_M / METRES_PER_DEG
        margin_x = margin_y / math.cos(math.radians(53))  # wide enough at Ukraine's north
        cells: dict[tuple[int, int], dict[int, list[int]]] = {}
        for region, e in enumerate(self.edges):
            lo_x = np.floor((np.minimum(e[:, 0], e[:, 2]) - margin_x) / CELL_DEG).astype(int)
            hi_x = np.floor((np.maximum(e[:, 0], e[:, 2]) + margin_x) / CELL_DEG).astype(int)
            lo_y = np.floor((np.minimum(e[:, 1], e[:, 3]) - margin_y) / CELL_DEG).astype(int)
            hi_y = np.floor((np.maximum(e[:, 1], e[:, 3]) + margin_y) / CELL_DEG).astype(int)
            for row in range(len(e)):
                for i in range(lo_x[row], hi_x[row] + 1):
                    for j in range(lo_y[row], hi_y[row] + 1):
                        cells.setdefault((i, j), {}).setdefault(region, []).append(row)
        return {cell: [(r, np.asarray(rows)) for r, rows in found.items()] for cell, found in cells.items()}

    def locate(self, lat: float, lon: float) -> Located:
        cell = (math.floor(lon / CELL_DEG), math.floor(lat / CELL_DEG))
        near = self.crossed.get(cell)
        if near is None:
            region = self._settled.get(cell)
            if region is None:
                region = self._containing((cell[1] + 0.5) * CELL_DEG, (cell[0] + 0.5) * CELL_DEG)
                with self._lock:
                    self._settled[cell] = region
            name = self.names[region] if region >= 0 else ""
            return Located(name, frozenset([name]) if name else frozenset())
        scale = math.cos(math.radians(lat))
        distances = {r: _distance_m(self.edges[r][rows], lat, lon, scale) for r, rows in near}
        inside = self._containing(lat, lon)
        nearby = {r for r, d in distances.items() if d <= BORDER_M}
        if inside >= 0:
            nearby.add(inside)
            region = inside
        elif nearby:
            region = min(nearby, key=distances.__getitem__)
        else:
            return Located("", frozenset())
        return Located(self.names[region], frozenset(self.names[r] for r in nearby))

    def _containing(self, lat: float, lon: float) -> int:
        """The region whose polygons hold the place (even-odd rule, holes included); -1 none."""
        x1, y1, x2, y2 = self.boxes.T
        for region in np.flatnonzero((x1 <= lon) & (lon <= x2) & (y1 <= lat) & (lat <= y2)):
            e = self.edges[region]
            straddles = (e[:, 1] > lat) != (e[:, 3] > lat)
            e = e[straddles]
            crossing_x = e[:, 0] + (lat - e[:, 1]) * (e[:, 2] - e[:, 0]) / (e[:, 3] - e[:, 1])
            if np.count_nonzero(crossing_x > lon) % 2:
                return int(region)
        return -1


def _distance_m(e: np.ndarray, lat: float, lon: float, scale: float) -> float:
    """The shortest distance from the place to these edges, in metres (flat locally)."""
    ax, ay = (e[:, 0] - lon) * scale, e[:, 1] - lat
    bx, by = (e[:, 2] - lon) * scale, e[:, 3] - lat
    dx, dy = bx - ax, by - ay
    length = dx * dx + dy * dy
    t = np.clip(-(ax * dx + ay * dy) / np.where(length > 0, length, 1), 0, 1)
    return float(np.sqrt((ax + t * dx) ** 2 + (ay + t * dy) ** 2).min() * METRES_PER_DEG)


@cache
def shared() -> RegionMap:
    return RegionMap(json.loads(REGIONS_FILE.read_text(encoding="utf-8")))


@lru_cache(maxsize=4096)  # a file's thousands of rows spell a few dozen regions
def canonical_region(text: str) -> str | None:
    """The region's one public name (REGIONS) for any spelling of it; "" for none, None unknown."""
    if not text or not text.strip():
        return ""
    code = region_code(text)
    return REGIONS[code][0] if code else None


OUTSIDE = (
    "lat {lat}, lon {lon} is outside the allowed area (lat {min_lat}..{max_lat},"
    " lon {min_lon}..{max_lon}; LOCATOR_BOUNDS)"
)


def outside(bounds: tuple[float, float, float, float], lat: float, lon: float) -> Invalid | None:
    """Why (lat, lon) is outside the allowed area, or None when it is inside."""
    min_lon, min_lat, max_lon, max_lat = bounds
    if min_lat <= lat <= max_lat and min_lon <= lon <= max_lon:
        return None
    return Invalid(
        OUTSIDE, lat=lat, lon=lon, min_lat=min_lat, max_lat=max_lat, min_lon=min_lon, max_lon=max_lon
    )


def public_region_names(names) -> tuple[str, ...]:
    """Regions in any spelling (LOCATOR_APPROXIMATE_REGIONS) as their public names; ValueError
    names one that is not a region."""
    known = []
    for name in names:
        if not (public := canonical_region(name)):
            raise ValueError(f"LOCATOR_APPROXIMATE_REGIONS: unknown region {name!r}; one of: {KNOWN}")
        known.append(public)
    return tuple(known)


@dataclass(frozen=True)
class Territory:
    """Where points may be: inside LOCATOR_BOUNDS, in the region their coordinates lie in."""

    bounds: tuple[float, float, float, float] = UKRAINE_BOUNDS
    regions: RegionMap = field(default_factory=shared, compare=False)
    approximate_regions: tuple[str, ...] = ()  # LOCATOR_APPROXIMATE_REGIONS (issue 20)

    def visibility_floor(self, region: str) -> Visibility:
        """The least private a point in this region may be unless an admin says otherwise."""
        return region_default(region, self.approximate_regions)

    def problems(self, point: Point, position_field: str = "lat") -> list[Problem]:
        """The point, or a stop of its schedule, lies outside LOCATOR_BOUNDS."""
        return self.position_problems(point.lat, point.lon, point.stops, position_field)

    def position_problems(
        self, lat: float | None, lon: float | None, stops: Iterable[Stop] = (), position_field: str = "lat"
    ) -> list[Problem]:
        """A position (None: unknown, not checked) or a stop outside LOCATOR_BOUNDS: also asked
        of a file's row whose other fields are wrong, so one pass lists all its problems."""
        found = []
        if lat is not None and lon is not None and (reason := outside(self.bounds, lat, lon)):
            min_lon, min_lat, max_lon, max_lat = self.bounds
            lat_inside = min_lat <= lat <= max_lat
            field = "lon" if position_field == "lat" and lat_inside else position_field
            found.append(Problem.from_error(field, reason))
        for index, stop in enumerate(stops):
            if reason := outside(self.bounds, stop.lat, stop.lon):
                found.append(
                    Problem.of("stops", "stop {number}: {problem}", number=index + 1, problem=reason)
                )
        return found

    @staticmethod
    def region_problem(text: str) -> Problem | None:
        """A region no spelling of the regions' names gives, or None."""
        if canonical_region(text) is None:
            return Problem.of(
                "region", "unknown region {region}; one of: {known}", region=repr(text), known=KNOWN
            )
        return None

    def settle(self, point: Point, *, follow: bool = False, position_field: str = "lat") -> Point:
        """The point with its region's public name, checked against its coordinates: a region
        the coordinates are nowhere near is refused, or with follow=True (a write that names no
        region, a file's row) replaced by the one they lie in. A blank region becomes that one
        too. Raises ValidationError naming lat or lon, stops, or region."""
        problems = self.problems(point, position_field)
        region = canonical_region(point.region)
        if region is None:
            problems.append(self.region_problem(point.region))
        if problems:
            raise ValidationError(problems)
        located = self.regions.locate(point.lat, point.lon)
        if located.nearby and region not in located.nearby:
            if region and not follow:
                raise ValidationError(
                    [
                        Problem.of(
                            "region",
                            "lat {lat}, lon {lon} lies in {located}, not in {region}",
                            lat=point.lat,
                            lon=point.lon,
                            located=located.region,
                            region=region,
                        )
                    ]
                )
            region = located.region
        return point if region == point.region else replace(point, region=region)

    def regions_of_stops(self, point: Point) -> Iterable[str]:
        """The region each stop lies in ("" when none): a stop is a place the point will be."""
        return (self.regions.locate(stop.lat, stop.lon).region for stop in point.stops)
