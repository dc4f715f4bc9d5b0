"""Backups and restores of the live database, safe while the site runs and writes.

A backup is SQLite's online backup API: one consistent snapshot (a read transaction, which in
WAL mode never blocks writers), written beside the target and renamed into place only once it
passes ``integrity_check``.

A restore never swaps the file under running workers: their open connections would keep reading
the old inode, and a leftover ``-wal`` file would be applied to the wrong database. Instead the
checked backup is copied *into* the live database in one write transaction, so every process
sees the old state or the new one. The change counter then moves past anything a worker has
seen and every point is stamped with it, and the points the restore removed are recorded as
deleted: each worker's nearest index catches up through its normal ``sync``. The change feed
gets history rows for what the restore changed (ids after every id already handed out), and
every console session ends.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from locator.domain.point import Point, format_time, utcnow
from locator.store.history import differences
from locator.store.points import Store
from locator.store.schema import SCHEMA_VERSION, migrate

SQLITE_HEADER = b"SQLite format 3\x00"
REQUIRED_TABLES = ("meta", "points", "history")
SHOWN_PROBLEMS = 5  # integrity_check lines quoted in a refusal
# Every table is copied whole, so the names come from sqlite_master (quoted by _quote), never
# from input; the restore copies rows, it binds no values.
CLEAR_TABLE = "DELETE FROM main.{table}"
COPY_TABLE = "INSERT INTO main.{table} ({columns}) SELECT {columns} FROM restored.{table}"


class BackupError(RuntimeError):
    """A backup could not be made, or a file cannot be restored; nothing was changed."""


@dataclass(frozen=True)
class DatabaseInfo:
    path: Path
    schema_version: int
    seq: int
    points: int
    history: int
    size_bytes: int


def backup(source: str | Path, target: str | Path) -> DatabaseInfo:
    """Copy the database at source to target, consistently, even while others write to it."""
    source, target = Path(source), Path(target)
    if not source.is_file():
        raise BackupError(f"{source}: no database there")
    if target.is_dir():
        raise BackupError(f"{target} is a directory: give the backup's file name")
    draft = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        copy_file(source, draft)
        info = check_database(draft)
        _fsync(draft)
        os.replace(draft, target)
        _fsync(target.parent)
    finally:
        draft.unlink(missing_ok=True)
    return DatabaseInfo(target, info.schema_version, info.seq, info.points, info.history, info.size_bytes)


def copy_file(source: Path, target: Path) -> None:
    """One backup step over the whole file: a single read transaction, so one point in time."""
    target.unlink(missing_ok=True)
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    dst = sqlite3.connect(target, isolation_level=None)
    try:
        src.execute("PRAGMA busy_timeout = 5000")
        src.backup(dst)  # pages=-1: everything in one step
        dst.execute("PRAGMA journal_mode = DELETE")  # a backup is one self-contained file
    finally:
        src.close()
        dst.close()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_database(path: str | Path, *, newest_schema: int | None = None) -> DatabaseInfo:
    """Prove that path is a sound database of ours; raise BackupError saying what it is not."""
    newest_schema = newest_schema or SCHEMA_VERSION
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    with path.open("rb") as handle:
        if handle.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise BackupError(f"{path} is not an SQLite database")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    try:
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            shown = "; ".join(problems[:SHOWN_PROBLEMS])
            raise BackupError(f"{path} fails PRAGMA integrity_check: {shown}")
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = [name for name in REQUIRED_TABLES if name not in tables]
        if missing:
            raise BackupError(f"{path} is not a locator database (no table {', '.join(missing)})")
        meta = dict(conn.execute("SELECT key, value FROM meta"))
        version = meta.get("schema_version")
        if not isinstance(version, int) or not 1 <= version:
            raise BackupError(f"{path} is not a locator database (no schema version)")
        if version > newest_schema:
            raise BackupError(
                f"{path} has schema version {version}, newer than this code knows ({newest_schema}):"
                " restore it with the release that made it"
            )
        return DatabaseInfo(
            path=path,
            schema_version=version,
            seq=int(meta.get("seq", 0)),
            points=conn.execute("SELECT count(*) FROM points").fetchone()[0],
            history=conn.execute("SELECT count(*) FROM history").fetchone()[0],
            size_bytes=path.stat().st_size,
        )
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} cannot be read as a database: {error}") from None
    finally:
        conn.close()


def restore(store: Store, source: str | Path, *, by: str | None = None) -> DatabaseInfo:
    """Replace everything in the live database with the backup at source, in one transaction.

    The backup is checked first and upgraded to the current schema in a scratch copy; if it is
    not sound, BackupError is raised and nothing changes.
    """
    source = Path(source)
    check_database(source)
    live = Path(store.path)
    scratch = live.with_name(f".restore-{os.getpid()}-{live.name}")
    try:
        copy_file(source, scratch)
        upgrade(scratch)
        info = check_database(scratch)
        _apply(store, scratch, by or f"restore:{source.name}")
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{scratch}{suffix}").unlink(missing_ok=True)
    return DatabaseInfo(
        source, info.schema_version, store.change_seq(), info.points, info.history, info.size_bytes
    )


def upgrade(path: Path) -> None:
    """Bring an older backup to the current schema, so its tables match the live ones."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        migrate(sqlite_utils.Database(conn))
    finally:
        conn.close()


