"""/healthz, /metrics and the request log: what operators see, and what they must never see."""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from helpers import PASSWORD, csrf_token, login, make_point

from locator import create_app
from locator.config import ConfigError
from locator.domain.point import utcnow
from locator.domain.validation import parse_time
from locator.store.schema import SCHEMA_VERSION


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus text, or None when it is not there."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        match = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if match is None or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        if found == labels:
            return float(match.group(3))
    return None


def log_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith('{"time"')]


# -- /healthz ------------------------------------------------------------------------------------


def test_healthz_answers_ok_with_the_index_state_and_moves_no_etag(client, store):
    store.import_points([make_point("a"), make_point("b")])
    etag = client.get("/api/v1/points").headers["ETag"]
    seq = store.change_seq()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["database"] == {
        "readable": True,
        "writable": True,
        "seq": seq,
        "schema_version": SCHEMA_VERSION,
    }
    assert body["index"]["seq"] == seq
    assert body["index"]["points_in_tree"] + body["index"]["changes_since_build"] >= 2
    assert 0 <= body["index"]["updated_s_ago"] < 60
    assert store.change_seq() == seq  # the write probe leaves the change counter alone...
    assert client.get("/api/v1/points", headers={"If-None-Match": etag}).status_code == 304  # ...and ETags
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'health_probe'").fetchone()  # it did write


def test_healthz_stays_up_and_healthz_write_is_503_when_the_database_takes_no_write(client, store):
    """A load balancer must not drop a node that can still answer reads; the write check tells."""
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # a stuck writer holds the lock
    try:
        response, write = client.get("/healthz"), client.get("/healthz/write")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert response.status_code == 200
    assert response.get_json()["writable"] is False and response.get_json()["status"] == "ok"
    assert write.status_code == 503
    assert write.get_json()["writable"] is False and "locked" in write.get_json()["reason"]
    assert client.get("/healthz/write").status_code == 503  # (the probe is kept for a second)


def test_healthz_answers_from_memory_when_the_database_is_not_readable(app, client, seeded, db_path):
    store = app.extensions["locator.store"]
    assert client.get("/healthz").status_code == 200  # the index has its snapshot
    store.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    db_path.write_bytes(b"this is not a database" * 300)
    app.extensions["locator.probe"].checked = float("-inf")  # (forget the last second's probe)
    response = client.get("/healthz")
    write = client.get("/healthz/write")
    assert response.status_code == 200
    body = response.get_json()
    assert body["writable"] is False and "not a database" in body["database"]["reason"]
    assert body["index"]["points_in_tree"] == len(seeded)
    assert write.status_code == 503 and "not a database" in write.get_json()["reason"]


# -- /metrics ------------------------------------------------------------------------------------


def test_metrics_count_requests_by_route_rule_and_status(client, seeded):
    for point_id in ("kyiv-01", "lviv-01", "no-such-point"):
        client.get(f"/api/v1/points/{point_id}")
    client.get("/api/v1/points?status=open&q=secret-query")
    client.get("/no/such/page")
    client.open("/api/v1/points", method="MADE-UP")  # 405; must not become a label of its own
    text = client.get("/metrics").get_data(as_text=True)
    rule = "/api/v1/points/<point_id>"
    requests = "locator_http_requests_total"
    assert metric(text, requests, method="GET", route=rule, status="200") == 2
    assert metric(text, requests, method="GET", route=rule, status="404") == 1
    assert metric(text, requests, method="GET", route="/api/v1/points", status="200") == 1
    assert metric(text, requests, method="GET", route="(unmatched)", status="404") == 1
    assert metric(text, requests, method="OTHER", route="(unmatched)", status="405") == 1
    assert "MADE-UP" not in text
    assert "kyiv-01" not in text and "secret-query" not in text and "/no/such" not in text
    latency = "locator_http_request_duration_seconds"
    assert metric(text, f"{latency}_count", route=rule) == 3
    assert metric(text, f"{latency}_bucket", route=rule, le="+Inf") == 3
    assert 0 < metric(text, f"{latency}_sum", route=rule) < 30


