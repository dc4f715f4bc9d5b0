"""`db backup` and `db restore`: consistent copies while another process writes, refusals that
change nothing, and running indexes (other workers) that see restored data at once."""

from __future__ import annotations

import os
import random
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import login, make_point, random_points

from locator.domain.filters import PointFilter
from locator.domain.point import Status, format_time
from locator.search.distance import haversine_m
from locator.search.index import NearestIndex
from locator.store import Store
from locator.store.backup import BackupError, check_database, restore

PROJECT = Path(__file__).resolve().parent.parent
OPEN = PointFilter(statuses=frozenset({Status.OPEN}))

# Creates point w<n> for n = 0, 1, ... and prints n (and the clock) once its transaction has committed.
WRITER = """
import sys, time
from locator.store import Store
from helpers import make_record
store = Store(sys.argv[1])
deadline = time.monotonic() + float(sys.argv[2])
n = 0
while time.monotonic() < deadline:
    store.create(make_record(f"w{n:05d}", lat=48 + n % 100 / 50, lon=30 + n % 77 / 40), by="writer")
    print(n, time.monotonic(), flush=True)
    n += 1
"""


def dump(path) -> list[str]:
    """The whole database as SQL through its own connection: equal dumps, equal databases."""
    with sqlite3.connect(path) as conn:
        return list(conn.iterdump())


def read(writer) -> tuple[int, float]:
    number, at = writer.stdout.readline().split()
    return int(number), float(at)


def db(runner, *args):
    return runner.invoke(args=["db", *map(str, args)])


def test_backup_while_another_process_writes_holds_every_acknowledged_write(runner, store, db_path, tmp_path):
    store.import_points(random_points(random.Random(5), 10_000))  # big enough that copying takes a while
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db_path), "60"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=PROJECT,
        env={**os.environ, "PYTHONPATH": f"{PROJECT}{os.pathsep}{PROJECT / 'tests'}"},
    )
    try:
        acknowledged = [read(writer) for _ in range(30)]  # committed before the backup started
        started = time.monotonic()
        result = db(runner, "backup", tmp_path / "copy.db")
        ended = time.monotonic()
        later = []
        while not later or later[-1][1] < ended:
            later.append(read(writer))
    finally:
        writer.kill()
        writer.wait()
    during = [n for n, at in later if started < at < ended]
    assert during, "no write was acknowledged while the backup ran: did it block writers?"
    assert result.exit_code == 0, result.output
    assert "integrity ok" in result.output
    copy = tmp_path / "copy.db"
    assert check_database(copy).points >= 10_000 + len(acknowledged)
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        ids = {row[0] for row in conn.execute("SELECT id FROM points WHERE id LIKE 'w%'")}
        created = {row[0] for row in conn.execute("SELECT point_id FROM history WHERE field = 'created'")}
        seq = conn.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()[0]
        newest = conn.execute("SELECT max(seq) FROM points").fetchone()[0]
    assert {f"w{n:05d}" for n, _ in acknowledged} <= ids
    assert ids <= created  # every point came with its history row: no half transaction
    assert newest == seq  # the counter and the rows are from the same moment
    size = check_database(copy).size_bytes
    print(f"backup of {size:,} bytes took {ended - started:.2f} s; {len(during)} writes committed meanwhile")


def test_backup_is_one_self_contained_file(runner, store, tmp_path):
    store.import_points([make_point("a"), make_point("b")])
    target = tmp_path / "backups" / "one.db"
    target.parent.mkdir()
    assert db(runner, "backup", target).exit_code == 0
    assert sorted(p.name for p in target.parent.iterdir()) == ["one.db"]  # no -wal, no draft left
    with sqlite3.connect(target) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    assert [p.id for p in Store(target).all()] == ["a", "b"]


def test_backup_replaces_an_older_backup_and_refuses_a_directory(runner, store, tmp_path):
    target = tmp_path / "b.db"
    target.write_text("an old file")
    store.import_points([make_point("a")])
    assert db(runner, "backup", target).exit_code == 0
    assert check_database(target).points == 1
    result = db(runner, "backup", tmp_path)
    assert result.exit_code != 0
    assert "is a directory" in result.output or "Directory" in result.output


# -- restore ------------------------------------------------------------------------------------


def brute_nearest(points, lat, lon, k):
    """The oracle: every open, unarchived point by haversine distance, ties by id."""
    ranked = sorted(
        (haversine_m(lat, lon, p.lat, p.lon), p.id)
        for p in points
        if p.public_status == Status.OPEN and not p.archived
    )
    return [point_id for _, point_id in ranked[:k]]


