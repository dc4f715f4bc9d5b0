"""What the site gives away, and how much it takes in (issue 16, part 6): console pages are never
cached, /healthz tells strangers only up or down, and each route reads only the body it needs."""

from __future__ import annotations

import json

import pytest
from helpers import assert_problem, csrf_token, login

STRANGER = {"REMOTE_ADDR": "203.0.113.5"}  # not in LOCATOR_METRICS_ALLOW (127.0.0.1, ::1)
CONSOLE_PAGES = [
    "/operator/",
    "/operator/points/kyiv-01",
    "/operator/points/kyiv-01/history",
    "/operator/points/kyiv-01/edit",
    "/operator/points/new",
    "/operator/import",
    "/operator/export.csv",
    "/operator/export.geojson",
]


@pytest.fixture
def admin(client, make_user, seeded):
    make_user("admin", "admin")
    assert login(client, "admin").status_code == 302
    return client


@pytest.mark.parametrize("path", CONSOLE_PAGES)
def test_console_pages_and_exports_are_never_stored(admin, path):
    response = admin.get(path)
    assert response.status_code == 200, path
    assert response.headers["Cache-Control"] == "no-store"


def test_the_console_login_page_is_not_stored_either(client):
    assert client.get("/operator/login").headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/", "/list", "/api/v1/points"])
def test_public_answers_stay_cacheable(client, seeded, path):
    assert "no-store" not in client.get(path).headers.get("Cache-Control", "")


def test_healthz_tells_a_stranger_only_up_or_down(client, seeded):
    stranger = client.get("/healthz", environ_base=STRANGER)
    assert stranger.status_code == 200
    assert json.loads(stranger.data) == {"status": "ok"}
    here = json.loads(client.get("/healthz").data)  # 127.0.0.1: LOCATOR_METRICS_ALLOW
    assert here["status"] == "ok" and {"database", "index", "pid"} <= here.keys()


def test_healthz_down_tells_a_stranger_no_reason(client, app, seeded):
    def broken():
        raise OSError("disk I/O error at /srv/locator/instance/locator.db")

    app.extensions["locator.probe"] = broken
    stranger = client.get("/healthz", environ_base=STRANGER)
    assert stranger.status_code == 503
    assert json.loads(stranger.data) == {"status": "unavailable"}
    assert "/srv/" in json.loads(client.get("/healthz").data)["reason"]  # the operator's own view


def test_a_report_body_past_a_few_kilobytes_is_refused_unread(client, store, seeded):
    before = store.reports.open_counts()
    body = {"kind": "closed", "comment": "x" * 20_000}
    headers = {"Origin": "http://localhost"}
    response = client.post("/api/v1/points/kyiv-01/reports", json=body, headers=headers)
    assert_problem(response, 413, None)
    assert store.reports.open_counts() == before


def test_a_login_body_past_a_few_kilobytes_is_refused(client, make_user):
    make_user("olena")
    form = {"csrf_token": csrf_token(client), "name": "olena", "password": "x" * 20_000}
    assert client.post("/operator/login", data=form).status_code == 413


def test_an_api_write_past_its_limit_is_refused_and_changes_nothing(
    client, store, seeded, make_user, make_token
):
    make_user("admin", "admin")
    headers = {"Authorization": f"Bearer {make_token('admin')}", "If-Match": "*"}
    before = store.get("kyiv-01")
    response = client.patch("/api/v1/points/kyiv-01", json={"note": "x" * 300_000}, headers=headers)
    assert_problem(response, 413, None)
    assert store.get("kyiv-01") == before
    small = client.patch("/api/v1/points/kyiv-01", json={"note": "ok"}, headers=headers)
    assert small.status_code == 200  # a normal write is well inside the limit


def test_a_forwarded_host_never_names_the_site(db_path):
    """Behind a trusted proxy the client's address and scheme come from X-Forwarded-*, but never
    the host: a client can send X-Forwarded-Host through the proxy (issue 16)."""
    from locator import create_app

    app = create_app({"DATABASE": str(db_path), "SEED_FILE": "", "TRUSTED_PROXIES": 1})
    try:
        forged = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}
        document = app.test_client().get("/api/v1/openapi.json", headers=forged)
        assert document.status_code == 200
        assert "evil.example" not in document.get_data(as_text=True)
        assert document.get_json()["servers"][0]["url"].startswith("https://localhost")  # the scheme is kept
        builder = app.test_client().get("/embed/builder", headers=forged)
        assert builder.status_code == 200 and "evil.example" not in builder.get_data(as_text=True)
    finally:
        app.extensions["locator.store"].close()
