"""A status tap the operator can take back for a few seconds (issue 17, part 6).

set_status saves the tap like services.points.set_status and hands back an UndoTicket: what
the tap changed, as it was, and the version the tap made. undo writes it back through the same
path as every write (services/guard.py: role, scope, version), pinned to that version, so it
is refused once anyone else has written the point, and refused once the window is over.

The ticket itself is plain data; the console signs it before it leaves the server.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from locator.domain.parsers import parse_time
from locator.domain.point import Point, format_time
from locator.domain.scope import Forbidden
from locator.domain.users import User
from locator.search.regions import Territory
from locator.services import points as commands
from locator.services.guard import write_point
from locator.store import Store

UNDO_WINDOW = timedelta(seconds=10)  # how long the page offers "Undo"
UNDO_GRACE = timedelta(seconds=3)  # a tap at 9.9 s on a slow mobile network still arrives in time
UNDONE_FIELDS = ("status", "services", "occupancy", "note")  # what a status tap can change


class UndoExpired(Exception):
    """The ticket is older than UNDO_WINDOW plus UNDO_GRACE: nothing was written."""


@dataclass(frozen=True)
class UndoTicket:
    point_id: str
    user_id: int
    version: int  # the version the tap made: the undo writes only over exactly that
    restore: dict[str, Any]  # the fields the tap changed, as they were before it
    verified_at: str  # the confirmation time before the tap, ISO 8601 UTC
    issued_at: str  # when the tap was saved, ISO 8601 UTC

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> UndoTicket:
        """A ticket from its dict; ValueError for anything else (the console signs tickets,
        so this only meets its own output, but it never trusts a shape)."""
        try:
            ticket = cls(**data)
        except TypeError as error:
            raise ValueError("not an undo ticket") from error
        kinds = (str, int, int, dict, str, str)
        names = cls.__dataclass_fields__
        if not all(isinstance(getattr(ticket, f), k) for f, k in zip(names, kinds, strict=True)):
            raise ValueError("not an undo ticket")
        if not set(ticket.restore) <= set(UNDONE_FIELDS):
            raise ValueError("not an undo ticket")
        if ticket.verified_at:  # "": the point was never confirmed before the tap
            parse_time(ticket.verified_at)
        parse_time(ticket.issued_at)
        return ticket

    def expired(self, now: datetime) -> bool:
        return now - parse_time(self.issued_at) > UNDO_WINDOW + UNDO_GRACE

    def seconds_left(self, now: datetime) -> float:
        return max(0.0, (UNDO_WINDOW - (now - parse_time(self.issued_at))).total_seconds())


def set_status(
    store: Store,
    territory: Territory,
    actor: User,
    point_id: str,
    expected_version: int | None,
    *,
    now: datetime,
    **values: Any,
) -> tuple[Point, UndoTicket | None]:
    """services.points.set_status, and the ticket that undoes it (None if it changed nothing)."""
    before: list[Point] = []
    saved = commands.set_status(
        store, territory, actor, point_id, expected_version, seen=before.append, **values
    )
    if not before or saved.version == before[-1].version:
        return saved, None
    previous = before[-1].to_record()
    changed = {f: previous[f] for f in UNDONE_FIELDS if previous[f] != saved.to_record()[f]}
    ticket = UndoTicket(
        point_id=point_id,
        user_id=actor.id,
        version=saved.version,
        restore=changed,
        verified_at=format_time(before[-1].verified_at) if before[-1].verified_at else "",  # "": never
        issued_at=format_time(now),
    )
    return saved, ticket


def undo(store: Store, territory: Territory, actor: User, ticket: UndoTicket, *, now: datetime) -> Point:
    """Put back what the ticket's tap changed, and its confirmation time; history marks it.

    Raises Forbidden (another user's ticket, or the point is not the actor's to write),
    UndoExpired, VersionConflict (someone wrote the point after the tap), NotFoundError."""
    if ticket.user_id != actor.id:
        raise Forbidden("this undo belongs to another user")
    if ticket.expired(now):
        raise UndoExpired(ticket.point_id)
    restore_to = parse_time(ticket.verified_at) if ticket.verified_at else None
    return write_point(
        store,
        territory,
        actor,
        ticket.point_id,
        ticket.version,
        lambda current: ticket.restore,
        lambda current, changes: store.update(
            ticket.point_id,
            dict(changes),
            by=actor.name,
            expected_version=current.version,
            verify=False,
            undo=True,
            undo_to=restore_to,
        ),
    )
