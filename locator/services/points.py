"""Commands on one point: set its status, confirm it, move it, edit it, create it, archive it.

Each takes the actor, the point's id, the version the caller read (None: whatever is stored) and
the values as the caller got them (form or JSON text); the domain validates them in the store's
transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from locator.domain.point import Point
from locator.domain.users import User
from locator.domain.values import Visibility
from locator.search.regions import Territory
from locator.services.guard import write_point
from locator.services.places import check_new
from locator.store import Store


def set_status(
    store: Store,
    territory: Territory,
    actor: User,
    point_id: str,
    expected_version: int | None,
    *,
    status: str | None = None,
    services: Iterable[str] | None = None,
    occupancy: Any = None,
    note: str | None = None,
    seen: Callable[[Point], None] | None = None,
) -> Point:
    """Set the status (and, when given, the services working now, occupancy and note); the point
    counts as verified now. None leaves a value as it is. seen, when given, is called with the
    point exactly as it was before the write (the version written over: services/undo.py)."""
    given = {"status": status, "services": services, "occupancy": occupancy, "note": note}
    changes = {name: value for name, value in given.items() if value is not None}
    return _update(store, territory, actor, point_id, expected_version, changes, verify=True, seen=seen)


def confirm(
    store: Store, territory: Territory, actor: User, point_id: str, expected_version: int | None
) -> Point:
    """ "Still true": the status stands, verified now."""
    return write_point(
        store,
        territory,
        actor,
        point_id,
        expected_version,
        lambda current: {},
        lambda current, changes: store.confirm(point_id, by=actor.name, expected_version=current.version),
    )


def move(
    store: Store,
    territory: Territory,
    actor: User,
    point_id: str,
    expected_version: int | None,
    *,
    lat: Any,
    lon: Any,
    address: str | None = None,
) -> Point:
    """Set a (mobile) point's position, and its address when one is given; verified now."""
    changes = {"lat": lat, "lon": lon}
    if address is not None:
        changes["address"] = address
    return _update(store, territory, actor, point_id, expected_version, changes, verify=True)


def edit(
    store: Store,
    territory: Territory,
    actor: User,
    point_id: str,
    expected_version: int | None,
    changes: Mapping[str, Any],
) -> Point:
    """Change any editable fields (others are ignored); the status counts as verified now."""
    return _update(store, territory, actor, point_id, expected_version, changes, verify=True)


def archive(
    store: Store,
    territory: Territory,
    actor: User,
    point_id: str,
    expected_version: int | None,
    *,
    archived: bool,
) -> Point:
    """Take a point off the public map (or bring it back); not a verification of its status."""
    return _update(store, territory, actor, point_id, expected_version, {"archived": archived}, verify=False)


def set_opening_hours(
    store: Store, territory: Territory, actor: User, point_id: str, expected_version: int | None, hours: str
) -> Point:
    """Set the point's opening_hours; not a verification of its status (the migration uses it)."""
    changes = {"opening_hours": hours}
    return _update(store, territory, actor, point_id, expected_version, changes, verify=False)


def set_visibility(
    store: Store,
    territory: Territory,
    actor: User,
    point_id: str,
    expected_version: int | None,
    visibility: Visibility,
) -> Point:
    """Set who may see the point; not a verification of its status (the region command uses it)."""
    changes = {"visibility": visibility.value}
    return _update(store, territory, actor, point_id, expected_version, changes, verify=False)


def create(store: Store, territory: Territory, actor: User, record: Mapping[str, Any]) -> Point:
    """Add a new point; DuplicateIdError (a ValidationError) if its id is taken."""
    return store.create(check_new(territory, actor, record), by=actor.name)


def _update(
    store: Store,
    territory: Territory,
    actor: User,
    point_id: str,
    expected_version: int | None,
    changes: Mapping[str, Any],
    *,
    verify: bool,
    seen: Callable[[Point], None] | None = None,
) -> Point:
    def save(current: Point, changes: Mapping[str, Any]) -> Point:
        saved = store.update(
            point_id, dict(changes), by=actor.name, expected_version=current.version, verify=verify
        )
        if seen is not None:
            seen(current)
        return saved

    return write_point(store, territory, actor, point_id, expected_version, lambda current: changes, save)
