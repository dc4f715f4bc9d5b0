"""PostgreSQL + PostGIS as the store (issue 18), on real throwaway clusters: what only this
backend has. The suites that run on both backends (store, API, writes, reports, users, tokens)
are marked ``backends``; several nodes and failover are tests/test_nodes.py.

- the database goes away: reads answer from memory with X-Data-As-Of, writes 503 with
  Retry-After, /healthz stays up and /healthz/write says no, and all of it comes back alone;
- a write in one app reaches another app's index through NOTIFY, and by polling when the
  notification connection is cut;
- state that must be shared by every node lives in the database (login failures, revoked tokens);
- PostGIS: the geography column and its index follow lat and lon;
- `db migrate-to-postgres`, `db backup` and `db restore`, and what they refuse.
"""

from __future__ import annotations

import math
import sqlite3
import time
from pathlib import Path

import psycopg
import pytest
from helpers import assert_problem, make_point

from locator import create_app
from locator.domain.point import utcnow
from locator.services.accounts import new_token
from locator.store import Store, StoreUnavailable
from locator.store.pg_schema import EXTENSION_HELP
from locator.store.schema import SchemaError

PROPAGATION_S = 1.0  # the bound for a write to reach every node


def points(n: int = 40) -> list:
    return [
        make_point(f"p{i:03d}", lat=50.0 + (i % 8) * 0.05, lon=30.0 + (i // 8) * 0.05, status="open")
        for i in range(n)
    ]


def make_app(url: str, tmp_path: Path, name: str = "node", seed: str = ""):
    return create_app(
        {"DATABASE": str(tmp_path / name / "locator.db"), "DATABASE_URL": url, "SEED_FILE": seed}
    )


def synced(index, point_id: str):
    """The point as this app's index has it, after the index follows the database."""
    index.sync()
    return index.point(point_id)


def wait_for(condition, timeout: float, what: str) -> float:
    """Poll a real condition until it holds (no fixed sleep); how long it took."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"{what}: not within {timeout} s"
        time.sleep(0.02)
    return time.monotonic() - started


@pytest.fixture
def own_cluster(pg_cluster_factory):
    """A private cluster this test may stop and start, with one database from its template."""
    cluster = pg_cluster_factory()
    cluster.create_template()
    return cluster, cluster.new_database()


@pytest.fixture
def node(own_cluster, tmp_path):
    cluster, url = own_cluster
    app = make_app(url, tmp_path)
    app.extensions["locator.store"].import_points(points())
    yield cluster, app
    app.extensions["locator.store"].dispose()


def operator_token(app) -> dict[str, str]:
    users = app.extensions["locator.users"]
    users.create("olena", "x" * 60, "admin")
    token, digest = new_token()
    users.add_token("olena", digest)
    return {"Authorization": f"Bearer {token}"}


def answer(response) -> list[tuple]:
    """A nearest answer without the ages, which tick on between two requests a second apart."""
    return [
        (f["properties"]["id"], f["properties"]["status"], f["geometry"]["coordinates"])
        for f in response.get_json()["features"]
    ]


def patch(client, point_id: str, auth: dict[str, str], etag: str):
    return client.patch(
        f"/api/v1/points/{point_id}", json={"status": "closed"}, headers=auth | {"If-Match": etag}
    )


# -- the database goes away -------------------------------------------------------------------------


def test_reads_go_on_from_memory_and_writes_get_503_while_the_database_is_down(node):
    cluster, app = node
    client = app.test_client()
    auth = operator_token(app)
    before = client.get("/api/v1/nearest?lat=50.1&lon=30.1&limit=3&order=distance")
    assert before.status_code == 200
    as_of = before.headers["X-Data-As-Of"]
    etag = client.get("/api/v1/points/p001").headers["ETag"]

    cluster.stop(mode="immediate")
    try:
        during = client.get("/api/v1/nearest?lat=50.1&lon=30.1&limit=3&order=distance")
        assert during.status_code == 200 and answer(during) == answer(before)
        assert during.headers["X-Data-As-Of"] == as_of  # how old the answer may be
        page = client.get("/points/p001")
        assert page.status_code == 200 and "p001" in page.get_data(as_text=True)
        assert client.get("/api/v1/points/p001").status_code == 200
        write = client.patch(
            "/api/v1/points/p001", json={"status": "closed"}, headers=auth | {"If-Match": etag}
        )
        assert write.status_code == 503 and int(write.headers["Retry-After"]) > 0
        assert write.content_type == "application/problem+json"
        health = client.get("/healthz")
        assert health.status_code == 200 and health.get_json()["writable"] is False
        assert client.get("/healthz/write").status_code == 503
    finally:
        cluster.start_again()

    store = app.extensions["locator.store"]
    # The probe's own connection may come back before the pool's (the database still recovering):
    # writes are back when both are.
    recovered = wait_for(
        lambda: client.get("/healthz/write").status_code == 200 and _reachable(store), 15, "writes back"
    )
    write = patch(client, "p001", auth, etag)
    assert write.status_code == 200, write.get_data(as_text=True)
    assert store.get("p001").status.value == "closed"
    assert client.get("/api/v1/points/p001").get_json()["properties"]["status"] == "closed"
    print(f"writes back {recovered:.2f} s after the database")


def test_a_write_refused_while_the_database_is_down_changes_nothing(node):
    cluster, app = node
    store = app.extensions["locator.store"]
    before = store.get("p002")
    cluster.stop(mode="immediate")
    try:
        with pytest.raises(StoreUnavailable):
            store.update("p002", {"status": "closed"}, by="op")
    finally:
        cluster.start_again()
    wait_for(lambda: _reachable(store), 10, "database back")
    assert store.get("p002") == before


def _reachable(store) -> bool:
    try:
        store.change_seq()
    except StoreUnavailable:
        return False
    return True


# -- several processes: the change counter heard -----------------------------------------------------


def test_a_write_in_one_app_reaches_another_apps_index_within_a_second(own_cluster, tmp_path):
    _, url = own_cluster
    first, second = make_app(url, tmp_path, "a"), make_app(url, tmp_path, "b")
    try:
        first.extensions["locator.store"].import_points(points())
        index = second.extensions["locator.index"]
        assert index.sync().seq == 1
        waits = []
        for i, status in enumerate(["closed", "open"] * 5):
            first.extensions["locator.store"].update(f"p{i:03d}", {"status": status}, by="op")
            waits.append(
                wait_for(
                    lambda i=i, status=status: (
                        index.point(f"p{i:03d}").status.value == status if index.sync() else False
                    ),
                    PROPAGATION_S,
                    "propagation",
                )
            )
        print(f"propagation: max {max(waits) * 1000:.0f} ms")
    finally:
        first.extensions["locator.store"].dispose()
        second.extensions["locator.store"].dispose()


def test_writes_still_reach_other_apps_by_polling_when_notifications_are_cut(own_cluster, tmp_path):
    cluster, url = own_cluster
    first, second = make_app(url, tmp_path, "a"), make_app(url, tmp_path, "b")
    try:
        writer, index = first.extensions["locator.store"], second.extensions["locator.index"]
        writer.import_points(points())
        index.sync()
        listener = second.extensions["locator.store"].listener
        wait_for(lambda: listener.listening, 5, "listening")
        cut = cluster.psql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'"
            " OR query LIKE 'SELECT value FROM meta%'",
            dbname=url.rsplit("/", 1)[1],
        )
        assert cut, "no listening connection was found to cut"
        writer.update("p003", {"status": "closed"}, by="op")
        wait_for(lambda: synced(index, "p003").status.value == "closed", 2, "polled")
        wait_for(lambda: listener.listening, 5, "listening again")
    finally:
        first.extensions["locator.store"].dispose()
        second.extensions["locator.store"].dispose()


def test_login_failures_and_revoked_tokens_are_shared_by_every_node(own_cluster, tmp_path):
    _, url = own_cluster
    first, second = make_app(url, tmp_path, "a"), make_app(url, tmp_path, "b")
    try:
        users_a, users_b = first.extensions["locator.users"], second.extensions["locator.users"]
        users_a.create("olena", "x" * 60, "operator")
        since = utcnow().replace(year=2000)
        users_a.record_login_failure(["account:olena"])
        users_b.record_login_failure(["account:olena"])
        assert (
            users_a.login_failures("account:olena", since)
            == users_b.login_failures("account:olena", since)
            == 2
        )
        token, digest = new_token()
        issued = users_a.add_token("olena", digest)
        assert users_b.for_token(digest) is not None
        users_a.revoke_token(issued.id)
        assert users_b.for_token(digest) is None  # revoked on one node: refused on every node
    finally:
        first.extensions["locator.store"].dispose()
        second.extensions["locator.store"].dispose()


# -- PostGIS --------------------------------------------------------------------------------------


def test_the_geography_column_follows_lat_and_lon_and_is_indexed(node):
    _, app = node
    store = app.extensions["locator.store"]
    store.update("p004", {"lat": 49.5, "lon": 31.25}, by="op")
    row = store.db.execute("SELECT ST_Y(geog::geometry), ST_X(geog::geometry) FROM points WHERE id = 'p004'")
    assert row.fetchone() == (49.5, 31.25)
    indexes = [r[0] for r in store.db.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'points'")]
    assert any("gist (geog)" in definition for definition in indexes)
    # PostGIS's distance agrees with ours (search/distance.py) to the spheroid's difference.
    from locator.search.distance import haversine_m

    metres = store.db.execute(
        "SELECT ST_Distance(geog, ST_SetSRID(ST_MakePoint(30.5, 50.4), 4326)::geography, false)"
        " FROM points WHERE id = 'p004'"
    ).fetchone()[0]
    assert math.isclose(metres, haversine_m(49.5, 31.25, 50.4, 30.5), rel_tol=1e-3)


def test_without_postgis_and_the_right_to_add_it_the_migration_names_the_statement(own_cluster, tmp_path):
    cluster, _ = own_cluster
    cluster.psql("CREATE ROLE plain LOGIN")
    cluster.psql("CREATE DATABASE bare OWNER plain TEMPLATE template0")
    url = cluster.url("bare").replace("//locator@", "//plain@")
    with pytest.raises(SchemaError) as refused:
        create_app({"DATABASE": str(tmp_path / "n" / "x.db"), "DATABASE_URL": url, "SEED_FILE": ""})
    assert str(refused.value) == EXTENSION_HELP and "CREATE EXTENSION postgis" in EXTENSION_HELP
    tables = cluster.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", dbname="bare")
    assert tables == [(0,)]  # nothing half made


# -- moving in, backups ---------------------------------------------------------------------------


def sqlite_database(tmp_path: Path) -> Path:
    path = tmp_path / "old" / "locator.db"
    store = Store(path)
    store.migrate()
    store.import_points(points(25))
    store.update("p001", {"status": "closed", "note": "вода ' \\ % ?"}, by="olena")
    from locator.store import UserStore

    users = UserStore(store)
    users.create("olena", "hash", "operator", ["Київ"])
    token, digest = new_token()
    users.add_token("olena", digest)
    users.record_login_failure(["ip:1.2.3.4"])
    store.close()
    return path


def test_backup_restore_and_copy_know_every_table_of_the_schema(node):
    """A table added by a later schema step is backed up, restored and copied too."""
    from locator.store.pg_backup import TABLES

    _, app = node
    names = {
        row[0]
        for row in app.extensions["locator.store"].db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            " AND table_type = 'BASE TABLE' AND table_name != 'spatial_ref_sys'"
        )
    }
    assert set(TABLES) == names and TABLES[0] == "meta"


def test_migrate_to_postgres_copies_everything_and_checks_it(own_cluster, tmp_path):
    _, url = own_cluster
    source = sqlite_database(tmp_path)
    app = make_app(url, tmp_path, seed="data/points.geojson")  # the demo data is there...
    try:
        assert app.extensions["locator.store"].count() == 0  # ...and never seeded by starting
        result = app.test_cli_runner().invoke(args=["db", "migrate-to-postgres", str(source)])
        assert result.exit_code == 0, result.output
        assert "counts and checksums match" in result.output
        store = app.extensions["locator.store"]
        old = Store(source)
        assert store.all() == old.all()
        assert store.history("p001") == old.history("p001")
        assert store.change_seq() == old.change_seq()
        assert app.extensions["locator.users"].get_by_name("olena").regions == ("Київ",)
        new = store.create(make_point("p999").to_record(), by="op")  # ids made after the copied ones
        assert store.history(new.id)[0]["seq"] == old.change_seq() + 1
        again = app.test_cli_runner().invoke(args=["db", "migrate-to-postgres", str(source)])
        assert again.exit_code != 0 and "not empty" in again.output or "has had writes" in again.output
        old.close()
    finally:
        app.extensions["locator.store"].dispose()


def test_a_copy_that_fails_leaves_the_postgres_database_empty(own_cluster, tmp_path):
    _, url = own_cluster
    source = sqlite_database(tmp_path)
    with sqlite3.connect(source) as db:  # SQLite keeps what PostgreSQL's INTEGER refuses
        db.execute("UPDATE points SET capacity = 'many' WHERE id = 'p020'")
    app = make_app(url, tmp_path)
    try:
        result = app.test_cli_runner().invoke(args=["db", "migrate-to-postgres", str(source)])
        assert result.exit_code != 0
        store = app.extensions["locator.store"]
        assert store.count() == 0 and store.change_seq() == 0
        assert store.db.execute("SELECT count(*) FROM users").fetchone()[0] == 0
    finally:
        app.extensions["locator.store"].dispose()


def test_backup_and_restore_on_postgres_bring_back_the_data_and_every_node_follows(own_cluster, tmp_path):
    _, url = own_cluster
    first, second = make_app(url, tmp_path, "a"), make_app(url, tmp_path, "b")
    try:
        store = first.extensions["locator.store"]
        store.import_points(points())
        kept = store.all()
        runner = first.test_cli_runner()
        result = runner.invoke(args=["db", "backup", str(tmp_path / "b.dump")])
        assert result.exit_code == 0, result.output
        store.update("p001", {"status": "closed"}, by="op")
        store.create(make_point("extra").to_record(), by="op")
        index = second.extensions["locator.index"]
        assert index.sync().seq == store.change_seq()
        result = runner.invoke(args=["db", "restore", str(tmp_path / "b.dump"), "--yes"])
        assert result.exit_code == 0, result.output
        assert [p.id for p in store.all()] == [p.id for p in kept]
        assert store.get("p001").status.value == "open"
        wait_for(
            lambda: synced(index, "extra") is None and index.point("p001").status.value == "open",
            2,
            "restored",
        )
        garbage = tmp_path / "garbage.dump"
        garbage.write_bytes(b"PGDMP not really")
        refused = runner.invoke(args=["db", "restore", str(garbage), "--yes"])
        assert refused.exit_code != 0 and "nothing changed" in refused.output
        assert [p.id for p in store.all()] == [p.id for p in kept]
    finally:
        first.extensions["locator.store"].dispose()
        second.extensions["locator.store"].dispose()


def test_the_problem_for_a_write_names_no_driver(node):
    """StoreUnavailable's words are the store's, never psycopg's (nothing about hosts or ports)."""
    cluster, app = node
    client = app.test_client()
    auth = operator_token(app)
    etag = client.get("/api/v1/points/p005").headers["ETag"]
    cluster.stop(mode="immediate")
    try:
        write = client.patch(
            "/api/v1/points/p005", json={"status": "closed"}, headers=auth | {"If-Match": etag}
        )
    finally:
        cluster.start_again()
    body = assert_problem(write, 503, None)
    text = str(body).lower()
    assert "psycopg" not in text and "connection" not in text and str(cluster.port) not in text
    assert isinstance(psycopg.__version__, str)


def test_the_database_password_is_never_shown():
    """The URL's password stays out of what the CLI prints and what /healthz tells operators."""
    from locator.store.pg_store import PostgresStore

    store = PostgresStore(
        "postgresql://poi:s3cr3t-pw@db1.internal,db2.internal:5433/poi?target_session_attrs=read-write"
    )
    try:
        assert "s3cr3t-pw" not in store.path and "db1.internal" in store.path
    finally:
        store.dispose()
