"""Where to send N mobile points (issue 19): greedy maximum coverage, lazily evaluated.

Choosing N sites that cover the most people within D is NP-hard; the greedy choice (each time
the site that adds the most still-uncovered people) reaches at least 1 - 1/e of the optimum,
and tests/test_planning.py holds it to that against scipy's integer program. Lazy evaluation
keeps every site's last known gain in a max-heap: a site's gain only falls as others are chosen,
so a stale gain is an upper bound, and only the top one needs working out again.

Which settlements a site covers: candidates within a chord radius from a KD-tree of unit
vectors (slightly widened, so rounding never drops one), then haversine_m's own arithmetic
(search/distance.py) decides, as it decides coverage.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from locator.search.distance import EARTH_RADIUS_M, haversine_each_m, unit_vectors

CHORD_MARGIN = 1e-9  # relative widening of the chord radius: the haversine decides at the edge


@dataclass(frozen=True)
class Site:
    """A place a mobile point could stand: a settlement, a school yard, a fuel station."""

    name: str
    lat: float
    lon: float
    region: str = ""


@dataclass(frozen=True)
class Demand:
    """People not yet covered, at one place (an uncovered settlement)."""

    name: str
    lat: float
    lon: float
    population: int
    region: str = ""


@dataclass(frozen=True)
class Pick:
    """A chosen site, what it adds (people and settlements not covered before it) and which."""

    site: Site
    adds_population: int
    adds_settlements: int
    covers: tuple[int, ...]  # indices into the demands newly covered by this site


@dataclass(frozen=True)
class Choice:
    """The greedy answer: sites in the order chosen, and the people they cover together."""

    picks: tuple[Pick, ...]
    covered_population: int
    demand_population: int


def cover_sets(sites: Sequence[Site], demands: Sequence[Demand], radius_m: float) -> list[np.ndarray]:
    """For each site, the indices of the demands within radius_m (great-circle, exact)."""
    if not sites or not demands:
        return [np.empty(0, np.intp) for _ in sites]
    demand_xyz = unit_vectors(
        np.fromiter((d.lat for d in demands), float, len(demands)),
        np.fromiter((d.lon for d in demands), float, len(demands)),
    )
    site_xyz = unit_vectors(
        np.fromiter((s.lat for s in sites), float, len(sites)),
        np.fromiter((s.lon for s in sites), float, len(sites)),
    )
    angle = min(radius_m / EARTH_RADIUS_M, math.pi)
    chord = 2 * math.sin(angle / 2) * (1 + CHORD_MARGIN) + 1e-12
    near = cKDTree(demand_xyz).query_ball_point(site_xyz, chord)
    sets = []
    for site, rows in zip(sites, near, strict=True):
        rows = sorted(rows)
        distances = haversine_each_m(site.lat, site.lon, [demands[j] for j in rows])
        sets.append(np.array([j for j, d in zip(rows, distances, strict=True) if d <= radius_m], np.intp))
    return sets


def greedy(covers: Sequence[np.ndarray], weights: np.ndarray, n: int) -> list[int]:
    """Lazy greedy maximum coverage: up to n site indices, each adding the most weight still
    uncovered (ties: the lower index); stops early when no site adds anything."""
    taken = np.zeros(len(weights), bool)
    heap = [(-int(weights[c].sum()), i, 0) for i, c in enumerate(covers)]
    heapq.heapify(heap)
    chosen: list[int] = []
    round_ = 0
    while heap and len(chosen) < n:
        gain, i, fresh_at = heapq.heappop(heap)
        if fresh_at != round_:  # stale: work it out again and put it back
            rows = covers[i]
            heapq.heappush(heap, (-int(weights[rows[~taken[rows]]].sum()), i, round_))
            continue
        if gain == 0:
            break  # the best left adds nothing, nor will any other
        chosen.append(i)
        taken[covers[i]] = True
        round_ += 1
    return chosen


def plain_greedy(covers: Sequence[np.ndarray], weights: np.ndarray, n: int) -> list[int]:
    """The same choice, every gain worked out every round: the lazy one's reference (tests)."""
    taken = np.zeros(len(weights), bool)
    chosen: list[int] = []
    for _ in range(n):
        gains = [int(weights[c[~taken[c]]].sum()) for c in covers]
        if not gains or max(gains) == 0:
            break
        best = gains.index(max(gains))
        chosen.append(best)
        taken[covers[best]] = True
    return chosen


def choose_sites(sites: Sequence[Site], demands: Sequence[Demand], radius_m: float, n: int) -> Choice:
    """Up to n sites covering the most demand within radius_m, and what each adds."""
    weights = np.fromiter((d.population for d in demands), np.int64, len(demands))
    covers = cover_sets(sites, demands, radius_m)
    taken = np.zeros(len(demands), bool)
    picks = []
    for i in greedy(covers, weights, n):
        rows = covers[i]
        new = rows[~taken[rows]]
        taken[new] = True
        picks.append(Pick(sites[i], int(weights[new].sum()), len(new), tuple(new.tolist())))
    return Choice(tuple(picks), int(weights[taken].sum()), int(weights.sum()))


def optimum_population(covers: Sequence[np.ndarray], weights: np.ndarray, n: int) -> int:
    """The true maximum coverage of a small instance, by integer program (HiGHS through
    scipy.optimize.milp): max sum w_j y_j, y_j <= sum of x_i over sites i covering j,
    sum x_i <= n, binary. For measuring the greedy choice (scripts/bench/planner_bench.py)."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix

    sites, places = len(covers), len(weights)
    rows = [j for c in covers for j in c.tolist()] + list(range(places)) + [places] * sites
    cols = (
        [i for i, c in enumerate(covers) for _ in c.tolist()]
        + [sites + j for j in range(places)]
        + list(range(sites))
    )
    values = [-1.0] * sum(len(c) for c in covers) + [1.0] * places + [1.0] * sites
    matrix = coo_matrix((values, (rows, cols)), shape=(places + 1, sites + places)).tocsr()
    upper = np.zeros(places + 1)
    upper[places] = n
    result = milp(
        c=np.concatenate([np.zeros(sites), -np.asarray(weights, float)]),
        constraints=LinearConstraint(matrix, -np.inf, upper),
        integrality=np.ones(sites + places),
        bounds=Bounds(0, 1),
    )
    if result.status != 0:
        raise RuntimeError(f"the integer program did not solve: {result.message}")
    return round(-result.fun)
