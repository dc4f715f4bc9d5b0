"""API tokens over their life, through the CLI and real requests: listed without secrets, revoked
one by one, expiring, revoked by a new password and by a disable, never revived by an enable;
hostile CLI input refused with a clear error and nothing changed."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from datetime import timedelta

import pytest
from helpers import assert_problem, make_point

from locator.domain.point import format_time, utcnow
from locator.domain.users import TOKEN_LIFETIME, parse_lifetime
from locator.services.accounts import new_token

pytestmark = pytest.mark.backends  # SQLite and PostgreSQL (conftest.py)

HEADER = "id\tlabel\tcreated\texpires\tlast used\tstate"


@pytest.fixture
def point(store):
    store.import_points([make_point("kyiv-1")])
    return store.get("kyiv-1")


def issue(runner, name: str, *options: str) -> str:
    result = runner.invoke(args=["users", "token", name, *options])
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def patch(app, token: str, status: str = "full"):
    """A write with this token alone (a fresh client: no session cookie)."""
    return app.test_client().patch(
        "/api/v1/points/kyiv-1",
        json={"status": status},
        headers={"Authorization": f"Bearer {token}", "If-Match": "*"},
    )


def listing(runner, name: str) -> list[list[str]]:
    result = runner.invoke(args=["users", "tokens", name])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == HEADER
    return [line.split("\t") for line in lines[1:]]


def token_rows(store) -> list[tuple]:
    return list(store.db.execute("SELECT * FROM api_tokens ORDER BY id"))


# -- issue and list ----------------------------------------------------------------------------------


def test_tokens_lists_each_token_without_its_secret_or_digest(runner, app, users, make_user, point):
    make_user("olena", "admin")
    make_user("taras", "admin")
    sync = issue(runner, "olena", "--label", "hromada sync")
    bot = issue(runner, "olena", "--label", "bot\x1b[31m\tred", "--expires", "never")
    other = issue(runner, "taras")
    old, old_digest = new_token()
    users.add_token("olena", old_digest, "old", lifetime=timedelta(hours=1), now=utcnow() - timedelta(days=2))
    assert runner.invoke(args=["users", "revoke", "2"]).exit_code == 0
    assert patch(app, sync).status_code == 200  # noted as used

    result = runner.invoke(args=["users", "tokens", "olena"])
    for secret in (sync, bot, old, other):
        assert secret not in result.output
        assert hashlib.sha256(secret.encode()).hexdigest()[:12] not in result.output
    rows = listing(runner, "olena")
    assert [row[0] for row in rows] == ["1", "2", "4"]  # hers only, oldest first
    (first, second, third) = rows
    assert first[1] == "hromada sync" and first[5] == "active"
    assert first[4] != "-"  # last used, to the hour
    assert second[1] == "bot?[31m?red"  # control characters never reach the terminal
    assert second[3] == "never" and second[4] == "-" and second[5].startswith("revoked 20")
    assert third[1:] == [
        "old",
        format_time(users.token(4).created_at),
        format_time(users.token(4).expires_at),
        "-",
        "expired",
    ]
    assert [row[0] for row in listing(runner, "taras")] == ["3"]


def test_a_token_expires_after_90_days_by_default_and_as_asked(runner, users, make_user):
    make_user("olena", "admin")
    for option, lifetime in (
        ((), TOKEN_LIFETIME),
        (("--expires", "12h"), timedelta(hours=12)),
        (("--expires", "2w"), timedelta(weeks=2)),
        (("--expires", " 30D "), timedelta(days=30)),
        (("--expires", "730d"), timedelta(days=730)),
    ):
        result = runner.invoke(args=["users", "token", "olena", *option])
        assert result.exit_code == 0, result.output
        token = users.tokens("olena")[-1]
        assert token.expires_at - token.created_at == lifetime
        assert result.stderr == f"token {token.id} for olena, expires {format_time(token.expires_at)}\n"
    issue(runner, "olena", "--expires", "never")
    assert users.tokens("olena")[-1].expires_at is None


BAD_LIFETIMES = [
    "0",
    "0d",
    "-5d",
    "5",
    "90 days",
    "1y",
    "12m",
    "731d",
    "3.5d",
    "",
    "never!",
    "٣d",
    "9999999d",
]


@pytest.mark.parametrize("value", BAD_LIFETIMES)
def test_a_lifetime_is_hours_days_or_weeks_up_to_two_years_or_never(value):
    with pytest.raises(ValueError, match="lifetime"):
        parse_lifetime(value)
    assert parse_lifetime("never") is None and parse_lifetime("1h") == timedelta(hours=1)


def test_a_bad_expiry_is_refused_by_the_cli_and_no_token_is_made(runner, store, make_user):
    make_user("olena", "admin")
    for value in BAD_LIFETIMES:
        result = runner.invoke(args=["users", "token", "olena", f"--expires={value}"])
        assert result.exit_code == 2, (value, result.output)
        assert "Invalid value for '--expires'" in result.output
        assert "poi_" not in result.output
    assert "longer than 0" in runner.invoke(args=["users", "token", "olena", "--expires", "0h"]).output
    assert token_rows(store) == []


# -- revoke ------------------------------------------------------------------------------------------


def test_a_revoked_token_is_refused_at_the_next_request_and_the_users_others_keep_working(
    runner, app, store, make_user, point
):
    make_user("olena", "admin")
    first, second = issue(runner, "olena", "--label", "laptop"), issue(runner, "olena")
    assert patch(app, first).status_code == 200 and patch(app, second).status_code == 200

    result = runner.invoke(args=["users", "revoke", "1"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("token 1 (laptop) of olena is revoked since 20")
    refused = patch(app, first, "closed")
    assert_problem(refused, 401, "Authorization")
    assert store.get("kyiv-1").status.value == "full"
    assert patch(app, second, "closed").status_code == 200

    before = token_rows(store)
    again = runner.invoke(args=["users", "revoke", "1"])
    assert again.exit_code == 0 and again.output == result.output  # the first revocation stands
    assert token_rows(store) == before


def test_an_expired_token_earns_nothing_and_the_store_reads_the_clock_it_is_given(
    app, users, make_user, point
):
    make_user("olena", "admin")
    expired, digest = new_token()
    users.add_token("olena", digest, lifetime=timedelta(hours=1), now=utcnow() - timedelta(hours=2))
    assert_problem(patch(app, expired), 401, "Authorization")

    fresh, fresh_digest = new_token()
    token = users.add_token("olena", fresh_digest, lifetime=timedelta(hours=1))
    assert patch(app, fresh).status_code == 200
    assert users.for_token(fresh_digest, now=token.expires_at - timedelta(seconds=1)).name == "olena"
    assert users.for_token(fresh_digest, now=token.expires_at) is None


# -- a new password, a disable --------------------------------------------------------------------------


def passwd(runner, name: str, *options: str):
    return runner.invoke(
        args=["users", "passwd", name, "--password-stdin", *options], input="нова-батарейка 2027\n"
    )


def test_a_new_password_revokes_the_users_tokens_unless_kept(runner, app, users, make_user, point):
    make_user("olena", "admin")
    make_user("taras", "admin")
    hers, his = issue(runner, "olena"), issue(runner, "taras")

    kept = passwd(runner, "olena", "--keep-tokens")
    assert kept.exit_code == 0, kept.output
    assert "their API tokens keep working" in kept.output
    assert patch(app, hers).status_code == 200

    result = passwd(runner, "olena")
    assert result.exit_code == 0, result.output
    assert "their API tokens are revoked" in result.output
    assert_problem(patch(app, hers, "closed"), 401, "Authorization")
    assert patch(app, his, "closed").status_code == 200  # no one else's
    assert [t.state(utcnow()) for t in users.tokens("olena")] == ["revoked"]
    assert patch(app, issue(runner, "olena"), "open").status_code == 200  # new ones work


def test_a_disabled_user_gets_no_token_and_enabling_them_revives_none(runner, store, users, make_user):
    make_user("olena", "admin")
    issue(runner, "olena")
    issue(runner, "olena", "--expires", "never")
    disabled = runner.invoke(args=["users", "disable", "olena"])
    assert "their API tokens are revoked" in disabled.output
    before = token_rows(store)
    refused = runner.invoke(args=["users", "token", "olena"])
    assert refused.exit_code == 1
    assert "user 'olena' is disabled: enable them before giving them a token" in refused.output
    assert token_rows(store) == before

    enabled = runner.invoke(args=["users", "enable", "olena"])
    assert enabled.exit_code == 0
    assert "no API token of theirs came back" in enabled.output
    assert [row[5].split()[0] for row in listing(runner, "olena")] == ["revoked", "revoked"]
    assert token_rows(store) == before


# -- the last use -------------------------------------------------------------------------------------


@pytest.mark.sqlite_only  # (SQLite's statement trace and write lock)
def test_the_last_use_is_noted_hourly_and_never_makes_a_request_wait(runner, app, store, users, make_user):
    make_user("olena", "admin")
    token = issue(runner, "olena")
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    assert users.token(1).last_used_at is None
    assert client.get("/api/v1/points").status_code == 200  # no token: nothing noted
    assert users.token(1).last_used_at is None
    assert client.get("/api/v1/points", headers=headers).status_code == 200
    noted = users.token(1).last_used_at
    assert noted is not None
    statements: list[str] = []
    store.db.conn.set_trace_callback(statements.append)
    assert client.get("/api/v1/points", headers=headers).status_code == 200
    store.db.conn.set_trace_callback(None)
    assert not any(sql.startswith("UPDATE") for sql in statements)  # once an hour at most

    store.db.execute("UPDATE api_tokens SET last_used_at = '2020-01-01T00:00:00Z'")
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the database (an import, a restore)
    try:
        started = time.monotonic()
        assert client.get("/api/v1/points", headers=headers).status_code == 200
        assert time.monotonic() - started < 1  # not the 5 s busy wait
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert users.token(1).last_used_at.year == 2020  # skipped, noted at a later use
    assert client.get("/api/v1/points", headers=headers).status_code == 200
    assert users.token(1).last_used_at >= noted


# -- hostile input ------------------------------------------------------------------------------------


HOSTILE = [
    (["users", "tokens", "nobody"], 1, "no user named 'nobody'"),
    (["users", "token", "nobody"], 1, "no user named 'nobody'"),
    (["users", "token", "nobody", "--expires", "never"], 1, "no user named 'nobody'"),
    (["users", "revoke", "999"], 1, "no API token with id 999"),
    (["users", "revoke", "abc"], 2, "'abc' is not a valid integer"),
    (["users", "revoke", "1.5"], 2, "is not a valid integer"),
    (["users", "revoke", "0"], 2, "Invalid value for 'TOKEN_ID'"),
    (["users", "revoke", "--", "-1"], 2, "Invalid value for 'TOKEN_ID'"),
    (["users", "revoke", "1 OR 1=1"], 2, "is not a valid integer"),
    (["users", "revoke"], 2, "Missing argument 'TOKEN_ID'"),
    (["users", "tokens"], 2, "Missing argument 'NAME'"),
]


def test_hostile_token_commands_fail_clearly_and_change_nothing(runner, store, make_user):
    make_user("olena", "admin")
    issue(runner, "olena")
    before = token_rows(store), list(store.db.execute("SELECT * FROM users"))
    for args, code, message in HOSTILE:
        result = runner.invoke(args=args)
        assert result.exit_code == code, (args, result.output)
        assert message in result.output, args
        assert "Traceback" not in result.output
    assert (token_rows(store), list(store.db.execute("SELECT * FROM users"))) == before