def _quote(name: str) -> str:
    """An identifier from our own schema (sqlite_master), quoted for SQL."""
    return '"' + name.replace('"', '""') + '"'


def _tables(conn: sqlite3.Connection, schema: str) -> dict[str, list[str]]:
    """Each user table of an attached schema ('main' or 'restored') and its columns."""
    names = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM pragma_table_list WHERE schema = ? AND type = 'table'"
            " AND name NOT LIKE 'sqlite_%'",
            [schema],
        )
    ]
    return {
        name: [row[0] for row in conn.execute("SELECT name FROM pragma_table_info(?, ?)", [name, schema])]
        for name in names
    }


def _apply(store: Store, scratch: Path, by: str) -> None:
    """Copy every table of the scratch database over the live one, then make every process
    notice: a change counter past all it has seen, every point stamped, removals recorded.

    The points are read and compared before the write lock is taken (the scratch copy is ours
    alone), so writers wait only for the copy itself, unless one wrote in between.
    """
    restored_store = Store(scratch)
    try:
        after = {point.id: point for point in restored_store.all()}
    finally:
        restored_store.close()
    seen_seq, before = _points_now(store)
    changes = restore_changes(before, after)
    conn = store.db.conn
    conn.execute("ATTACH DATABASE ? AS restored", [str(scratch)])
    try:
        with store.transaction():
            old_seq = store.change_seq()
            if old_seq != seen_seq:  # a write came in meanwhile: compare with what is there now
                before = {point.id: point for point in store.all()}
                changes = restore_changes(before, after)
            first_history_id = _max_history_id(conn) + 1
            sessions = conn.execute(
                "SELECT max(coalesce((SELECT max(session_version) FROM main.users), 0),"
                " coalesce((SELECT max(session_version) FROM restored.users), 0))"
            ).fetchone()[0]
            # A token revoked here stays revoked: an older backup must not revive a leaked one.
            revoked = conn.execute(
                "SELECT revoked_at, digest FROM main.api_tokens WHERE revoked_at IS NOT NULL"
            ).fetchall()
            wanted = _tables(conn, "restored")
            for table, columns in _tables(conn, "main").items():
                conn.execute(CLEAR_TABLE.format(table=_quote(table)))
                common = ", ".join(_quote(c) for c in columns if c in wanted.get(table, ()))
                if common:
                    conn.execute(COPY_TABLE.format(table=_quote(table), columns=common))
            conn.executemany(
                "UPDATE api_tokens SET revoked_at = ? WHERE digest = ? AND revoked_at IS NULL", revoked
            )
            new_seq = max(old_seq, store.change_seq()) + 1
            conn.execute("UPDATE meta SET value = ? WHERE key = 'seq'", [new_seq])
            store.beacon.publish(new_seq)
            conn.execute("UPDATE points SET seq = ?", [new_seq])
            # A session signed before the restore must not match any user afterwards (user ids
            # may now belong to someone else): every session version moves past all of them.
            conn.execute("UPDATE users SET session_version = ?", [sessions + 1])
            conn.executemany(
                "INSERT OR REPLACE INTO deleted_points (id, seq, visibility) VALUES (?, ?, ?)",
                [(i, new_seq, before[i].visibility.value) for i in sorted(set(before) - set(after))],
            )
            first_history_id = max(first_history_id, _max_history_id(conn) + 1)
            now = format_time(utcnow())
            conn.executemany(
                'INSERT INTO history (id, point_id, seq, at, "by", field, old, new)'
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (first_history_id + i, point_id, new_seq, now, by, field, old, new)
                    for i, (point_id, field, old, new) in enumerate(changes)
                ],
            )
    finally:
        conn.execute("DETACH DATABASE restored")
    store.forget_columns()


def _points_now(store: Store) -> tuple[int, dict[str, Point]]:
    """The change counter and every point, read at one moment."""
    with store.read_transaction():
        return store.change_seq(), {point.id: point for point in store.all()}


def restore_changes(before: dict[str, Point], after: dict[str, Point]) -> list[tuple]:
    """(point_id, field, old, new) for everything the restore changes, as the history records it."""
    rows = []
    for point_id in sorted(set(before) | set(after)):
        old, new = before.get(point_id), after.get(point_id)
        if old is None:
            rows.append((point_id, "created", None, new.status.value))
        elif new is None:
            rows.append((point_id, "deleted", None, None))
        else:
            rows.extend((point_id, *diff) for diff in differences(old, new))
    return rows


def _max_history_id(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT coalesce(max(id), 0) FROM main.history").fetchone()[0]
