"""What the site gives away, and how much it takes in (issue 16, part 6): console pages are never
cached, /healthz tells strangers only up or down, and each route reads only the body it needs."""

from __future__ import annotations

import json
import re

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


# What a client may send to name another site: the Host itself, and every forwarding header.
FORGED = {
    "Host": "evil.example",
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Proto": "http",
    "X-Forwarded-Port": "8443",
    "X-Forwarded-Prefix": "/evil",
    "Forwarded": 'host=evil.example;proto=http;for="198.51.100.7"',
}
PUBLIC_URL = "https://poi.example.ua"


@pytest.fixture
def site_app(db_path, monkeypatch):
    """An app behind one trusted proxy; make(LOCATOR_PUBLIC_URL=...) sets environment variables."""
    from locator import create_app

    made = []

    def make(**environment):
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        app = create_app({"DATABASE": str(db_path), "SEED_FILE": "", "TRUSTED_PROXIES": 1})
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["locator.store"].close()


def _handed_out(client, headers) -> dict[str, str]:
    """Every absolute URL the site hands out, as a client with these headers sees it."""
    builder = client.get("/embed/builder", headers=headers).get_data(as_text=True)
    widget = client.get("/embed", headers=headers).get_data(as_text=True)
    return {
        "servers": client.get("/api/v1/openapi.json", headers=headers).get_json()["servers"][0]["url"],
        "snippet": re.search(r'data-widget-url="([^"]*)"', builder).group(1),
        "preview": re.search(r'data-preview-url="([^"]*)"', builder).group(1),
        "preview_src": re.search(r'<iframe id="preview"[^>]* src="([^"]*)"', builder).group(1),
        "widget_home": re.search(r'class="embed-credit"><a href="([^"]*)"', widget).group(1),
        "redirect": client.get("/operator", headers=headers).headers["Location"],
    }


def test_the_public_url_names_the_site_whatever_the_request_says(site_app):
    """With LOCATOR_PUBLIC_URL, no header of a request (Host, X-Forwarded-*, Forwarded) reaches
    an address the site hands out (issue 16). Pages still answer any Host (docs/deployment.md)."""
    client = site_app(LOCATOR_PUBLIC_URL=PUBLIC_URL + "/").test_client()  # the slash is dropped
    assert _handed_out(client, FORGED) == {
        "servers": PUBLIC_URL,
        "snippet": f"{PUBLIC_URL}/embed",
        "preview": "/embed",  # this site, as the builder was opened (its CSP frames only itself)
        "preview_src": "/embed",
        "widget_home": f"{PUBLIC_URL}/",
        "redirect": f"{PUBLIC_URL}/operator/",
    }
    for path in ("/", "/api", "/embed/builder", "/embed", "/manifest.webmanifest", "/api/v1/openapi.json"):
        response = client.get(path, headers=FORGED)
        assert response.status_code == 200, path
        assert "evil" not in response.get_data(as_text=True), path
    manifest = client.get("/manifest.webmanifest", headers=FORGED).get_json()
    assert {manifest[key] for key in ("id", "start_url", "scope")} == {"/"}  # relative: no host at all


def test_a_forwarded_host_never_names_the_site(site_app):
    """Without LOCATOR_PUBLIC_URL the address is the request's scheme and Host; behind a trusted
    proxy the scheme comes from X-Forwarded-Proto, but never the host: a client can send
    X-Forwarded-Host through the proxy (issue 16)."""
    client = site_app().test_client()
    forged = {key: value for key, value in FORGED.items() if key != "Host"} | {"X-Forwarded-Proto": "https"}
    assert _handed_out(client, forged) == {
        "servers": "https://localhost",  # the scheme is kept
        "snippet": "https://localhost/embed",
        "preview": "/embed",
        "preview_src": "/embed",
        "widget_home": "https://localhost/",
        "redirect": "/operator/",  # a slash redirect names no host at all
    }
    for path in ("/api/v1/openapi.json", "/embed/builder", "/embed"):
        assert "evil" not in client.get(path, headers=forged).get_data(as_text=True), path
