"""All SQL lives here, behind the interface in store/interface.py; SQLite is its implementation.

interface.py   PointsBackend, ReportsBackend, UsersBackend: what the app asks of a store
driver.py      sqlite-utils, imported first and without pandas
connection.py  the SQLite file: one connection per thread, pragmas, transactions, WAL
               checkpoints, the change counter, and "database is locked" -> StoreBusy
points.py      Store: the points, read (get, find, changed_since) and written (create,
               update, confirm, import), each write one transaction
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

from locator.store import driver  # noqa: F401  (first: sqlite-utils without pandas)

# isort: split
from locator.store.errors import DuplicateIdError, NotFoundError, StoreBusy, VersionConflict
from locator.store.imports import ImportSummary
from locator.store.points import Store
from locator.store.reports import ReportStore
from locator.store.rows import POINT_COLUMNS, PUBLIC_STATUS
from locator.store.schema import SCHEMA_VERSION, SchemaError
from locator.store.users import UserStore

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
    "UserStore",
    "VersionConflict",
]
