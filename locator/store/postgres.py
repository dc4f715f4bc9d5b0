"""PostgreSQL behind the store (LOCATOR_DATABASE_URL): the same internal API as connection.py's
SQLiteConnection, so store/points.py, users.py and reports.py run unchanged on either database.

- Connections come from a psycopg pool, made in each process on first use (a forked worker
  never touches its parent's sockets); each thread keeps one until it breaks.
- The store's SQL is written once, in the dialect both databases share; ``postgres_sql`` turns
  SQLite's ``?`` placeholders and its two list and text functions into PostgreSQL's.
- Every write transaction takes one advisory lock first, so writers queue as they do on SQLite
  (a version check and its update can never interleave with another node's) and history ids
  commit in order (the change feed pages by id).
- The change counter (meta.seq) is followed by a thread of each process (``ChangeListener``):
  LISTEN/NOTIFY, and polling while that connection is down. A lookup never waits for the
  database: it reads what the thread heard.
- Whenever the database cannot be reached, callers get StoreUnavailable at once for a short
  while (no request waits on a connect timeout each); reads keep being answered from memory.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import psycopg_pool
from psycopg import errors as pg_errors
from psycopg import pq

from locator.store import pg_bulk
from locator.store.beacon import SeqBeacon
from locator.store.errors import StoreBusy, StoreUnavailable
from locator.store.pg_listen import ChangeListener

CHANNEL = "locator_changes"  # NOTIFY payload: the new change counter
WRITE_LOCK = "SELECT pg_advisory_xact_lock(7237954339683131250)"  # one key: every writer queues
READ_SEQ = "SELECT value FROM meta WHERE key = 'seq'"
BUMP_SEQ = (  # the counter, when it moved (the database's clock: every node agrees), and NOTIFY
    "WITH bumped AS (UPDATE meta SET value = value + 1 WHERE key = 'seq' RETURNING value),"
    " stamped AS (UPDATE meta SET value = (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint"
    " WHERE key = 'changed_at') SELECT value, pg_notify('" + CHANNEL + "', value::text) FROM bumped"
)
# Per session: how long a statement waits for the write lock before StoreBusy; a transaction left
# idle by a node that died mid-write is ended (and its lock freed) after this long.
SESSION_SETTINGS = (
    "SET lock_timeout = '5s'",
    "SET idle_in_transaction_session_timeout = '30s'",
)
# A node whose machine vanished holds its sockets half-open: the server notices within ~15 s.
CONNECT_OPTIONS = {
    "connect_timeout": 2,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "application_name": "locator",
}
POOL_WAIT_S = 5.0  # the longest a request waits for a connection before 503 (as SQLite's lock)
UNAVAILABLE_FOR_S = 1.0  # after a failure, callers are refused at once for this long
# psycopg_pool retries a failed connect after 1, 2, 4, 8 ... s, without bound: after an outage of
# a minute its next try could come a minute after the database is back, every write 503 meanwhile.
# So a chain of retries gives up after this long, and the next request (or the change listener's
# poll, every POLL_S while the database is away) starts a new one at once.
RECONNECT_GIVE_UP_S = 1.5
_CONNECTION_LOST = (psycopg.OperationalError, psycopg_pool.PoolTimeout, pg_errors.ReadOnlySqlTransaction)


@functools.lru_cache(maxsize=1024)
def postgres_sql(sql: str) -> str:
    """The store's SQL (SQLite's dialect where the two differ) as PostgreSQL reads it."""
    sql = sql.replace("%", "%%")
    sql = sql.replace("json_each(?)", "json_array_elements_text(?::json) AS listed(value)")
    sql = sql.replace("instr(", "strpos(")
    return sql.replace("?", "%s")


def safe_url(url: str) -> str:
    """The URL without its password, for messages and the CLI."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://(unreadable URL)"
    info.pop("password", None)
    return psycopg.conninfo.make_conninfo(**info)


