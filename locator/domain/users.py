"""Users, their roles and the regions or settlements they may edit; their API tokens' lifetimes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
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
    REVIEWER = "reviewer"  # decides businesses' proposals in its regions; edits no point (issue 20)
    BUSINESS = "business"  # its own points only: status, hours and occupancy (issue 20)


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
    settlements: tuple[str, ...] = ()  # "Бровари (Київська область)": a settlement in its region
    disabled: bool = False
    session_version: int = 1  # bumped on disable or password change: old sessions end
    points: tuple[str, ...] = ()  # a business account's own points (its whole scope)
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
        if self.role is Role.BUSINESS:
            return ", ".join(self.points) or "—"
        return ", ".join((*self.regions, *self.settlements)) or "—"

    def may_edit_place(self, region: str, settlement: str) -> bool:
        """Admins edit anywhere; operators only inside their regions or settlements. (A write
        asks domain/scope.check_write, which applies this to the point before and after.)
        A place never lets a reviewer or a business edit: a business edits by point id."""
        if self.disabled:
            return False
        if self.role is Role.ADMIN:
            return True
        return self.role is Role.OPERATOR and self.in_scope(region, settlement)

    def in_scope(self, region: str, settlement: str) -> bool:
        """Whether a place is among the user's regions or settlements. A settlement scope holds
        within its region only (the region comes from coordinates); an entry without a region
        (made before regions were checked) matches the name alone."""
        if fold(region) in self.region_keys:
            return True
        name = fold(settlement)
        return bool(name) and (
            (name, fold(region)) in self.settlement_keys or (name, "") in self.settlement_keys
        )

    def may_edit(self, point: Point) -> bool:
        if self.role is Role.BUSINESS:
            return not self.disabled and point.id in self.points
        return self.may_edit_place(point.region, point.settlement)

    def may_review_place(self, region: str, settlement: str) -> bool:
        """Whether the user decides proposals for this place: admins anywhere, reviewers in
        their regions or settlements (the place comes from the proposal's coordinates)."""
        if self.disabled:
            return False
        if self.role is Role.ADMIN:
            return True
        return self.role is Role.REVIEWER and self.in_scope(region, settlement)

    def may_read_private(self, point: Point) -> bool:
        """What the public never sees of a point: operators' names in its history and citizens'
        report comments (free text that may hold personal data). Admins see them everywhere,
        operators only in their scope, viewers everywhere unless given regions or settlements
        (then there only). Elsewhere the console shows the point as the public sees it."""
        if self.disabled or self.role is Role.BUSINESS:
            return False
        if self.role is Role.ADMIN or (self.role is Role.VIEWER and not (self.regions or self.settlements)):
            return True
        return self.in_scope(point.region, point.settlement)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN and not self.disabled


# -- API tokens (issue 16) --------------------------------------------------------------------------

# A token nobody renews stops by itself: one copied into a forgotten script or a leaked laptop
# dies within a season. "never" must be asked for by name (`users token NAME --expires never`).
TOKEN_LIFETIME = timedelta(days=90)
MAX_TOKEN_LIFETIME = timedelta(days=730)  # longer is "never" in disguise: say never
NEVER = "never"
LIFETIME_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
LIFETIME = re.compile(r"([0-9]{1,6})([hdw])")  # [0-9], not \d: no other scripts' digits


def parse_lifetime(text: str) -> timedelta | None:
    """'12h', '90d' or '2w' as a timedelta; 'never' as None (no expiry); anything else ValueError."""
    text = text.strip().lower()
    if text == NEVER:
        return None
    match = LIFETIME.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a lifetime: write it as 12h, 90d, 2w or never")
    lifetime = int(match[1]) * LIFETIME_UNITS[match[2]]
    if not lifetime:
        raise ValueError("a token's lifetime must be longer than 0 (or never)")
    if lifetime > MAX_TOKEN_LIFETIME:
        raise ValueError(f"a token's lifetime is at most {MAX_TOKEN_LIFETIME.days}d (or never)")
    return lifetime


@dataclass(frozen=True)
class ApiToken:
    """An API token as an admin sees it: never the secret, never its digest."""

    id: int
    user: str
    label: str
    created_at: datetime
    expires_at: datetime | None  # None: never expires (asked for by name)
    last_used_at: datetime | None  # to the hour: store/users.py LAST_USED_EVERY
    revoked_at: datetime | None

    def state(self, now: datetime) -> str:
        """'revoked', 'expired' or 'active': only an active token earns anything."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return "active"
