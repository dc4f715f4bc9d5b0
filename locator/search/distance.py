"""The one haversine, bearings and compass points: every distance on the sphere."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG), the sphere all distances use
EARTH_DIAMETER_M = 2 * EARTH_RADIUS_M
COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres on a sphere of radius EARTH_RADIUS_M."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return EARTH_DIAMETER_M * math.asin(min(1.0, math.sqrt(a)))


class HasPosition(Protocol):
    lat: float
    lon: float


def haversine_each_m(lat: float, lon: float, places: Sequence[HasPosition]) -> list[float]:
    """haversine_m from one origin to each place, in order: the same operations in the same
    order, so the same bits (tests/test_nearest.py holds it to that), without a call per place
    (the nearest lookup's final ranking)."""
    phi1 = math.radians(lat)
    cos_phi1 = math.cos(phi1)
    radians, sin, cos, sqrt, asin = math.radians, math.sin, math.cos, math.sqrt, math.asin
    distances = []
    for place in places:
        phi2 = radians(place.lat)
        a = sin((phi2 - phi1) / 2) ** 2 + cos_phi1 * cos(phi2) * sin(radians(place.lon - lon) / 2) ** 2
        distances.append(EARTH_DIAMETER_M * asin(min(1.0, sqrt(a))))
    return distances


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial bearing from the first point to the second, degrees clockwise from north."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dlmb = math.radians(lon2 - lon1)
    x = math.sin(dlmb) * math.cos(phi2)
    y = math.cos(phi1) * math.sin(phi2) - math.sin(phi1) * math.cos(phi2) * math.cos(dlmb)
    return (math.degrees(math.atan2(x, y)) + 360) % 360


def compass(degrees: float) -> str:
    """One of eight compass points (N, NE, ...) for a bearing."""
    return COMPASS[round(degrees / 45) % 8]


def unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Points on the unit sphere: the straight-line (chord) distance between two grows with
    their great-circle distance, so a KD-tree over these ranks points as haversine_m does."""
    phi, lmb = np.radians(lat), np.radians(lon)
    cos_phi = np.cos(phi)
    return np.column_stack((cos_phi * np.cos(lmb), cos_phi * np.sin(lmb), np.sin(phi)))
