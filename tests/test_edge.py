"""The HTTP edge is written once (locator/http/): the paths that answer before Flask (the nearest
lookup, the revalidations) refuse exactly as Flask refuses, a guard added to the edge holds on
every path, and only a valid API token earns an exemption from the rate limit and CSRF."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from helpers import assert_problem, csrf_token, dispatch_counter, login, make_point
from werkzeug.test import Client

from locator import create_app
from locator.domain.point import utcnow
from locator.http.admission import ADMISSION, LIMITER
from locator.http.errors import ApiError
from locator.services.accounts import new_token
from locator.store.errors import StoreBusy

NEAREST = "/api/v1/nearest?lat=50.45&lon=30.52"
COMPACT = "/api/v1/points?format=compact"
BLOCK = {"X-Test-Block": "1"}
STOPPED_CLOCK = 1_000.0  # the rate limiter's clock, stopped: no token comes back during a test
BAD_NEAREST = [
    ("lon=30.52", "lat"),
    ("lat=abc&lon=30.52", "lat"),
    ("lat=50.45&lon=181", "lon"),
    ("lat=50.45&lon=30.52&k=0", "k"),
    ("lat=50.45&lon=30.52&k=101", "k"),
    ("lat=50.45&lon=30.52&status=maybe", "status"),
    ("lat=50.45&lon=30.52&services=unicorns", "services"),
]


class FlaskOnly(Client):
    """A client of the Flask app itself, with no middleware in front: the reference answer. From
    the address the app's test client sends from, so both spend the same allowance."""

    def __init__(self, app: Flask):
        super().__init__(lambda environ, start_response: Flask.wsgi_app(app, environ, start_response))

    def open(self, *args, **kwargs):
        kwargs.setdefault("environ_base", {"REMOTE_ADDR": "127.0.0.1"})
        return super().open(*args, **kwargs)


flask_only = FlaskOnly


def answer(response) -> tuple[int, list[tuple[str, str]], bytes]:
    """Everything a client receives, but the Date a server adds."""
    headers = [(name, value) for name, value in response.headers.items() if name != "Date"]
    return response.status_code, headers, response.get_data()


@pytest.fixture
def limited(tmp_path):
    """limited(per_minute): an app whose anonymous API allowance is this, its clock stopped."""
    opened = []

    def make(per_minute: int) -> Flask:
        app = create_app(
            {
                "DATABASE": str(tmp_path / f"limited-{len(opened)}.db"),
                "SEED_FILE": "",
                "API_RATE_PER_MIN": per_minute,
            }
        )
        app.extensions[LIMITER].clock = lambda: STOPPED_CLOCK
        app.extensions["locator.store"].import_points(
            [make_point("kyiv-01", lat=50.4501, lon=30.5234), make_point("kyiv-02", lat=50.46, lon=30.53)]
        )
        opened.append(app)
        return app

    yield make
    for app in opened:
        app.extensions["locator.store"].close()


def block_on_header(app: Flask, environ: dict) -> ApiError | None:
    """A guard as a later change might add one: it refuses requests with X-Test-Block."""
    if "HTTP_X_TEST_BLOCK" in environ:
        return ApiError(403, "Forbidden", "blocked by the test guard")
    return None


# -- refusals before Flask are Flask's ---------------------------------------------------------------


def test_a_spent_rate_limit_on_the_fast_nearest_path_is_refused_as_flask_refuses_it(limited):
    app = limited(2)
    client, reference, dispatched = app.test_client(), flask_only(app), dispatch_counter(app)
    for _ in range(2):
        assert client.get(NEAREST).status_code == 200
    assert dispatched["n"] == 0  # both answered before Flask
    refused = client.get(NEAREST)
    assert_problem(refused, 429, None)
    assert answer(refused) == answer(reference.get(NEAREST))
    assert int(refused.headers["Retry-After"]) == 30  # one token at 2 a minute


@pytest.mark.parametrize("query, param", BAD_NEAREST)
def test_bad_arguments_on_the_fast_nearest_path_are_refused_as_flask_refuses_them(app, seeded, query, param):
    url = f"/api/v1/nearest?{query}"
    refused = app.test_client().get(url, headers={"Accept-Encoding": "br"})
    assert_problem(refused, 400, param)
    assert answer(refused) == answer(flask_only(app).get(url, headers={"Accept-Encoding": "br"}))


