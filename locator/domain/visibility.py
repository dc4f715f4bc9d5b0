"""What the public may see of a point, and who may make a point more public (issue 20).

One function, ``public_view``, turns a stored Point into what every public output carries, or
None when the public must not see it at all. The public nearest index and the map's data are
built from these views (locator/__init__.py), so nearest distances, the compact table, the
widget, /list, point pages, exports and ETags cannot carry what a view left out.

Approximate points are published at the centre of a coarse grid cell (GRID_DEG degrees, about
11 x 7 km in Ukraine) with their settlement and region, never their own coordinates, address,
phone, note, hours text, stops or name (a name often says the building: "School No. 5"); the
name becomes the settlement's. Hidden points are not published at all.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from locator.domain.point import Point
from locator.domain.values import PRIVACY_RANK, Visibility

GRID_DEG = 0.1  # the approximate grid's cell, in degrees of latitude and longitude


def grid_centre(lat: float, lon: float) -> tuple[float, float]:
    """The centre of the GRID_DEG cell holding a position: all a citizen learns of it."""
    return (
        round((math.floor(lat / GRID_DEG) + 0.5) * GRID_DEG, 2),
        round((math.floor(lon / GRID_DEG) + 0.5) * GRID_DEG, 2),
    )


def public_view(point: Point) -> Point | None:
    """The point as the public may see it: itself, its approximate form, or None (hidden)."""
    if point.visibility is Visibility.PUBLIC:
        return point
    if point.visibility is Visibility.HIDDEN:
        return None
    lat, lon = grid_centre(*_where(point))
    return point.with_changes(
        name=point.settlement or point.region,
        lat=lat,
        lon=lon,
        address="",
        phone="",
        note="",
        hours="",
        stops=(),
        moved_at=None,
    )


def _where(point: Point) -> tuple[float, float]:
    return point.lat, point.lon


def public_views(points: Iterable[Point]) -> list[Point]:
    """The public views of the points that have one."""
    return [view for point in points if (view := public_view(point)) is not None]


def region_default(region: str, approximate_regions: Iterable[str]) -> Visibility:
    """The least private a point in this region may be unless an admin says otherwise
    (LOCATOR_APPROXIMATE_REGIONS)."""
    return Visibility.APPROXIMATE if region and region in set(approximate_regions) else Visibility.PUBLIC


def more_public(before: Visibility, after: Visibility) -> bool:
    """Whether the change makes the point more public (only an admin may)."""
    return PRIVACY_RANK[after] < PRIVACY_RANK[before]
