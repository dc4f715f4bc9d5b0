"""Nearest lookups in process at 100,000 points: speed, exactness and how fast a write shows.

- median and p95 of NearestIndex.nearest (k=5) with no filter, the default status=open and a
  rare filter (the best of ROUNDS rounds interleaved across the filters, each round's median
  reported), against a vectorised numpy brute-force haversine over every point;
- exactness on 1,000 random queries per filter against a brute-force oracle (same ids in the
  same order, distances within 1e-6 m): PASS or FAIL;
- a status change through Store.update, then the next lookup: does it see the change, how long
  do the write, the sync and the lookup take, and is the tree left as it was (no rebuild);
- the index's own costs: cold build from SQLite, a subset tree, a rebuild, and lookups while
  many changes wait for the next rebuild.

Example: .venv/bin/python scripts/bench/nearest_bench.py --data-dir /tmp/locator-bench
"""

from __future__ import annotations

import gc
import math
import random
import sys
import tempfile
import time
from pathlib import Path

import common
import numpy as np

from locator.domain.filters import PointFilter
from locator.domain.point import Status
from locator.search.distance import EARTH_RADIUS_M
from locator.search.index import NearestIndex
from locator.search.nearest import Snapshot
from locator.store import Store

K = 5
ROUNDS = 3  # interleaved rounds of lookups per filter (the best round is reported)
MEDIAN_TARGET_US = {"no filter": 50.0, "rare filter": 500.0}  # issue 5
SHORTLIST_MARGIN_M = 50.0  # the oracle's numpy pass keeps everything this close to the k-th
DISTANCE_TOLERANCE_M = 1e-6
RARE_SERVICES = frozenset({"pets", "sleeping", "wheelchair"})
PENDING = (0, 300, 1000, 5000)  # changes waiting for the next rebuild (rebuild above 5 % = 5,000)


def filters() -> dict[str, PointFilter]:
    return {
        "no filter": PointFilter(),
        "status=open": PointFilter(statuses=frozenset({Status.OPEN})),
        "rare filter": PointFilter(statuses=frozenset({Status.OPEN}), services=RARE_SERVICES),
    }


def haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The textbook haversine on the app's sphere: the oracle's final word."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((phi2 - phi1) / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


class BruteForce:
    """Every point, every query: numpy haversine over all 100,000 rows."""

    def __init__(self, points):
        self.points = points
        self.ids = np.array([p.id for p in points])
        self.phi = np.radians([p.lat for p in points])
        self.lmb = np.radians([p.lon for p in points])
        self.cos_phi = np.cos(self.phi)

    def mask(self, wanted: PointFilter) -> np.ndarray:
        return np.array([wanted.matches(p) for p in self.points], bool)

    def distances(self, lat: float, lon: float) -> np.ndarray:
        phi, lmb = math.radians(lat), math.radians(lon)
        a = (
            np.sin((self.phi - phi) / 2) ** 2
            + math.cos(phi) * self.cos_phi * np.sin((self.lmb - lmb) / 2) ** 2
        )
        return 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a)))

    def nearest(self, lat: float, lon: float, k: int, mask: np.ndarray) -> list[tuple[float, str]]:
        """The timed brute force: distances to all, filter, k smallest, sorted (distance, id)."""
        d = np.where(mask, self.distances(lat, lon), np.inf)
        rows = np.argpartition(d, k)[:k]
        return sorted(zip(d[rows].tolist(), self.ids[rows].tolist(), strict=True))

    def exact(self, lat: float, lon: float, k: int, mask: np.ndarray) -> list[tuple[float, str]]:
        """The oracle: numpy shortlists generously, scalar haversine decides, ties by id."""
        d = np.where(mask, self.distances(lat, lon), np.inf)
        kth = np.partition(d, k - 1)[k - 1]
        rows = np.flatnonzero(d <= kth + SHORTLIST_MARGIN_M)
        points = self.points
        exact = sorted(
            (haversine(lat, lon, points[i].lat, points[i].lon), points[i].id) for i in rows.tolist()
        )
        return exact[:k]