@pytest.mark.parametrize("url", [COMPACT, NEAREST])
def test_a_spent_rate_limit_on_the_revalidation_path_is_refused_as_flask_refuses_it(limited, url):
    app = limited(3)
    client, reference, dispatched = app.test_client(), flask_only(app), dispatch_counter(app)
    etag = client.get(url).headers["ETag"]
    revalidation = {"If-None-Match": etag}
    assert client.get(url, headers=revalidation).status_code == 304  # Flask's, remembered
    before = dispatched["n"]
    assert client.get(url, headers=revalidation).status_code == 304
    assert dispatched["n"] == before  # answered before Flask: the third and last token
    refused = client.get(url, headers=revalidation)
    assert_problem(refused, 429, None)
    assert answer(refused) == answer(reference.get(url, headers=revalidation))


@pytest.mark.parametrize("query, param", BAD_NEAREST[:3])
def test_bad_arguments_on_the_revalidation_path_are_refused_as_flask_refuses_them(app, seeded, query, param):
    url = f"/api/v1/nearest?{query}"
    revalidation = {"If-None-Match": 'W/"an-old-one"'}
    refused = app.test_client().get(url, headers=revalidation)
    assert_problem(refused, 400, param)
    assert answer(refused) == answer(flask_only(app).get(url, headers=revalidation))


# -- one chain of guards, on every path ------------------------------------------------------------------


def test_a_guard_added_to_the_edge_holds_on_every_path(app, client, seeded, dispatched):
    app.extensions[ADMISSION].guards.append(block_on_header)
    reference = flask_only(app)

    # A plain Flask route: a page, refused with the HTML error page.
    assert client.get("/").status_code == 200
    page = client.get("/", headers=BLOCK)
    assert page.status_code == 403 and page.mimetype == "text/html"

    # The nearest lookup answered before Flask...
    before = dispatched["n"]
    assert client.get(NEAREST).status_code == 200 and dispatched["n"] == before
    refused = client.get(NEAREST, headers=BLOCK)
    assert_problem(refused, 403, None)
    assert answer(refused) == answer(reference.get(NEAREST, headers=BLOCK))

    # ...and a revalidation that would be answered before Flask.
    etag = client.get(COMPACT).headers["ETag"]
    revalidation = {"If-None-Match": etag}
    assert client.get(COMPACT, headers=revalidation).status_code == 304  # Flask's, remembered
    before = dispatched["n"]
    assert client.get(COMPACT, headers=revalidation).status_code == 304 and dispatched["n"] == before
    refused = client.get(COMPACT, headers=revalidation | BLOCK)
    assert_problem(refused, 403, None)
    assert answer(refused) == answer(reference.get(COMPACT, headers=revalidation | BLOCK))


def test_a_request_is_judged_once_whichever_paths_it_passes(app, client, seeded):
    """Judged before Flask and passed on to it (bad arguments), a request is not judged again:
    a guard that spends something (a rate limit token) spends it once."""
    judged = []
    app.extensions[ADMISSION].guards.append(lambda app, environ: judged.append(environ["PATH_INFO"]))
    assert client.get(NEAREST).status_code == 200  # answered before Flask
    assert_problem(client.get("/api/v1/nearest?lat=50.45"), 400, "lon")  # judged before, answered by Flask
    etag = client.get(COMPACT).headers["ETag"]
    for _ in range(2):  # Flask's 304, then the remembered one
        assert client.get(COMPACT, headers={"If-None-Match": etag}).status_code == 304
    assert judged == ["/api/v1/nearest"] * 2 + ["/api/v1/points"] * 3


# -- only a valid token earns an exemption ---------------------------------------------------------------


def token_for(app: Flask, name: str, password_hash: str, role: str = "admin") -> str:
    users = app.extensions["locator.users"]
    users.create(name, password_hash, role, (), ())
    token, digest = new_token()
    users.add_token(name, digest)
    return token


DEAD_TOKENS = ["bogus", "expired", "revoked"]  # each earns nothing: it is no token at all


