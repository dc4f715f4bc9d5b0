"""The planner's two questions for one user (issue 19), with the user's scope applied once here:
who is out of reach (coverage_for) and where N mobile points would reach the most (plan_for).
The API (web/api_planner.py) and the console call these; neither filters by scope itself.

Coverage gaps show where help is missing, so they are read like private data: admins see every
region; operators only their regions and settlements (a settlement entry holds in its region);
viewers their scope if given one, else everywhere (domain/users.py may_read_private's rule).
Settlements, candidate sites and populations outside the scope never enter the computation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from locator.domain.filters import fold
from locator.domain.point import Kind, Point, utcnow
from locator.domain.scope import Forbidden
from locator.domain.users import Role, User, settlement_scope
from locator.search.coverage import Coverage, Need, coverage
from locator.search.gazetteer import Gazetteer
from locator.search.nearest import Snapshot
from locator.search.planning import Choice, Demand, Site, choose_sites
from locator.search.regions import shared as region_map
from locator.search.settlements import Settlement

MAX_N = 500  # mobile points in one plan: more than any region's fleet


@dataclass(frozen=True)
class PlanScope:
    """What one user may plan for: None = every region; else these regions (folded) whole,
    and these (settlement, region) pairs."""

    regions: frozenset[str] | None
    settlements: frozenset[tuple[str, str]] = frozenset()

    def sees(self, region: str, settlement: str) -> bool:
        if self.regions is None:
            return True
        if fold(region) in self.regions:
            return True
        name = fold(settlement)
        return bool(name) and ((name, fold(region)) in self.settlements or (name, "") in self.settlements)

    def touches(self, region: str) -> bool:
        """Whether any of the region is in scope (a site may stand anywhere in such a region)."""
        if self.regions is None:
            return True
        key = fold(region)
        return key in self.regions or any(r == key for _, r in self.settlements)


def scope_of(actor: User) -> PlanScope:
    """The planner's scope of a user (module docstring); a disabled user's is empty."""
    if actor.disabled:
        return PlanScope(frozenset())
    if actor.role is Role.ADMIN or (actor.role is Role.VIEWER and not (actor.regions or actor.settlements)):
        return PlanScope(None)
    pairs = (settlement_scope(entry) for entry in actor.settlements)
    return PlanScope(actor.region_keys, frozenset((fold(s), fold(r)) for s, r in pairs))


def planner_settlements(gazetteer: Gazetteer, snapshot: Snapshot) -> list[Settlement]:
    """The default settlements: GeoNames' (with population) and the points' own that GeoNames
    lacks (population unknown, 0), deduplicated as the place search merges them."""
    return gazetteer.with_points(snapshot.places)


def _in_scope(
    actor: User, settlements: Sequence[Settlement], region: str
) -> tuple[PlanScope, list[Settlement]]:
    scope = scope_of(actor)
    if region and not scope.touches(region):
        raise Forbidden(f"{actor.name} may not plan for {region}")
    chosen = [
        s
        for s in settlements
        if scope.sees(s.region, s.name) and (not region or fold(s.region) == fold(region))
    ]
    return scope, chosen


def coverage_for(
    actor: User,
    snapshot: Snapshot,
    settlements: Sequence[Settlement],
    need: Need,
    *,
    region: str = "",
    now: datetime | None = None,
) -> Coverage:
    """Coverage of the settlements this user may see (in ``region`` if one is named: Forbidden
    outside the scope). Points anywhere count: a point across a border still serves."""
    _, chosen = _in_scope(actor, settlements, region)
    return coverage(snapshot, chosen, need, now)


@dataclass(frozen=True)
class MobilePlan:
    """Where to send N mobile points, and what it changes: population in scope, covered before
    (under the need) and after the suggested sites."""

    need: Need
    n: int
    region: str
    before: Coverage
    choice: Choice
    fleet: tuple[Point, ...]  # the region's mobile points being sent (fleet=True), else ()
    candidates: int

    @property
    def population(self) -> int:
        return self.before.country.population

    @property
    def covered_before(self) -> int:
        return self.before.country.covered_population

    @property
    def covered_after(self) -> int:
        return self.covered_before + self.choice.covered_population


def fleet_of(snapshot: Snapshot, scope: PlanScope, region: str, now: datetime) -> list[Point]:
    """The mobile points (not archived) standing now in the region (or the scope), by id."""
    found = []
    for point in snapshot.current_points():
        if point.kind is not Kind.MOBILE or point.archived:
            continue
        here = point.at(now) if point.stops else point
        if scope.sees(here.region, here.settlement) and (not region or fold(here.region) == fold(region)):
            found.append(point)
    return sorted(found, key=lambda p: p.id)


def plan_for(
    actor: User,
    snapshot: Snapshot,
    settlements: Sequence[Settlement],
    need: Need,
    *,
    n: int | None = None,
    region: str = "",
    candidates: Sequence[Site] | None = None,
    fleet: bool = False,
    now: datetime | None = None,
) -> MobilePlan:
    """Suggest n sites for mobile points that cover the most people the need leaves uncovered
    in this user's scope (and ``region``). Candidates: the visible settlements themselves, or
    the sites given (each must lie in a region of the scope: Forbidden). ``fleet``: plan for the
    region's own mobile points: n defaults to their count, and they do not count as covering
    today (they are the ones being sent). ValueError for an n out of 1..MAX_N."""
    moment = need.at or now or utcnow()
    scope, chosen = _in_scope(actor, settlements, region)
    moving = fleet_of(snapshot, scope, region, moment) if fleet else []
    if n is None:
        n = len(moving)
    if not 1 <= n <= MAX_N:
        raise ValueError(f"n must be between 1 and {MAX_N}" + (" (the region has no mobile points)" * fleet))
    if moving:
        snapshot = snapshot.with_changes(snapshot.seq, (), [p.id for p in moving])
    before = coverage(snapshot, chosen, need, moment)
    if candidates is None:
        sites = [Site(s.name, s.lat, s.lon, s.region) for s in chosen]
    else:
        sites = [_placed(actor, scope, site, number) for number, site in enumerate(candidates)]
    demands = [
        Demand(
            r.settlement.name,
            r.settlement.lat,
            r.settlement.lon,
            r.settlement.population,
            r.settlement.region,
        )
        for r in before.reaches
        if not r.covered
    ]
    choice = choose_sites(sites, demands, need.distance_m, n)
    return MobilePlan(need, n, region, before, choice, tuple(moving), len(sites))


def _placed(actor: User, scope: PlanScope, site: Site, number: int) -> Site:
    """The site with its region from its coordinates (never from what a file says)."""
    region = region_map().locate(site.lat, site.lon).region
    if not region:
        raise ValueError(f"candidate {number} ({site.name}) lies outside Ukraine's regions")
    if not scope.touches(region):
        raise Forbidden(f"{actor.name} may not send points to candidate {number} ({site.name}: {region})")
    return Site(site.name, site.lat, site.lon, region)
