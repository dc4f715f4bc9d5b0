"""Where to send N mobile points (issue 19): the lazy greedy choice is plain greedy's, its
cover sets are exact, and it reaches at least 1 - 1/e of the true optimum (scipy's HiGHS)."""

from __future__ import annotations

import math
import random
import statistics

import numpy as np
import pytest
from helpers import FIXED_NOW, haversine, make_point
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_matrix

from locator.domain.scope import Forbidden
from locator.domain.users import Role, User
from locator.search.coverage import Need
from locator.search.nearest import Snapshot
from locator.search.planning import Demand, Site, choose_sites, cover_sets, greedy, plain_greedy
from locator.search.settlements import Settlement
from locator.services.planner import plan_for

BOUND = 1 - 1 / math.e
INSTANCES = 50


def random_instance(rng: random.Random) -> tuple[list[Site], list[Demand], float, int]:
    """Up to 200 sites among up to 300 settlements, clustered so covers overlap."""
    centre_lat, centre_lon = rng.uniform(46, 51), rng.uniform(24, 38)
    spread = rng.uniform(0.1, 0.6)

    def near() -> tuple[float, float]:
        return centre_lat + rng.gauss(0, spread), centre_lon + rng.gauss(0, spread * 1.5)

    demands = [
        Demand(f"d{j}", *near(), rng.choice([0, 500, 800, 2_000, 10_000, rng.randrange(500, 300_000)]))
        for j in range(rng.randrange(30, 300))
    ]
    sites = [Site(f"s{i}", *near()) for i in range(rng.randrange(20, 201))]
    return sites, demands, rng.choice([3_000.0, 5_000.0, 10_000.0, 20_000.0]), rng.randrange(1, 12)


def optimum(covers: list[np.ndarray], weights: np.ndarray, n: int) -> int:
    """The true maximum coverage: max sum w_j y_j, y_j <= sum_{i covers j} x_i, sum x_i <= n,
    x and y binary (HiGHS through scipy.optimize.milp)."""
    sites, places = len(covers), len(weights)
    a = lil_matrix((places + 1, sites + places))
    for i, rows in enumerate(covers):
        for j in rows:
            a[j, i] = -1
    for j in range(places):
        a[j, sites + j] = 1
    a[places, :sites] = 1
    upper = np.zeros(places + 1)
    upper[places] = n
    result = milp(
        c=np.concatenate([np.zeros(sites), -weights.astype(float)]),
        constraints=LinearConstraint(a.tocsr(), -np.inf, upper),
        integrality=np.ones(sites + places),
        bounds=Bounds(0, 1),
    )
    assert result.status == 0, result.message
    return round(-result.fun)


def test_greedy_reaches_one_minus_one_over_e_of_the_optimum():
    rng = random.Random(19)
    ratios = []
    for _ in range(INSTANCES):
        sites, demands, radius, n = random_instance(rng)
        weights = np.array([d.population for d in demands], np.int64)
        covers = cover_sets(sites, demands, radius)
        chosen = greedy(covers, weights, n)
        assert chosen == plain_greedy(covers, weights, n)
        got = int(
            weights[np.unique(np.concatenate([covers[i] for i in chosen] or [np.empty(0, np.intp)]))].sum()
        )
        best = optimum(covers, weights, n)
        assert got <= best
        assert got >= BOUND * best - 1e-9, (got, best)
        ratios.append(got / best if best else 1.0)
    print(
        f"\ngreedy/optimum over {INSTANCES} instances: worst {min(ratios):.4f},"
        f" median {statistics.median(ratios):.4f}, mean {statistics.fmean(ratios):.4f}"
    )


@pytest.mark.parametrize("seed", range(5))
def test_cover_sets_are_exact(seed):
    rng = random.Random(seed)
    sites, demands, radius, _ = random_instance(rng)
    for site, rows in zip(sites, cover_sets(sites, demands, radius), strict=True):
        expected = [j for j, d in enumerate(demands) if haversine(site.lat, site.lon, d.lat, d.lon) <= radius]
        assert rows.tolist() == expected


