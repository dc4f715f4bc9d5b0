"""Every field input can carry, through every JSON door that takes it, gets every class of hostile
value (issue 16, part 5): control characters, lone surrogates, nesting past any sane depth, huge
values, wrong types, moments out of range, NaN and infinities. Never a 500: a refusal is
problem+json naming the field (or the body, or its size) and leaves the database as it was; a
value taken is stored clean and reads back.

The doors: POST /api/v1/points, PATCH /api/v1/points/<id> (a mobile point's schedule is its
`stops` field: every field of a stop too) and a citizen's POST /api/v1/points/<id>/reports.
The fields come from the declarations through tests/hostile.py: a new field is fuzzed here
without a line changed.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from conftest import seed_points
from helpers import PROBLEM_JSON, make_record
from hostile import (
    EITHER,
    FORBIDDEN,
    POINT_KINDS,
    REFUSE,
    REPORT_KINDS,
    REPORT_TYPES,
    STOP_KINDS,
    TOO_BIG,
    Case,
    Unchanged,
    assert_clean,
    database_dump,
    dumps,
    json_cases,
    valid_stop,
)

from locator import create_app
from locator.domain.fields import FIELD
from locator.domain.validation import parse_point
from locator.services.accounts import new_token

FIXED, MOBILE = "kyiv-01", "kyiv-03"  # from conftest's seed
REPORT_BODY_LIMIT = 16 * 1024  # bytes (http/admission.py SMALL_BODY_BYTES)
# A position is one thing: a bound it breaks may be blamed on either coordinate.
BLAMED = {"lat": ("lat", "lon"), "lon": ("lat", "lon")}


@pytest.fixture(scope="module")
def api(tmp_path_factory, password_hash):
    """One app per module (per worker): the seed, an admin's token, no anonymous rate limit."""
    app = create_app(
        {
            "DATABASE": str(tmp_path_factory.mktemp("hostile") / "hostile.db"),
            "SEED_FILE": "",
            "TESTING": True,
            "API_RATE_PER_MIN": 0,  # a citizen's door is fuzzed too
        }
    )
    store = app.extensions["locator.store"]
    store.import_points(seed_points())
    app.extensions["locator.users"].create("admin", password_hash, "admin", [], [])
    token, digest = new_token()
    app.extensions["locator.users"].add_token("admin", digest)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    yield SimpleNamespace(client=app.test_client(), store=store, headers=headers)
    store.close()


def takes(door: str, field: str) -> bool:
    """The API takes the field on this door: what a caller may set (and the id, on creation)."""
    return FIELD[field].editable or (door == "create" and field == "id")


def check(response, case: Case, param: str, before: Unchanged, what: str) -> bool:
    """The answer to one hostile value; True when it was taken (``before`` then follows)."""
    status = response.status_code
    assert status < 500, f"{what}: {status} {response.get_data(as_text=True)[:300]}"
    if status >= 400:
        assert response.mimetype == PROBLEM_JSON, what
        body = response.get_json()
        assert body["status"] == status and body["detail"], what
        if case.level == "size":
            assert status == 413, what
        else:
            assert status == 400, f"{what}: {status} {body}"
            blamed = ("body",) if case.level == "body" else BLAMED.get(param, (param,))
            assert body.get("param") in blamed, f"{what}: {body}"
        assert before.holds(), f"{what}: refused, yet the database changed"
        return False
    assert case.verdict == EITHER, f"{what}: taken ({status}), but must be refused"
    before.take()
    return True


def check_stored(api, point_id: str, what: str) -> None:
    point = api.store.get(point_id)
    assert_clean(point)
    parse_point(point.to_record())  # what is stored is still a valid point
    assert api.client.get(f"/api/v1/points/{point_id}").status_code == 200, what


def door_cases(door: str, field: str) -> list[Case]:
    cases = json_cases(POINT_KINDS[field], FIELD[field].annotation) + [
        Case("1 MB", "x" * TOO_BIG, REFUSE, "size")
    ]
    if takes(door, field):
        return cases
    # Not a field a caller may set (the store's times and version; the id of a point): refused
    # by name, whatever the value.
    return [Case(c.label, c.value, REFUSE, c.level) for c in cases]


