"""What the site gives away, and how much it takes in (issue 16, part 6): console pages are never
cached, /healthz tells strangers only up or down, and each route reads only the body it needs."""

from __future__ import annotations

import json
import re

import pytest
from helpers import assert_problem, csrf_token, login, make_point

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
    assert json.loads(stranger.data) == {"status": "ok", "writable": True}
    here = json.loads(client.get("/healthz").data)  # 127.0.0.1: LOCATOR_METRICS_ALLOW
    assert here["status"] == "ok" and {"database", "index", "pid"} <= here.keys()


def test_a_failing_database_tells_a_stranger_no_reason(client, app, seeded):
    def broken():
        raise OSError("disk I/O error at /srv/locator/instance/locator.db")

    app.extensions["locator.probe"] = broken
    stranger = client.get("/healthz", environ_base=STRANGER)  # reads go on: up, but no writes
    assert stranger.status_code == 200
    assert json.loads(stranger.data) == {"status": "ok", "writable": False}
    stranger = client.get("/healthz/write", environ_base=STRANGER)
    assert stranger.status_code == 503
    assert json.loads(stranger.data) == {"status": "unavailable", "writable": False}
    assert "/srv/" in json.loads(client.get("/healthz").data)["database"]["reason"]  # the operator's view
    assert "/srv/" in json.loads(client.get("/healthz/write").data)["reason"]


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
        "servers": f"{PUBLIC_URL}/",
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
        "servers": "https://localhost/",  # the scheme is kept
        "snippet": "https://localhost/embed",
        "preview": "/embed",
        "preview_src": "/embed",
        "widget_home": "https://localhost/",
        "redirect": "/operator/",  # a slash redirect names no host at all
    }
    for path in ("/api/v1/openapi.json", "/embed/builder", "/embed"):
        assert "evil" not in client.get(path, headers=forged).get_data(as_text=True), path


# -- what the console shows of points outside the reader's scope (issue 16, docs/operators.md) -----

KYIV_POINT, LVIV_POINT = "kyiv-01", "lviv-01"
# What only the point's own readers may see: who wrote it, what citizens typed.
PRIVATE = {
    KYIV_POINT: ("op-kyiv-hanna", "Кличте Марію, +380 67 000 00 01", "Відповіли: сусід Тарас"),
    LVIV_POINT: ("op-lviv-petro", "Я Ігор з третього поверху", "Відповіли: пані Оксана"),
}
READERS = {  # who reads, and the points whose private details they see
    "admin": {KYIV_POINT, LVIV_POINT},
    "kc": {KYIV_POINT, LVIV_POINT},  # a viewer without a scope: the call centre, everywhere
    "kc-lviv": {LVIV_POINT},  # a viewer given a region sees it there only
    "op-kyiv-hanna": {KYIV_POINT},
    "op-lviv-petro": {LVIV_POINT},
}
PUBLIC_PATHS = [
    "/",
    "/list?q=Київ",
    "/list?q=Львів",
    "/embed",
    f"/points/{KYIV_POINT}",
    f"/points/{LVIV_POINT}",
    f"/api/v1/points/{KYIV_POINT}",
    f"/api/v1/points/{LVIV_POINT}",
    "/api/v1/points",
    "/api/v1/points.geojson",
    "/api/v1/points.csv",
    "/api/v1/points?format=compact",
    "/api/v1/changes",
    "/api/v1/nearest?lat=50.45&lon=30.52&k=5",
    "/api/v1/nearest?lat=49.84&lon=24.03&k=5",
]


@pytest.fixture
def private_world(app, store, seeded, make_user):
    """Two scoped operators, each of whom wrote to a point of their region, and citizens' comments
    on both points, one report answered (its answerer's name is private too)."""
    from locator.domain.reports import Report, ReportKind
    from locator.search.regions import Territory
    from locator.services import points as commands
    from locator.services.reports import dismiss_reports

    make_user("admin", "admin")
    make_user("kc", "viewer")
    make_user("kc-lviv", "viewer", regions=["Львівська обл."])
    regions = {KYIV_POINT: "Київ", LVIV_POINT: "Львівська обл."}
    territory = Territory()
    for point_id, (name, comment, answered) in PRIVATE.items():
        operator = make_user(name, "operator", regions=[regions[point_id]])
        store.reports.add(Report(point_id, ReportKind.FULL, comment=answered), source="a")
        dismiss_reports(store, territory, operator, point_id, None)  # answered, by name
        commands.set_status(store, territory, operator, point_id, None, status="full")  # history, by name
        store.reports.add(Report(point_id, ReportKind.CLOSED, comment=comment), source="b")
    return app


def _console_paths(app, point_id: str) -> list[str]:
    """Every page the console answers to GET for a point (and its lists and exports): a new
    page or JSON endpoint is checked here without being named."""
    from locator import console

    paths = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in console.BLUEPRINT_NAMES or "GET" not in rule.methods:
            continue
        values = {"point_id": point_id, "fmt": ["csv", "geojson"], "proposal_id": 1, "token": "join_none"}
        for fmt in values["fmt"] if "fmt" in rule.arguments else [None]:
            args = {name: fmt if name == "fmt" else values[name] for name in rule.arguments}
            paths.append(rule.build(args)[1])
    return sorted(set(paths))


