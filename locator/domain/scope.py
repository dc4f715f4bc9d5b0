"""Who may write which point: the one rule every write passes, whatever its path (API, console,
CLI, import). Pure: it looks at the actor, the point as it is and the changes asked for.

A write is allowed when the actor may edit the point as it is now (if it exists) and as it will be
after the change. The next issue derives a point's region from its coordinates: change
``place_after`` (and nothing else) then.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from locator.domain.point import Point
from locator.domain.users import Role, User

PLACE_FIELD = "region"  # where a refusal about the point's new place is shown on a form


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


def place_after(current: Point | None, changes: Mapping[str, Any]) -> Place:
    """Where the point will be once the changes are applied (fields not named keep theirs)."""
    region = changes.get("region", current.region if current else "")
    settlement = changes.get("settlement", current.settlement if current else "")
    return Place(str(region or ""), str(settlement or ""))


def check_role(actor: User) -> None:
    """Viewers (and disabled users) write nothing, whatever the point."""
    if actor.disabled:
        raise Forbidden(f"{actor.name} is disabled and cannot change points")
    if actor.role is Role.VIEWER:
        raise Forbidden("viewers cannot change points")


def writes_anywhere(actor: User) -> bool:
    """True for an actor the place never stops (admins, the CLI's system actor): a 100,000-point
    import then skips the per-point check."""
    return actor.is_admin


def check_write(actor: User, current: Point | None, changes: Mapping[str, Any]) -> None:
    """Allow the write or raise Forbidden: role, then the point as it is, then as it will be."""
    check_role(actor)
    if current is not None and not actor.may_edit_place(current.region, current.settlement):
        raise Forbidden(f"{actor.name} may not edit points in {place_of(current)}")
    after = place_after(current, changes)
    if not actor.may_edit_place(after.region, after.settlement):
        raise Forbidden(f"{actor.name} may not edit points in {after}", PLACE_FIELD)
