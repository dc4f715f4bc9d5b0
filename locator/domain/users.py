"""Users, their roles and the regions or settlements they may edit."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from locator.domain.filters import fold
from locator.domain.point import Point


def settlement_scope(entry: str) -> tuple[str, str]:
    """(settlement, region) of a scope entry written "Бровари (Київська область)"; the region
    is "" for an entry with none."""
    name, _, region = entry.partition("(")
    return name.strip(), region.rstrip().removesuffix(")").strip()


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
    settlements: tuple[str, ...] = ()  # "Бровари (Київська область)": a settlement in its region
    disabled: bool = False
    session_version: int = 1  # bumped on disable or password change: old sessions end
    region_keys: frozenset[str] = field(default=frozenset(), compare=False)
    settlement_keys: frozenset[tuple[str, str]] = field(default=frozenset(), compare=False)

    def __post_init__(self):
        object.__setattr__(self, "region_keys", frozenset(fold(name) for name in self.regions))
        settlements = (settlement_scope(entry) for entry in self.settlements)
        object.__setattr__(self, "settlement_keys", frozenset((fold(s), fold(r)) for s, r in settlements))

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
        if fold(region) in self.region_keys:
            return True
        # A settlement scope holds within its region only (the region comes from coordinates).
        # An entry without a region (made before regions were checked) matches the name alone.
        name = fold(settlement)
        return bool(name) and (
            (name, fold(region)) in self.settlement_keys or (name, "") in self.settlement_keys
        )

    def may_edit(self, point: Point) -> bool:
        return self.may_edit_place(point.region, point.settlement)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN and not self.disabled
