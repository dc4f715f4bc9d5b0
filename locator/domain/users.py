"""Users, their roles and the regions or settlements they may edit."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from locator.domain.filters import fold
from locator.domain.point import Point


class Role(StrEnum):
    ADMIN = "admin"  # everything, manages users and imports
    OPERATOR = "operator"  # edits points in the regions or settlements assigned
    VIEWER = "viewer"  # reads the console (e.g. a call centre)


# Who wrote a history row, as anyone may know it: never an operator's name (issue 16).
CITIZENS = "citizens"  # the author of the flag enough citizens' reports set (store/reports.py)
SYSTEM_AUTHORS = ("import", "seed", "restore")  # system actors' names begin so (services/actors.py)


def author_kind(by: str) -> str:
    """A history row's author as the public sees it: "citizens", "import" or "operator"."""
    if by == CITIZENS:
        return CITIZENS
    return "import" if by.startswith(SYSTEM_AUTHORS) else "operator"


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: Role
    regions: tuple[str, ...] = ()
    settlements: tuple[str, ...] = ()
    disabled: bool = False
    session_version: int = 1  # bumped on disable or password change: old sessions end
    scope_keys: frozenset[str] = field(default=frozenset(), compare=False)

    def __post_init__(self):
        keys = frozenset(fold(name) for name in (*self.regions, *self.settlements))
        object.__setattr__(self, "scope_keys", keys)

    @property
    def scope_text(self) -> str:
        if self.role is Role.ADMIN:
            return "усі регіони"
        return ", ".join((*self.regions, *self.settlements)) or "—"

    def may_edit_place(self, region: str, settlement: str) -> bool:
        """Admins edit anywhere; operators only inside their regions or settlements. (A write
        asks domain/scope.check_write, which applies this to the point before and after.)"""
        if self.disabled:
            return False
        if self.role is Role.ADMIN:
            return True
        if self.role is not Role.OPERATOR:
            return False
        return fold(region) in self.scope_keys or fold(settlement) in self.scope_keys

    def may_edit(self, point: Point) -> bool:
        return self.may_edit_place(point.region, point.settlement)

    def may_read_private(self, point: Point) -> bool:
        """What the public never sees of a point: operators' names in its history and citizens'
        report comments (free text that may hold personal data). Admins see them everywhere,
        operators only in their scope, viewers everywhere unless given regions or settlements
        (then there only). Elsewhere the console shows the point as the public sees it."""
        if self.disabled:
            return False
        if self.role is Role.ADMIN or (self.role is Role.VIEWER and not self.scope_keys):
            return True
        return fold(point.region) in self.scope_keys or fold(point.settlement) in self.scope_keys

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN and not self.disabled
