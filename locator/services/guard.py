"""The one path of a write to an existing point: read it, check role, scope and version, then
call the store once, pinned to the version that was checked.

The store re-checks the version inside its transaction, so the point cannot change between the
check and the write. A caller that named no version (last writer wins) gets the write re-checked
against the newer point when another write slipped in between.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from locator.domain.point import Point
from locator.domain.scope import check_role
from locator.domain.users import User
from locator.search.regions import Territory
from locator.services.places import check_changes
from locator.store import Store, VersionConflict

WRITE_ATTEMPTS = 3  # for callers without a version: reads, checks and writes, if others keep writing
Result = TypeVar("Result")


def write_point(
    store: Store,
    territory: Territory,
    actor: User,
    point_id: str,
    expected_version: int | None,
    changes_for: Callable[[Point], Mapping[str, Any]],
    save: Callable[[Point, Mapping[str, Any]], Result],
) -> Result:
    """Check the write the changes describe, then ``save(current, changes)``, which calls the
    store with ``expected_version=current.version``.

    The changes are settled first (services/places.py: bounds, region from the coordinates), and
    save gets them settled. Raises Forbidden (role or scope), ValidationError, NotFoundError, or
    VersionConflict (a stale expected version: nothing is written).
    """
    check_role(actor)  # before the lookup: a viewer learns nothing, not even which ids exist
    attempts_left = WRITE_ATTEMPTS
    while True:
        current = store.get(point_id)
        changes = check_changes(territory, actor, current, changes_for(current))
        if expected_version is not None and expected_version != current.version:
            raise VersionConflict(current)
        try:
            return save(current, changes)
        except VersionConflict:
            attempts_left -= 1
            if expected_version is not None or not attempts_left:
                raise