def timed_us(call, *args, **kwargs) -> tuple[float, object]:
    begin = time.perf_counter_ns()
    result = call(*args, **kwargs)
    return (time.perf_counter_ns() - begin) / 1000, result


def main() -> int:
    args = common.arguments(__doc__.split("\n\n")[0])
    lookups = 500 if args.quick else 3000
    brute_lookups = 100 if args.quick else 400
    checks = 200 if args.quick else 1000
    sync_rounds = 20 if args.quick else 50
    seed = common.seed_db(args.data_dir, common.BIG)
    rows, raw = [], {"k": K, "lookups_per_filter": lookups, "brute_force_lookups": brute_lookups}
    with tempfile.TemporaryDirectory(dir=args.data_dir) as work:
        db = common.copy_db(seed, Path(work))
        store = Store(db)
        store.migrate()  # a seed cached by an older release
        index = NearestIndex(store)
        cold_s, snapshot = timed_us(index.sync)
        cold_s /= 1e6
        # As served: scripts/gunicorn.conf.py freezes what the master loaded (gc.freeze), so
        # full collections no longer walk the 100,000 points in the middle of lookups (without
        # it a lookup's median was 60-80 µs against 34 µs, side by side).
        gc.collect()
        gc.freeze()
        points = snapshot.points
        raw.update(points=len(points), cold_build_s=round(cold_s, 2))
        common.log(f"index of {len(points)} points built from SQLite in {cold_s:.2f} s")
        brute = BruteForce(points)
        queries = common.query_coords(db, max(lookups, checks), seed=11).tolist()

        speed = {}
        first: dict[str, float] = {}
        for name, wanted in filters().items():
            first[name], _ = timed_us(index.nearest, *queries[0], K, wanted)  # builds the subset tree
        # Rounds interleaved across the filters: this machine has slow spells (the CPU check has
        # doubled within a run), and a spell would otherwise fall on one filter's whole sample.
        # Each round's median is kept; the row gives the best round, the raw figures all of them.
        per_round = lookups // ROUNDS
        rounds: dict[str, list[list[float]]] = {name: [] for name in filters()}
        for round_no in range(ROUNDS):
            sample = queries[round_no * per_round : (round_no + 1) * per_round]
            for name, wanted in filters().items():
                rounds[name].append([timed_us(index.nearest, lat, lon, K, wanted)[0] for lat, lon in sample])
        for name, wanted in filters().items():
            mask = brute.mask(wanted)
            times = min(rounds[name], key=common.median)
            bare = [timed_us(snapshot.nearest, lat, lon, K, wanted)[0] for lat, lon in queries[:lookups]]
            brute_times = [
                timed_us(brute.nearest, lat, lon, K, mask)[0] for lat, lon in queries[:brute_lookups]
            ]
            speed[name] = {
                "matching_points": int(mask.sum()),
                "first_lookup_us": round(first[name], 1),
                "median_us": round(common.median(times), 1),
                "round_medians_us": [round(common.median(r), 1) for r in rounds[name]],
                "p95_us": round(common.percentile(times, 95), 1),
                "lookup_without_sync_median_us": round(common.median(bare), 1),
                "brute_median_us": round(common.median(brute_times), 1),
                "brute_p95_us": round(common.percentile(brute_times, 95), 1),
            }
            speed[name]["speedup"] = round(speed[name]["brute_median_us"] / speed[name]["median_us"], 1)
            common.log(f"{name}: {speed[name]}")
        raw["speed"] = speed

        exact = {"checked": 0, "failed": 0, "first_failures": []}
        rng = random.Random(5)
        for name, wanted in filters().items():
            mask = brute.mask(wanted)
            for lat, lon in rng.sample(queries, checks):
                got = [(hit.point.id, hit.distance_m) for hit in index.nearest(lat, lon, K, wanted)]
                expected = brute.exact(lat, lon, K, mask)
                same = [i for i, _ in got] == [i for _, i in expected] and all(
                    abs(d - true_d) <= DISTANCE_TOLERANCE_M
                    for (_, d), (true_d, _) in zip(got, expected, strict=True)
                )
                exact["checked"] += 1
                if not same:
                    exact["failed"] += 1
                    if len(exact["first_failures"]) < 5:
                        exact["first_failures"].append({"filter": name, "at": [lat, lon], "got": got})
        raw["exactness"] = exact
        common.log(f"exactness: {exact['checked'] - exact['failed']}/{exact['checked']} queries agree")

        raw["scheduled"] = scheduled_costs(points, queries[:lookups], checks=100 if args.quick else 300)
        raw["sync"] = sync_after_writes(store, index, queries, sync_rounds)
        raw["index_costs"] = index_costs(index, queries[:lookups])

    for name in filters():
        s = speed[name]
        target = MEDIAN_TARGET_US.get(name)
        rows.append(
            common.row(
                f"nearest k=5, {name} ({s['matching_points']:,} match): median",
                f"< {target:.0f} µs" if target else "",
                f"{s['median_us']:.0f} µs (p95 {s['p95_us']:.0f})",
                s["median_us"] < target if target else None,
                "best of rounds " + ", ".join(f"{m:.0f}" for m in s["round_medians_us"]) + " µs",
            )
        )
        rows.append(
            common.row(
                f"  vs numpy brute force ({name})",
                "",
                f"{s['speedup']:.0f}x faster ({s['brute_median_us'] / 1000:.1f} ms)",
                None,
            )
        )
    rows.append(
        common.row(
            f"exactness vs brute force ({exact['checked']:,} queries)",
            "all agree",
            "PASS" if exact["failed"] == 0 else f"FAIL ({exact['failed']} differ)",
            exact["failed"] == 0,
        )
    )
    sched = raw["scheduled"]
    rows.append(
        common.row(
            f"nearest k=5, {sched['scheduled']:,} mobile points on a schedule: median",
            "",
            f"{sched['median_us']:.0f} µs (p95 {sched['p95_us']:.0f})",
            sched["failed"] == 0,
            f"exact on {sched['checked']} queries: {sched['checked'] - sched['failed']} agree",
        )
    )
    sync = raw["sync"]
    rows.append(
        common.row(
            "status change seen by next lookup, no rebuild",
            "yes",
            f"{sync['seen']}/{sync['rounds']}, sync {sync['sync_median_us']:.0f} µs",
            sync["seen"] == sync["rounds"] and not sync["rebuilt"],
            f"write {sync['write_median_ms']:.1f} ms, lookup after {sync['lookup_median_us']:.0f} µs",
        )
    )
    costs = raw["index_costs"]
    worst = costs["pending"][-1]
    rows.append(
        common.row(
            f"lookup with {worst['changes']:,} pending changes (open): median",
            "",
            f"{worst['median_us']:.0f} µs (x{worst['median_us'] / costs['pending'][0]['median_us']:.0f})",
            None,
        )
    )
    rows.append(
        common.row(
            "index: cold build from SQLite / in-request rebuild",
            "",
            f"{raw['cold_build_s']:.1f} s / {costs['rebuild_s']:.1f} s",
            None,
        )
    )
    common.save(args.data_dir, "nearest", rows, raw)
    return 0


