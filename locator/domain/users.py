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

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN and not self.disabled
