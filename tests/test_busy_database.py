"""A write that finds the database held by another writer past busy_timeout: 503 with
Retry-After and nothing written, never a 500 ("database is locked" must not reach a user)."""

from __future__ import annotations

import sqlite3

import pytest
from helpers import assert_problem, db_state, make_point, make_record

from locator.domain.filters import PointFilter
from locator.domain.reports import Report, ReportKind
from locator.store import Store, StoreBusy


def test_a_write_blocked_by_another_writer_is_503_with_retry_after_and_writes_nothing(
    client, store, seeded, make_user, make_token
):
    make_user("olena", "admin")
    token = make_token("olena")
    point = seeded[0]
    before = db_state(store)
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # like a restore or a huge import holding the write lock
    try:
        response = client.patch(
            f"/api/v1/points/{point.id}",
            json={"status": "closed"},
            headers={"Authorization": f"Bearer {token}", "If-Match": f'"v{point.version}"'},
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert_problem(response, 503, None)
    assert response.headers["Retry-After"] == "5"
    assert db_state(store) == before
    again = client.patch(
        f"/api/v1/points/{point.id}",
        json={"status": "closed"},
        headers={"Authorization": f"Bearer {token}", "If-Match": f'"v{point.version}"'},
    )
    assert again.status_code == 200, again.get_data(as_text=True)
    assert store.get(point.id).status.value == "closed"


ACCOUNT_TABLES = (
    "SELECT * FROM users",
    "SELECT * FROM api_tokens",
    "SELECT * FROM login_failures",
    "SELECT * FROM reports",
)


def everything(store) -> tuple:
    """db_state plus the tables of users, tokens, login failures and reports."""
    return db_state(store), [list(store.db.execute(sql)) for sql in ACCOUNT_TABLES]


def short_wait(store) -> None:
    """This thread's connection gives up after 20 ms instead of 5 s (the tests' own patience)."""
    store.db.execute("PRAGMA busy_timeout = 20")


def test_every_write_of_the_store_raises_store_busy_and_writes_nothing(store, users, seeded, make_user):
    """Not the driver's OperationalError("database is locked"): callers catch StoreBusy alone."""
    make_user("olena", "admin")
    point = seeded[0]
    short_wait(store)
    before = everything(store)
    writes = {
        "create": lambda: store.create(make_record("new-1"), by="t"),
        "update": lambda: store.update(point.id, {"status": "closed"}, by="t"),
        "confirm": lambda: store.confirm(point.id, by="t"),
        "import_points": lambda: store.import_points([make_point("new-2")]),
        "migrate": store.migrate,
        "report": lambda: store.reports.add(Report(point.id, ReportKind.CLOSED), source="a"),
        "dismiss": lambda: store.reports.dismiss(point.id, by="t"),
        "users.create": lambda: users.create("taras", "hash", "operator"),
        "users.set_disabled": lambda: users.set_disabled("olena", True),
        "users.set_password": lambda: users.set_password("olena", "hash"),
        "users.end_sessions": lambda: users.end_sessions(1),
        "users.add_token": lambda: users.add_token("olena", "digest"),
        "users.record_login_failure": lambda: users.record_login_failure(["k"]),
        "users.clear_login_failures": lambda: users.clear_login_failures("k"),
    }
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        for name, write in writes.items():
            with pytest.raises(StoreBusy) as raised:
                write()
            assert "locked" not in str(raised.value), name
            assert not isinstance(raised.value, sqlite3.Error), name
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert everything(store) == before
    store.update(point.id, {"status": "closed"}, by="t")  # the lock gone, the same write works
    assert store.get(point.id).status.value == "closed"


def test_a_read_of_a_database_another_process_holds_whole_raises_store_busy(store, db_path, seeded):
    """A process in exclusive locking mode keeps even readers out (SQLite's "database is locked"
    on a read): a new connection's first read waits its 5 s, then raises StoreBusy."""
    store.close()  # the app's own connection: exclusive mode needs the file to itself
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    other = Store(db_path)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("UPDATE meta SET value = value WHERE key = 'seq'")
        holder.execute("COMMIT")  # the lock stays: exclusive locking mode
        with pytest.raises(StoreBusy):
            other.find(PointFilter())
    finally:
        holder.close()
    assert len(other.find(PointFilter())) == len(seeded)  # the file free again, the read works
    other.close()