class Session:
    """One pooled connection as the store's code uses it (``db`` and ``conn`` alike): execute,
    executemany and query, with the driver's errors turned into the store's."""

    def __init__(self, owner: PostgresConnection, conn: psycopg.Connection):
        self.owner = owner
        self.raw = conn

    @property
    def conn(self) -> Session:
        return self

    def execute(self, sql: str, params: Any = ()) -> psycopg.Cursor:
        with self.owner.translating(self):
            return self.raw.execute(postgres_sql(sql), params)

    def script(self, sql: str) -> None:
        """Statements of our own, without parameters, in one round trip (the simple protocol)."""
        with self.owner.translating(self):
            self.raw.execute(sql.encode(), None)

    def executemany(self, sql: str, rows) -> None:
        """Many INSERTs (or upserts) go by COPY (store/pg_bulk.py); anything else row by row."""
        rows = list(rows)
        with self.owner.translating(self):
            in_transaction = self.raw.info.transaction_status == pq.TransactionStatus.INTRANS
            if (bulk := pg_bulk.plan(sql, rows, in_transaction=in_transaction)) is not None:
                table, columns, conflict, _ = bulk
                pg_bulk.copy_rows(self.raw, table, columns, conflict, rows)
                return
            with self.raw.cursor() as cursor:
                cursor.executemany(postgres_sql(sql), rows)

    def query(self, sql: str, params: Any = ()) -> Iterator[dict[str, Any]]:
        cursor = self.execute(sql, params)
        names = [column.name for column in cursor.description]
        return (dict(zip(names, row, strict=True)) for row in cursor.fetchall())