def dead_token(app: Flask, name: str, kind: str) -> dict[str, str]:
    """An Authorization header whose token is bogus, or the user's own, expired or revoked."""
    if kind == "bogus":
        return {"Authorization": "Bearer nonsense"}
    users = app.extensions["locator.users"]
    token, digest = new_token()
    if kind == "expired":  # made two hours ago to last one: no sleeping
        users.add_token(name, digest, lifetime=timedelta(hours=1), now=utcnow() - timedelta(hours=2))
    else:
        users.revoke_token(users.add_token(name, digest).id)
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("kind", DEAD_TOKENS)
def test_a_dead_token_is_rate_limited_like_an_anonymous_request_and_a_valid_one_is_not(
    limited, password_hash, kind
):
    app = limited(2)
    client = app.test_client()
    valid = {"Authorization": f"Bearer {token_for(app, 'olena', password_hash)}"}
    dead = dead_token(app, "olena", kind)
    statuses = [client.get(COMPACT, headers=dead).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert_problem(client.get(NEAREST, headers=dead), 429, None)
    assert_problem(client.get(COMPACT), 429, None)  # the same allowance as anonymous requests
    # A valid token is not counted, even from an address whose allowance is spent.
    assert [client.get(COMPACT, headers=valid).status_code for _ in range(4)] == [200] * 4
    assert client.get(NEAREST, headers=valid).status_code == 200


@pytest.mark.parametrize("kind", DEAD_TOKENS)
def test_a_dead_token_does_not_skip_the_csrf_check_of_a_console_form(
    app, client, store, seeded, make_user, kind
):
    make_user("olena", "admin")
    assert login(client, "olena").status_code == 302
    version = store.get("kyiv-01").version
    form = {"status": "closed", "version": version}
    refused = client.post(
        "/operator/points/kyiv-01/status", data=form, headers=dead_token(app, "olena", kind)
    )
    assert refused.status_code == 400  # the CSRF error page
    assert store.get("kyiv-01").version == version  # nothing written
    # The same form with the session's CSRF token goes through.
    saved = client.post(
        "/operator/points/kyiv-01/status", data=form | {"csrf_token": csrf_token(client, "/operator/")}
    )
    assert saved.status_code == 302 and store.get("kyiv-01").status.value == "closed"


@pytest.mark.parametrize("kind", DEAD_TOKENS)
def test_a_dead_token_does_not_skip_the_csrf_check_of_a_session_api_write(
    app, client, store, seeded, make_user, kind
):
    make_user("olena", "admin")
    assert login(client, "olena").status_code == 302
    headers = dead_token(app, "olena", kind) | {"If-Match": "*"}
    refused = client.patch("/api/v1/points/kyiv-01", json={"status": "closed"}, headers=headers)
    assert_problem(refused, 400, None)
    assert "CSRF" in refused.get_json()["detail"]
    assert store.get("kyiv-01").status.value == "open"
    # Without the session's cookie, the same write is simply unauthenticated.
    alone = app.test_client().patch("/api/v1/points/kyiv-01", json={"status": "closed"}, headers=headers)
    assert_problem(alone, 401, "Authorization")
    assert store.get("kyiv-01").status.value == "open"


def test_a_valid_token_skips_the_csrf_check(client, store, seeded, make_user, make_token):
    make_user("olena", "admin")
    assert login(client, "olena").status_code == 302  # a session as well: no CSRF token needed
    valid = {"Authorization": f"Bearer {make_token('olena')}"}
    written = client.patch(
        "/api/v1/points/kyiv-01", json={"status": "full"}, headers=valid | {"If-Match": "*"}
    )
    assert written.status_code == 200, written.get_data(as_text=True)
    version = store.get("kyiv-01").version
    form = {"status": "closed", "version": version}
    saved = client.post("/operator/points/kyiv-01/status", data=form, headers=valid)
    assert saved.status_code == 302 and store.get("kyiv-01").status.value == "closed"


def test_a_token_is_looked_up_once_per_request(client, store, seeded, make_user, make_token):
    """The admission's lookup is the one the write API uses (api_write.writer); a request with
    no Authorization header pays for none. (Noting the token's last use, at most hourly, is a
    write of its own, not a lookup.)"""
    make_user("olena", "admin")
    valid = {"Authorization": f"Bearer {make_token('olena')}", "If-Match": "*"}
    statements: list[str] = []
    store.db.conn.set_trace_callback(statements.append)  # this thread's connection: the client's
    lookups = lambda: sum(sql.startswith("SELECT") and "api_tokens" in sql for sql in statements)  # noqa: E731
    assert client.patch("/api/v1/points/kyiv-01", json={"status": "full"}, headers=valid).status_code == 200
    assert lookups() == 1
    assert client.get(COMPACT).status_code == 200 and client.get(NEAREST).status_code == 200
    assert lookups() == 1
    store.db.conn.set_trace_callback(None)


# -- errors --------------------------------------------------------------------------------------------


def test_a_busy_store_is_503_with_retry_after_on_any_path(app, client):
    """StoreBusy, from wherever it is raised, never becomes a 500 (the store raises it when
    another writer holds the database: tests/test_busy_database.py)."""

    def busy():
        raise StoreBusy("held by a restore")

    app.add_url_rule("/api/v1/test-busy", "test_busy_api", busy, methods=["POST"])
    app.add_url_rule("/test-busy", "test_busy_page", busy)
    api = client.post("/api/v1/test-busy")
    assert_problem(api, 503, None)
    assert api.headers["Retry-After"] == "5" and api.headers["Cache-Control"] == "no-store"
    page = client.get("/test-busy")
    assert page.status_code == 503 and page.mimetype == "text/html"
    assert page.headers["Retry-After"] == "5"
