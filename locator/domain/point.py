"""What a Point of Invincibility is: its kinds, statuses, services and schedule."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

STALE_AFTER = timedelta(hours=12)  # default; LOCATOR_STALE_HOURS overrides


class Kind(StrEnum):
    FIXED = "fixed"
    MOBILE = "mobile"


class Category(StrEnum):
    STATE = "state"
    BUSINESS = "business"


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

# Fields a caller may set; version, updated_at and the change bookkeeping belong to the store.
EDITABLE_FIELDS = (
    "name",
    "kind",
    "category",
    "base",
    "status",
    "services",
    "address",
    "settlement",
    "region",
    "lat",
    "lon",
    "capacity",
    "occupancy",
    "phone",
    "hours",
    "open_24_7",
    "note",
    "archived",
    "stops",
)


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


@dataclass(frozen=True)
class Point:
    id: str
    name: str
    kind: Kind
    category: Category
    base: bool
    status: Status
    services: frozenset[str]
    lat: float
    lon: float
    address: str = ""
    settlement: str = ""
    region: str = ""
    capacity: int | None = None
    occupancy: int | None = None
    phone: str = ""
    hours: str = ""
    open_24_7: bool = False
    note: str = ""
    updated_at: datetime = field(default_factory=lambda: utcnow())
    verified_at: datetime = field(default_factory=lambda: utcnow())
    version: int = 1
    archived: bool = False  # off the public map and API lists, history kept
    stops: tuple[Stop, ...] = ()  # a mobile point's schedule, ordered by start
    moved_at: datetime | None = None  # when the point was last put at lat/lon (set by the store)
    unconfirmed: bool = False  # enough citizens reported it closed; set by the store, never by input

    @property
    def services_mask(self) -> int:
        return services_mask(self.services)

    def is_stale(self, now: datetime, stale_after: timedelta = STALE_AFTER) -> bool:
        """A status nobody has confirmed for longer than stale_after cannot be trusted."""
        return now - self.verified_at > stale_after

    def status_age(self, now: datetime) -> timedelta:
        return max(now - self.verified_at, timedelta(0))

    @property
    def public_status(self) -> Status:
        """The status citizens see: citizens' closed reports outweigh an unconfirmed open/full."""
        return Status.UNCONFIRMED if self.unconfirmed else self.status

    def active_stop(self, now: datetime) -> Stop | None:
        """The scheduled stop under way now (the latest started, if stops overlap)."""
        current = None
        for stop in self.stops:
            if stop.starts_at <= now < stop.ends_at and (
                current is None or stop.starts_at >= current.starts_at
            ):
                current = stop
        return current

    def upcoming_stops(self, now: datetime) -> list[Stop]:
        """Stops not yet ended: ended ones are history, never a place to send anyone."""
        return [stop for stop in self.stops if stop.ends_at > now]

    def current_stop(self, now: datetime) -> Stop | None:
        """The stop the point stands at now: the one under way, unless the operator moved the
        point after it began (the newest news wins: a manual move overrides the plan)."""
        stop = self.active_stop(now)
        if stop is None or (self.moved_at is not None and self.moved_at > stop.starts_at):
            return None
        return stop

    def at(self, now: datetime) -> Point:
        """The point where it is now: at its current stop (since the stop began), else as placed."""
        stop = self.current_stop(now)
        if stop is None:
            return self
        return replace(self, lat=stop.lat, lon=stop.lon, moved_at=stop.starts_at)

    def to_record(self) -> dict[str, Any]:
        """Plain values (enums as strings, times as ISO 8601 UTC, services sorted) for storage."""
        record = {name: getattr(self, name) for name in POINT_FIELDS}  # asdict() deep-copies: slow
        record.update(
            kind=self.kind.value,
            category=self.category.value,
            status=self.status.value,
            services=sorted_services(self.services),
            updated_at=format_time(self.updated_at),
            verified_at=format_time(self.verified_at),
            stops=[stop.to_record() for stop in self.stops],
            moved_at=format_time(self.moved_at) if self.moved_at else None,
        )
        return record

    def with_changes(self, **changes: Any) -> Point:
        return replace(self, **changes)


POINT_FIELDS = tuple(f.name for f in fields(Point))


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
