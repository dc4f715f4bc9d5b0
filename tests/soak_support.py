"""The databases of tests/test_soak_and_crash.py, on SQLite or PostgreSQL: a template made once per
module and backend by the CLI (as scripts/serve.sh seeds), each test's own cheap copy of it, and
a small reader that checks what the database holds afterwards the same way on both.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from pg_server import PgServer, dbname_of
from server_support import PROJECT, flask_cli

USER = "soak-admin"
USER_PASSWORD = "soak-password-1234"
POINTS = 2_000
DATA_SEED = 5
POLL_S = 0.05
# What a killed server's own sessions hold (a write's transaction, the write lock) must end with
# them, when the kernel closes their sockets: far sooner than idle_in_transaction_session_timeout.
SESSIONS_END_WITHIN_S = 5.0


@dataclass(frozen=True)
class Write:
    point_id: str
    version: int  # the version the 200 answer reported
    tag: str  # the unique note the PATCH set: finds the write in the history


@dataclass(frozen=True)
class Template:
    """A seeded database: a SQLite file, or the name of a PostgreSQL database nobody connects to."""

    backend: str
    source: str
    token: str
    ids: list[str]
    settlements: list[str]


@dataclass(frozen=True)
class Database:
    """One test's database. On PostgreSQL, path is where a server keeps its node-local files."""

    path: Path
    url: str = ""

    def settings(self) -> dict[str, str]:
        """The servers' and the CLI's settings beyond LOCATOR_DB."""
        return {"LOCATOR_DATABASE_URL": self.url} if self.url else {}


class Reader:
    """Plain SQL on either database: write `?` placeholders; quote "by" (a keyword in PostgreSQL)."""

    def __init__(self, connection, postgres: bool):
        self.connection, self.postgres = connection, postgres

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        if not self.postgres:
            return self.connection.execute(sql, params).fetchall()
        if not params:  # psycopg reads % as a placeholder only when given parameters (LIKE '...%')
            return self.connection.execute(sql).fetchall()
        return self.connection.execute(sql.replace("?", "%s"), params).fetchall()

    def value(self, sql: str, params: tuple = ()):
        return self.rows(sql, params)[0][0]


@contextmanager
def reading(database: Database) -> Iterator[Reader]:
    """A reader on the database, closed after (a PostgreSQL template is copied only when unused)."""
    if database.url:
        import psycopg

        with psycopg.connect(database.url, autocommit=True) as connection:
            yield Reader(connection, postgres=True)
    else:
        with closing(sqlite3.connect(database.path)) as connection:
            yield Reader(connection, postgres=False)


# -- templates and copies --------------------------------------------------------------------------


def generate_points(out: Path) -> Path:
    """POINTS generated points across Ukraine, as a GeoJSON file."""
    command = [sys.executable, "scripts/generate_points.py", "--area", "ukraine", "--count", str(POINTS)]
    command += ["--seed", str(DATA_SEED), "--out", str(out)]
    subprocess.run(command, cwd=PROJECT, check=True, capture_output=True, timeout=300)
    return out


def seed_template(database: Database, points_file: Path, backend: str, source: str) -> Template:
    """Seed the database with the CLI (points, an admin, the admin's API token), as scripts/serve.sh
    and an operator would."""
    settings = database.settings()
    flask_cli(database.path, "points", "seed", seed=str(points_file), **settings)
    create = ["users", "create", USER, "--role", "admin", "--password-stdin"]
    flask_cli(database.path, *create, stdin=USER_PASSWORD + "\n", **settings)
    token = flask_cli(database.path, "users", "token", USER, **settings).split()[-1]
    assert token.startswith("poi_")
    with reading(database) as db:
        # Sorted here: PostgreSQL's collation may order ids unlike SQLite, and both runs should
        # write to the same points.
        ids = sorted(row[0] for row in db.rows("SELECT id FROM points"))
        settlements = sorted(
            row[0] for row in db.rows("SELECT DISTINCT settlement FROM points WHERE settlement != ''")
        )
    assert len(ids) == POINTS and settlements
    return Template(backend, source, token, ids, settlements)


class Templates:
    """The module's templates, each made the first time a test asks for its backend."""

    def __init__(self, folder: Path, pg_server: Callable[[], PgServer]):
        self.folder = folder
        self.pg_server = pg_server  # () -> PgServer: starts this worker's cluster only when needed
        self.made: dict[str, Template] = {}
        self._points: Path | None = None

    def points_file(self) -> Path:
        if self._points is None:
            self._points = generate_points(self.folder / "points.geojson")
        return self._points

    def get(self, backend: str) -> Template:
        if backend not in self.made:
            home = self.folder / backend
            home.mkdir()
            if backend == "postgres":
                name = f"soak_template_{uuid.uuid4().hex[:12]}"
                database = Database(home / "cli.db", self.pg_server().new_database(name))
            else:
                name = str(home / "locator.db")
                database = Database(Path(name))
            self.made[backend] = seed_template(database, self.points_file(), backend, name)
        return self.made[backend]

    def copy(self, template: Template, folder: Path) -> Database:
        """The test's own copy: SQLite's online backup, or CREATE DATABASE ... TEMPLATE."""
        path = folder / "locator.db"
        if template.backend == "postgres":
            return Database(path, self.pg_server().new_database(template=template.source))
        with closing(sqlite3.connect(template.source)) as source, closing(sqlite3.connect(path)) as copy:
            source.backup(copy)
        return Database(path)

    def drop(self, database: Database) -> None:
        if database.url:
            self.pg_server().drop_database(dbname_of(database.url))

    def close(self) -> None:
        if "postgres" in self.made:
            self.pg_server().drop_database(self.made["postgres"].source)


