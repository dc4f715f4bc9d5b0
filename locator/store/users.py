"""The console's tables: users, API tokens and login failures (their rules: domain/users.py)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlite_utils

from locator.domain.parsers import parse_time
from locator.domain.point import format_time, utcnow
from locator.domain.users import TOKEN_LIFETIME, ApiToken, Role, User
from locator.store.errors import NotFoundError, StoreBusy

if TYPE_CHECKING:
    from locator.store.points import Store


class UserStore:
    """Users, API tokens and login failures: the console's tables, in the same database."""

    def __init__(self, store: Store):
        self.store = store

    @property
    def db(self) -> sqlite_utils.Database:
        return self.store.db

    def create(
        self, name: str, password_hash: str, role: str, regions=(), settlements=(), points=(), *, conn=None
    ) -> User:
        """Add a user; a taken name is an error, never an overwrite. With conn, inside that
        transaction (a proposal's approval makes its points and account in one)."""
        if conn is None:
            with self.store.transaction() as conn:
                self.create(name, password_hash, role, regions, settlements, points, conn=conn)
            return self.get_by_name(name)
        if conn.execute("SELECT 1 FROM users WHERE name = ?", [name]).fetchone():
            raise ValueError(f"a user named {name!r} exists already")
        conn.execute(
            "INSERT INTO users (name, password_hash, role, regions, settlements, points, disabled,"
            " session_version, created_at) VALUES (?, ?, ?, ?, ?, ?, 0, 1, ?)",
            [
                name,
                password_hash,
                role,
                json.dumps(list(regions)),
                json.dumps(list(settlements)),
                json.dumps(list(points)),
                format_time(utcnow()),
            ],
        )
        return None

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
        """Disable (or enable) a user; their sessions end at once. Disabling also revokes every
        token of theirs for good: enabling gives back the console login, never an old token."""
        with self.store.transaction() as conn:
            cursor = conn.execute(
                "UPDATE users SET disabled = ?, session_version = session_version + 1 WHERE name = ?",
                [int(disabled), name],
            )
            if cursor.rowcount == 0:
                raise NotFoundError(f"user {name!r}")
            if disabled:
                _revoke_all(conn, name, utcnow())
        return self.get_by_name(name)

    def end_sessions(self, user_id: int) -> None:
        """Make every session of this user invalid (logout everywhere)."""
        with self.store.transaction() as conn:
            conn.execute("UPDATE users SET session_version = session_version + 1 WHERE id = ?", [user_id])

    def set_password(self, name: str, password_hash: str, *, revoke_tokens: bool = False) -> User:
        """Replace a user's password; every session they have ends, and with revoke_tokens every
        API token too (in the same transaction)."""
        with self.store.transaction() as conn:
            cursor = conn.execute(
                "UPDATE users SET password_hash = ?, session_version = session_version + 1 WHERE name = ?",
                [password_hash, name],
            )
            if cursor.rowcount == 0:
                raise NotFoundError(f"user {name!r}")
            if revoke_tokens:
                _revoke_all(conn, name, utcnow())
        return self.get_by_name(name)

    # -- API tokens: only their digests are kept; a revoked or expired one earns nothing --------

    def add_token(
        self,
        name: str,
        digest: str,
        label: str = "",
        *,
        lifetime: timedelta | None = TOKEN_LIFETIME,
        now: datetime | None = None,
    ) -> ApiToken:
        """Give an enabled user a token that expires after lifetime (None: never)."""
        now = now or utcnow()
        expires_at = None if lifetime is None else format_time(now + lifetime)
        with self.store.transaction() as conn:
            row = conn.execute("SELECT id, disabled FROM users WHERE name = ?", [name]).fetchone()
            if row is None:
                raise NotFoundError(f"user {name!r}")
            if row[1]:
                raise ValueError(f"user {name!r} is disabled: enable them before giving them a token")
            token_id = conn.execute(
                "INSERT INTO api_tokens (digest, user_id, label, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?) RETURNING id",
                [digest, row[0], label, format_time(now), expires_at],
            ).fetchone()[0]
        return self.token(token_id)

    def token(self, token_id: int) -> ApiToken:
        row = self.db.execute(SELECT_TOKENS + " WHERE api_tokens.id = ?", [token_id]).fetchone()
        if row is None:
            raise NotFoundError(f"token {token_id}")
        return _token(row)

    def tokens(self, name: str) -> list[ApiToken]:
        """A user's tokens, revoked and expired ones too, oldest first."""
        user = self.get_by_name(name)
        rows = self.db.execute(SELECT_TOKENS + " WHERE users.id = ? ORDER BY api_tokens.id", [user.id])
        return [_token(row) for row in rows]

    def revoke_token(self, token_id: int, now: datetime | None = None) -> ApiToken:
        """Revoke one token; it earns nothing from the next request on. Revoked already: kept
        as it was (its first revocation time)."""
        with self.store.transaction() as conn:
            cursor = conn.execute(
                "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?",
                [format_time(now or utcnow()), token_id],
            )
            if cursor.rowcount == 0:
                raise NotFoundError(f"token {token_id}")
        return self.token(token_id)

    def for_token(self, digest: str, now: datetime | None = None) -> User | None:
        """The user of an active token (not revoked, not expired, the user enabled), or None.
        Its last use is noted at most once an hour, and never waits for another writer."""
        now = now or utcnow()
        row = self.db.execute(
            "SELECT api_tokens.id, api_tokens.last_used_at, "
            + SELECT_USERS[len("SELECT ") :]
            + " JOIN api_tokens ON api_tokens.user_id = users.id WHERE api_tokens.digest = ?"
            " AND users.disabled = 0 AND api_tokens.revoked_at IS NULL"
            " AND (api_tokens.expires_at IS NULL OR api_tokens.expires_at > ?)",
            [digest, format_time(now)],
        ).fetchone()
        if row is None:
            return None
        if row[1] is None or row[1] <= format_time(now - LAST_USED_EVERY):
            self._note_use(row[0], now)
        return _user(row[2:])

    def _note_use(self, token_id: int, now: datetime) -> None:
        # Bookkeeping, not the request's business: with another writer holding the database it
        # is skipped at once (no 5 s busy wait in a read), and noted at a later use.
        try:
            with self.store.without_waiting() as conn:
                conn.execute(
                    "UPDATE api_tokens SET last_used_at = ? WHERE id = ?", [format_time(now), token_id]
                )
        except StoreBusy:
            pass

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


