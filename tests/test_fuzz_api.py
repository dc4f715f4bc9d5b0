"""Every operation of /api/v1, fuzzed by schemathesis from our own OpenAPI document (issue 9).

Generated requests, valid and invalid, go through the WSGI app: no 500, no answer slower than
RESPONSE_LIMIT_S, every 4xx is application/problem+json (a 400 names the parameter), and every
answer matches the document (schemathesis' own checks). Writes carry a real admin token, so PATCH
and POST reach the store; every row a write leaves must still parse as a valid point.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import schemathesis
from helpers import PROBLEM_JSON, make_point
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from locator import create_app
from locator.domain.point import format_time, utcnow
from locator.domain.validation import parse_point
from locator.services.accounts import new_token
from locator.web import openapi

MAX_EXAMPLES = 40  # per operation: the file runs in about 20 s on 2 busy cores (400 found nothing more)
RESPONSE_LIMIT_S = 2.0  # one answer; a hang or a quadratic blow-up shows up here
# Rules JSON Schema cannot state, so a schema-valid request may break them and get a 400 naming
# the parameter: a bbox's minimum above its maximum, a stop ending before it starts or lasting
# over 7 days, stops on a fixed point, a missing_service report that names no service, a region
# the coordinates lie far from.
# And the opening_hours grammar (OpenStreetMap's), which no pattern states.
CROSS_FIELD = {"bbox", "stops", "service", "region", "opening_hours"}
SEEDED = ("kyiv-01", "kyiv-02", "mob-01")

# The document is built by the same pure function that serves /api/v1/openapi.json (checked
# below), so loading it needs no app at import time. schemathesis.pytest.from_fixture would be the
# usual way to get one from a fixture, but it sets Function._nodeid, which pytest 9 no longer has.
schema = schemathesis.openapi.from_dict(openapi.document("/"))


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory, password_hash):
    """One app per module (per worker): the writes pile up; at the end every row must parse."""
    app = create_app(
        {
            "DATABASE": str(tmp_path_factory.mktemp("fuzz") / "fuzz.db"),
            "SEED_FILE": "",
            "TESTING": True,
            "API_RATE_PER_MIN": 0,  # the fuzzer is one address sending thousands of requests
        }
    )
    now = utcnow()
    stop = {
        "place": "Майдан Незалежності",
        "lat": 50.45,
        "lon": 30.52,
        "starts_at": format_time(now - timedelta(hours=1)),
        "ends_at": format_time(now + timedelta(hours=5)),
    }
    store = app.extensions["locator.store"]
    store.import_points(
        [
            make_point("kyiv-01", now=now, updated_at=None, verified_at=None),
            make_point(
                "kyiv-02", now=now, status="full", lat=50.46, lon=30.51, updated_at=None, verified_at=None
            ),
            make_point("mob-01", now=now, kind="mobile", stops=[stop], updated_at=None, verified_at=None),
        ]
    )
    app.extensions["locator.users"].create("fuzz-admin", password_hash, "admin", [], [])
    yield app
    rows = stored_rows(store)
    assert len(rows) >= len(SEEDED)
    for row in rows:
        parse_point(row, now=utcnow())
    store.close()


@pytest.fixture(scope="module")
def token(fuzzed_app) -> str:
    token, digest = new_token()
    fuzzed_app.extensions["locator.users"].add_token("fuzz-admin", digest)
    return token


def stored_rows(store, point_id: str | None = None) -> list[dict]:
    """The raw rows, as SQLite holds them (not through the store's own reading)."""
    if point_id is None:
        return list(store.db.query("SELECT * FROM points"))
    return list(store.db.query("SELECT * FROM points WHERE id = ?", [point_id]))


@schema.parametrize()
@schema.given(known_id=st.sampled_from((None, *SEEDED)), if_match=st.sampled_from((None, "*", '"v1"')))
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    derandomize=True,  # the same cases every run: a failure here is never luck
)
def test_every_operation_survives_generated_input(case, fuzzed_app, token, known_id, if_match):
    if known_id and "point_id" in (case.path_parameters or {}):
        case.path_parameters["point_id"] = known_id  # reach real points, not only 404s
    if if_match and case.headers and "If-Match" in case.headers:
        case.headers["If-Match"] = if_match
    # The document was loaded without an app (see above): point this operation at the module's
    # app, for the call below and for the requests schemathesis' own checks send.
    case.operation.app = case.operation.schema.app = fuzzed_app
    headers = {"Accept-Encoding": "identity"}  # the test client does not undo brotli
    if case.method in ("PATCH", "POST") and case.path in ("/api/v1/points", "/api/v1/points/{point_id}"):
        headers["Authorization"] = f"Bearer {token}"
    started = time.monotonic()
    response = case.call(headers=headers)
    elapsed = time.monotonic() - started
    assert elapsed < RESPONSE_LIMIT_S, f"{case.method} {case.formatted_path} took {elapsed:.2f} s"
    assert response.status_code < 500
    body = None
    if 400 <= response.status_code < 500:
        content_type = response.headers.get("content-type", [""])[0]  # lower-case keys, lists of values
        assert content_type.startswith(PROBLEM_JSON), f"{response.status_code} {content_type}"
        body = json.loads(response.text)
        assert body["status"] == response.status_code and body["detail"]
        if response.status_code == 400:  # bad input: the problem names what to fix
            assert body.get("param"), body
    if case.method in ("PATCH", "POST") and response.status_code in (200, 201):
        written = json.loads(response.text).get("id") or json.loads(response.text).get("point_id")
        for row in stored_rows(fuzzed_app.extensions["locator.store"], written):
            parse_point(row, now=utcnow())
    # The API accepts more spellings than the document promises (status=OPEN, base=1, " open",
    # numbers as text, as forms and files send them), so a request outside the schema may rightly
    # succeed: the document says what a client can rely on, and the positive check holds us to it.
    excluded = [negative_data_rejection]
    blamed = {problem.get("param") for problem in (body or {}).get("errors", [body or {}])}
    if (response.status_code == 400 and blamed <= CROSS_FIELD) or response.status_code == 412:
        excluded.append(positive_data_acceptance)  # 412: valid data, but not the version it names
    case.validate_response(response, headers=headers, excluded_checks=excluded)


def test_the_fuzzed_document_is_the_served_one(client):
    served = client.get("/api/v1/openapi.json").get_json()
    assert served == json.loads(json.dumps(openapi.document("http://localhost/")))
