"""Users, passwords, API tokens, roles and region scope.

Passwords are hashed with Argon2id (memory-hard); API tokens are long random strings stored only
as a SHA-256 digest (a token has 256 bits of entropy, so a fast hash is enough and lookups stay
cheap). Nothing here can give a password or a token back.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .model import Point, fold

MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "poi_"
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the user does not exist, so a missing account costs the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


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
        """Admins edit anywhere; operators only inside their regions or settlements."""
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


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def check_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; spends the same effort when there is no such user."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> tuple[str, str]:
    """A fresh API token and the digest to store; the token itself is shown once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
