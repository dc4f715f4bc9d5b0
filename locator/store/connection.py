"""The SQLite file behind the store: one connection per thread, its pragmas, write and read
transactions, WAL checkpoints and the change counter.

Every write runs in one IMMEDIATE transaction that bumps the change counter (meta.seq) and stamps
each touched row with it, so any process can bring its in-memory index up to date from
``changed_since(seq)`` without re-reading everything.

Every statement goes through ``StoreConnection``, which turns SQLite's "database is locked"
(another writer held the database past the wait allowed) into StoreBusy: no caller ever sees the
driver's exception or matches its message.

This is the store's internal API: store/points.py, users.py, reports.py and backup.py build on
``SQLiteConnection``; nothing outside locator/store calls ``transaction`` or ``next_seq``.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from locator.store.beacon import CONFIRM_EVERY_S, SeqBeacon
from locator.store.errors import StoreBusy

# How long a statement waits for another connection's lock before the store says StoreBusy.
BUSY_TIMEOUT = "PRAGMA busy_timeout = 5000"  # ms
NO_BUSY_WAIT = "PRAGMA busy_timeout = 0"
# SQLite's primary result codes for "another connection holds the lock" (extended codes such as
# SQLITE_BUSY_SNAPSHOT keep them in the low byte).
BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
# PRAGMA synchronous by LOCATOR_SYNCHRONOUS (docs/deployment.md; issue 5). In WAL mode FULL fsyncs
# the WAL in every commit: 4 ms on this machine's disk when quiet, p99 256 ms beside other tenants'
# I/O. NORMAL fsyncs only at checkpoints: an acknowledged write survives a crash of the process
# (SIGKILL, OOM) either way; after power loss NORMAL may lose the writes since the last checkpoint.
SYNCHRONOUS_PRAGMAS = {"FULL": "PRAGMA synchronous = FULL", "NORMAL": "PRAGMA synchronous = NORMAL"}
# With checkpoints in a background thread, a commit checkpoints only past this many WAL pages
# (10 times SQLite's default), should that thread ever stop.
AUTOCHECKPOINT_FALLBACK = "PRAGMA wal_autocheckpoint = 10000"
READ_SEQ = "SELECT value FROM meta WHERE key = 'seq'"
READ_COUNTER = "SELECT key, value FROM meta WHERE key IN ('seq', 'changed_at')"  # both databases
BUMP_SEQ = "UPDATE meta SET value = value + 1 WHERE key = 'seq' RETURNING value"
STAMP_CHANGE = "UPDATE meta SET value = ? WHERE key = 'changed_at'"
PROBE_LOCK_WAIT_S = 1.0  # a writer holding the lock longer than this is itself a problem


def from_unix_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def is_busy(error: sqlite3.Error) -> bool:
    """Whether SQLite gave up waiting for another connection's lock (by result code, not text)."""
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and (code & 0xFF) in BUSY_CODES


def store_busy() -> StoreBusy:
    return StoreBusy("another writer holds the database; nothing was written, try again shortly")


class StoreConnection(sqlite3.Connection):
    """A sqlite3 connection whose statements raise StoreBusy where SQLite says "database is
    locked": the one place every statement of the store passes (one Python call each)."""

    def execute(self, *args, **kwargs) -> sqlite3.Cursor:
        try:
            return super().execute(*args, **kwargs)
        except sqlite3.OperationalError as error:
            if is_busy(error):
                raise store_busy() from None
            raise

    def executemany(self, *args, **kwargs) -> sqlite3.Cursor:
        try:
            return super().executemany(*args, **kwargs)
        except sqlite3.OperationalError as error:
            if is_busy(error):
                raise store_busy() from None
            raise


