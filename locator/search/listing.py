"""The console's "my points": a text search on a point's id, name, address and settlement that
forgives case, marks, apostrophes and script (Ukrainian or its Latin transliteration), and the
order nearest to where the operator stands, by the one haversine (search/distance.py)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from locator.domain.point import Point
from locator.search.distance import haversine_each_m
from locator.search.transliteration import key

KEY_CACHE = 65_536  # about four times today's national network: every point's keys stay cached


@lru_cache(maxsize=KEY_CACHE)
def _keys(point_id: str, name: str, address: str, settlement: str) -> tuple[str, ...]:
    return tuple(key(text) for text in (point_id, name, address, settlement))


def search_key(query: str) -> str:
    """The query as it is compared: transliteration.key ("Хрещатик", "khreshchatyk" alike)."""
    return key(query)


def matches_text(point: Point, wanted: str) -> bool:
    """True when the query's key (search_key) is part of the key of the point's id, name,
    address or settlement; an empty key matches every point. Each field is matched on its own,
    so a query never matches across the end of one field and the start of the next."""
    if not wanted:
        return True
    return any(wanted in text for text in _keys(point.id, point.name, point.address, point.settlement))


def nearest_first(
    points: Sequence[Point], positions: Sequence[Point], lat: float, lon: float
) -> list[tuple[float, Point]]:
    """(metres, point) from (lat, lon) to each point's position (positions[i] is where points[i]
    stands now: Point.at), nearest first, ties by id."""
    distances = haversine_each_m(lat, lon, positions)
    return sorted(zip(distances, points, strict=True), key=lambda pair: (pair[0], pair[1].id))
