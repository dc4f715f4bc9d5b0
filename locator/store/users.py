"""The console's tables: users, API tokens and login failures (their rules: domain/users.py)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

import sqlite_utils

from locator.domain.point import format_time, utcnow
from locator.domain.users import Role, User
from locator.store.errors import NotFoundError

if TYPE_CHECKING:
    from locator.store.points import Store


class UserStore:
    """Users, API tokens and login failures: the console's tables, in the same database."""

    def __init__(self, store: Store):
        self.store = store

    @property
    def db(self) -> sqlite_utils.Database:
        return self.store.db

    def create(self, name: str, password_hash: str, role: str, regions=(), settlements=()) -> User:
        """Add a user; a taken name is an error, never an overwrite."""
        now = format_time(utcnow())
        with self.store.transaction() as conn:
            if conn.execute("SELECT 1 FROM users WHERE name = ?", [name]).fetchone():
                raise ValueError(f"a user named {name!r} exists already")
            conn.execute(
                "INSERT INTO users (name, password_hash, role, regions, settlements, disabled,"
                " session_version, created_at) VALUES (?, ?, ?, ?, ?, 0, 1, ?)",
                [name, password_hash, role, json.dumps(list(regions)), json.dumps(list(settlements)), now],
            )
        return self.get_by_name(name)

    def get(self, user_id: int) -> User:
        row = self.db.execute(SELECT_USERS + " WHERE users.id = ?", [user_id]).fetchone()
        if row is None:
            raise NotFoundError(f"user {user_id}")
        return _user(row)

    def get_by_name(self, name: str) -> User:
        row = self.db.execute(SELECT_USERS + " WHERE users.name = ?", [name]).fetchone()
        if row is None:
            raise NotFoundError(f"user {name!r}")
        return _user(row)

    def credentials(self, name: str) -> tuple[User | None, str | None]:
        """The user and their password hash, or (None, None); only login needs the hash."""
        row = self.db.execute(
            "SELECT users.password_hash, " + SELECT_USERS[len("SELECT ") :] + " WHERE users.name = ?", [name]
        ).fetchone()
        if row is None:
            return None, None
        return _user(row[1:]), row[0]

    def all(self) -> list[User]:
        return [_user(row) for row in self.db.execute(SELECT_USERS + " ORDER BY users.name")]

    def set_disabled(self, name: str, disabled: bool) -> User:
        """Disable (or enable) a user; their sessions and tokens stop working at once."""
        with self.store.transaction() as conn:
            cursor = conn.execute(
                "UPDATE users SET disabled = ?, session_version = session_version + 1 WHERE name = ?",
                [int(disabled), name],
            )
            if cursor.rowcount == 0:
                raise NotFoundError(f"user {name!r}")
        return self.get_by_name(name)

    def end_sessions(self, user_id: int) -> None:
        """Make every session of this user invalid (logout everywhere)."""
        with self.store.transaction() as conn:
            conn.execute("UPDATE users SET session_version = session_version + 1 WHERE id = ?", [user_id])

    def set_password(self, name: str, password_hash: str) -> User:
        """Replace a user's password; every session they have ends (their API tokens do not)."""
        with self.store.transaction() as conn:
            cursor = conn.execute(
                "UPDATE users SET password_hash = ?, session_version = session_version + 1 WHERE name = ?",
                [password_hash, name],
            )
            if cursor.rowcount == 0:
                raise NotFoundError(f"user {name!r}")
        return self.get_by_name(name)

    def add_token(self, name: str, digest: str, label: str = "") -> None:
        user = self.get_by_name(name)
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO api_tokens (digest, user_id, label, created_at) VALUES (?, ?, ?, ?)",
                [digest, user.id, label, format_time(utcnow())],
            )

    def for_token(self, digest: str) -> User | None:
        """The (enabled) user an API token belongs to, or None."""
        row = self.db.execute(
            SELECT_USERS + " JOIN api_tokens ON api_tokens.user_id = users.id"
            " WHERE api_tokens.digest = ? AND users.disabled = 0",
            [digest],
        ).fetchone()
        return _user(row) if row else None

    def login_failures(self, key: str, since: datetime) -> int:
        return self.db.execute(
            "SELECT count(*) FROM login_failures WHERE key = ? AND at >= ?", [key, format_time(since)]
        ).fetchone()[0]

    def record_login_failure(self, keys: Iterable[str]) -> None:
        now = format_time(utcnow())
        with self.store.transaction() as conn:
            conn.executemany("INSERT INTO login_failures (key, at) VALUES (?, ?)", [(k, now) for k in keys])

    def clear_login_failures(self, key: str, older_than: datetime | None = None) -> None:
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM login_failures WHERE key = ?", [key])
            if older_than is not None:
                conn.execute("DELETE FROM login_failures WHERE at < ?", [format_time(older_than)])


# User reads never include the password hash, except credentials() for the login check.
SELECT_USERS = (
    "SELECT users.id, users.name, users.role, users.regions, users.settlements, users.disabled,"
    " users.session_version FROM users"
)


def _user(row) -> User:
    user_id, name, role, regions, settlements, disabled, session_version = row
    return User(
        id=user_id,
        name=name,
        role=Role(role),
        regions=tuple(json.loads(regions or "[]")),
        settlements=tuple(json.loads(settlements or "[]")),
        disabled=bool(disabled),
        session_version=session_version,
    )
