"""The k best answers to "near me" by distance weighed by trust (domain/trust.py), exactly.

A ranked distance is never below the real one, so once the k-th best ranked distance among the
points fetched so far is below the smallest ranked distance any point farther out could have, no
such point can enter the best k: the lookup asks the exact nearest index for more points (four
times as many each round) until that holds (strictly, so ties at the edge are never cut). That
smallest ranked distance is the farthest fetched distance weighed by the most trusted kind of point
the snapshot holds at all: when no point is fresh (an import nobody has confirmed yet), a city's
dense answer needs no wide search to prove that no fresh point lies farther out.
tests/test_ranking.py checks the answer against ranking every point by brute force."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import NamedTuple
from weakref import WeakKeyDictionary

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
    best = most_trusted(snapshot, now, stale_after)
    fetch = 2 * k  # one more than k already proves a uniform answer (all fresh, or none)
    while True:
        hits = snapshot.nearest(lat, lon, fetch, wanted, now)
        ranked = sorted(
            (ranked_distance(hit.distance_m, trust), hit.distance_m, hit.point.id, hit.point, trust)
            for hit in hits
            for trust in (trust_of(hit.point, now, stale_after),)
        )[:k]
        exhausted = len(hits) < fetch
        if exhausted or ranked[-1][0] < ranked_distance(hits[-1].distance_m, best):
            return [RankedHit(point, distance, trust) for _, distance, _, point, trust in ranked]
        fetch *= 4


class _Extremes(NamedTuple):
    latest_verified: datetime | None  # the most recent confirmation of any point
    any_unreported: bool  # a point citizens have not reported closed


_OF_BASE: WeakKeyDictionary = WeakKeyDictionary()  # base arrays -> _Extremes (built once per base)
_OF_SNAPSHOT: WeakKeyDictionary = WeakKeyDictionary()  # snapshot -> _Extremes (per write)


def _extremes(points: Iterable[Point]) -> _Extremes:
    latest, unreported = None, False
    for point in points:
        if point.verified_at is not None and (latest is None or point.verified_at > latest):
            latest = point.verified_at
        unreported = unreported or not point.unconfirmed
    return _Extremes(latest, unreported)


def most_trusted(snapshot: Snapshot, now: datetime, stale_after: timedelta) -> Trust:
    """The most trusted kind of point the snapshot may hold now (a lower bound on every ranked
    distance; points replaced since the base was built still count, which only weakens it)."""
    found = _OF_SNAPSHOT.get(snapshot)
    if found is None:
        base = _OF_BASE.get(snapshot.base)
        if base is None:
            base = _OF_BASE[snapshot.base] = _extremes(snapshot.base.points)
        changes = _extremes(snapshot.changes.values())
        latest = max(
            (t for t in (base.latest_verified, changes.latest_verified) if t is not None), default=None
        )
        found = _OF_SNAPSHOT[snapshot] = _Extremes(latest, base.any_unreported or changes.any_unreported)
    if found.latest_verified is not None and now - found.latest_verified <= stale_after:
        return Trust.FRESH
    return Trust.STALE if found.any_unreported else Trust.REPORTED_CLOSED
