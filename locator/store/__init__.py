"""All SQL lives here, behind the interface in store/interface.py: SQLite by default,
PostgreSQL + PostGIS when LOCATOR_DATABASE_URL says so (open_store chooses).

interface.py   PointsBackend, ReportsBackend, UsersBackend: what the app asks of a store
driver.py      sqlite-utils, imported first and without pandas
connection.py  the SQLite file: one connection per thread, pragmas, transactions, WAL
               checkpoints, the change counter, and "database is locked" -> StoreBusy
points.py      PointsStore: the points, read (get, find, changed_since) and written
               (create, update, confirm, import), each write one transaction; Store: on SQLite
postgres.py    PostgreSQL: a pool per process, the store's SQL in its dialect, the write lock,
               unreachable -> StoreUnavailable; pg_listen.py the change counter by LISTEN/NOTIFY;
               pg_schema.py the same schema steps; pg_store.py PostgresStore; pg_bulk.py
               many rows by COPY
rows.py        a Point as a row of the points table, and back
imports.py     planning an import: added, changed, unchanged, removed, and its rows
history.py     the history table: each changed field, the change feed
reports.py     citizens' reports and the "unconfirmed" flag
users.py       console users, API tokens, login failures
health.py      the SQL behind /healthz and /metrics
schema.py      the numbered schema steps; backup.py backups and restores; beacon.py the
               change counter in shared memory; errors.py what the store raises
"""

from __future__ import annotations

from pathlib import Path

from locator.store import driver  # noqa: F401  (first: sqlite-utils without pandas)

# isort: split
from locator.store.errors import (
    DuplicateIdError,
    NotFoundError,
    StoreBusy,
    StoreUnavailable,
    VersionConflict,
)
from locator.store.imports import ImportSummary
from locator.store.points import Store
from locator.store.reports import ReportStore
from locator.store.rows import POINT_COLUMNS, PUBLIC_STATUS
from locator.store.schema import SCHEMA_VERSION, SchemaError
from locator.store.users import UserStore


def open_store(path: str | Path, *, url: str = "", synchronous: str = "FULL", pool_size: int = 8) -> Store:
    """The points' store: PostgreSQL when url is given (LOCATOR_DATABASE_URL), else the SQLite
    file at path. With PostgreSQL, path's directory keeps this node's own files (the workers'
    shared change counter)."""
    if url:
        from locator.store.pg_store import PostgresStore  # psycopg: loaded only when asked for

        beacon = Path(path).with_name(Path(path).name + "-pg-seq")
        return PostgresStore(url, beacon_path=str(beacon), pool_size=pool_size)  # type: ignore[return-value]
    return Store(path, synchronous=synchronous)


__all__ = [
    "POINT_COLUMNS",
    "PUBLIC_STATUS",
    "SCHEMA_VERSION",
    "DuplicateIdError",
    "ImportSummary",
    "NotFoundError",
    "ReportStore",
    "SchemaError",
    "Store",
    "StoreBusy",
    "StoreUnavailable",
    "UserStore",
    "VersionConflict",
    "open_store",
]
