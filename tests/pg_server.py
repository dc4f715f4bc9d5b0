"""Databases on a PostgreSQL server for the tests: a PostGIS template, and a fresh database per test
made from it (a file copy, so far cheaper than CREATE EXTENSION postgis each time).

The server is either our own throwaway cluster (pg_cluster.PgCluster) or one named by
LOCATOR_TEST_DATABASE_URL; both are reached the same way, through this class.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from urllib.parse import urlsplit, urlunsplit

try:
    import psycopg
except ImportError:  # the psql binary does the same job, more slowly
    psycopg = None

TEMPLATE = "locator_template"
# Identifiers cannot be query parameters, so every name put into SQL is checked against this first.
SAFE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PostgresMissing(RuntimeError):
    """PostgreSQL's server or PostGIS is not installed here: the tests cannot have a real database."""


def identifier(name: str) -> str:
    """Quote a database name for SQL, after checking it holds nothing but [a-z0-9_]."""
    if not SAFE_NAME.match(name):
        raise ValueError(f"not a plain database name: {name!r}")
    return f'"{name}"'


def dbname_of(url: str) -> str:
    """The database a postgresql:// URL names."""
    return urlsplit(url).path.lstrip("/")


class PgServer:
    """A PostgreSQL server the tests may create and drop databases on."""

    def __init__(self, base_url: str, template: str = TEMPLATE) -> None:
        identifier(template)
        self.base_url = base_url
        self.template = template

    def url(self, dbname: str = "postgres") -> str:
        """The URL of one database on this server."""
        return urlunsplit(urlsplit(self.base_url)._replace(path=f"/{dbname}"))

    def psql(self, sql: str, dbname: str = "postgres", params=None) -> list[tuple]:
        """Run one statement in autocommit; its rows (as text when psycopg is missing), [] if none."""
        if psycopg is not None:
            with psycopg.connect(self.url(dbname), autocommit=True) as conn:
                cursor = conn.execute(sql, params)
                return cursor.fetchall() if cursor.description else []
        if params:
            raise RuntimeError("query parameters need psycopg")
        return _psql_binary(self.url(dbname), sql)

    def postgis_available(self) -> bool:
        return bool(self.psql("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'"))

    def create_template(self) -> None:
        """(Re)make the template database, PostGIS in it; PostgresMissing when PostGIS is not there."""
        if not self.postgis_available():
            version = self.psql("SHOW server_version_num")[0][0]
            raise PostgresMissing(
                f"PostGIS is not installed for PostgreSQL {int(version) // 10000} "
                "(Debian: apt-get install postgresql-<major>-postgis-3)"
            )
        self.drop_database(self.template)
        self.psql(f"CREATE DATABASE {identifier(self.template)}")
        self.psql("CREATE EXTENSION postgis", dbname=self.template)

    def new_database(self, name: str | None = None, template: str | None = None) -> str:
        """A fresh database made from the template, or from another database of this server that
        nobody is connected to (a unique name unless given); its URL."""
        name = name or f"t_{uuid.uuid4().hex[:16]}"
        source = identifier(template or self.template)
        self.psql(f"CREATE DATABASE {identifier(name)} TEMPLATE {source}")
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database if it exists, ending its connections first (PostgreSQL 13+)."""
        self.psql(f"DROP DATABASE IF EXISTS {identifier(name)} WITH (FORCE)")


def _psql_binary(url: str, sql: str) -> list[tuple]:
    psql = shutil.which("psql")
    if psql is None:
        raise PostgresMissing("neither psycopg nor the psql client is installed")
    done = subprocess.run(
        [psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"psql failed: {done.stderr.strip()}")
    return [tuple(line.split("|")) for line in done.stdout.splitlines() if line]