def test_metrics_report_points_by_status_stale_points_and_the_last_change(client, store, seeded):
    store.update("kyiv-02", {"archived": True}, by="test")
    text = client.get("/metrics").get_data(as_text=True)
    shown = [p for p in store.all() if not p.archived]
    for status in ("open", "full", "standby", "closed", "unconfirmed"):
        expected = sum(1 for p in shown if p.public_status.value == status)
        assert metric(text, "locator_points", status=status) == expected, status
    assert metric(text, "locator_points_archived") == 1
    # conftest's seed confirmed every other point 30 hours ago: stale under the default 12 hours
    stale = sum(1 for p in shown if p.is_stale(utcnow(), timedelta(hours=12)))
    assert stale > 0
    assert metric(text, "locator_points_stale") == stale
    assert metric(text, "locator_change_seq") == store.change_seq()
    last = store.db.execute("SELECT at FROM history ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert metric(text, "locator_last_change_timestamp_seconds") == parse_time(last).timestamp()


@pytest.mark.parametrize(
    ("allow", "address", "status"),
    [
        ("127.0.0.1,::1", "127.0.0.1", 200),
        ("127.0.0.1,::1", "::1", 200),
        ("127.0.0.1,::1", "203.0.113.7", 404),
        ("10.0.0.0/8", "10.20.30.40", 200),
        ("10.0.0.0/8", "127.0.0.1", 404),
        ("", "127.0.0.1", 404),
    ],
)
def test_metrics_only_for_configured_addresses(db_path, allow, address, status, monkeypatch):
    monkeypatch.setenv("LOCATOR_METRICS_ALLOW", allow)
    app = create_app({"DATABASE": str(db_path), "SEED_FILE": "", "TESTING": True})
    response = app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": address})
    assert response.status_code == status
    if status == 200:
        assert response.content_type.startswith("text/plain; version=")
        assert "locator_points" in response.get_data(as_text=True)
    else:
        assert "locator_" not in response.get_data(as_text=True)


def test_metrics_behind_a_proxy_judge_the_forwarded_client(db_path):
    app = create_app({"DATABASE": str(db_path), "SEED_FILE": "", "TESTING": True, "TRUSTED_PROXIES": 1})
    client = app.test_client()
    outside = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})  # nginx on 127.0.0.1
    assert outside.status_code == 404
    assert client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 200


def test_a_bad_metrics_allow_list_stops_the_app(db_path, monkeypatch):
    monkeypatch.setenv("LOCATOR_METRICS_ALLOW", "127.0.0.1,localhost")
    with pytest.raises(ConfigError, match="LOCATOR_METRICS_ALLOW='127.0.0.1,localhost' is not valid"):
        create_app({"DATABASE": str(db_path), "SEED_FILE": ""})


# -- the request log -----------------------------------------------------------------------------


def test_one_json_line_per_request_without_address_or_query(client, seeded, capsys):
    capsys.readouterr()
    client.get("/api/v1/points/kyiv-01?secret=in-the-query", environ_base={"REMOTE_ADDR": "198.51.100.23"})
    client.get("/list?q=Бровари")
    client.post("/api/v1/points", json={"id": "x"})  # 401: no credentials
    captured = capsys.readouterr()
    lines = log_lines(captured.err)
    assert [(line["method"], line["route"], line["status"]) for line in lines] == [
        ("GET", "/api/v1/points/<point_id>", 200),
        ("GET", "/list", 200),
        ("POST", "/api/v1/points", 401),
    ]
    for line in lines:
        assert set(line) == {"time", "method", "route", "status", "duration_ms", "bytes", "pid"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])
        assert line["duration_ms"] >= 0 and line["bytes"] > 0
    assert "198.51.100.23" not in captured.err and "in-the-query" not in captured.err
    assert "Бровари" not in captured.err and "kyiv-01" not in captured.err
    assert captured.out == ""


