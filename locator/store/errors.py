"""What the store raises: the one vocabulary callers catch, whatever the database behind it.

No driver's exception or message leaves the store: a caller never matches "database is locked"
in a message text, it catches StoreBusy.
"""

from __future__ import annotations

from locator.domain.point import Point
from locator.domain.validation import Problem, ValidationError


class NotFoundError(LookupError):
    """No point has this id."""


class DuplicateIdError(ValidationError):
    """A new point asked for an id that is taken."""

    def __init__(self, point_id: str):
        super().__init__([Problem("id", f"a point with the id {point_id!r} exists already")])


class VersionConflict(RuntimeError):
    """The caller edited an older version of the point than the one stored."""

    def __init__(self, point: Point):
        self.point = point
        super().__init__(f"point {point.id} is at version {point.version}")


class StoreBusy(RuntimeError):
    """Another writer held the database past the wait allowed (a restore, a huge import): nothing
    was written, and trying again shortly will work. The HTTP edge answers 503 with Retry-After."""


class StoreUnavailable(StoreBusy):
    """The database cannot be reached (restarting, failing over, the network): nothing was
    written. Writes answer 503 with Retry-After; reads go on from each node's memory."""
