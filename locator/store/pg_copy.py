"""`db migrate-to-postgres`: a SQLite database copied whole into an empty PostgreSQL one.

The SQLite file is checked as a backup would be (integrity, ours, a schema this release knows)
and brought to the current schema in a scratch copy, never in place. Then, in one PostgreSQL
transaction: the target must hold nothing (the schema, made by the migrations, may be there),
every table is copied row by row with its ids, the change counter comes along, the database's
own id sequences move past the copied ids, and every table is counted and checksummed on both
sides. Any difference, or any error, rolls the whole copy back: the target stays empty.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from contextlib import closing
from pathlib import Path

from locator.store.backup import BackupError, check_database, copy_file, upgrade
from locator.store.pg_backup import TABLES, reset_identities
from locator.store.pg_store import PostgresStore

# How each table's rows are ordered for the checksum: the same order on both databases (text
# keys compare as bytes: SQLite's BINARY, PostgreSQL's "C").
ORDER = {  # {c}: the collation of a text key ("C" on PostgreSQL); any other table: by id
    "meta": "key{c}",
    "points": "id{c}",
    "deleted_points": "id{c}",
    "login_failures": "key{c}, at{c}",
    "outage_entries": "list_id, region{c}, settlement{c}",
    "planner_files": "owner, kind{c}",
    "signin_links": "digest{c}",
}
COPIED_META = ("seq", "changed_at")  # schema_version is the target's own (the same release)


def copy_sqlite(source: str | Path, target: PostgresStore) -> dict[str, tuple[int, str]]:
    """Copy every row of the SQLite database at source into target; for each table, the rows
    copied and their checksum (the same on both sides, or nothing is kept)."""
    source = Path(source)
    check_database(source)
    scratch = Path(f"{source}.to-postgres-{os.getpid()}")
    try:
        copy_file(source, scratch)
        upgrade(scratch)
        with closing(sqlite3.connect(scratch)) as sqlite:
            return _copy(sqlite, target)
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{scratch}{suffix}").unlink(missing_ok=True)


def _copy(sqlite: sqlite3.Connection, target: PostgresStore) -> dict[str, tuple[int, str]]:
    with target.transaction() as conn:
        _require_empty(conn)
        for table in TABLES:
            if table == "meta":
                continue
            columns = _common_columns(sqlite, conn, table)
            names = ", ".join(f'"{c}"' for c in columns)
            with conn.raw.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in sqlite.execute(f"SELECT {names} FROM {table}"):
                    copy.write_row(row)
        for key in COPIED_META:
            row = sqlite.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, row[0] if row else 0],
            )
        reset_identities(conn)
        copied = {}
        for table in TABLES:
            columns = _common_columns(sqlite, conn, table)
            where = f" WHERE key IN ({', '.join(repr(k) for k in COPIED_META)})" if table == "meta" else ""
            theirs = _checksum(sqlite.execute(_select(table, columns, where, "")))
            ours = _checksum(conn.execute(_select(table, columns, where, ' COLLATE "C"')))
            if theirs != ours:
                raise BackupError(
                    f"{table}: {theirs[0]} rows in SQLite, {ours[0]} copied, and their checksums differ:"
                    " nothing was kept"
                )
            copied[table] = ours
    return copied


def _require_empty(conn) -> None:
    for table in TABLES:
        if table == "meta":
            if conn.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()[0]:
                raise BackupError(
                    "the PostgreSQL database has had writes (its change counter moved): not empty"
                )
            continue
        count = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        if count:
            raise BackupError(f"the PostgreSQL database is not empty: {table} holds {count} rows")


def _common_columns(sqlite: sqlite3.Connection, conn, table: str) -> list[str]:
    theirs = [row[1] for row in sqlite.execute(f"PRAGMA table_info({table})")]
    ours = {
        row[0]
        for row in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND table_name = ? AND is_generated = 'NEVER'",
            [table],
        )
    }
    return [c for c in theirs if c in ours]


def _select(table: str, columns: list[str], where: str, collate: str) -> str:
    order = ORDER.get(table, "id").format(c=collate)
    names = ", ".join(f'"{c}"' for c in columns)
    return f"SELECT {names} FROM {table}{where} ORDER BY {order}"


def _checksum(rows) -> tuple[int, str]:
    digest, count = hashlib.sha256(), 0
    for row in rows:
        count += 1
        for value in row:
            digest.update(_canonical(value))
        digest.update(b"\x1e")
    return count, digest.hexdigest()


def _canonical(value) -> bytes:
    if value is None:
        return b"\x00N\x1f"
    if isinstance(value, float):
        return b"f" + repr(value).encode() + b"\x1f"
    if isinstance(value, int):
        return b"i" + str(value).encode() + b"\x1f"
    return b"s" + str(value).encode() + b"\x1f"