def _texts(client, paths) -> dict[str, str]:
    return {path: client.get(path).get_data(as_text=True) for path in paths}


@pytest.mark.parametrize("reader", sorted(READERS))
def test_the_console_shows_names_and_comments_only_within_the_readers_scope(private_world, reader):
    client = private_world.test_client()
    assert login(client, reader).status_code == 302
    for point_id, secrets in PRIVATE.items():
        shown = _texts(client, _console_paths(private_world, point_id))
        page, history = shown[f"/operator/points/{point_id}"], shown[f"/operator/points/{point_id}/history"]
        if point_id in READERS[reader]:
            assert all(secret in page for secret in secrets[1:]), (reader, point_id)  # both comments
            assert secrets[0] in page and secrets[0] in history  # who answered, who changed
            assert "private-note" not in page + history
        else:
            for path, text in shown.items():
                for secret in secrets:
                    if secret != reader:  # (a reader's own name is in the console's header)
                        assert secret not in text, (reader, path, secret)
            # The public view instead: the reports counted, the history's authors by kind.
            assert "private-note" in page and "private-note" in history
            assert 'class="report-counts"' in page and "(1)</h2>" in page
            assert "<td>оператор</td>" in history


def test_console_exports_hold_no_names_or_comments(private_world):
    client = private_world.test_client()
    login(client, "admin")
    for path in ("/operator/export.csv", "/operator/export.geojson"):
        text = client.get(path).get_data(as_text=True)
        assert "kyiv-01" in text
        assert not [s for secrets in PRIVATE.values() for s in secrets if s in text], path
    login(client, "op-kyiv-hanna")
    assert client.get("/operator/export.csv").status_code == 403  # exports are the admins'


@pytest.mark.parametrize("reader", [None, "admin", "op-kyiv-hanna"])
def test_public_pages_and_the_api_never_show_names_or_comments(private_world, reader):
    """Whoever asks, logged in to the console or not: the public outputs are the same."""
    client = private_world.test_client()
    if reader:
        login(client, reader)
    for path, text in _texts(client, PUBLIC_PATHS).items():
        assert not [s for secrets in PRIVATE.values() for s in secrets if s in text], path
    page = client.get(f"/points/{KYIV_POINT}").get_data(as_text=True)
    assert "оператор" in page  # who in general, not by name


def test_a_stranger_reaches_no_console_page(private_world):
    client = private_world.test_client()
    for path in _console_paths(private_world, KYIV_POINT):
        if path == "/operator/login":
            continue
        response = client.get(path)
        if path.startswith("/operator/signin/"):  # a business's way in: a button, nothing about anyone
            text = response.get_data(as_text=True)
            assert response.status_code == 200 and "<button" in text, path
            assert not any(secret in text for secrets in PRIVATE.values() for secret in secrets)
            continue
        assert response.status_code == 302 and "/operator/login" in response.headers["Location"], path


@pytest.mark.parametrize(
    ("role", "regions", "settlements", "disabled", "sees"),
    [
        ("admin", (), (), False, {"kyiv", "lviv"}),
        ("viewer", (), (), False, {"kyiv", "lviv"}),
        ("viewer", ("львівська обл.",), (), False, {"lviv"}),  # case folded, as the write scope
        ("operator", ("Київська обл.",), (), False, {"kyiv"}),
        ("operator", (), ("Львів",), False, {"lviv"}),
        ("admin", (), (), True, set()),
    ],
)
def test_who_may_read_a_points_private_details(role, regions, settlements, disabled, sees):
    from helpers import make_point

    from locator.domain.users import Role, User

    user = User(1, "u", Role(role), regions, settlements, disabled=disabled)
    points = {
        "kyiv": make_point("k", region="Київська обл.", settlement="Київ"),
        "lviv": make_point("l", region="Львівська обл.", settlement="Львів"),
    }
    assert {name for name, point in points.items() if user.may_read_private(point)} == sees


def test_public_history_names_kinds_of_authors_only():
    from locator.domain.users import author_kind

    assert [
        author_kind(by) for by in ("citizens", "import:a.geojson", "seed:x", "restore:b.db", "olena")
    ] == [
        "citizens",
        "import",
        "import",
        "import",
        "operator",
    ]


@pytest.mark.parametrize(
    "origin, accepted",
    [
        (PUBLIC_URL, True),  # a page of the site, through a proxy that forwards another Host
        ("http://127.0.0.1:8000", True),  # the Host the request came with
        ("https://evil.example", False),
        ("https://poi.example.ua.evil.example", False),
        ("null", False),
    ],
)
def test_reports_come_from_the_sites_own_pages_as_the_public_url_names_them(site_app, origin, accepted):
    app = site_app(LOCATOR_PUBLIC_URL=PUBLIC_URL)
    app.extensions["locator.store"].import_points([make_point("p1")])
    client = app.test_client()
    response = client.post(
        "/api/v1/points/p1/reports",
        json={"kind": "closed"},
        headers={"Origin": origin, "Host": "127.0.0.1:8000"},
    )
    assert response.status_code == (201 if accepted else 403), response.get_data(as_text=True)