SCHEDULED = 2000  # mobile points given a schedule of stops for the scheduled-points case


def scheduled_costs(points: list, queries: list, checks: int) -> dict:
    """Lookups when SCHEDULED mobile points stand at scheduled stops (a stop under way, 0-5 km
    from their base, and stops before and after): they are placed by the clock, so they live
    beside the tree, not in it. Exactness against brute force over where every point is now."""
    from datetime import timedelta

    from locator.domain.point import Kind, Stop, utcnow

    rng = random.Random(7)
    now = utcnow()
    mobile = [i for i, p in enumerate(points) if p.kind is Kind.MOBILE][:SCHEDULED]
    placed = list(points)
    for i in mobile:
        p = points[i]
        stops = tuple(
            Stop(
                f"stop {h}",
                p.lat + rng.uniform(-0.03, 0.03),
                p.lon + rng.uniform(-0.03, 0.03),
                now + timedelta(hours=h - 2),
                now + timedelta(hours=h),
            )
            for h in (-2, 1, 4)
        )
        placed[i] = p.with_changes(stops=stops, moved_at=now - timedelta(days=1))
    snapshot = Snapshot(1, placed)
    wanted = PointFilter()
    snapshot.nearest(*queries[0], K, wanted, now)  # builds the scheduled points' own tree
    times = [timed_us(snapshot.nearest, lat, lon, K, wanted, now)[0] for lat, lon in queries]
    brute = BruteForce([p.at(now) for p in placed])
    every = np.ones(len(placed), bool)
    failed = 0
    for lat, lon in random.Random(9).sample(queries, min(checks, len(queries))):
        got = [(hit.point.id, hit.distance_m) for hit in snapshot.nearest(lat, lon, K, wanted, now)]
        expected = brute.exact(lat, lon, K, every)
        same = [i for i, _ in got] == [i for _, i in expected] and all(
            abs(d - true_d) <= DISTANCE_TOLERANCE_M for (_, d), (true_d, _) in zip(got, expected, strict=True)
        )
        failed += not same
    result = {
        "scheduled": len(mobile),
        "median_us": round(common.median(times), 1),
        "p95_us": round(common.percentile(times, 95), 1),
        "checked": min(checks, len(queries)),
        "failed": failed,
    }
    common.log(f"scheduled mobile points: {result}")
    return result