def test_client_address_is_logged_only_when_configured(db_path, capsys):
    app = create_app({"DATABASE": str(db_path), "SEED_FILE": "", "LOG_CLIENT_ADDRESS": True})
    capsys.readouterr()
    app.test_client().get("/healthz", environ_base={"REMOTE_ADDR": "198.51.100.23"})
    (line,) = log_lines(capsys.readouterr().err)
    assert line["client"] == "198.51.100.23"


@pytest.mark.parametrize(("target", "stream"), [("stdout", "out"), ("off", None)])
def test_request_log_goes_where_configured(db_path, capsys, target, stream):
    app = create_app({"DATABASE": str(db_path), "SEED_FILE": "", "REQUEST_LOG": target})
    capsys.readouterr()
    app.test_client().get("/healthz")
    captured = capsys.readouterr()
    assert len(log_lines(captured.out)) == (1 if stream == "out" else 0)
    assert log_lines(captured.err) == []


def test_passwords_tokens_and_session_cookies_never_reach_the_logs(
    app, client, store, make_user, make_token, capsys, caplog
):
    store.import_points([make_point("a")])
    make_user("olena", "admin")
    token = make_token("olena")
    capsys.readouterr()
    with caplog.at_level("DEBUG"):
        assert login(client, "olena").status_code == 302
        cookie = client.get_cookie("poi_session").value
        assert client.get("/operator/").status_code == 200
        wrong = login(app.test_client(), "olena", password="wrong-" + PASSWORD)
        assert wrong.status_code == 401
        bearer = {"Authorization": f"Bearer {token}", "If-Match": "*"}
        assert client.patch("/api/v1/points/a", json={"status": "full"}, headers=bearer).status_code == 200
        client.get(f"/api/v1/points?token={token}")  # a token pasted into a URL by mistake
        assert (
            client.post("/operator/logout", data={"csrf_token": csrf_token(client, "/operator/")}).status_code
            == 302
        )
    captured = capsys.readouterr()
    everything = captured.out + captured.err + caplog.text
    assert len(log_lines(captured.err)) >= 7
    for secret in (PASSWORD, token, cookie, token[:16], cookie[:24]):
        assert secret not in everything


# -- several workers -----------------------------------------------------------------------------


def test_metrics_add_up_every_gunicorn_worker(tmp_path):
    """Through scripts/gunicorn.conf.py (2 workers): each scrape, whichever worker answers it,
    counts every request that any worker served."""
    from test_soak_and_crash import Client, serving

    database = tmp_path / "served.db"
    app = create_app({"DATABASE": str(database), "SEED_FILE": ""})
    app.extensions["locator.store"].import_points([make_point("a")])
    app.extensions["locator.store"].close()
    sent = 80

    def hit(count: int) -> None:
        for _ in range(count):
            client = Client(server.port)  # a new connection each time: any worker may take it
            try:
                assert client.call("GET", "/api/v1/points/a")[0] == 200
            finally:
                client.close()

    with serving(database, tmp_path / "gunicorn.log", "/healthz") as server:
        threads = [threading.Thread(target=hit, args=(sent // 4,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        counts = []
        for _ in range(6):
            client = Client(server.port)
            try:
                status, _, body = client.call("GET", "/metrics")
            finally:
                client.close()
            assert status == 200
            text = body.decode()
            counts.append(
                metric(
                    text,
                    "locator_http_requests_total",
                    method="GET",
                    route="/api/v1/points/<point_id>",
                    status="200",
                )
            )
        log = server.log_text()
    workers = {line["pid"] for line in log_lines(log) if line["route"] == "/api/v1/points/<point_id>"}
    assert len(workers) == 2, f"the requests all went to one worker: {workers}"
    assert counts == [sent] * 6
    scraped_by = {line["pid"] for line in log_lines(log) if line["route"] == "/metrics"}
    print(f"requests served by workers {sorted(workers)}, scrapes answered by {sorted(scraped_by)}")
