"""Backups and restores on PostgreSQL: pg_dump and pg_restore in custom format, with the checks
SQLite's backups get (store/backup.py).

A backup is ``pg_dump -Fc`` (one consistent snapshot; writers go on), written beside the target
and renamed into place only once ``pg_restore`` has read its table of contents and its data: it
holds our tables and a schema version this release knows.

A restore never drops the database under running nodes. The dump's rows are loaded, in one
transaction, into temporary copies of our tables; then, as on SQLite, every table is replaced
from them, the change counter moves past anything any node has seen, every point is stamped
with it, the points the restore removed are recorded as deleted, the history says what
changed, tokens revoked here stay revoked and every console session ends. Each node's index
follows through NOTIFY; if anything fails, nothing changed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from locator.domain.point import format_time, utcnow
from locator.store.backup import BackupError, DatabaseInfo, restore_changes
from locator.store.pg_store import PostgresStore
from locator.store.rows import point_from_row
from locator.store.schema import SCHEMA_VERSION

TABLES = (  # every table of ours, meta first (tests/test_postgres.py holds this to the schema)
    "meta",
    "points",
    "history",
    "deleted_points",
    "users",
    "api_tokens",
    "login_failures",
    "reports",
    "outage_lists",
    "outage_entries",
    "planner_files",
    "proposals",
    "proposal_history",
    "signin_links",
)
IDENTITIES = (  # ids made by the database
    "history",
    "users",
    "api_tokens",
    "reports",
    "outage_lists",
    "proposals",
    "proposal_history",
)
COPY_START = re.compile(r"^COPY public\.(\w+) \(([^)]*)\) FROM stdin;$")
TOOL_TIMEOUT_S = 3600


def _tool(name: str, *args: str) -> subprocess.CompletedProcess:
    path = shutil.which(name) or next(iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))), None)
    if path is None:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    try:
        return subprocess.run(
            [str(path), *args], capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=True
        )
    except subprocess.CalledProcessError as error:
        raise BackupError(f"{name} failed: {error.stderr.strip()[-500:]}") from None


def backup(store: PostgresStore, target: str | Path) -> DatabaseInfo:
    """pg_dump the database to target (custom format), checked before it replaces target."""
    target = Path(target)
    if target.is_dir():
        raise BackupError(f"{target} is a directory: give the backup's file name")
    draft = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        _tool("pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={draft}", store.url)
        info = check_dump(draft)
        os.replace(draft, target)
    finally:
        draft.unlink(missing_ok=True)
    return DatabaseInfo(
        target, info.schema_version, info.seq, info.points, info.history, target.stat().st_size
    )


def read_dump(path: str | Path) -> dict[str, tuple[list[str], list[str]]]:
    """Each of our tables in a dump: (columns, COPY text lines); BackupError when unreadable."""
    script = _tool("pg_restore", "--data-only", "--file=-", str(path)).stdout
    tables: dict[str, tuple[list[str], list[str]]] = {}
    current: tuple[list[str], list[str]] | None = None
    for line in script.split("\n"):
        if current is not None:
            if line == "\\.":
                current = None
            else:
                current[1].append(line)
        elif match := COPY_START.match(line):
            if match.group(1) in TABLES:
                current = ([c.strip().strip('"') for c in match.group(2).split(",")], [])
                tables[match.group(1)] = current
    return tables


def check_dump(path: str | Path) -> DatabaseInfo:
    """What a dump holds, once sure it is one of our databases at a schema this release knows."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path}: no file there")
    _tool("pg_restore", "--list", str(path))  # the table of contents reads
    tables = read_dump(path)
    missing = [name for name in ("meta", "points", "history") if name not in tables]
    if missing:
        raise BackupError(f"{path} is not a locator database: no {', '.join(missing)} table")
    meta = dict(line.split("\t")[:2] for line in tables["meta"][1])
    version = int(meta.get("schema_version", 0))
    if not 1 <= version <= SCHEMA_VERSION:
        raise BackupError(f"{path} has schema version {version}; this release knows 1 to {SCHEMA_VERSION}")
    return DatabaseInfo(
        path, version, int(meta.get("seq", 0)), len(tables["points"][1]), len(tables["history"][1]), 0
    )


