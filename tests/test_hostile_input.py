"""No input gets a 500 (issue 16, part 5): each class of hostile value, on every door it can come
through, gets a clear refusal and changes nothing.

The classes: JSON nested past any sane depth, lone surrogates, moments Python cannot convert to
UTC (year 1 or 9999 with an offset) on every datetime field the Point declares, and control
characters in a redirect target. A new field or route is covered by the same parametrisation.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from helpers import assert_problem, csrf_token, login, make_record

from locator.domain.fields import POINT_DECLARATION
from locator.domain.validation import ValidationError, parse_point

DEEP = 1_100  # levels of nesting: Python's json raised RecursionError past ~1,000
OUT_OF_RANGE = ("0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-23:59", "1900-01-01T00:00:00Z")
# Every datetime field of the Point that input may carry, from the one declaration.
TIME_FIELDS = [f.name for f in POINT_DECLARATION if f.parse is not None and "datetime" in str(f.annotation)]
CONTROL = ("\r\nX-Injected: 1", "\n", "\x00", "\x7f")


def deep_json(member: str) -> str:
    return f'{{"kind": "closed", "{member}": {"[" * DEEP}{"]" * DEEP}}}'


@pytest.fixture
def writer(make_user, make_token) -> dict[str, str]:
    make_user("admin", "admin")
    return {"Authorization": f"Bearer {make_token('admin')}", "Content-Type": "application/json"}


def snapshot(store) -> tuple:
    return [p.to_record() for p in store.all()], store.change_seq()


def test_the_declaration_has_time_fields_to_try():
    assert {"updated_at", "verified_at"} <= set(TIME_FIELDS)


@pytest.mark.parametrize(
    "path",
    ["/api/v1/points/kyiv-01/reports", "/api/v1/points/kyiv-01", "/api/v1/points"],
    ids=["report", "patch", "create"],
)
@pytest.mark.parametrize("body", [deep_json("comment"), '{"kind": "closed", "comment": "\\ud800"}'])
def test_deep_json_and_lone_surrogates_are_a_bad_body(client, store, seeded, writer, path, body):
    before = snapshot(store)
    method = client.patch if path.endswith("kyiv-01") else client.post
    headers = writer | ({"If-Match": "*"} if method == client.patch else {})
    assert_problem(method(path, data=body, headers=headers), 400, "body")
    assert snapshot(store) == before


@pytest.mark.parametrize("moment", OUT_OF_RANGE)
@pytest.mark.parametrize("field", TIME_FIELDS)
def test_every_time_field_refuses_moments_out_of_range(field, moment):
    with pytest.raises(ValidationError) as refused:
        parse_point(make_record("p1") | {field: moment})
    assert [problem.field for problem in refused.value.problems] == [field]


@pytest.mark.parametrize("moment", OUT_OF_RANGE)
@pytest.mark.parametrize("end", ["starts_at", "ends_at"])
def test_a_stop_out_of_range_is_refused_by_the_api(client, store, seeded, writer, moment, end):
    stop = {"place": "Площа", "lat": 50.45, "lon": 30.52}
    stop |= {"starts_at": "2026-12-01T10:00:00Z", "ends_at": "2026-12-01T12:00:00Z"} | {end: moment}
    before = snapshot(store)
    response = client.patch(
        "/api/v1/points/kyiv-03", data=json.dumps({"stops": [stop]}), headers=writer | {"If-Match": "*"}
    )
    assert_problem(response, 400, "stops")
    assert snapshot(store) == before


@pytest.mark.parametrize("moment", ["0001-01-01T00:00", "9999-12-31T23:59"])
def test_a_stop_out_of_range_is_refused_by_the_console(client, store, seeded, make_user, moment):
    make_user("admin", "admin")
    assert login(client, "admin").status_code == 302
    point = store.get("kyiv-03")
    before = snapshot(store)
    form = {
        "csrf_token": csrf_token(client, f"/operator/points/{point.id}"),
        "version": point.version,
        "place": "Площа",
        "lat": "50.45",
        "lon": "30.52",
        "starts_at": moment,
        "ends_at": "2026-12-01T12:00",
    }
    response = client.post(f"/operator/points/{point.id}/stops", data=form, follow_redirects=True)
    assert response.status_code == 200
    assert "2000" in response.get_data(as_text=True)  # the form's own error: the range it takes
    assert snapshot(store) == before


@pytest.mark.parametrize("moment", OUT_OF_RANGE)
def test_an_import_with_a_time_out_of_range_is_rejected_whole(tmp_path, runner, store, seeded, moment):
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [30.52, 50.45]},
            "properties": {"id": "new-1", "name": "Школа", "status": "open", "verified_at": moment},
        }
    ]
    path = tmp_path / "hostile.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    before = snapshot(store)
    result = runner.invoke(args=["points", "import", str(path)])
    assert result.exit_code != 0 and "verified_at" in result.output
    assert "Traceback" not in result.output
    assert snapshot(store) == before


@pytest.mark.parametrize("control", CONTROL)
def test_a_login_redirect_target_with_control_characters_goes_to_the_console(client, make_user, control):
    make_user("olena", "operator", regions=("Київ", "Київська обл."))
    target = f"/operator/{control}"
    response = login(client, "olena", query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/operator/")


@pytest.mark.parametrize("control", CONTROL)
def test_the_language_switch_ignores_a_target_with_control_characters(client, control):
    response = client.get("/lang/en", query_string={"next": f"/list{control}"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_moments_inside_the_range_still_pass():
    record = make_record("p1") | {"updated_at": "2001-01-01T00:00:00+02:00", "verified_at": "2001-01-01"}
    point = parse_point(record)
    assert point.verified_at == datetime.fromisoformat("2001-01-01T00:00:00+00:00")
