"""The points' own settlements, for the place search."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from locator.domain.filters import fold
from locator.domain.point import Point


@dataclass(frozen=True)
class Place:
    name: str
    region: str
    lat: float
    lon: float
    points: int


def settlements(points: Iterable[Point]) -> list[Place]:
    """The points' own settlements, each placed at the mean position of its points."""
    groups: dict[tuple[str, str], list[float]] = {}
    for point in points:
        if point.settlement:
            total = groups.setdefault((point.settlement, point.region), [0.0, 0.0, 0])
            total[0] += point.lat
            total[1] += point.lon
            total[2] += 1
    return [Place(name, region, lat / n, lon / n, n) for (name, region), (lat, lon, n) in groups.items()]


def find_places(places: Iterable[Place], query: str, limit: int = 10) -> list[Place]:
    """Settlements whose name contains the query (case and apostrophes ignored), best first:
    exact names before prefixes, prefixes before substrings, then by number of points."""
    needle = fold(query.strip())
    if not needle:
        return []
    found = [place for place in places if needle in fold(place.name)]

    def rank(place: Place) -> tuple:
        folded = fold(place.name)
        return (folded != needle, not folded.startswith(needle), -place.points, place.name)

    return sorted(found, key=rank)[:limit]
