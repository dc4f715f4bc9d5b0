"""The OpenAPI document describes every API route, and real answers match its schemas."""

from __future__ import annotations

import re

import pytest
from helpers import make_point
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from locator.services.accounts import hash_password

METHODS = {"GET", "POST", "PATCH", "PUT", "DELETE"}


@pytest.fixture
def doc(client):
    return client.get("/api/v1/openapi.json").get_json()


@pytest.fixture
def world(store):
    store.import_points([make_point(f"p{i}", lat=50 + i / 100, status="open") for i in range(5)])


def documented_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def test_every_api_route_is_documented(app, doc):
    routes = {
        (documented_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in rule.methods & METHODS
    }
    described = {(path, method) for path, item in doc["paths"].items() for method in item}
    assert routes, "no API routes found"
    assert routes == described


def test_every_parameter_is_spelled_out(doc):
    """openapi.json names the parameters that state the code's rules; the served document (and
    the /api page that lists them) has each one in full."""
    for item in doc["paths"].values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                assert {"name", "in", "required", "description", "schema"} <= parameter.keys()


def check(doc, path: str, method: str, response) -> None:
    """The response's status is documented for this operation and its body matches the schema."""
    operation = doc["paths"][path][method]
    answer = operation["responses"].get(str(response.status_code))
    assert answer is not None, f"{method.upper()} {path} answered undocumented {response.status_code}"
    if "$ref" in answer:
        answer = doc["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
    content = answer.get("content")
    if not content or response.status_code == 304:
        return
    media = response.mimetype
    assert media in content, f"{method.upper()} {path}: {media} not among {list(content)}"
    schema = content[media]["schema"]
    if media in ("application/json", "application/geo+json", "application/problem+json"):
        validator = Draft202012Validator({**schema, "components": doc["components"]})
        validator.validate(response.get_json())


CASES = [
    ("/api/v1/points", "/api/v1/points?status=open&services=power"),
    ("/api/v1/points", "/api/v1/points?format=compact"),
    ("/api/v1/points", "/api/v1/points?bbox=1,2,3"),
    ("/api/v1/points.geojson", "/api/v1/points.geojson?kind=fixed"),
    ("/api/v1/points.csv", "/api/v1/points.csv"),
    ("/api/v1/points/{point_id}", "/api/v1/points/p1"),
    ("/api/v1/points/{point_id}", "/api/v1/points/nope"),
    ("/api/v1/nearest", "/api/v1/nearest?lat=50.1&lon=30.5&k=3"),
    ("/api/v1/nearest", "/api/v1/nearest?lat=99&lon=30"),
    ("/api/v1/places", "/api/v1/places?q=Київ"),
    ("/api/v1/places", "/api/v1/places"),
    ("/api/v1/changes", "/api/v1/changes?since=0&limit=2"),
    ("/api/v1/changes", "/api/v1/changes?since=-4"),
]


@pytest.mark.parametrize(("path", "url"), CASES)
def test_read_answers_match_the_document(client, doc, world, path, url):
    check(doc, path, "get", client.get(url))


def test_write_answers_match_the_document(app, client, doc, world):
    users = app.extensions["locator.users"]
    users.create("writer", hash_password("long enough password"), "admin")
    from locator.services.accounts import new_token

    token, digest = new_token()
    users.add_token("writer", digest)
    auth = {"Authorization": f"Bearer {token}"}
    path, item = "/api/v1/points/{point_id}", "/api/v1/points/p1"
    check(doc, path, "patch", client.patch(item, json={"status": "full"}))  # 401
    check(doc, path, "patch", client.patch(item, json={"status": "full"}, headers=auth))  # 428
    check(doc, path, "patch", client.patch(item, json={"status": "full"}, headers=auth | {"If-Match": "v1"}))
    check(doc, path, "patch", client.patch(item, json={"status": "x"}, headers=auth | {"If-Match": "v1"}))
    check(doc, path, "patch", client.patch(item, json={"status": "open"}, headers=auth | {"If-Match": "v1"}))
    new = {"id": "n1", "name": "Новий", "status": "open", "lat": 50.0, "lon": 30.0}
    check(doc, "/api/v1/points", "post", client.post("/api/v1/points", json=new, headers=auth))
    check(doc, "/api/v1/points", "post", client.post("/api/v1/points", json=new, headers=auth))  # 409


text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
GET_PATHS = ["/api/v1/points", "/api/v1/nearest", "/api/v1/places", "/api/v1/changes", "/api/v1/points.csv"]
PARAMS = ["lat", "lon", "k", "bbox", "status", "kind", "category", "base", "services", "q", "since", "limit"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(GET_PATHS), query=st.dictionaries(st.sampled_from(PARAMS), text, max_size=5))
def test_generated_queries_never_break_the_contract(client, doc, path, query):
    response = client.get(path, query_string=query)
    assert response.status_code < 500
    check(doc, path, "get", response)


def test_planner_answers_match_the_document(client, doc, world, make_user, make_token):
    """Issue 19: coverage and plans, for a token holder and for nobody."""
    make_user("planner", "admin")
    auth = {"Authorization": f"Bearer {make_token('planner')}"}
    for url in (
        "/api/v1/coverage",
        "/api/v1/coverage?region=Київ&limit=3",
        "/api/v1/coverage?format=geojson&region=Київ",
    ):
        check(doc, "/api/v1/coverage", "get", client.get(url, headers=auth))
    check(doc, "/api/v1/coverage", "get", client.get("/api/v1/coverage?distance_km=-1", headers=auth))  # 400
    check(doc, "/api/v1/coverage", "get", client.get("/api/v1/coverage"))  # 401
    plans = "/api/v1/plans/mobile"
    check(doc, plans, "post", client.post(plans, json={"n": 2, "region": "Київ"}, headers=auth))
    check(doc, plans, "post", client.post(plans, json={"n": 0}, headers=auth))  # 400
    check(doc, plans, "post", client.post(plans, json={"n": 2}))  # 401
