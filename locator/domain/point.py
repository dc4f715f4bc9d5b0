"""What a Point of Invincibility is: its fields (declared in domain/fields.py), and its rules.

The values it is made of (kinds, statuses, services, stops, times) live in domain/values.py and
are importable from here too.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from locator.domain.fields import EDITABLE_FIELDS, POINT_FIELDS, declared_fields
from locator.domain.values import (
    MAX_STOP_LENGTH,
    MAX_STOPS,
    OPERATOR_STATUSES,
    SERVICE_BIT,
    SERVICES,
    Category,
    Kind,
    Status,
    Stop,
    format_time,
    services_mask,
    sorted_services,
    utcnow,
)

__all__ = [
    "EDITABLE_FIELDS",
    "MAX_STOPS",
    "MAX_STOP_LENGTH",
    "OPERATOR_STATUSES",
    "POINT_FIELDS",
    "SERVICES",
    "SERVICE_BIT",
    "STALE_AFTER",
    "Category",
    "Kind",
    "Point",
    "Status",
    "Stop",
    "format_time",
    "services_mask",
    "sorted_services",
    "utcnow",
]

STALE_AFTER = timedelta(hours=12)  # default; LOCATOR_STALE_HOURS overrides


@declared_fields
class Point:
    """A point of invincibility: a frozen dataclass of the fields in fields.POINT_DECLARATION
    (id, name, kind, category, base, status, services, lat, lon, ...), with its rules."""

    @property
    def services_mask(self) -> int:
        return services_mask(self.services)

    def is_stale(self, now: datetime, stale_after: timedelta = STALE_AFTER) -> bool:
        """A status nobody has confirmed for longer than stale_after, or ever, cannot be trusted."""
        return self.verified_at is None or now - self.verified_at > stale_after

    def status_age(self, now: datetime) -> timedelta | None:
        """How long ago the status was confirmed; None: never."""
        if self.verified_at is None:
            return None
        return max(now - self.verified_at, timedelta(0))

    @property
    def public_status(self) -> Status:
        """The status citizens see: citizens' closed reports outweigh an unconfirmed open/full."""
        return Status.UNCONFIRMED if self.unconfirmed else self.status

    def has_status_in(self, statuses: frozenset[Status]) -> bool:
        """Whether a status filter keeps this point. Citizens' reports mark a point, they never
        hide it: an "unconfirmed" point still passes a filter for the status its operator set
        (issue 16), so a flood of false reports cannot take a working point off the map."""
        return self.status in statuses or self.public_status in statuses

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
            verified_at=format_time(self.verified_at) if self.verified_at else None,
            stops=[stop.to_record() for stop in self.stops],
            moved_at=format_time(self.moved_at) if self.moved_at else None,
            business_type=self.business_type.value,
            visibility=self.visibility.value,
        )
        return record

    def with_changes(self, **changes: Any) -> Point:
        return replace(self, **changes)
