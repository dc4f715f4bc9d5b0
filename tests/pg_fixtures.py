"""PostgreSQL for the tests: one throwaway cluster per xdist worker (session scope), a fresh
PostGIS database per test. Loaded by conftest.py as a plugin (pytest_plugins = ["pg_fixtures"]).

LOCATOR_TEST_DATABASE_URL names a server to use instead of starting one (its user must be allowed
to CREATE DATABASE). Without PostgreSQL or PostGIS the tests that need them are skipped, or fail
when CI=true, so CI never passes by skipping them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from pg_cluster import PgCluster
from pg_server import PgServer, PostgresMissing, dbname_of

TEST_SERVER_ENV = "LOCATOR_TEST_DATABASE_URL"


def _unavailable(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must run the PostgreSQL tests", pytrace=False)
    pytest.skip(reason)


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def pg_cluster(tmp_path_factory) -> Iterator[PgServer]:
    """This worker's PostgreSQL server, with the PostGIS template made: a PgCluster of our own, or
    a plain PgServer when LOCATOR_TEST_DATABASE_URL names one (then each worker has its template)."""
    external = os.environ.get(TEST_SERVER_ENV)
    try:
        if external:
            server = PgServer(external, template=f"locator_template_{_worker()}")
        else:
            server = PgCluster.start(tmp_path_factory.mktemp("pg"))
    except PostgresMissing as missing:
        _unavailable(str(missing))
    try:
        server.create_template()
    except PostgresMissing as missing:
        _close(server)
        _unavailable(str(missing))
    yield server
    _close(server)


def _close(server: PgServer) -> None:
    if isinstance(server, PgCluster):
        server.cleanup()
    else:
        server.drop_database(server.template)


@pytest.fixture
def postgres_url(pg_cluster: PgServer) -> Iterator[str]:
    """The URL of a fresh database made from the template, dropped after the test."""
    url = pg_cluster.new_database()
    yield url
    pg_cluster.drop_database(dbname_of(url))


@pytest.fixture
def pg_cluster_factory(tmp_path_factory) -> Iterator[Callable[[], PgCluster]]:
    """Start private clusters for tests that stop, kill or promote one; all removed after the test."""
    made: list[PgCluster] = []

    def start() -> PgCluster:
        try:
            cluster = PgCluster.start(tmp_path_factory.mktemp("pgown"))
        except PostgresMissing as missing:
            _unavailable(str(missing))
        made.append(cluster)
        return cluster

    yield start
    for cluster in made:
        cluster.cleanup()
