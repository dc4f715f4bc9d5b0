"""A throwaway PostgreSQL + PostGIS cluster for the benchmarks: the tests' own (tests/pg_cluster.py),
started under the data dir and always stopped and removed afterwards (its watchdog stops it even
if the bench process is killed). Listens on 127.0.0.1 only.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import common

TESTS = common.ROOT / "tests"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from pg_cluster import PgCluster  # noqa: E402  (tests/ on the path first)


@contextmanager
def cluster(data_dir: Path) -> Iterator[PgCluster]:
    """A running cluster with the PostGIS template made; new_database() gives fresh databases."""
    common.log("starting a throwaway PostgreSQL cluster")
    pg = PgCluster.start(data_dir / "pg")
    try:
        pg.create_template()
        yield pg
    finally:
        pg.cleanup()


def server_version(pg: PgCluster) -> str:
    version = pg.psql("SELECT current_setting('server_version'), postgis_lib_version()", pg.template)[0]
    return f"PostgreSQL {version[0]}, PostGIS {version[1]}"
