"""PostgresStore: the points (store/points.py PointsStore) on PostgreSQL + PostGIS
(store/postgres.py), with its own schema steps (store/pg_schema.py) and health probe."""

from __future__ import annotations

import time
from typing import Any

from locator.domain.values import utcnow
from locator.store import pg_schema
from locator.store.planner import PlannerStore
from locator.store.points import PointsStore
from locator.store.postgres import PostgresConnection
from locator.store.reports import ReportStore

PROBE_TIMEOUT_S = 1


class PostgresStore(PostgresConnection, PointsStore):
    """The points in PostgreSQL: a pool per process, the change counter heard by LISTEN."""

    def __init__(self, url: str, *, beacon_path: str | None = None, pool_size: int = 8):
        super().__init__(url, beacon_path=beacon_path, pool_size=pool_size)
        self.reports = ReportStore(self)
        self.planner = PlannerStore(self)

    def migrate(self) -> list[int]:
        """Bring the schema up to date (store/pg_schema.py); safe at every start of every node.

        Raises SchemaError when the database is newer, not ours, or lacks PostGIS that this
        role may not add."""
        applied = pg_schema.migrate(self, self.path, lambda: pg_schema.step_4_parameters(utcnow()))
        self.forget_columns()
        self.publish_seq()
        return applied

    def probe(self) -> dict[str, Any]:
        """A new connection reads the database and commits a write that moves no change counter
        (/healthz/write); raises the driver's error, whose text /healthz shows operators."""
        with self.connect(connect_timeout=PROBE_TIMEOUT_S) as conn:
            meta = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('seq', 'schema_version')"))
            with conn.transaction():
                conn.execute("SET LOCAL lock_timeout = '1s'")
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('health_probe', %s)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [int(time.time())],
                )
        return {"seq": meta.get("seq"), "schema_version": meta.get("schema_version")}
