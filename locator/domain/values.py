"""The values a Point is made of: kinds, categories, statuses, services, stops and times.

They come before the Point's field declaration (domain/fields.py), which is written in them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    FIXED = "fixed"
    MOBILE = "mobile"


class Category(StrEnum):
    """The official map's three kinds (issue 20). The first two keep their old values: "state"
    is a state point (SES, local authorities), "business" a responsible business (free charging
    and more); "working_business" a shop, pharmacy, fuel station, bank or café that keeps working."""

    STATE = "state"
    BUSINESS = "business"
    WORKING_BUSINESS = "working_business"


class BusinessType(StrEnum):
    """What kind of business a point is ("" for a state point)."""

    NONE = ""
    FUEL_STATION = "fuel_station"
    PHARMACY = "pharmacy"
    SUPERMARKET = "supermarket"
    BANK = "bank"
    CAFE = "cafe"
    OTHER = "other"


class Visibility(StrEnum):
    """Who may see a point (issue 20): everyone; everyone, but only as its settlement; operators."""

    PUBLIC = "public"
    APPROXIMATE = "approximate"
    HIDDEN = "hidden"


# More private means a larger rank: an operator may raise it, only an admin may lower it.
PRIVACY_RANK = {Visibility.PUBLIC: 0, Visibility.APPROXIMATE: 1, Visibility.HIDDEN: 2}


class Status(StrEnum):
    OPEN = "open"
    FULL = "full"
    STANDBY = "standby"
    CLOSED = "closed"
    # Never set by an operator: shown instead of "open"/"full" once enough citizens report the
    # point closed, until an operator acts (see Point.public_status).
    UNCONFIRMED = "unconfirmed"


OPERATOR_STATUSES: tuple[Status, ...] = (Status.OPEN, Status.FULL, Status.STANDBY, Status.CLOSED)
MAX_STOPS = 50
MAX_STOP_LENGTH = timedelta(days=7)


# The order is part of the API: a point's services travel as a bit mask in the compact map
# format (bit i = SERVICES[i]). Append new services at the end only.
SERVICES: tuple[str, ...] = (
    "power",
    "heat",
    "internet",
    "mobile_signal",
    "water",
    "hot_drinks",
    "food",
    "first_aid",
    "toilet",
    "child_room",
    "pets",
    "wheelchair",
    "sleeping",
)
SERVICE_BIT = {name: 1 << i for i, name in enumerate(SERVICES)}


@dataclass(frozen=True)
class Stop:
    """One planned stop of a mobile point: where it stands from one moment to another."""

    place: str
    lat: float
    lon: float
    starts_at: datetime
    ends_at: datetime

    def to_record(self) -> dict[str, Any]:
        return {
            "place": self.place,
            "lat": self.lat,
            "lon": self.lon,
            "starts_at": format_time(self.starts_at),
            "ends_at": format_time(self.ends_at),
        }


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def format_time(moment: datetime) -> str:
    """ISO 8601 in UTC to the second ("2026-11-23T15:04:05Z"). isoformat, not strftime: the
    API formats several times per point and answer, and isoformat is several times faster."""
    if moment.tzinfo is UTC:  # how every stored time is held: one call, "+00:00" made "Z"
        return moment.isoformat(timespec="seconds")[:-6] + "Z"
    return moment.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def sorted_services(services: Iterable[str]) -> list[str]:
    """Services in their canonical order (the order of SERVICES)."""
    chosen = set(services)
    return [name for name in SERVICES if name in chosen]


def services_mask(services: Iterable[str]) -> int:
    mask = 0
    for name in services:
        mask |= SERVICE_BIT[name]
    return mask