@pytest.mark.parametrize("field", sorted(POINT_KINDS))
def test_every_field_through_the_create_api(api, field):
    before = Unchanged(api.store)
    for number, case in enumerate(door_cases("create", field)):
        kind = "mobile" if field == "stops" else "fixed"
        record = make_record(f"fz-{field}-{number}", kind=kind, services=["power"])
        record = {k: v for k, v in record.items() if takes("create", k)} | {field: case.value}
        what = f"POST {field}={case.label}"
        response = api.client.post("/api/v1/points", data=dumps(record), headers=api.headers)
        if check(response, case, field, before, what):
            check_stored(api, record["id"], what)


@pytest.mark.parametrize("field", sorted(POINT_KINDS))
def test_every_field_through_the_patch_api(api, field):
    point_id = MOBILE if field == "stops" else FIXED
    before = Unchanged(api.store)
    for case in door_cases("patch", field):
        what = f"PATCH {field}={case.label}"
        response = api.client.patch(
            f"/api/v1/points/{point_id}",
            data=dumps({field: case.value}),
            headers=api.headers | {"If-Match": "*"},
        )
        if check(response, case, field, before, what):
            check_stored(api, point_id, what)


@pytest.mark.parametrize("field", sorted(STOP_KINDS))
@pytest.mark.parametrize("door", ["create", "patch"])
def test_every_field_of_a_stop_through_the_api(api, field, door):
    before = Unchanged(api.store)
    for number, case in enumerate(json_cases(STOP_KINDS[field])):
        stops = [valid_stop(), valid_stop(48) | {field: case.value}]
        what = f"{door} stops[1].{field}={case.label}"
        if door == "create":
            record = make_record(f"fz-{door}-{field}-{number}", kind="mobile", stops=stops)
            record = {k: v for k, v in record.items() if takes("create", k)}
            response = api.client.post("/api/v1/points", data=dumps(record), headers=api.headers)
            point_id = record["id"]
        else:
            response = api.client.patch(
                f"/api/v1/points/{MOBILE}",
                data=dumps({"stops": stops}),
                headers=api.headers | {"If-Match": "*"},
            )
            point_id = MOBILE
        if check(response, case, "stops", before, what):
            check_stored(api, point_id, what)


@pytest.mark.parametrize("field", sorted(REPORT_KINDS))
def test_every_field_of_a_report_through_the_api(api, field):
    huge = REPORT_BODY_LIMIT // 2  # over every field's limit, under the route's
    cases = json_cases(REPORT_KINDS[field], REPORT_TYPES[field], huge=huge)
    cases.append(Case("1 MB", "x" * TOO_BIG, REFUSE, "size"))
    before = Unchanged(api.store)
    for number, case in enumerate(cases):
        body = {"kind": "missing_service", "service": "power", "comment": "Немає"} | {field: case.value}
        if field == "service" and case.value in ("", None, "   "):
            case = Case(case.label, case.value, REFUSE)  # "missing service" must name one
        what = f"report {field}={case.label}"
        response = api.client.post(
            f"/api/v1/points/{FIXED}/reports",
            data=dumps(body),
            headers={"Content-Type": "application/json"},
            environ_base={"REMOTE_ADDR": f"10.{number // 200}.{number % 200}.7"},  # one sender each
        )
        if check(response, case, field, before, what):
            for report in api.store.reports.open_for(FIXED):
                assert not any(FORBIDDEN.search(v) for v in report.values() if isinstance(v, str)), what


@pytest.mark.parametrize(
    "value",
    ["v" + "9" * 5_000, f'"v{"9" * 19}"', '"v²"', "v١", "W/", "\x00", "v1, v2", "v-1", "*, v1", "x" * 8_000],
    ids=lambda v: repr(v)[:20],
)
def test_if_match_of_any_shape_is_a_problem_never_a_500(api, value):
    before = database_dump(api.store)
    response = api.client.patch(
        f"/api/v1/points/{FIXED}", data=json.dumps({"note": "x"}), headers=api.headers | {"If-Match": value}
    )
    assert response.status_code in (400, 412), response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_JSON and response.get_json()["param"] == "If-Match"
    assert database_dump(api.store) == before


@pytest.mark.parametrize("query", ["limit=" + "9" * 5_000, "since=²", "limit=١٠", "since=-1", "limit=1e3"])
def test_a_whole_number_parameter_of_any_shape_is_a_problem_never_a_500(api, query):
    response = api.client.get(f"/api/v1/changes?{query}")
    assert response.status_code == 400 and response.mimetype == PROBLEM_JSON
    assert response.get_json()["param"] == query.split("=")[0]
