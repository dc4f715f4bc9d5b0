"""The planner (issue 19): coverage of every GeoNames settlement and a plan for N mobile points.

- coverage of every settlement of the planner's list (GeoNames' ~5,500 and the points' own)
  against 13,000 and 100,000 generated points, need "open now, heat, within 5 km" (median of
  3 runs, through Snapshot.nearest as citizens' lookups);
- a plan for N = 20 over every settlement as candidate sites (lazy greedy, exact covers);
- greedy against the true optimum (scipy.optimize.milp, HiGHS) on 50 random small instances
  (up to 200 candidate sites): worst, median and mean ratio; the guarantee is 1 - 1/e.

Example: .venv/bin/python scripts/bench/planner_bench.py --data-dir /tmp/locator-bench
"""

from __future__ import annotations

import math
import random
import statistics
import sys
import time

import common
import numpy as np

from locator.io.files import ImportLimits, read_points
from locator.search.coverage import Need, coverage
from locator.search.gazetteer import shared as shared_gazetteer
from locator.search.nearest import Snapshot
from locator.search.planning import Demand, Site, cover_sets, greedy, optimum_population
from locator.services.actors import system_actor
from locator.services.planner import plan_for, planner_settlements

TARGET_S = {common.SMALL: 1.0, common.BIG: 3.0}
PLAN_TARGET_S, PLAN_N = 5.0, 20
INSTANCES = 50
FILE_BYTES = 512 * 1024 * 1024  # the 100,000-point file is past the import's own limit
NEED = Need(services=frozenset({"heat"}), status="open_now")


def timed(work, rounds: int = 3) -> tuple[float, object]:
    times, result = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def small_instance(rng: random.Random) -> tuple[list[Site], list[Demand], float, int]:
    lat0, lon0, spread = rng.uniform(46, 51), rng.uniform(24, 38), rng.uniform(0.1, 0.6)

    def near() -> tuple[float, float]:
        return lat0 + rng.gauss(0, spread), lon0 + rng.gauss(0, spread * 1.5)

    demands = [Demand(f"d{j}", *near(), rng.randrange(500, 300_000)) for j in range(rng.randrange(30, 300))]
    sites = [Site(f"s{i}", *near()) for i in range(rng.randrange(20, 201))]
    return sites, demands, rng.choice([3_000.0, 5_000.0, 10_000.0, 20_000.0]), rng.randrange(1, 12)


def main() -> int:
    args = common.arguments(__doc__.splitlines()[0])
    gazetteer = shared_gazetteer(str(args.data_dir / "gazetteer"))
    rows, raw = [], {}
    for count in (common.SMALL, common.BIG):
        points = list(
            read_points(common.geojson(args.data_dir, count), limits=ImportLimits(max_bytes=FILE_BYTES))
        )
        snapshot = Snapshot(1, points)
        settlements = planner_settlements(gazetteer, snapshot)
        snapshot.nearest(50.45, 30.52, 1, NEED.point_filter())  # the filter's subset tree, built once
        seconds, result = timed(lambda s=snapshot, p=settlements: coverage(s, p, NEED))
        raw[f"coverage_{count}"] = {
            "settlements": len(settlements),
            "seconds": seconds,
            "covered_population": result.country.covered_population,
            "population": result.country.population,
        }
        rows.append(
            common.row(
                f"coverage of {len(settlements):,} settlements, {count:,} points",
                f"< {TARGET_S[count]:g} s",
                f"{seconds:.2f} s",
                seconds < TARGET_S[count],
            )
        )
        if count == common.SMALL:
            seconds, plan = timed(
                lambda s=snapshot, p=settlements: plan_for(system_actor("bench"), s, p, NEED, n=PLAN_N), 1
            )
            raw["plan"] = {
                "candidates": plan.candidates,
                "seconds": seconds,
                "covered_before": plan.covered_before,
                "covered_after": plan.covered_after,
            }
            rows.append(
                common.row(
                    f"plan N={PLAN_N} over {plan.candidates:,} candidate sites",
                    f"< {PLAN_TARGET_S:g} s",
                    f"{seconds:.2f} s",
                    seconds < PLAN_TARGET_S,
                )
            )
    rng, ratios = random.Random(19), []
    for _ in range(1 if args.quick else INSTANCES):
        sites, demands, radius, n = small_instance(rng)
        weights = np.array([d.population for d in demands], np.int64)
        covers = cover_sets(sites, demands, radius)
        chosen = greedy(covers, weights, n)
        taken = np.zeros(len(weights), bool)
        for i in chosen:
            taken[covers[i]] = True
        best = optimum_population(covers, weights, n)
        ratios.append(int(weights[taken].sum()) / best if best else 1.0)
    raw["greedy_ratios"] = ratios
    worst = min(ratios)
    rows.append(
        common.row(
            f"greedy / optimum, {len(ratios)} instances (worst, median, mean)",
            f">= {1 - 1 / math.e:.3f}",
            f"{worst:.4f}, {statistics.median(ratios):.4f}, {statistics.fmean(ratios):.4f}",
            worst >= 1 - 1 / math.e,
        )
    )
    common.save(args.data_dir, "planner", rows, raw)
    return 0


if __name__ == "__main__":
    sys.exit(main())