class SQLiteConnection:
    """The database file: one connection per thread, opened on first use, and the change counter."""

    dialect = "sqlite"

    def __init__(self, path: str | Path, *, synchronous: str = "FULL"):
        self.path = str(path)
        self._synchronous = SYNCHRONOUS_PRAGMAS[synchronous]  # KeyError: not FULL or NORMAL
        self._checkpoint_every_s = 0.0  # 0: commits checkpoint (SQLite's own autocheckpoint)
        self._local = threading.local()
        self.beacon = SeqBeacon(self.path)
        self._confirmed_at = float("-inf")  # when latest_seq last asked SQLite itself
        # A forked worker (gunicorn --preload) must never reuse its parent's SQLite connection.
        os.register_at_fork(after_in_child=self._forget_connections)

    def _forget_connections(self) -> None:
        self._local = threading.local()

    # -- the connection ------------------------------------------------------------------------

    @property
    def db(self) -> sqlite_utils.Database:
        """This thread's connection (made on first use), as sqlite-utils wraps it."""
        db = getattr(self._local, "db", None)
        if db is None:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, factory=StoreConnection
            )
            try:
                conn.execute(BUSY_TIMEOUT)
                conn.execute("PRAGMA journal_mode = WAL")  # StoreBusy while another holds the file
                # LOCATOR_SYNCHRONOUS (docs/deployment.md): NORMAL leaves fsync to checkpoints.
                conn.execute(self._synchronous)
                if self._checkpoint_every_s:  # a thread of this process checkpoints, never a commit
                    conn.execute(AUTOCHECKPOINT_FALLBACK)
            except BaseException:
                conn.close()  # the next use tries afresh
                raise
            db = sqlite_utils.Database(conn)
            self._local.db = db
        return db

    def close(self) -> None:
        """Close this thread's connection (the next use opens a new one)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.conn.close()
            self._local.db = None

    def release(self) -> None:
        """A request is over (each thread keeps its SQLite connection: opening one costs pragmas)."""

    def dispose(self) -> None:
        """Let go of the database in this process (a test's end, a CLI command's)."""
        self.close()

    def columns(self) -> list[str]:
        """The points table's columns in the order ``SELECT *`` gives them, kept per thread."""
        columns = getattr(self._local, "columns", None)
        if columns is None:
            columns = [row[1] for row in self.db.execute("PRAGMA table_info(points)")]
            self._local.columns = columns
        return columns

    def forget_columns(self) -> None:
        """The points table may have changed shape (a migration, a restore): read it again."""
        self._local.columns = None

    # -- transactions --------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE write transaction: all of it is written, or none of it. StoreBusy when
        another writer holds the database past the busy timeout."""
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def read_transaction(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: every statement inside sees the database at the same moment."""
        conn = self.db.conn
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    # -- the change counter --------------------------------------------------------------------

    def next_seq(self, conn: sqlite3.Connection) -> int:
        """Bump the change counter (inside a write transaction), note when, and publish it to readers."""
        seq = conn.execute(BUMP_SEQ).fetchone()[0]
        conn.execute(STAMP_CHANGE, [int(time.time() * 1000)])
        self.beacon.publish(seq)
        return seq

    def change_seq(self) -> int:
        """The change counter: it moves whenever any point changes, in any process."""
        return self.db.execute(READ_SEQ).fetchone()[0]

    def latest_seq(self, known: int) -> int:
        """The change counter, for a reader that last saw ``known``: from the shared beacon when
        it still says ``known`` (no SQL), else, and at least once a second, from SQLite."""
        now = time.monotonic()
        if self.beacon.read() == known and now - self._confirmed_at < CONFIRM_EVERY_S:
            return known
        seq = self.change_seq()
        self._confirmed_at = now
        return seq

    def publish_seq(self) -> None:
        """Put the shared beacon right (a beacon left beside another database file); a busy
        database is left alone: readers find the beacon wrong and ask SQLite until the next write."""
        try:
            with self.transaction() as conn:
                self.beacon.publish(conn.execute(READ_SEQ).fetchone()[0])
        except StoreBusy:
            pass

    @contextmanager
    def without_waiting(self) -> Iterator[sqlite3.Connection]:
        """Bookkeeping that gives up at once (StoreBusy) rather than wait for another writer."""
        conn = self.db.conn
        conn.execute(NO_BUSY_WAIT)
        try:
            yield conn
        finally:
            conn.execute(BUSY_TIMEOUT)

    def probe(self) -> dict[str, Any]:
        """Open the database afresh, read it and commit a write to it (/healthz); raises
        sqlite3.Error if any of that fails. The write touches only meta.health_probe, never the
        change counter, so no ETag or index moves because a load balancer asked."""
        conn = sqlite3.connect(self.path, timeout=PROBE_LOCK_WAIT_S, isolation_level=None)
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('seq', 'schema_version')"))
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('health_probe', ?)", [int(time.time())]
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()
        return {"seq": meta.get("seq"), "schema_version": meta.get("schema_version")}

    # -- WAL checkpoints -----------------------------------------------------------------------

    def checkpoint_in_background(self, every_s: float) -> threading.Thread:
        """Take WAL checkpoints out of this process's requests (call it after fork, in each
        server process): SQLite checkpoints inside whichever commit crosses 1,000 WAL pages,
        25-700 ms of writes and fsyncs in one operator's request. Here commits stop doing it
        and a daemon thread runs a PASSIVE checkpoint, which waits for no reader or writer,
        every every_s seconds; with synchronous=NORMAL it is also what fsyncs the WAL."""
        self._checkpoint_every_s = every_s
        db = getattr(self._local, "db", None)
        if db is not None:  # this thread's connection, opened before
            db.execute(AUTOCHECKPOINT_FALLBACK)
        thread = threading.Thread(target=self._checkpoint_loop, name="wal-checkpoint", daemon=True)
        thread.start()
        return thread

    def _checkpoint_loop(self) -> None:
        while True:
            time.sleep(self._checkpoint_every_s)
            try:
                self.checkpoint()
            except (sqlite3.Error, StoreBusy) as error:  # tried again next time; commits take over
                logging.getLogger(__name__).warning("WAL checkpoint failed: %s", error)

    def checkpoint(self) -> tuple[int, int, int]:
        """One PASSIVE checkpoint: (1 if it could not finish, WAL frames, frames checkpointed)."""
        busy, frames, done = self.db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return busy, frames, done
