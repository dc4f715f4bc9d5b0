"""The PostgreSQL test infrastructure itself: a real cluster, PostGIS in every fresh database,
databases kept apart, data kept across a stop, after a kill, and on a streaming standby; no
server left running when the test process dies."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from pg_cluster import PgCluster, pid_alive
from pg_server import dbname_of


def _count(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM t").fetchone()[0]


def _write(url: str, *values: int) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS t (v int)")
        for value in values:
            conn.execute("INSERT INTO t VALUES (%s)", (value,))


def test_the_cluster_answers_on_loopback(pg_cluster):
    version = pg_cluster.psql("SELECT current_setting('server_version_num')::int")[0][0]
    assert version >= 130000, "DROP DATABASE ... WITH (FORCE) needs PostgreSQL 13"
    if isinstance(pg_cluster, PgCluster):
        assert pg_cluster.url().startswith(f"postgresql://locator@127.0.0.1:{pg_cluster.port}/")
        assert pg_cluster.psql("SHOW fsync")[0][0] == "off"
        assert pg_cluster.psql("SHOW synchronous_commit")[0][0] == "on"
        assert pg_cluster.psql("SELECT lower('ЇЖАК')")[0][0] == "їжак"


def test_postgis_answers_in_a_new_database(postgres_url):
    with psycopg.connect(postgres_url) as conn:
        assert "POSTGIS=" in conn.execute("SELECT postgis_full_version()").fetchone()[0]
        # Kyiv to Lviv on the spheroid: about 469 km.
        metres = conn.execute(
            "SELECT ST_Distance('SRID=4326;POINT(30.5234 50.4501)'::geography,"
            " 'SRID=4326;POINT(24.0316 49.8397)'::geography)"
        ).fetchone()[0]
    assert 460_000 < metres < 480_000


@pytest.fixture
def second_url(pg_cluster):
    url = pg_cluster.new_database()
    yield url
    pg_cluster.drop_database(dbname_of(url))


def test_two_databases_are_separate(postgres_url, second_url):
    assert dbname_of(postgres_url) != dbname_of(second_url)
    _write(postgres_url, 1, 2)
    with psycopg.connect(second_url) as conn:
        assert conn.execute("SELECT to_regclass('t')").fetchone()[0] is None


def test_a_dropped_database_is_gone_even_with_a_connection_open(pg_cluster):
    url = pg_cluster.new_database()
    with psycopg.connect(url) as conn:
        pg_cluster.drop_database(dbname_of(url))
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
    assert not pg_cluster.psql("SELECT 1 FROM pg_database WHERE datname = %s", params=[dbname_of(url)])


def test_stop_and_start_again_keep_the_data_and_the_port(pg_cluster_factory):
    cluster = pg_cluster_factory()
    url, port = cluster.url(), cluster.port
    _write(url, 7)
    cluster.stop()
    assert not cluster.is_running()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=5)
    cluster.start_again()
    assert cluster.is_running() and cluster.port == port
    assert _count(url) == 1


def test_a_killed_cluster_recovers_every_committed_row(pg_cluster_factory):
    cluster = pg_cluster_factory()
    _write(cluster.url(), *range(100))
    cluster.kill()
    assert not cluster.is_running()
    with socket.socket() as listener:  # nobody listens on the port any more
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", cluster.port))
    cluster.start_again()
    assert _count(cluster.url()) == 100
    assert "database system was interrupted" in cluster.log_file.read_text()


def test_a_standby_follows_the_primary_and_takes_writes_once_promoted(pg_cluster_factory, tmp_path_factory):
    primary = pg_cluster_factory()
    _write(primary.url(), 1)
    standby = primary.make_standby(tmp_path_factory.mktemp("standby"))
    assert standby.port != primary.port
    assert standby.psql("SELECT pg_is_in_recovery()")[0][0] is True
    _write(primary.url(), 2)
    standby.wait_caught_up(primary)
    assert _count(standby.url()) == 2
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        _write(standby.url(), 3)

    standby.promote()
    assert standby.psql("SELECT pg_is_in_recovery()")[0][0] is False
    _write(standby.url(), 3)
    assert _count(standby.url()) == 3
    assert _count(primary.url()) == 2


DIES_WITH_A_CLUSTER = """
import os, signal, sys, tempfile
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from pg_cluster import PgCluster, pid_alive
cluster = PgCluster.start(Path(tempfile.mkdtemp()))
print(cluster.postmaster_pid(), cluster.data_dir, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_cluster_does_not_outlive_a_killed_test_process():
    tests = str(Path(__file__).parent)
    done = subprocess.run([sys.executable, "-c", DIES_WITH_A_CLUSTER, tests], capture_output=True, text=True)
    assert done.returncode == -signal.SIGKILL, done.stderr
    pid, data_dir = done.stdout.split()
    deadline = time.monotonic() + 30
    while pid_alive(int(pid)) or Path(data_dir).exists():
        assert time.monotonic() < deadline, "the watchdog did not stop the server and remove its files"
        time.sleep(0.05)