def _revoke_all(conn: sqlite3.Connection, name: str, now: datetime) -> None:
    """Revoke every token of the user called name that is not revoked yet (inside a write)."""
    conn.execute(
        "UPDATE api_tokens SET revoked_at = ? WHERE revoked_at IS NULL"
        " AND user_id = (SELECT id FROM users WHERE name = ?)",
        [format_time(now), name],
    )


LAST_USED_EVERY = timedelta(hours=1)  # a token's last use is noted to the hour: one write an hour

# User reads never include the password hash, except credentials() for the login check.
SELECT_USERS = (
    "SELECT users.id, users.name, users.role, users.regions, users.settlements, users.disabled,"
    " users.session_version, users.points FROM users"
)


def _user(row) -> User:
    user_id, name, role, regions, settlements, disabled, session_version, points = row
    return User(
        id=user_id,
        name=name,
        role=Role(role),
        regions=tuple(json.loads(regions or "[]")),
        settlements=tuple(json.loads(settlements or "[]")),
        disabled=bool(disabled),
        session_version=session_version,
        points=tuple(json.loads(points or "[]")),
    )


# Token reads never include the digest.
SELECT_TOKENS = (
    "SELECT api_tokens.id, users.name, api_tokens.label, api_tokens.created_at, api_tokens.expires_at,"
    " api_tokens.last_used_at, api_tokens.revoked_at FROM api_tokens"
    " JOIN users ON users.id = api_tokens.user_id"
)


def _token(row) -> ApiToken:
    token_id, user, label, created_at, expires_at, last_used_at, revoked_at = row
    return ApiToken(
        id=token_id,
        user=user,
        label=label or "",
        created_at=parse_time(created_at),
        expires_at=_moment(expires_at),
        last_used_at=_moment(last_used_at),
        revoked_at=_moment(revoked_at),
    )


def _moment(text: str | None) -> datetime | None:
    return parse_time(text) if text else None
