"""Writes under read load (issue 5): the server's write lane, SQLite's fsync setting and WAL
checkpoints moved out of requests. The figures are in docs/benchmarks.md; these tests hold the
behaviour that gives them."""

from __future__ import annotations

import shutil
import socket
import sqlite3
import threading
import time
from contextlib import closing

import pytest
from helpers import make_point
from server_support import HOST, Client, flask_cli, serving
from soak_support import USER, USER_PASSWORD

from locator.config import ConfigError, load
from locator.server.write_lane import is_write
from locator.store import Store


@pytest.mark.parametrize(
    ("head", "write"),
    [
        (b"PATCH /", True),
        (b"POST /a", True),
        (b"PUT /ap", True),
        (b"DELETE ", True),
        (b"GET /ap", False),
        (b"HEAD /a", False),
        (b"OPTIONS", False),
        (b"PATC", False),  # not all there yet: the usual way
        (b"", False),
        (b"\x16\x03\x01\x02\x00\x01\x00", False),  # a TLS handshake
        (b"PRI * H", False),  # HTTP/2 with prior knowledge
    ],
)
def test_only_methods_that_change_something_take_the_write_lane(head, write):
    assert is_write(head) is write


@pytest.fixture(scope="module")
def one_thread_server(tmp_path_factory):
    """gunicorn with the documented settings but one worker with one read thread, on the demo data."""
    folder = tmp_path_factory.mktemp("write-lane")
    database = folder / "locator.db"
    flask_cli(database, "points", "seed", seed="data/points.geojson")  # as scripts/serve.sh does
    create = ["users", "create", USER, "--role", "admin", "--password-stdin"]
    flask_cli(database, *create, stdin=USER_PASSWORD + "\n")
    token = flask_cli(database, "users", "token", USER).split()[-1]
    with closing(sqlite3.connect(database)) as db:
        point_id = db.execute("SELECT id FROM points WHERE status != 'closed' LIMIT 1").fetchone()[0]
    options = ("--workers", "1", "--threads", "1")
    with serving(database, folder / "gunicorn.log", "/healthz", options) as server:
        yield server, token, point_id


def test_a_write_is_answered_while_every_read_thread_is_taken(one_thread_server):
    server, token, point_id = one_thread_server
    with (
        socket.create_connection((HOST, server.port)) as stuck,
        socket.create_connection((HOST, server.port)) as reader,
    ):
        stuck.sendall(b"GET /healthz HTTP/1.1\r\nHost: locator\r\n")  # the headers never end...
        time.sleep(0.5)  # ...so the only read thread waits on them
        reader.sendall(b"GET /healthz HTTP/1.1\r\nHost: locator\r\nConnection: close\r\n\r\n")
        reader.settimeout(1.0)
        with pytest.raises(TimeoutError):
            reader.recv(1)  # reads queue behind the stuck one: the lane is the only way through
        writer = Client(server.port)
        try:
            status, _, body = writer.call(
                "PATCH",
                f"/api/v1/points/{point_id}",
                {"status": "closed"},
                {"Authorization": f"Bearer {token}", "If-Match": "*"},
            )
        finally:
            writer.close()
        assert status == 200, body
        stuck.sendall(b"\r\n")
        stuck.settimeout(10)
        assert stuck.recv(12) == b"HTTP/1.1 200"
        reader.settimeout(10)
        assert reader.recv(12) == b"HTTP/1.1 200"  # queued, not lost


def test_a_write_that_stalls_holds_no_read_back(one_thread_server):
    server, token, point_id = one_thread_server
    with socket.create_connection((HOST, server.port)) as stalled:
        stalled.sendall(  # a write whose body never comes: it keeps a write thread busy
            f"PATCH /api/v1/points/{point_id} HTTP/1.1\r\nHost: locator\r\n"
            f"Authorization: Bearer {token}\r\nIf-Match: *\r\n"
            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{".encode()
        )
        time.sleep(0.3)
        reader = Client(server.port)
        try:
            begin = time.monotonic()
            status, _, _ = reader.call("GET", f"/api/v1/points/{point_id}")
            took = time.monotonic() - begin
        finally:
            reader.close()
    assert status == 200
    assert took < 2, f"a read waited {took:.1f} s for a stalled write"


def test_synchronous_is_normal_unless_set_to_full(db_path):
    assert load({})["SYNCHRONOUS"] == "NORMAL"
    assert load({"LOCATOR_SYNCHRONOUS": "FULL"})["SYNCHRONOUS"] == "FULL"
    with pytest.raises(ConfigError, match="LOCATOR_SYNCHRONOUS"):
        load({"LOCATOR_SYNCHRONOUS": "OFF"})  # would lose writes to a crash of the machine and more
    for name, level in (("NORMAL", 1), ("FULL", 2)):
        store = Store(db_path, synchronous=name)
        assert store.db.execute("PRAGMA synchronous").fetchone()[0] == level
        store.close()


def test_the_app_opens_its_database_with_the_setting(app, store):
    assert app.config["SYNCHRONOUS"] == "NORMAL"
    assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 1


def _in_database_file(path, point_id: str, scratch) -> bool:
    """Whether the database file alone, without its WAL, holds this point."""
    copy = scratch / "file-only.db"
    shutil.copyfile(path, copy)
    with closing(sqlite3.connect(copy)) as db:
        return db.execute("SELECT count(*) FROM points WHERE id = ?", [point_id]).fetchone()[0] == 1


def test_commits_leave_checkpoints_to_the_background_thread(tmp_path):
    path = tmp_path / "locator.db"
    store = Store(path, synchronous="NORMAL")
    store.migrate()
    store.checkpoint()  # the schema into the file
    store.checkpoint_in_background(every_s=3600)  # started, but asleep for this test
    store.import_points([make_point("a")])
    assert not _in_database_file(path, "a", tmp_path)  # in the WAL only: no commit checkpointed
    connections = []
    opened = threading.Thread(target=lambda: connections.append(store.db))
    opened.start()
    opened.join()
    fallback = connections[0].execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    assert fallback == 10_000  # a commit checkpoints only should the thread stop


def test_the_background_thread_carries_commits_into_the_database_file(tmp_path):
    path = tmp_path / "locator.db"
    store = Store(path, synchronous="NORMAL")
    store.migrate()
    store.checkpoint()  # the schema into the file
    thread = store.checkpoint_in_background(every_s=0.05)
    store.import_points([make_point("a")])
    deadline = time.monotonic() + 10
    while not _in_database_file(path, "a", tmp_path):
        assert time.monotonic() < deadline, "no checkpoint reached the database file"
        time.sleep(0.05)
    assert thread.is_alive() and thread.daemon