def restore(store: PostgresStore, source: str | Path, *, by: str | None = None) -> DatabaseInfo:
    """Replace everything in the live database with the dump at source, in one transaction."""
    source = Path(source)
    info = check_dump(source)
    tables = read_dump(source)
    with store.transaction() as conn:
        _load(conn, tables)
        before, after = _points(store, conn, "points"), _points(store, conn, "restored_points")
        sessions = conn.execute(
            "SELECT greatest(coalesce((SELECT max(session_version) FROM users), 0),"
            " coalesce((SELECT max(session_version) FROM restored_users), 0))"
        ).fetchone()[0]
        # A token revoked here stays revoked: an older backup must not revive a leaked one.
        revoked = conn.execute(
            "SELECT revoked_at, digest FROM api_tokens WHERE revoked_at IS NOT NULL"
        ).fetchall()
        first_history_id = _max_history_id(conn) + 1
        for table in TABLES[1:]:  # every table but meta, whose counter is moved below
            conn.execute(f"DELETE FROM {table}")
            if table in tables:
                names = ", ".join(f'"{c}"' for c in tables[table][0])
                conn.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM restored_{table}")
        conn.executemany(
            "UPDATE api_tokens SET revoked_at = ? WHERE digest = ? AND revoked_at IS NULL", revoked
        )
        conn.execute("UPDATE meta SET value = greatest(value, ?) WHERE key = 'seq'", [info.seq])
        new_seq = store.next_seq(conn)  # past anything any node has seen; NOTIFY tells them all
        conn.execute("UPDATE points SET seq = ?", [new_seq])
        conn.execute("UPDATE users SET session_version = ?", [sessions + 1])
        conn.executemany(
            "INSERT INTO deleted_points (id, seq, visibility) VALUES (?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, visibility = excluded.visibility",
            [(i, new_seq, before[i].visibility.value) for i in sorted(set(before) - set(after))],
        )
        first_history_id = max(first_history_id, _max_history_id(conn) + 1)
        now, by = format_time(utcnow()), by or f"restore:{source.name}"
        conn.executemany(
            'INSERT INTO history (id, point_id, seq, at, "by", field, old, new)'
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (first_history_id + i, point_id, new_seq, now, by, *change)
                for i, (point_id, *change) in enumerate(restore_changes(before, after))
            ],
        )
        reset_identities(conn)
    store.forget_columns()
    size = source.stat().st_size
    return DatabaseInfo(source, info.schema_version, new_seq, info.points, info.history, size)


def _load(conn, tables: dict[str, tuple[list[str], list[str]]]) -> None:
    """The dump's rows into temporary copies of our tables (dropped at COMMIT)."""
    cursor = conn.raw.cursor()
    for table, (columns, lines) in tables.items():
        cursor.execute(f"CREATE TEMP TABLE restored_{table} (LIKE {table}) ON COMMIT DROP")
        names = ", ".join(f'"{c}"' for c in columns)
        with cursor.copy(f"COPY restored_{table} ({names}) FROM STDIN") as copy:
            for line in lines:
                copy.write(line + "\n")


def _points(store: PostgresStore, conn, table: str) -> dict:
    columns = store.columns()
    return {p.id: p for p in (point_from_row(columns, row) for row in conn.execute(f"SELECT * FROM {table}"))}


def _max_history_id(conn) -> int:
    return conn.execute("SELECT coalesce(max(id), 0) FROM history").fetchone()[0]


def reset_identities(conn) -> None:
    """Ids the database makes next come after every id copied in."""
    for table in IDENTITIES:
        conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false)"
            f" FROM {table}"
        )
