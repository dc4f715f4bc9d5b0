"""Values made once per Point object (points are frozen: a change makes a new one)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from locator.domain.point import Point


class PerPoint:
    """Values made once per Point object, up to ``limit`` of them (past that it starts over).
    Points are frozen and a change makes a new one, so a value stays true for its object: kept
    by id(), with the point itself alongside so the id cannot be reused while the entry lives."""

    def __init__(self, limit: int):
        self.limit = limit
        self._kept: dict[int, tuple[Point, Any]] = {}

    def get(self, point: Point, make: Callable[[Point], Any]) -> Any:
        kept = self._kept.get(id(point))
        if kept is not None and kept[0] is point:
            return kept[1]
        value = make(point)
        if len(self._kept) >= self.limit:
            self._kept.clear()
        self._kept[id(point)] = (point, value)
        return value
