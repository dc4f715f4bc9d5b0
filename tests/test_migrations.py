"""Numbered schema steps: a database from the first release upgrades without loss, running the
migration again changes nothing, a failed step leaves the previous version, and a database
from a newer release stops the app."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
import sqlite_utils
from helpers import make_point

from locator import create_app
from locator.domain.parsers import parse_time
from locator.domain.point import utcnow
from locator.services.accounts import new_token
from locator.store import POINT_COLUMNS, Store
from locator.store.schema import SCHEMA_VERSION, STEPS, SchemaError, migrate

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SCHEMA1 = FIXTURES / "schema1.db"  # made by fixtures/make_schema1_db.py from the first release's DDL


def dump(path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return list(conn.iterdump())


def rows(path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return list(conn.execute(sql))


def shape(path) -> set[tuple]:
    """Tables, their columns (type, not null, default) and indexes: the schema, order aside."""
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        found = {
            ("index", r[0], r[1])
            for r in conn.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'")
        }
        for table in tables:
            for _, column, kind, notnull, default, pk in conn.execute(
                "SELECT * FROM pragma_table_info(?)", [table]
            ):
                found.add((table, column, kind, notnull, default, pk))
    return found


@pytest.fixture
def old_db(tmp_path) -> Path:
    path = tmp_path / "schema1.db"
    shutil.copy(SCHEMA1, path)
    return path


def open_app(path: Path):
    return create_app({"DATABASE": str(path), "SEED_FILE": "", "TESTING": True})


def test_the_fixture_is_a_first_release_database(old_db):
    assert rows(old_db, "SELECT value FROM meta WHERE key = 'schema_version'") == [(1,)]
    columns = {r[1] for r in rows(old_db, "PRAGMA table_info(points)")}
    assert "archived" not in columns and "unconfirmed" not in columns
    assert not rows(old_db, "SELECT name FROM sqlite_master WHERE name IN ('users', 'reports')")
    assert rows(old_db, "SELECT count(*) FROM points") == [(4,)]
    assert rows(old_db, "SELECT count(*) FROM history") == [(10,)]


def test_a_first_release_database_upgrades_without_loss(old_db):
    schema1_columns = [r[1] for r in rows(old_db, "PRAGMA table_info(points)")]
    points_before = rows(old_db, f"SELECT {', '.join(schema1_columns)} FROM points ORDER BY id")
    history_before = rows(old_db, "SELECT * FROM history ORDER BY id")
    deleted_before = rows(old_db, "SELECT id, seq FROM deleted_points")
    seq_before = rows(old_db, "SELECT value FROM meta WHERE key = 'seq'")

    app = open_app(old_db)
    store = app.extensions["locator.store"]
    assert rows(old_db, "SELECT value FROM meta WHERE key = 'schema_version'") == [(SCHEMA_VERSION,)]
    assert rows(old_db, f"SELECT {', '.join(schema1_columns)} FROM points ORDER BY id") == points_before
    assert rows(old_db, "SELECT * FROM history ORDER BY id") == history_before
    assert rows(old_db, "SELECT id, seq FROM deleted_points") == deleted_before
    # schema 10: a point deleted before visibility existed was public (no visibility change recorded)
    assert rows(old_db, "SELECT DISTINCT visibility FROM deleted_points") == [("public",)]
    assert [(store.change_seq(),)] == seq_before
    # New columns take their defaults, and every point reads back as a valid Point.
    assert rows(old_db, "SELECT DISTINCT archived, stops, moved_at, unconfirmed FROM points") == [
        (0, "", None, 0)
    ]
    points = {p.id: p for p in store.all()}
    assert sorted(points) == ["brov-002", "kam-003", "kyiv-001", "tent-004"]
    kyiv = points["kyiv-001"]
    assert (kyiv.status.value, kyiv.version, kyiv.occupancy, kyiv.services) == (
        "full",
        3,
        119,
        frozenset({"power", "heat", "internet"}),
    )
    assert points["kam-003"].settlement == "Кам’янець-Подільський"
    # The site works on it: the API, the filters, the history, the nearest index.
    client = app.test_client()
    found = client.get("/api/v1/points?region=київська область").get_json()["features"]
    assert sorted(f["id"] for f in found) == ["brov-002", "kyiv-001"]
    assert client.get("/api/v1/points?q=кам'янець").get_json()["features"][0]["id"] == "kam-003"
    nearest = client.get("/api/v1/nearest?lat=49.84&lon=24.03&k=1").get_json()["features"]
    assert nearest[0]["id"] == "tent-004"
    changes = client.get("/api/v1/changes?since=0&limit=100").get_json()["changes"]
    assert len(changes) == 10 and changes[-1]["field"] == "status"
    # ... and takes writes, which continue the change counter and the history.
    store.update("brov-002", {"status": "closed"}, by="test")
    assert store.change_seq() == seq_before[0][0] + 1
    assert {row["field"] for row in store.history("brov-002") if row["seq"] == store.change_seq()} == {
        "status",
        "verified_at",
    }


def test_running_the_migration_again_changes_nothing(old_db):
    open_app(old_db).extensions["locator.store"].close()
    after_first = dump(old_db)
    store = Store(old_db)
    assert store.migrate() == []
    store.close()
    open_app(old_db).extensions["locator.store"].close()
    assert dump(old_db) == after_first


def test_an_upgraded_database_has_the_same_schema_as_a_new_one(old_db, tmp_path):
    open_app(old_db).extensions["locator.store"].close()
    new = tmp_path / "new.db"
    open_app(new).extensions["locator.store"].close()
    assert shape(old_db) == shape(new)
    assert {r[1] for r in rows(new, "PRAGMA table_info(points)")} == set(POINT_COLUMNS)


def test_a_new_database_gets_every_step_in_order(tmp_path):
    store = Store(tmp_path / "fresh.db")
    assert store.migrate() == [step.version for step in STEPS]
    assert store.migrate() == []
    assert [s.version for s in STEPS] == list(range(1, SCHEMA_VERSION + 1))


def test_a_failed_step_leaves_the_database_at_the_version_before(old_db):
    """Step 3 cannot index "reports" when something else holds that name (here a view): it rolls
    back whole, and the database stays a sound schema-2 one (steps 1 and 2 committed on their own)."""
    with sqlite3.connect(old_db) as conn:
        conn.execute("CREATE VIEW reports AS SELECT id AS point_id, seq AS resolved_at FROM points")
    conn = sqlite3.connect(old_db, isolation_level=None)
    try:
        with pytest.raises(sqlite3.OperationalError, match="views may not be indexed"):
            migrate(sqlite_utils.Database(conn))
    finally:
        conn.close()
    assert rows(old_db, "SELECT value FROM meta WHERE key = 'schema_version'") == [(2,)]
    columns = {r[1] for r in rows(old_db, "PRAGMA table_info(points)")}
    assert "archived" in columns  # step 2
    assert "stops" not in columns and "unconfirmed" not in columns  # step 3, rolled back
    assert rows(old_db, "PRAGMA integrity_check") == [("ok",)]


def test_a_database_from_a_newer_release_stops_the_app(old_db):
    with sqlite3.connect(old_db) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [SCHEMA_VERSION + 1])
    before = dump(old_db)
    with pytest.raises(SchemaError) as stopped:
        open_app(old_db)
    message = str(stopped.value)
    assert str(old_db) in message
    assert (
        f"has schema version {SCHEMA_VERSION + 1}, but this release knows only up to {SCHEMA_VERSION}"
        in message
    )
    assert dump(old_db) == before


def test_a_database_that_is_not_ours_stops_the_app(tmp_path):
    path = tmp_path / "photos.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY)")
    with pytest.raises(SchemaError, match="no meta table: not a locator database"):
        open_app(path)


def test_a_first_release_backup_restores_into_a_current_database(tmp_path):
    app = open_app(tmp_path / "live.db")
    store = app.extensions["locator.store"]
    result = app.test_cli_runner().invoke(args=["db", "restore", str(SCHEMA1), "--yes"])
    assert result.exit_code == 0, result.output
    assert "schema 1" in result.output
    assert [p.id for p in store.all()] == ["brov-002", "kam-003", "kyiv-001", "tent-004"]
    history = store.history("kyiv-001")
    assert [row["field"] for row in history[1:]] == [
        "verified_at",
        "status",
        "occupancy",
        "created",
    ]  # as it was
    assert (history[0]["field"], history[0]["by"]) == (
        "created",
        "restore:schema1.db",
    )  # new to this database
    assert rows(SCHEMA1, "SELECT value FROM meta WHERE key = 'schema_version'") == [(1,)]  # left as it was


def schema3_database(path: Path) -> None:
    """A database as the release before API token expiries made it (steps 1 to 3)."""
    conn = sqlite3.connect(path, isolation_level=None)
    for step in STEPS[:3]:
        step.apply(conn)
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', 3)")
    conn.close()


def test_tokens_made_before_expiries_keep_working_for_90_days_and_a_disabled_users_are_revoked(
    tmp_path, password_hash
):
    """Step 4: old tokens get ids in the order they were made, expire 90 days after the upgrade,
    and a disabled user's are revoked (enabling them later revives none)."""
    path = tmp_path / "schema3.db"
    schema3_database(path)
    olena, dmytro = new_token(), new_token()
    with sqlite3.connect(path) as conn:
        for name, disabled in (("olena", 0), ("dmytro", 1)):
            conn.execute(
                "INSERT INTO users (name, password_hash, role, regions, settlements, disabled,"
                " session_version, created_at) VALUES (?, ?, 'admin', '[]', '[]', ?, 1, ?)",
                [name, password_hash, disabled, "2026-01-01T00:00:00Z"],
            )
        for (_, digest), name, made in ((olena, "olena", "01"), (dmytro, "dmytro", "02")):
            conn.execute(
                "INSERT INTO api_tokens (digest, user_id, label, created_at)"
                " SELECT ?, id, 'sync', ? FROM users WHERE name = ?",
                [digest, f"2026-01-{made}T00:00:00Z", name],
            )
    before = utcnow()
    app = open_app(path)
    users = app.extensions["locator.users"]
    assert rows(path, "SELECT value FROM meta WHERE key = 'schema_version'") == [(SCHEMA_VERSION,)]
    (kept,), (revoked,) = users.tokens("olena"), users.tokens("dmytro")
    assert (kept.id, kept.label, kept.created_at, kept.revoked_at) == (
        1,
        "sync",
        parse_time("2026-01-01"),
        None,
    )
    assert before + timedelta(days=90) <= kept.expires_at <= utcnow() + timedelta(days=90)
    assert revoked.id == 2 and revoked.revoked_at is not None
    store = app.extensions["locator.store"]
    store.import_points([make_point("kyiv-01")])
    client = app.test_client()
    patch = lambda token: client.patch(  # noqa: E731
        "/api/v1/points/kyiv-01",
        json={"status": "full"},
        headers={"Authorization": f"Bearer {token}", "If-Match": "*"},
    )
    assert patch(olena[0]).status_code == 200
    users.set_disabled("dmytro", False)
    assert patch(dmytro[0]).status_code == 401
    assert users.for_token(olena[1], now=kept.expires_at) is None  # expired on the day
    store.close()
