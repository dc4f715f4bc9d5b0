"""The security headers hold on every response of every route (issue 9).

The routes come from app.url_map, never from a list written here: a route added later is walked
and checked without anyone remembering to add it. Each is asked with every method it accepts, as
a stranger, an operator and an admin, plus unknown paths and a method no route has.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import csrf_token, login, make_point

from locator import create_app

EMBED_ANCESTORS = "https://kyiv.example https://*.gov.ua"  # not the default, so we see it is used
EMBED_ENDPOINT = "embed.widget"  # the one page other sites may frame
SEEDED_POINT = "kyiv-01"
REGION = "Київська область"  # the seeded points' region, and the operator's
STATIC = Path(__file__).resolve().parent.parent / "static"
# A real value for every URL parameter name a route uses. A new name fails the walk until a real
# value is added here: a placeholder would only ever reach a 404.
ARGUMENTS = {
    "point_id": SEEDED_POINT,
    "filename": "js/map.js",
    "fmt": "csv",
    "code": "en",  # /lang/<code>: the language switch
    "proposal_id": "1",  # a proposal in the review queue (none there: its 404 must carry the headers too)
    "token": "join_not-a-real-link",  # a business's one-time sign-in link (spent or made up: 410)
}
# Endpoints that answer 200 only with a query: asked with it as well as without.
QUERIES = {
    "api.nearest": "lat=50.45&lon=30.52",
    "api.places": "q=Київ",
    "api.changes": "since=0&limit=5",
    "public.list_page": "place=Київ",
    "embed.widget": f"region={REGION}&services=power",
}
EXTRA = [  # (method, path) that no rule builds: unknown paths and a method nobody accepts
    ("GET", "/no/such/page"),
    ("GET", "/api/v1/no-such-thing"),
    ("GET", "/static/no-such-file.js"),
    ("GET", "/operator/no-such-page"),
    ("GET", "/points/no-such-point"),
    ("GET", "/api/v1/points/no-such-point"),
    ("DELETE", "/api/v1/points/" + SEEDED_POINT),
    ("PUT", "/"),
    ("GET", "/operator"),  # no trailing slash: a redirect made by routing, not by a view
]
LAST = {"operator.logout"}  # ends the session: walked after everything else


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    endpoint: str | None  # None for the EXTRA calls


def calls(app) -> Iterator[Call]:
    """Every rule with every method it accepts (HEAD is GET without a body), then EXTRA."""
    rules = sorted(app.url_map.iter_rules(), key=lambda rule: (rule.endpoint in LAST, rule.rule))
    unknown = sorted({name for rule in rules for name in rule.arguments} - ARGUMENTS.keys())
    assert not unknown, f"add a real value for URL parameter(s) {unknown} to ARGUMENTS"
    for rule in rules:
        _, path = rule.build({name: ARGUMENTS[name] for name in rule.arguments})
        for method in sorted(rule.methods - {"HEAD"}):
            yield Call(method, path, rule.endpoint)
            if method == "GET" and rule.endpoint in QUERIES:
                yield Call(method, f"{path}?{QUERIES[rule.endpoint]}", rule.endpoint)
    for method, path in EXTRA:
        yield Call(method, path, None)


def send(client, call: Call, token: str, **kwargs):
    """The call with what a real client would send: the CSRF token, a JSON body for the API."""
    headers = {"X-CSRFToken": token, **kwargs.pop("headers", {})}
    if call.path.startswith("/api/") and call.method in ("POST", "PATCH"):
        headers["If-Match"] = "*"
        return client.open(call.path, method=call.method, json={}, headers=headers, **kwargs)
    data = {"csrf_token": token} if call.method == "POST" else None
    return client.open(call.path, method=call.method, data=data, headers=headers, **kwargs)


def header_problems(call: Call, response, *, https: bool) -> list[str]:
    """What is wrong with the security headers of one response (empty: nothing)."""
    headers = response.headers
    problems = []
    policy = headers.get("Content-Security-Policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    script_src = directives.get("script-src", [])
    if not script_src or {"'unsafe-inline'", "'unsafe-eval'", "*", "data:"} & set(script_src):
        problems.append(f"script-src {script_src}")
    for directive, wanted in (
        ("default-src", ["'self'"]),
        ("object-src", ["'none'"]),
        ("base-uri", ["'none'"]),
    ):
        if directives.get(directive) != wanted:
            problems.append(f"{directive} {directives.get(directive)}")
    if headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("X-Content-Type-Options")
    if headers.get("Referrer-Policy") != "strict-origin-when-cross-origin":
        problems.append(f"Referrer-Policy {headers.get('Referrer-Policy')!r}")
    permissions = dict(
        item.strip().split("=", 1) for item in headers.get("Permissions-Policy", "").split(",") if "=" in item
    )
    for feature, wanted in (("geolocation", "(self)"), ("camera", "()"), ("microphone", "()")):
        if permissions.get(feature) != wanted:
            problems.append(f"Permissions-Policy {feature}={permissions.get(feature)}")
    if call.endpoint == EMBED_ENDPOINT:
        if " ".join(directives.get("frame-ancestors", [])) != f"{EMBED_ANCESTORS} 'self'":
            problems.append(f"embed frame-ancestors {directives.get('frame-ancestors')}")
        if "X-Frame-Options" in headers:
            problems.append("embed has X-Frame-Options")
    else:
        if directives.get("frame-ancestors") != ["'none'"]:
            problems.append(f"frame-ancestors {directives.get('frame-ancestors')}")
        if headers.get("X-Frame-Options") != "DENY":
            problems.append(f"X-Frame-Options {headers.get('X-Frame-Options')!r}")
    hsts = headers.get("Strict-Transport-Security")
    if https and not (hsts or "").startswith("max-age=31536000"):
        problems.append(f"HSTS over https: {hsts!r}")
    if not https and hsts is not None:
        problems.append(f"HSTS over plain http: {hsts!r}")
    return [f"{call.method} {call.path} -> {response.status_code}: {problem}" for problem in problems]


def make_app(tmp_path, **overrides):
    app = create_app(
        {
            "DATABASE": str(tmp_path / "headers.db"),
            "SEED_FILE": "",
            "EMBED_ANCESTORS": EMBED_ANCESTORS,
            **overrides,
        }
    )
    app.extensions["locator.store"].import_points(
        [make_point(SEEDED_POINT, region=REGION), make_point("kyiv-02", region=REGION, kind="mobile")]
    )
    return app


@pytest.fixture
def walk(tmp_path, password_hash):
    """walk(who, https=..., app_overrides=..., headers=..., expect_https=...): every call as who,
    returns (problems, statuses). expect_https defaults to https (the request's own scheme)."""
    opened = []

    def run(who: str, *, https=False, app_overrides=None, headers=None, expect_https=None):
        app = make_app(tmp_path / f"{who}-{len(opened)}", **(app_overrides or {}))
        opened.append(app)
        users = app.extensions["locator.users"]
        users.create("olena", password_hash, "operator", [REGION], [])
        users.create("admin", password_hash, "admin", [], [])
        client = app.test_client()
        base = {"base_url": "https://localhost"} if https else {}
        # Over HTTPS the CSRF check also wants a same-origin Referer, as a browser sends it.
        headers = {**({"Referer": "https://localhost/"} if https else {}), **(headers or {})}
        if who != "anonymous":
            assert login(client, who, headers=headers, **base).status_code == 302
        token = csrf_token(client, "/operator/login")
        problems, statuses = [], []
        for call in calls(app):
            response = send(client, call, token, headers=headers, **base)
            statuses.append((call, response.status_code, response.mimetype))
            expected = https if expect_https is None else expect_https
            problems += header_problems(call, response, https=expected)
        return problems, statuses

    yield run
    for app in opened:
        app.extensions["locator.store"].close()


@pytest.mark.parametrize("who", ["anonymous", "olena", "admin"])
def test_every_route_sends_the_security_headers(walk, who):
    problems, statuses = walk(who)
    assert not problems, "\n".join(problems)
    codes = [status for _, status, _ in statuses]
    assert 500 not in codes, [(c.method, c.path) for c, status, _ in statuses if status == 500]
    # The walk reached real answers of every kind, not just a wall of errors.
    assert any(c.endpoint == "static" and status == 200 for c, status, _ in statuses)
    assert any(c.endpoint == EMBED_ENDPOINT and status == 200 for c, status, _ in statuses)
    assert any(300 <= status < 400 for status in codes)
    assert any(status == 404 and mime == "text/html" for _, status, mime in statuses)
    assert any(400 <= status < 500 and mime == "application/problem+json" for _, status, mime in statuses)
    ok_pages = {c.endpoint for c, status, mime in statuses if status == 200 and mime == "text/html"}
    assert {"public.map_page", "public.point_page", "public.list_page"} <= ok_pages
    if who != "anonymous":
        assert {"operator.points", "operator.point", "operator.history"} <= ok_pages


@pytest.mark.parametrize("who", ["anonymous", "admin"])
def test_every_route_sends_hsts_over_https(walk, who):
    problems, statuses = walk(who, https=True)
    assert not problems, "\n".join(problems)
    assert 500 not in [status for _, status, _ in statuses]


def test_hsts_follows_x_forwarded_proto_from_a_trusted_proxy_only(walk):
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    problems, _ = walk(
        "anonymous", app_overrides={"TRUSTED_PROXIES": 1}, headers=forwarded, expect_https=True
    )
    assert not problems, "\n".join(problems)
    # Without a trusted proxy the header is anyone's to send: it must not switch HSTS on.
    problems, _ = walk("anonymous", headers=forwarded, expect_https=False)
    assert not problems, "\n".join(problems)


def test_the_walk_fails_a_route_that_forgets_the_headers(tmp_path):
    """A route added later is found through url_map, and a response without headers is caught."""
    app = make_app(tmp_path)
    app.add_url_rule("/late-addition", "late_addition", lambda: "hi")
    app.after_request_funcs[None].insert(0, _strip_on_late_addition)
    walked = [call for call in calls(app) if call.endpoint == "late_addition"]
    assert walked == [
        Call("GET", "/late-addition", "late_addition"),
        Call("OPTIONS", "/late-addition", "late_addition"),
    ]
    response = app.test_client().get("/late-addition")
    assert response.status_code == 200
    assert header_problems(walked[0], response, https=False)
    app.extensions["locator.store"].close()


def _strip_on_late_addition(response):
    """Runs after the app's header hook (after_request runs in reverse), as a forgetful route would."""
    from flask import request

    if request.endpoint == "late_addition":
        for name in ("Content-Security-Policy", "X-Frame-Options", "Permissions-Policy"):
            response.headers.pop(name, None)
    return response


def test_a_new_url_parameter_needs_a_real_value(tmp_path):
    app = make_app(tmp_path)
    app.add_url_rule("/things/<thing_id>", "thing", lambda thing_id: thing_id)
    with pytest.raises(AssertionError, match="thing_id"):
        list(calls(app))
    app.extensions["locator.store"].close()


def test_static_file_in_arguments_exists():
    assert (STATIC / ARGUMENTS["filename"]).is_file()
