"""The k best answers to "near me" by distance weighed by trust (domain/trust.py), exactly.

A ranked distance is never below the real one, so once the k-th best ranked distance among the
points fetched so far is below the real distance of the farthest one fetched, no point farther
out can enter the best k: the lookup asks the exact nearest index for more points (doubling)
until that holds (strictly, so ties at the edge are never cut). tests/test_ranking.py checks
the answer against ranking every point by brute force."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from locator.domain.filters import PointFilter
from locator.domain.point import Point
from locator.domain.trust import Trust, ranked_distance, trust_of
from locator.search.nearest import Snapshot


class RankedHit(NamedTuple):
    point: Point
    distance_m: float
    trust: Trust


def ranked_nearest(
    snapshot: Snapshot,
    lat: float,
    lon: float,
    k: int,
    wanted: PointFilter,
    now: datetime,
    stale_after: timedelta,
) -> list[RankedHit]:
    """The k matches with the smallest ranked distance (ties: nearer, then by id)."""
    fetch = k
    while True:
        hits = snapshot.nearest(lat, lon, fetch, wanted, now)
        ranked = sorted(
            (ranked_distance(hit.distance_m, trust), hit.distance_m, hit.point.id, hit.point, trust)
            for hit in hits
            for trust in (trust_of(hit.point, now, stale_after),)
        )[:k]
        exhausted = len(hits) < fetch
        if exhausted or ranked[-1][0] < hits[-1].distance_m:
            return [RankedHit(point, distance, trust) for _, distance, _, point, trust in ranked]
        fetch *= 2
