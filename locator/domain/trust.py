"""How far a point's status can be trusted, and how that orders "near me" (issue 17).

A citizen walks in the cold to the first answer. A status 17 days old that comes first because it
is nearest sends people to points that may have closed. So every answer is ranked by a distance
weighed by trust: a confirmed, fresh point counts at its distance; a less trusted one counts as if
it were farther away:

    ranked distance = FACTOR × distance + EXTRA_M

    fresh             confirmed by an operator within LOCATOR_STALE_HOURS     1 × d
    stale             confirmed, but longer ago                               2 × d + 1 km
    never confirmed   no operator has ever confirmed it (an import is not)    2 × d + 1 km
    reported closed   citizens' reports outweigh its open status              3 × d + 2 km

A stale point 300 m away therefore comes before a fresh one only when the fresh one is more than
1.6 km away: walking 300 m to check a doubtful point is worth it when the sure one is a long walk
further, not when it is round the corner. Doubling keeps the rule fair across scales (a village
where the nearest point is 8 km off, a city where it is 400 m), and the fixed extra makes a close
doubtful point give way to a sure one a few minutes' walk further.

Every factor is at least 1 and every extra at least 0, so a ranked distance is never below the
real one: search/ranking.py relies on that to find the exact best k without ranking every point.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from locator.domain.point import STALE_AFTER, Point


class Trust(StrEnum):
    """Why a point stands where it does in an answer: the mark each result carries."""

    FRESH = "fresh"
    STALE = "stale"
    NEVER_CONFIRMED = "never_confirmed"
    REPORTED_CLOSED = "reported_closed"


# (factor, extra metres) per trust; the module's docstring explains the numbers.
WEIGHT: dict[Trust, tuple[float, float]] = {
    Trust.FRESH: (1.0, 0.0),
    Trust.STALE: (2.0, 1000.0),
    Trust.NEVER_CONFIRMED: (2.0, 1000.0),
    Trust.REPORTED_CLOSED: (3.0, 2000.0),
}


def trust_of(point: Point, now: datetime, stale_after: timedelta = STALE_AFTER) -> Trust:
    """The weakest thing true of the point's status: reports, then never confirmed, then age."""
    if point.unconfirmed:
        return Trust.REPORTED_CLOSED
    if point.verified_at is None:
        return Trust.NEVER_CONFIRMED
    if point.is_stale(now, stale_after):
        return Trust.STALE
    return Trust.FRESH


def ranked_distance(distance_m: float, trust: Trust) -> float:
    """The distance a point counts as in the order of an answer (never below the real one)."""
    factor, extra_m = WEIGHT[trust]
    return factor * distance_m + extra_m
