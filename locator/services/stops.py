"""Commands on a mobile point's schedule: add a stop, remove one.

A schedule is a plan, not a check of the status: changing it does not count as verification.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from locator.domain.point import Point
from locator.domain.users import User
from locator.search.regions import Territory
from locator.services.guard import write_point
from locator.store import Store


class NoSuchStop(LookupError):
    """The stop to remove is not in the schedule (any more); nothing was written."""


def add_stop(
    store: Store,
    territory: Territory,
    actor: User,
    point_id: str,
    expected_version: int | None,
    stop: Mapping[str, Any],
) -> Point:
    """Add one stop (place, lat, lon, starts_at, ends_at as given); the domain checks it."""
    return write_point(
        store,
        territory,
        actor,
        point_id,
        expected_version,
        lambda current: {"stops": [s.to_record() for s in current.stops] + [dict(stop)]},
        _save_schedule(store, actor),
    )


def remove_stop(
    store: Store, territory: Territory, actor: User, point_id: str, expected_version: int | None, index: int
) -> Point:
    """Remove the stop at this place in the schedule the caller saw (the version guards it)."""

    def without(current: Point) -> dict[str, Any]:
        return {"stops": [s.to_record() for i, s in enumerate(current.stops) if i != index]}

    def save(current: Point, changes: Mapping[str, Any]) -> Point:
        if not 0 <= index < len(current.stops):
            raise NoSuchStop(f"point {point_id} has no stop {index}")
        return _save_schedule(store, actor)(current, changes)

    return write_point(store, territory, actor, point_id, expected_version, without, save)


def _save_schedule(store: Store, actor: User):
    def save(current: Point, changes: Mapping[str, Any]) -> Point:
        return store.update(
            current.id, dict(changes), by=actor.name, expected_version=current.version, verify=False
        )

    return save
