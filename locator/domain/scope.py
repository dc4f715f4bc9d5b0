"""Who may write which point: the one rule every write passes, whatever its path (API, console,
CLI, import). Pure: it looks at the actor, the point as it is and the changes asked for.

A write is allowed when the actor may edit the point as it is now (if it exists) and every place
it will be after the change: where it stands and each stop of its schedule. The places come from
the coordinates, not from what the input says (services/places.py settles them with
search/regions.py), so a region typed into a form or a file cannot widen anyone's scope.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from locator.domain.point import Point
from locator.domain.users import Role, User
from locator.domain.values import Visibility
from locator.domain.visibility import more_public

PLACE_FIELD = "region"  # where a refusal about the point's new place is shown on a form
# What a business account may change on its own points, from a phone, and nothing else (issue 20).
BUSINESS_FIELDS = frozenset({"status", "opening_hours", "occupancy"})


class Forbidden(PermissionError):
    """The actor may not make this write; nothing was written.

    ``field`` is "region" when the refusal is about where the point would be after the change
    (a form shows it beside that field), None when the actor may not touch the point at all.
    """

    def __init__(self, detail: str, field: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.field = field


@dataclass(frozen=True)
class Place:
    region: str
    settlement: str

    def __str__(self) -> str:
        return self.settlement or self.region or "this place"


def place_of(point: Point) -> Place:
    return Place(point.region, point.settlement)


def check_role(actor: User) -> None:
    """Viewers (and disabled users) write nothing, whatever the point."""
    if actor.disabled:
        raise Forbidden(f"{actor.name} is disabled and cannot change points")
    if actor.role is Role.VIEWER:
        raise Forbidden("viewers cannot change points")
    if actor.role is Role.REVIEWER:
        raise Forbidden("reviewers decide proposals; they cannot change points")


def writes_anywhere(actor: User) -> bool:
    """True for an actor the place never stops (admins, the CLI's system actor): a 100,000-point
    import then skips the per-point check."""
    return actor.is_admin


def check_business(actor: User, current: Point | None, fields: Iterable[str] | None) -> None:
    """A business writes only to its own points, and only BUSINESS_FIELDS: no new points, no
    imports (which name no fields), no moves, no names."""
    if current is None or current.id not in actor.points:
        raise Forbidden(f"{actor.name} may change its own points only")
    if fields is None:
        raise Forbidden(f"{actor.name} may change status, hours and occupancy only")
    others = sorted(set(fields) - BUSINESS_FIELDS)
    if others:
        raise Forbidden(f"{actor.name} may change status, hours and occupancy only", others[0])


def check_write(
    actor: User, current: Point | None, places_after: Iterable[Place], fields: Iterable[str] | None = None
) -> None:
    """Allow the write or raise Forbidden: role, then the point as it is, then every place it
    will be (where it stands, then each stop). fields are the names the write changes (None:
    unknown, as in an import); only a business account's rule looks at them."""
    check_role(actor)
    if actor.role is Role.BUSINESS:
        check_business(actor, current, fields)
        return
    if current is not None and not actor.may_edit_place(current.region, current.settlement):
        raise Forbidden(f"{actor.name} may not edit points in {place_of(current)}")
    for after in places_after:
        if not actor.may_edit_place(after.region, after.settlement):
            where = (
                f"{after.settlement} ({after.region or 'no region'})" if after.settlement else after.region
            )
            raise Forbidden(f"{actor.name} may not edit points in {where or 'this place'}", PLACE_FIELD)


VISIBILITY_FIELD = "visibility"


def check_visibility(actor: User, before: Visibility, after: Visibility, floor: Visibility) -> None:
    """Any writer may make a point more private; only an admin may make it more public than it
    was (``before``: a new point's is its region's default) or than its region's default
    (``floor``, LOCATOR_APPROXIMATE_REGIONS). Issue 20."""
    if actor.is_admin:
        return
    if more_public(before, after) or more_public(floor, after):
        raise Forbidden(
            f"only an admin may make a point more public ({before.value} -> {after.value})", VISIBILITY_FIELD
        )
