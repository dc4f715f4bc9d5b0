"""The links that take a citizen to a point: directions in a maps app, and a call.

One definition for every page (point page, /list) through Jinja globals; static/js/directions.js
builds the same links for the map's results and popups, pinned equal by
tests/test_phone_browser.py.

Coordinates are written with six decimals (about 0.1 m), rounded as JavaScript's toFixed rounds
(half away from zero, on the float's exact value), so both sides print the same digits.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

DECIMALS = Decimal("0.000001")  # six decimals: ~0.1 m
NOT_DIALLED = re.compile(r"[^+0-9]")  # what a tel: link keeps of a phone number as typed


def coordinate(value: float) -> str:
    """A coordinate with six decimals, as JavaScript's value.toFixed(6) writes it."""
    text = str(Decimal(value).quantize(DECIMALS, rounding=ROUND_HALF_UP))
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text  # no "-0.000000"


def route_links(lat: float, lon: float) -> dict[str, str]:
    """Directions to (lat, lon): geo: (any maps app on Android), OpenStreetMap and Google Maps."""
    at = f"{coordinate(lat)},{coordinate(lon)}"
    return {
        "geo": f"geo:{at}?q={at}",
        "osm": f"https://www.openstreetmap.org/directions?route=%3B{coordinate(lat)}%2C{coordinate(lon)}",
        "google": f"https://www.google.com/maps/dir/?api=1&destination={at}",
    }


def tel_href(phone: str | None) -> str | None:
    """A tel: link for a phone number as typed (spaces, dashes, brackets dropped); None without digits."""
    dialled = NOT_DIALLED.sub("", phone or "")
    return "tel:" + dialled if any(c.isdigit() for c in dialled) else None
