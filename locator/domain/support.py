"""Support points (опорні пункти, issue 20): how many beds the rules ask of one, by the
population of its settlement. The console warns, and never refuses, when a point falls short.

Rules of January 2026: 30-100 thousand residents: up to 100 places; 100-500 thousand: 100-300;
over 500 thousand: at least 300. Below 30 thousand they say nothing.
"""

from __future__ import annotations

# (population from, population below, least beds, most beds or None)
BED_RULES = (
    (30_000, 100_000, 0, 100),
    (100_000, 500_000, 100, 300),
    (500_000, None, 300, None),
)


def beds_asked(population: int) -> tuple[int, int | None] | None:
    """The (least, most) beds the rules ask of a support point in a settlement this big."""
    for low, high, least, most in BED_RULES:
        if population >= low and (high is None or population < high):
            return least, most
    return None


def beds_short_of(beds: int | None, population: int) -> int | None:
    """The least beds the rules ask when this point has fewer; None when it has enough (or
    the rules say nothing of its settlement)."""
    asked = beds_asked(population)
    if asked is None or asked[0] == 0:
        return None
    return asked[0] if (beds or 0) < asked[0] else None