def test_restore_brings_back_the_backup_and_every_running_index_sees_it(runner, store, db_path, tmp_path):
    points = random_points(random.Random(7), 3000)
    store.import_points(points)
    backup_path = tmp_path / "before.db"
    assert db(runner, "backup", backup_path).exit_code == 0
    saved = store.all()

    # Another worker: its own connection and index, kept in step with the live database.
    worker_store = Store(db_path)
    worker = NearestIndex(worker_store)
    worker.sync()
    store.update(points[0].id, {"status": "closed"}, by="test")
    store.import_points([make_point("new-1", lat=50.0, lon=30.0), make_point("new-2", lat=49.0, lon=31.0)])
    store.import_points([p for p in store.all() if p.id != points[1].id], replace=True)  # deletes one
    worker.sync()
    seen = worker.sync().seq
    assert "new-1" in {h.point.id for h in worker.nearest(50.0, 30.0, 1, OPEN)}

    result = db(runner, "restore", backup_path, "--yes")
    assert result.exit_code == 0, result.output
    assert "the database before the restore is in" in result.output

    restored = store.all()
    assert [p.to_record() for p in restored] == [p.to_record() for p in saved]
    assert store.change_seq() > seen  # past anything a worker has seen, so none is fooled
    assert worker.sync().seq == store.change_seq()
    rng = random.Random(8)
    for _ in range(200):
        lat, lon = rng.uniform(44.4, 52.4), rng.uniform(22.1, 40.2)
        got = [h.point.id for h in worker.nearest(lat, lon, 5, OPEN)]
        assert got == brute_nearest(restored, lat, lon, 5)
    assert "new-1" not in {h.point.id for h in worker.nearest(50.0, 30.0, 5, OPEN)}
    worker_store.close()


def test_restore_writes_what_it_changed_into_the_change_feed(runner, client, store, tmp_path):
    store.import_points([make_point("a"), make_point("b")])
    assert db(runner, "backup", tmp_path / "b.db").exit_code == 0
    confirmed = format_time(store.update("a", {"status": "full"}, by="test").verified_at)
    store.import_points([make_point("c")])
    cursor = client.get("/api/v1/changes?since=0").get_json()["next_cursor"]
    assert db(runner, "restore", tmp_path / "b.db", "--yes").exit_code == 0
    changes = client.get(f"/api/v1/changes?since={cursor}").get_json()["changes"]
    assert {(c["point_id"], c["field"], c["old"], c["new"]) for c in changes} == {
        ("a", "status", "full", "open"),
        ("a", "verified_at", confirmed, "2025-01-15T11:00:00Z"),
        ("c", "deleted", None, None),
    }
    assert all(c["cursor"] > cursor for c in changes)


def test_restore_ends_every_console_session(runner, client, store, make_user, tmp_path):
    make_user("olena", "admin")
    assert db(runner, "backup", tmp_path / "b.db").exit_code == 0
    login(client, "olena")
    assert client.get("/operator/").status_code == 200
    assert db(runner, "restore", tmp_path / "b.db", "--yes").exit_code == 0
    assert client.get("/operator/").status_code == 302  # back to the login page


def test_a_token_revoked_after_the_backup_stays_revoked_after_a_restore(
    runner, app, store, users, make_user, make_token, tmp_path
):
    """An older backup brings back its tokens, but never one revoked since: a leaked token
    revoked in a hurry must not come back with yesterday's data."""
    store.import_points([make_point("kyiv-1")])
    make_user("olena", "admin")
    leaked, kept = make_token("olena"), make_token("olena")
    assert db(runner, "backup", tmp_path / "b.db").exit_code == 0
    users.revoke_token(1)
    assert db(runner, "restore", tmp_path / "b.db", "--yes").exit_code == 0
    assert [token.revoked_at is not None for token in users.tokens("olena")] == [True, False]

    def write(token: str) -> int:
        headers = {"Authorization": f"Bearer {token}", "If-Match": "*"}
        return (
            app.test_client()
            .patch("/api/v1/points/kyiv-1", json={"status": "full"}, headers=headers)
            .status_code
        )

    assert (write(leaked), write(kept)) == (401, 200)


def corrupt(path: Path) -> None:
    """Scribble over the middle of the file, leaving the header intact."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 3000] = os.urandom(3000)
    path.write_bytes(bytes(data))


def not_ours(path: Path) -> None:
    path.unlink()
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)")


def newer(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = 99 WHERE key = 'schema_version'")


def text_file(path: Path) -> None:
    path.write_text("id,name\na,b\n")


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (corrupt, "integrity_check|cannot be read"),
        (not_ours, "not a locator database"),
        (newer, "schema version 99, newer than this code knows"),
        (text_file, "not an SQLite database"),
    ],
)
def test_restore_refuses_a_bad_file_and_changes_nothing(runner, store, db_path, tmp_path, spoil, message):
    store.import_points(random_points(random.Random(3), 500))
    backup_path = tmp_path / "b.db"
    assert db(runner, "backup", backup_path).exit_code == 0
    spoil(backup_path)
    store.update(store.all()[0].id, {"status": "closed"}, by="test")
    before, seq = dump(db_path), store.change_seq()
    result = db(runner, "restore", backup_path, "--yes")
    assert result.exit_code != 0
    assert "refused, nothing changed" in result.output
    assert re.search(message, result.output), result.output
    assert dump(db_path) == before
    assert store.change_seq() == seq
    assert not list(tmp_path.glob("*before-restore*"))  # refused before anything was written


def test_restore_asks_before_replacing(runner, store, db_path, tmp_path):
    store.import_points([make_point("a")])
    assert db(runner, "backup", tmp_path / "b.db").exit_code == 0
    store.import_points([make_point("b")])
    before = dump(db_path)
    result = runner.invoke(args=["db", "restore", str(tmp_path / "b.db")], input="n\n")
    assert result.exit_code != 0
    assert dump(db_path) == before


def test_restore_function_refuses_before_touching_the_live_database(store, db_path, tmp_path):
    store.import_points([make_point("a")])
    before = dump(db_path)
    with pytest.raises(BackupError, match="no such file"):
        restore(store, tmp_path / "missing.db")
    assert dump(db_path) == before
