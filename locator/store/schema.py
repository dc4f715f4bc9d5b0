"""The database schema as a numbered list of steps, applied in order at every start.

Each step runs in its own IMMEDIATE transaction together with the ``schema_version`` it
reaches, so a crash leaves the database at one version or the next, never between; reading the
version inside that transaction makes concurrent starts (workers without --preload) safe.
Steps never touch the change counter or any data a reader sees. A database with a newer
version than the code knows stops the app. To change the schema, add a step: never edit one
that has shipped (tests/fixtures/make_schema1_db.py keeps a database made by step 1).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import sqlite_utils

from locator.domain.parsers import parse_time
from locator.domain.values import format_time, utcnow


class SchemaError(RuntimeError):
    """The database cannot be used by this code (newer, or not one of ours)."""


# -- the steps ----------------------------------------------------------------------------------

SCHEMA_1 = (
    """CREATE TABLE IF NOT EXISTS "meta" ("key" TEXT PRIMARY KEY, "value" INTEGER)""",
    "INSERT OR IGNORE INTO meta (key, value) VALUES ('seq', 0)",
    """CREATE TABLE IF NOT EXISTS "points" (
       "id" TEXT PRIMARY KEY, "name" TEXT NOT NULL, "kind" TEXT NOT NULL, "category" TEXT,
       "base" INTEGER, "status" TEXT NOT NULL, "services" TEXT, "services_mask" INTEGER,
       "lat" REAL, "lon" REAL, "address" TEXT, "settlement" TEXT, "region" TEXT,
       "region_key" TEXT, "search_text" TEXT, "capacity" INTEGER, "occupancy" INTEGER,
       "phone" TEXT, "hours" TEXT, "open_24_7" INTEGER, "note" TEXT, "updated_at" TEXT,
       "verified_at" TEXT, "version" INTEGER, "seq" INTEGER)""",
    'CREATE INDEX IF NOT EXISTS "idx_points_seq" ON "points" ("seq")',
    'CREATE INDEX IF NOT EXISTS "idx_points_status" ON "points" ("status")',
    """CREATE TABLE IF NOT EXISTS "history" (
       "id" INTEGER PRIMARY KEY, "point_id" TEXT, "seq" INTEGER, "at" TEXT, "by" TEXT,
       "field" TEXT, "old" TEXT, "new" TEXT)""",
    'CREATE INDEX IF NOT EXISTS "idx_history_point_id_id" ON "history" ("point_id", "id")',
    """CREATE TABLE IF NOT EXISTS "deleted_points" ("id" TEXT PRIMARY KEY, "seq" INTEGER)""",
)

SCHEMA_2 = (
    """CREATE TABLE IF NOT EXISTS "users" (
       "id" INTEGER PRIMARY KEY, "name" TEXT NOT NULL, "password_hash" TEXT NOT NULL,
       "role" TEXT NOT NULL, "regions" TEXT, "settlements" TEXT, "disabled" INTEGER,
       "session_version" INTEGER, "created_at" TEXT)""",
    'CREATE UNIQUE INDEX IF NOT EXISTS "idx_users_name" ON "users" ("name")',
    """CREATE TABLE IF NOT EXISTS "api_tokens" (
       "digest" TEXT PRIMARY KEY, "user_id" INTEGER, "label" TEXT, "created_at" TEXT)""",
    """CREATE TABLE IF NOT EXISTS "login_failures" ("key" TEXT, "at" TEXT)""",
    'CREATE INDEX IF NOT EXISTS "idx_login_failures_key_at" ON "login_failures" ("key", "at")',
)

SCHEMA_3 = (
    """CREATE TABLE IF NOT EXISTS "reports" (
       "id" INTEGER PRIMARY KEY, "point_id" TEXT NOT NULL, "kind" TEXT NOT NULL, "service" TEXT,
       "comment" TEXT, "at" TEXT NOT NULL, "source" TEXT, "resolved_at" TEXT,
       "resolved_by" TEXT, "resolution" TEXT)""",
    'CREATE INDEX IF NOT EXISTS "idx_reports_point_id_resolved_at" ON "reports" ("point_id", "resolved_at")',
    'CREATE INDEX IF NOT EXISTS "idx_reports_source_at" ON "reports" ("source", "at")',
    'CREATE INDEX IF NOT EXISTS "idx_reports_at" ON "reports" ("at")',
)

# API tokens get an id (to list and revoke one), an expiry, a last use and a revocation: the table
# is made again (SQLite cannot add a primary key), tokens in the order they were made.
SCHEMA_4 = (
    'ALTER TABLE "api_tokens" RENAME TO "api_tokens_3"',
    """CREATE TABLE "api_tokens" (
       "id" INTEGER PRIMARY KEY, "digest" TEXT NOT NULL, "user_id" INTEGER NOT NULL, "label" TEXT,
       "created_at" TEXT, "expires_at" TEXT, "last_used_at" TEXT, "revoked_at" TEXT)""",
    "INSERT INTO api_tokens (digest, user_id, label, created_at) SELECT digest, user_id, label,"
    " created_at FROM api_tokens_3 WHERE digest IS NOT NULL AND user_id IS NOT NULL ORDER BY rowid",
    'DROP TABLE "api_tokens_3"',
    'CREATE UNIQUE INDEX "idx_api_tokens_digest" ON "api_tokens" ("digest")',
    'CREATE INDEX "idx_api_tokens_user_id" ON "api_tokens" ("user_id")',
)
# Tokens made before expiries existed get the default lifetime counted from the upgrade: no
# token lives for ever unasked, and their users have a season's notice (`users tokens NAME`).
# Written out, not domain/users.TOKEN_LIFETIME: a shipped step never changes.
SCHEMA_4_OLD_TOKENS_EXPIRE_AFTER = timedelta(days=90)


def _run(statements: tuple[str, ...]) -> Callable[[sqlite3.Connection], None]:
    def step(conn: sqlite3.Connection) -> None:
        for statement in statements:
            conn.execute(statement)

    return step


def _add_columns(*columns: tuple[str, str]) -> Callable[[sqlite3.Connection], None]:
    """For each (column, ALTER TABLE statement): run it when points lacks that column."""

    def step(conn: sqlite3.Connection) -> None:
        have = {row[1] for row in conn.execute("PRAGMA table_info(points)")}
        for name, statement in columns:
            if name not in have:  # schema 1 and 2 databases made before numbered steps checked this
                conn.execute(statement)

    return step


def _step_1(conn: sqlite3.Connection) -> None:
    """Points, their history, deletions and the change counter."""
    _run(SCHEMA_1)(conn)


def _step_2(conn: sqlite3.Connection) -> None:
    """Archived points; console users, API tokens and login failures."""
    _add_columns(("archived", "ALTER TABLE points ADD COLUMN archived INTEGER NOT NULL DEFAULT 0"))(conn)
    _run(SCHEMA_2)(conn)


def _step_3(conn: sqlite3.Connection) -> None:
    """Mobile points' stops and moved_at, the unconfirmed flag, and citizens' reports."""
    _add_columns(
        ("stops", "ALTER TABLE points ADD COLUMN stops TEXT NOT NULL DEFAULT ''"),
        ("moved_at", "ALTER TABLE points ADD COLUMN moved_at TEXT"),
        ("unconfirmed", "ALTER TABLE points ADD COLUMN unconfirmed INTEGER NOT NULL DEFAULT 0"),
    )(conn)
    _run(SCHEMA_3)(conn)


def _step_4(conn: sqlite3.Connection) -> None:
    """API tokens: an id, an expiry, a last use, a revocation. Old tokens expire 90 days after
    the upgrade; those of users disabled now are revoked (enabling a user revives no token)."""
    _run(SCHEMA_4)(conn)
    now = utcnow()
    conn.execute(
        "UPDATE api_tokens SET expires_at = ?", [format_time(now + SCHEMA_4_OLD_TOKENS_EXPIRE_AFTER)]
    )
    conn.execute(
        "UPDATE api_tokens SET revoked_at = ? WHERE user_id IN (SELECT id FROM users WHERE disabled = 1)",
        [format_time(now)],
    )


def _step_5(conn: sqlite3.Connection) -> None:
    """Opening hours in OpenStreetMap syntax (issue 17); "" until an operator or
    `points migrate-hours` sets them."""
    column = "ALTER TABLE points ADD COLUMN opening_hours TEXT NOT NULL DEFAULT ''"
    _add_columns(("opening_hours", column))(conn)


def _step_6(conn: sqlite3.Connection) -> None:
    """When the change counter last moved (meta.changed_at, Unix ms): the X-Data-As-Of a node
    serves from memory (issue 18). Databases made before start at their last history row."""
    last = conn.execute("SELECT at FROM history ORDER BY id DESC LIMIT 1").fetchone()
    at = int(parse_time(last[0]).timestamp() * 1000) if last else 0
    conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('changed_at', ?)", [at])


# The planner's outage lists (each save a new list, with its time and author) and the files
# planners upload (validated rows as JSON, one per user and kind); issue 19.
SCHEMA_7 = (
    """CREATE TABLE IF NOT EXISTS "outage_lists" (
       "id" INTEGER PRIMARY KEY, "at" TEXT NOT NULL, "author" TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS "outage_entries" (
       "list_id" INTEGER NOT NULL, "region" TEXT NOT NULL, "settlement" TEXT NOT NULL DEFAULT '')""",
    'CREATE INDEX IF NOT EXISTS "idx_outage_entries_list_id" ON "outage_entries" ("list_id")',
    """CREATE TABLE IF NOT EXISTS "planner_files" (
       "owner" INTEGER NOT NULL, "kind" TEXT NOT NULL, "name" TEXT, "at" TEXT NOT NULL,
       "author" TEXT NOT NULL, "body" TEXT NOT NULL, PRIMARY KEY ("owner", "kind"))""",
)


def _step_7(conn: sqlite3.Connection) -> None:
    """The planner's outage lists and uploaded files (issue 19)."""
    _run(SCHEMA_7)(conn)


# Issue 20: the business type, visibility (public | approximate | hidden), support points and beds.
STEP_8_COLUMNS = (
    ("business_type", "TEXT NOT NULL DEFAULT ''"),
    ("visibility", "TEXT NOT NULL DEFAULT 'public'"),
    ("support", "INTEGER NOT NULL DEFAULT 0"),
    ("beds", "INTEGER"),
    ("beds_free", "INTEGER"),
)


def _step_8(conn: sqlite3.Connection) -> None:
    """Business types, visibility and support points with beds (issue 20); old points public."""
    _add_columns(*((name, f"ALTER TABLE points ADD COLUMN {name} {kind}") for name, kind in STEP_8_COLUMNS))(
        conn
    )


# Businesses join (issue 20): their proposals with every step's history, the one-time sign-in
# links (digests only) and a business account's own points.
SCHEMA_9 = (
    """ALTER TABLE "users" ADD COLUMN "points" TEXT NOT NULL DEFAULT '[]'""",
    """CREATE TABLE IF NOT EXISTS "proposals" (
       "id" INTEGER PRIMARY KEY, "at" TEXT NOT NULL, "source" TEXT NOT NULL,
       "state" TEXT NOT NULL DEFAULT 'pending', "regions" TEXT NOT NULL, "body" TEXT NOT NULL,
       "decided_at" TEXT, "decided_by" TEXT, "reason" TEXT, "account" TEXT)""",
    'CREATE INDEX IF NOT EXISTS "idx_proposals_state" ON "proposals" ("state")',
    'CREATE INDEX IF NOT EXISTS "idx_proposals_source_at" ON "proposals" ("source", "at")',
    """CREATE TABLE IF NOT EXISTS "proposal_history" (
       "id" INTEGER PRIMARY KEY, "proposal_id" INTEGER NOT NULL, "at" TEXT NOT NULL,
       "by" TEXT NOT NULL, "action" TEXT NOT NULL, "detail" TEXT NOT NULL DEFAULT '')""",
    'CREATE INDEX IF NOT EXISTS "idx_proposal_history_proposal_id" ON "proposal_history" ("proposal_id")',
    """CREATE TABLE IF NOT EXISTS "signin_links" (
       "digest" TEXT PRIMARY KEY, "user_id" INTEGER NOT NULL, "created_at" TEXT NOT NULL,
       "expires_at" TEXT NOT NULL, "used_at" TEXT)""",
)


def _step_9(conn: sqlite3.Connection) -> None:
    """Businesses' proposals, their history, sign-in links and business accounts (issue 20)."""
    _run(SCHEMA_9)(conn)


# A deleted point keeps the visibility it had, so the change feed drops every row of one deleted
# while hidden (issue 20). Rows deleted before this step take their last recorded visibility
# change, else public (before schema 8 every point was; a point made hidden by import and never
# changed before this step left no trace to tell, the gap this step closes for later deletions).
SCHEMA_10 = (
    'ALTER TABLE "deleted_points" ADD COLUMN "visibility" TEXT',
    """UPDATE "deleted_points" SET "visibility" = COALESCE((SELECT h."new" FROM "history" h
       WHERE h."point_id" = "deleted_points"."id" AND h."field" = 'visibility'
       ORDER BY h."id" DESC LIMIT 1), 'public')""",
)


def _step_10(conn: sqlite3.Connection) -> None:
    """Deleted points keep their visibility (issue 20: the change feed's last gap)."""
    _run(SCHEMA_10)(conn)


@dataclass(frozen=True)
class Step:
    version: int  # the schema_version the database has after this step
    apply: Callable[[sqlite3.Connection], None]


STEPS: tuple[Step, ...] = (
    Step(1, _step_1),
    Step(2, _step_2),
    Step(3, _step_3),
    Step(4, _step_4),
    Step(5, _step_5),
    Step(6, _step_6),
    Step(7, _step_7),
    Step(8, _step_8),
    Step(9, _step_9),
    Step(10, _step_10),
)
SCHEMA_VERSION = STEPS[-1].version


# -- running them -------------------------------------------------------------------------------


def schema_version(conn: sqlite3.Connection) -> int:
    """The version a database is at: 0 when it is empty; SchemaError when it is not ours."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "meta" not in tables:
        if tables - {"sqlite_sequence", "sqlite_stat1"}:
            raise SchemaError(
                f"the database holds tables but no meta table: not a locator database ({tables})"
            )
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None:
        raise SchemaError("the database has no schema_version in its meta table: not a locator database")
    return int(row[0])


def check_version(conn: sqlite3.Connection, where: str = "the database") -> int:
    """The version, after making sure this code knows it (SchemaError when it is newer)."""
    version = schema_version(conn)
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"{where} has schema version {version}, but this release knows only up to "
            f"{SCHEMA_VERSION}: run the release that made it (or restore a backup of this one)"
        )
    return version


def migrate(db: sqlite_utils.Database, where: str = "the database") -> list[int]:
    """Apply every step the database lacks, each in its own transaction; return their versions."""
    conn = db.conn
    applied = []
    for step in STEPS:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = check_version(conn, where)
            if version < step.version:
                step.apply(conn)
                conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", [step.version]
                )
                applied.append(step.version)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return applied