def test_lazy_greedy_equals_plain_greedy_with_ties():
    rng = random.Random(3)
    for _ in range(200):
        weights = np.array([rng.choice([0, 1, 2, 5]) for _ in range(40)], np.int64)
        covers = [np.array(sorted(rng.sample(range(40), rng.randrange(0, 8))), np.intp) for _ in range(30)]
        n = rng.randrange(1, 10)
        assert greedy(covers, weights, n) == plain_greedy(covers, weights, n)


def test_choose_sites_reports_what_each_site_adds():
    demands = [Demand("a", 50.0, 30.0, 1_000), Demand("b", 50.0, 30.05, 300), Demand("c", 51.0, 31.0, 500)]
    sites = [Site("near a", 50.0, 30.01), Site("near c", 51.0, 31.01), Site("far", 45.0, 35.0)]
    choice = choose_sites(sites, demands, 5_000, 5)
    assert [(p.site.name, p.adds_population, p.adds_settlements) for p in choice.picks] == [
        ("near a", 1_300, 2),
        ("near c", 500, 1),
    ]  # "far" adds nothing: not suggested
    assert choice.covered_population == choice.demand_population == 1_800


def _settlement(name: str, region: str, lat: float, lon: float, population: int) -> Settlement:
    return Settlement(name, name, region, region, lat, lon, population)


KYIV_OBLAST, LVIV_OBLAST = "Київська область", "Львівська область"
PLACES = [
    _settlement("Бровари", KYIV_OBLAST, 50.511, 30.790, 100_000),
    _settlement("Бориспіль", KYIV_OBLAST, 50.352, 30.955, 60_000),
    _settlement("Ірпінь", KYIV_OBLAST, 50.521, 30.250, 60_000),
    _settlement("Жовква", LVIV_OBLAST, 50.056, 23.973, 13_000),
]


def test_a_plan_covers_only_the_operators_scope():
    operator = User(1, "olena", Role.OPERATOR, regions=(KYIV_OBLAST,))
    snapshot = Snapshot(1, [make_point("irpin", lat=50.52, lon=30.25, opening_hours="24/7")])
    plan = plan_for(operator, snapshot, PLACES, Need(), n=5, now=FIXED_NOW)
    assert plan.population == 220_000  # Lviv oblast's people never enter it
    assert plan.covered_before == 60_000  # Irpin
    assert {p.site.name for p in plan.choice.picks} == {"Бровари", "Бориспіль"}
    assert plan.covered_after == 220_000
    with pytest.raises(Forbidden):
        plan_for(operator, snapshot, PLACES, Need(), n=1, region=LVIV_OBLAST, now=FIXED_NOW)
    with pytest.raises(Forbidden):  # a site outside the scope
        plan_for(
            operator, snapshot, PLACES, Need(), n=1, candidates=[Site("Львів", 49.84, 24.03)], now=FIXED_NOW
        )


def test_a_fleet_plan_sends_the_regions_own_mobile_points():
    admin = User(1, "root", Role.ADMIN)
    tent = make_point("tent", kind="mobile", lat=50.51, lon=30.79, opening_hours="24/7")  # at Brovary
    snapshot = Snapshot(1, [tent])
    today = plan_for(admin, snapshot, PLACES, Need(), n=1, region=KYIV_OBLAST, now=FIXED_NOW)
    assert today.covered_before == 100_000
    fleet = plan_for(admin, snapshot, PLACES, Need(), region=KYIV_OBLAST, fleet=True, now=FIXED_NOW)
    assert [p.id for p in fleet.fleet] == ["tent"] and fleet.n == 1
    assert fleet.covered_before == 0 and fleet.covered_after == 100_000  # sent back where it is best
    with pytest.raises(ValueError):  # no mobile points in Lviv oblast: no n to take
        plan_for(admin, snapshot, PLACES, Need(), region=LVIV_OBLAST, fleet=True, now=FIXED_NOW)