# -- what the database holds afterwards ------------------------------------------------------------

# PostgreSQL: sessions of this database other than ours, with what they hold.
OTHER_SESSIONS = (
    "SELECT pid, state, application_name, left(query, 80) FROM pg_stat_activity"
    " WHERE datname = current_database() AND pid != pg_backend_pid()"
)
OPEN_TRANSACTIONS = OTHER_SESSIONS + " AND state LIKE 'idle in transaction%'"
ADVISORY_LOCKS = (
    "SELECT pid, objid FROM pg_locks WHERE locktype = 'advisory'"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def damage(database: Database) -> list[str]:
    """What a crash may have left behind, [] when nothing: SQLite's integrity_check; on PostgreSQL
    (whose own recovery is not ours to test) a transaction left open or the write lock still held."""
    with reading(database) as db:
        if not db.postgres:
            lines = [row[0] for row in db.rows("PRAGMA integrity_check")]
            return [] if lines == ["ok"] else lines
        found = [f"open transaction {row}" for row in db.rows(OPEN_TRANSACTIONS)]
        return found + [f"advisory lock {row}" for row in db.rows(ADVISORY_LOCKS)]


def wait_sessions_ended(database: Database) -> float:
    """After a server's kill, wait until PostgreSQL has ended every session it had (SQLite: none);
    how long that took. Fails with what the sessions still hold after SESSIONS_END_WITHIN_S."""
    if not database.url:
        return 0.0
    started = time.monotonic()
    with reading(database) as db:
        while sessions := db.rows(OTHER_SESSIONS):
            elapsed = time.monotonic() - started
            locks = db.rows(ADVISORY_LOCKS)
            assert elapsed < SESSIONS_END_WITHIN_S, f"sessions outlived the kill: {sessions}, locks {locks}"
            time.sleep(POLL_S)
    return time.monotonic() - started


def assert_history_holds(
    database: Database,
    acknowledged: list[Write],
    refused: list[str] = (),
    *,
    user: str = USER,
    every_point: bool = False,
) -> dict:
    """Every acknowledged write is in the history exactly once, by user, as the version it was
    acknowledged as; no refused write is there; points and history agree (every_point: for every
    point, not only those written, and no history of a point that is not there: nothing
    half-written anywhere; only where no report moved a flag, which takes a seq but no version).
    Returns tag -> point id for every write of ours the history holds."""
    assert not damage(database)
    with reading(database) as db:
        found = defaultdict(list)  # tag -> [(point id, seq, author)]
        for point_id, seq, author, tag in db.rows(
            "SELECT point_id, seq, \"by\", new FROM history WHERE field = 'note'"
        ):
            found[tag].append((point_id, seq, author))
        # Each write is one transaction with one seq: version n of a point is its n-th seq.
        seqs = defaultdict(list)
        for point_id, seq in db.rows("SELECT DISTINCT point_id, seq FROM history ORDER BY point_id, seq"):
            seqs[point_id].append(seq)
        versions = dict(db.rows("SELECT id, version FROM points"))
        meta_seq = db.value("SELECT value FROM meta WHERE key = ?", ("seq",))
        last_history_seq = db.value("SELECT max(seq) FROM history")
    assert len({(w.point_id, w.version) for w in acknowledged}) == len(acknowledged), "a version acked twice"
    for write in acknowledged:
        assert len(found[write.tag]) == 1, f"{write} is in the history {len(found[write.tag])} times"
        point_id, seq, author = found[write.tag][0]
        assert (point_id, author) == (write.point_id, user), write
        assert seqs[point_id].index(seq) + 1 == write.version, f"{write} is not version {write.version}"
        assert versions[point_id] >= write.version, write
    for tag in refused:
        assert tag not in found, f"the write {tag!r} was refused but is in the history"
    checked = versions if every_point else {w.point_id for w in acknowledged}
    half_written = {
        pid: (versions[pid], len(seqs[pid])) for pid in checked if versions[pid] != len(seqs[pid])
    }
    assert not half_written, f"version != writes in history: {dict(list(half_written.items())[:10])}"
    if every_point:
        assert set(seqs) <= set(versions), "history of a point that is not there"
    assert int(meta_seq) == int(last_history_seq)
    return {tag: rows[0][0] for tag, rows in found.items()}