def sync_after_writes(store: Store, index: NearestIndex, queries: list, rounds: int) -> dict:
    """Close the nearest open point to a query through the store; the next lookup must skip it."""
    wanted = PointFilter(statuses=frozenset({Status.OPEN}))
    base = index.sync().base
    writes, syncs, lookups, seen = [], [], [], 0
    for lat, lon in queries[:rounds]:
        victim = index.nearest(lat, lon, K, wanted)[0].point
        write_us, _ = timed_us(store.update, victim.id, {"status": "closed"}, by="bench")
        sync_us, _ = timed_us(index.sync)
        lookup_us, hits = timed_us(index.nearest, lat, lon, K, wanted)
        seen += victim.id not in {hit.point.id for hit in hits}
        writes.append(write_us / 1000)
        syncs.append(sync_us)
        lookups.append(lookup_us)
    return {
        "rounds": rounds,
        "seen": seen,
        "rebuilt": index.sync().base is not base,
        "write_median_ms": round(common.median(writes), 2),
        "write_p95_ms": round(common.percentile(writes, 95), 2),
        "sync_median_us": round(common.median(syncs), 1),
        "sync_p95_us": round(common.percentile(syncs, 95), 1),
        "lookup_median_us": round(common.median(lookups), 1),
    }


def index_costs(index: NearestIndex, queries: list) -> dict:
    """What the index pays outside the plain lookup: subset trees, rebuilds, pending changes."""
    snapshot = index.sync()
    points = snapshot.current_points()
    rebuild_us, fresh = timed_us(Snapshot, snapshot.seq, points)
    rare = PointFilter(statuses=frozenset({Status.OPEN}), services=RARE_SERVICES)
    subset_us, _ = timed_us(fresh.base.subset, rare)
    open_filter = PointFilter(statuses=frozenset({Status.OPEN}))
    fresh.base.subset(open_filter)
    rng = random.Random(3)
    pending = []
    for count in PENDING:
        changed = [p.with_changes(status=Status.CLOSED) for p in rng.sample(points, count)]
        view = fresh.with_changes(fresh.seq, changed, [])
        times = [timed_us(view.nearest, lat, lon, K, open_filter)[0] for lat, lon in queries]
        pending.append({"changes": count, "median_us": round(common.median(times), 1)})
        common.log(f"{count} pending changes: median lookup {pending[-1]['median_us']} µs")
    return {
        "rebuild_s": round(rebuild_us / 1e6, 2),
        "rare_subset_tree_ms": round(subset_us / 1000, 1),
        "pending": pending,
    }


if __name__ == "__main__":
    sys.exit(main())
