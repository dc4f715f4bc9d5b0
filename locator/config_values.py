"""What each setting accepts: one validator per kind of value (config.py's SETTINGS use them).

Each takes the variable's text and returns the value, or raises ValueError (config.load names
the variable and what it accepts)."""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlsplit


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or not math.isfinite(value):
        raise ValueError
    timedelta(hours=value)  # OverflowError past timedelta's range (~2.7 million years)
    return value


def whole(low: int, high: int | None = None) -> Callable[[str], int]:
    """A validator of a whole number from low to high (no upper bound: None)."""

    def check(text: str) -> int:
        value = int(text)
        if value < low or (high is not None and value > high):
            raise ValueError
        return value

    return check


def flag(text: str) -> bool:
    return one_of("0", "1")(text) == "1"


def http_url(*holding: str, site: bool = False) -> Callable[[str], str]:
    """A validator of an absolute http(s) URL holding these parts (the tiles' {z}, {x}, {y}); site:
    the site's own address or empty, without credentials, query, fragment or trailing slash."""

    def check(text: str) -> str:
        parts = urlsplit(text)
        if (text or not site) and (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.port == 0  # (a port that is no number raises ValueError)
            or "".join(text.split()) != text  # no spaces or line breaks
            or not all(part in text for part in holding)
            or (site and ("@" in parts.netloc or "?" in text or "#" in text))
        ):
            raise ValueError
        return text.rstrip("/") if site else text

    return check


def center(text: str) -> tuple[float, float]:
    lat, lon = (float(part) for part in text.split(","))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError
    return lat, lon


def frame_ancestors(text: str) -> str:
    sources = text.split()
    if not sources or any(
        not re.fullmatch(r"\*|'none'|'self'|https?://[A-Za-z0-9.*:-]+", s) for s in sources
    ):
        raise ValueError
    return " ".join(sources)


def addresses(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma-separated addresses or networks (127.0.0.1, 10.0.0.0/8, ::1); empty: none."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())


def bounds(text: str) -> tuple[float, float, float, float]:
    min_lon, min_lat, max_lon, max_lat = (float(part) for part in text.split(","))
    if not (-180 <= min_lon < max_lon <= 180 and -90 <= min_lat < max_lat <= 90):
        raise ValueError
    return min_lon, min_lat, max_lon, max_lat


def one_of(*choices: str) -> Callable[[str], str]:
    """A validator that takes exactly one of these words."""

    def check(text: str) -> str:
        if text not in choices:
            raise ValueError
        return text

    return check


def region_names(text: str) -> tuple[str, ...]:
    """Comma-separated region names, as written (create_app reads each as its public name)."""
    return tuple(filter(None, (part.strip() for part in text.split(","))))


def postgres_url_or_empty(text: str) -> str:
    if text and not text.startswith(("postgresql://", "postgres://")):
        raise ValueError
    return text


def directory_or_empty(text: str) -> str:
    if text and not os.path.isdir(text):
        raise ValueError
    return text