class PostgresConnection:
    """The PostgreSQL database: a pool per process, one connection per thread, the change counter."""

    dialect = "postgresql"

    def __init__(self, url: str, *, beacon_path: str | None = None, pool_size: int = 8):
        self.url = url
        self.path = safe_url(url)  # what the CLI and messages show
        self.pool_size = pool_size
        self.beacon = SeqBeacon(beacon_path) if beacon_path else None  # this node's workers
        self._orphans: list[Any] = []
        self._reset()
        os.register_at_fork(after_in_child=self._after_fork)

    def _reset(self) -> None:
        self._pool: psycopg_pool.ConnectionPool | None = None
        self._pool_lock = threading.Lock()
        self._local = threading.local()
        self._unavailable_until = 0.0
        self.listener = ChangeListener(self, CHANNEL, READ_SEQ)

    def _after_fork(self) -> None:
        # The parent's sockets and threads are not ours: keep them referenced (closing one would
        # end the parent's session) and start afresh on first use.
        self._orphans.append((self._pool, self._local))
        self._reset()

    # -- connections ---------------------------------------------------------------------------

    def connect(self, **extra) -> psycopg.Connection:
        """A new connection outside the pool (the listener's, the health probe's)."""
        return psycopg.connect(self.url, autocommit=True, **(CONNECT_OPTIONS | extra))

    def _the_pool(self) -> psycopg_pool.ConnectionPool:
        with self._pool_lock:
            if self._pool is None:
                self._pool = psycopg_pool.ConnectionPool(
                    self.url,
                    min_size=1,
                    max_size=self.pool_size,
                    kwargs={"autocommit": True, **CONNECT_OPTIONS},
                    configure=_configure,
                    timeout=POOL_WAIT_S,
                    reconnect_timeout=RECONNECT_GIVE_UP_S,
                    name="locator",
                    open=True,
                )
            return self._pool

    def pooled(self, timeout: float):
        """A connection of the pool for one block, whatever callers are told (the listener's poll)."""
        return self._the_pool().connection(timeout=timeout)

    @property
    def db(self) -> Session:
        """This thread's connection, from the pool on first use (StoreUnavailable when the
        database cannot be reached)."""
        session = getattr(self._local, "session", None)
        if session is not None and not session.raw.closed:
            return session
        if time.monotonic() < self._unavailable_until:
            raise store_unavailable()
        try:
            conn = self._the_pool().getconn()
        except psycopg_pool.PoolTimeout:  # every connection busy, or none can be made: the
            raise store_busy() from None  # listener, not a busy moment, says the database is gone
        except psycopg.OperationalError:
            self.mark_unavailable()
            raise store_unavailable() from None
        session = Session(self, conn)
        self._local.session = session
        return session

    def release(self) -> None:
        """A request is over: its connection goes back to the pool for the next one."""
        self.close()

    def close(self) -> None:
        """Give this thread's connection back to the pool."""
        session = getattr(self._local, "session", None)
        self._local.session = None
        if session is not None and self._pool is not None:
            try:
                self._pool.putconn(session.raw)
            except (psycopg.Error, psycopg_pool.PoolClosed, ValueError):
                pass

    def dispose(self) -> None:
        """Close every connection of this process and stop its listener (a test's end, the CLI's)."""
        self.listener.stop()
        self.close()
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def mark_unavailable(self) -> None:
        self._unavailable_until = time.monotonic() + UNAVAILABLE_FOR_S

    def mark_available(self) -> None:
        self._unavailable_until = 0.0

    @contextmanager
    def translating(self, session: Session) -> Iterator[None]:
        """The driver's errors as the store's: a lost database is StoreUnavailable (and the
        connection goes back to the pool, which drops it), a lock wait past lock_timeout StoreBusy."""
        try:
            yield
        except pg_errors.LockNotAvailable:
            raise StoreBusy("another writer holds the database; nothing was written") from None
        except _CONNECTION_LOST:
            self.mark_unavailable()
            if getattr(self._local, "session", None) is session:
                self.close()
            raise store_unavailable() from None

    def columns(self) -> list[str]:
        """The points table's columns in the order ``SELECT *`` gives them, kept per thread."""
        columns = getattr(self._local, "columns", None)
        if columns is None:
            columns = [
                row[0]
                for row in self.db.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema ="
                    " current_schema() AND table_name = 'points' ORDER BY ordinal_position"
                )
            ]
            self._local.columns = columns
        return columns

    def forget_columns(self) -> None:
        self._local.columns = None

    # -- transactions --------------------------------------------------------------------------

    def transaction(self):
        """One write transaction, after every other writer's (the advisory lock): all of it is
        written, or none of it. BEGIN and the lock go in one round trip: under full read load
        each round trip is also a wait for the GIL (docs/benchmarks.md, issue 18)."""
        return self._transaction(f"BEGIN; {WRITE_LOCK}")

    def read_transaction(self):
        """One read transaction: every statement inside sees the database at the same moment."""
        return self._transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    @contextmanager
    def _transaction(self, opening: str) -> Iterator[Session]:
        session = self.db
        try:
            session.script(opening)
            yield session
        except BaseException:
            _rollback(session)
            raise
        session.execute("COMMIT")

    @contextmanager
    def without_waiting(self) -> Iterator[Session]:
        """Bookkeeping that gives up at once rather than wait for a lock (StoreBusy)."""
        session = self.db
        session.execute("SET lock_timeout = '1ms'")
        try:
            yield session
        finally:
            try:
                session.execute(SESSION_SETTINGS[0])
            except StoreBusy:
                pass

    # -- the change counter --------------------------------------------------------------------

    def next_seq(self, conn: Session) -> int:
        """Bump the change counter inside a write transaction; every node hears it at COMMIT."""
        seq = conn.execute(BUMP_SEQ).fetchone()[0]
        self.listener.raise_to(seq)  # this process's next lookup, even before the NOTIFY comes
        if self.beacon is not None:
            self.beacon.publish(seq)  # this node's other workers, at once
        return seq

    def change_seq(self) -> int:
        return self.db.execute(READ_SEQ).fetchone()[0]

    def latest_seq(self, known: int) -> int:
        """The change counter as this process last heard it (never a wait for the database):
        NOTIFY from any node, a poll while that is down, this node's beacon for its own writes."""
        heard = self.listener.heard(known)
        local = self.beacon.read() if self.beacon is not None else None
        return local if local is not None and local > heard else heard

    def publish_seq(self) -> None:
        if self.beacon is not None:
            try:
                self.beacon.publish(self.change_seq())
            except StoreBusy:
                pass

    def checkpoint_in_background(self, every_s: float) -> threading.Thread:
        """PostgreSQL keeps its own house; each server process starts its change listener."""
        return self.listener.start()


def _configure(conn: psycopg.Connection) -> None:
    for statement in SESSION_SETTINGS:
        conn.execute(statement)


def _rollback(session: Session) -> None:
    try:
        session.execute("ROLLBACK")
    except StoreBusy:  # (StoreUnavailable too) the connection is gone, and the transaction with it
        pass


def store_busy() -> StoreBusy:
    return StoreBusy("every connection to the database is in use; nothing was written, try again shortly")


def store_unavailable() -> StoreUnavailable:
    return StoreUnavailable("the database cannot be reached; nothing was written, try again shortly")


logger = logging.getLogger(__name__)
