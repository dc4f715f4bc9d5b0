"""The planner's API (issue 19): authenticated, scoped, never cached, 400 on hostile values."""

from __future__ import annotations

import csv
import io

import pytest
from helpers import assert_problem, csrf_token, login, make_point

KYIV_OBLAST, LVIV_OBLAST = "Київська область", "Львівська область"


@pytest.fixture
def world(store):
    store.import_points(
        [
            make_point("brovary", lat=50.511, lon=30.79, opening_hours="24/7"),
            make_point("lviv", lat=49.84, lon=24.03, opening_hours="24/7"),
        ]
    )


@pytest.fixture
def operator(make_user, make_token):
    make_user("olena", "operator", regions=[KYIV_OBLAST])
    return {"Authorization": f"Bearer {make_token('olena')}"}


@pytest.fixture
def admin(make_user, make_token):
    make_user("root", "admin")
    return {"Authorization": f"Bearer {make_token('root')}"}


def test_anonymous_and_bogus_tokens_get_401(client, world):
    assert_problem(client.get("/api/v1/coverage"), 401, "Authorization")
    assert_problem(
        client.get("/api/v1/coverage", headers={"Authorization": "Bearer nope"}), 401, "Authorization"
    )
    assert_problem(client.post("/api/v1/plans/mobile", json={"n": 2}), 401, "Authorization")
    response = client.post("/api/v1/plans/mobile", json={"n": 2}, headers={"Authorization": "Bearer nope"})
    assert_problem(response, 401, "Authorization")


def test_an_operator_sees_only_their_regions(client, world, operator):
    response = client.get("/api/v1/coverage?status=any&limit=10000", headers=operator)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert [r["region"] for r in body["regions"]] == [KYIV_OBLAST]
    assert {r["region"] for r in body["uncovered"]} == {KYIV_OBLAST}
    assert "GeoNames" in body["source"]["credit"] and "500" in body["source"]["limits"]
    assert_problem(client.get(f"/api/v1/coverage?region={LVIV_OBLAST}", headers=operator), 403, "region")
    plan = client.post("/api/v1/plans/mobile", json={"n": 1, "region": LVIV_OBLAST}, headers=operator)
    assert_problem(plan, 403, "region")


def test_an_admin_sees_every_region_and_gets_a_plan(client, world, admin):
    body = client.get("/api/v1/coverage?region=Львівська область&distance_km=10", headers=admin).get_json()
    assert [r["region"] for r in body["regions"]] == [LVIV_OBLAST]
    lviv = body["regions"][0]
    assert 0 < lviv["covered_population"] < lviv["population"]  # Lviv is, its oblast's villages are not
    response = client.post(
        "/api/v1/plans/mobile", json={"n": 3, "region": LVIV_OBLAST, "services": ["heat"]}, headers=admin
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    plan = response.get_json()
    assert len(plan["sites"]) == 3
    assert plan["covered_after"] == plan["covered_before"] + sum(s["adds_population"] for s in plan["sites"])
    assert all(s["region"] == LVIV_OBLAST for s in plan["sites"])


def test_a_console_session_reads_coverage(client, world, make_user):
    make_user("olena", "operator", regions=[KYIV_OBLAST])
    login(client, "olena")
    response = client.get("/api/v1/coverage")
    assert response.status_code == 200
    assert [r["region"] for r in response.get_json()["regions"]] == [KYIV_OBLAST]
    token = csrf_token(client, "/operator/")
    plan = client.post("/api/v1/plans/mobile", json={"n": 1}, headers={"X-CSRFToken": token})
    assert plan.status_code == 200, plan.get_data(as_text=True)


def test_csv_export_guards_formulas_and_credits_geonames(client, world, admin):
    response = client.get("/api/v1/coverage?format=csv&region=Київ", headers=admin)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:3] == ["name", "name_en", "region"]
    assert rows[-1][0].startswith("# Settlements and populations: GeoNames")
    assert all(not row[0].startswith(("=", "+", "-", "@")) for row in rows)


def test_geojson_and_geopackage_exports(client, world, admin, tmp_path):
    geojson = client.get("/api/v1/coverage?format=geojson&region=Київ", headers=admin)
    assert geojson.mimetype == "application/geo+json"
    features = geojson.get_json()["features"]
    assert features and all(f["geometry"]["type"] == "Point" for f in features)
    gpkg = client.get("/api/v1/coverage?format=gpkg&region=Київ", headers=admin)
    assert gpkg.status_code == 200
    path = tmp_path / "coverage.gpkg"
    path.write_bytes(gpkg.get_data())
    import geopandas as gpd

    frame = gpd.read_file(path, layer="coverage")
    assert len(frame) == len(features)
    assert "GeoNames" in gpd.read_file(path, layer="source")["credit"][0]


HOSTILE_QUERIES = [
    ("status=sometimes", "status"),
    ("kinds=boats", "kinds"),
    ("services=heat,unicorns", "services"),
    ("distance_km=-1", "distance_km"),
    ("distance_km=NaN", "distance_km"),
    ("distance_km=inf", "distance_km"),
    ("distance_km=1e400", "distance_km"),
    ("at=yesterday", "at"),
    ("at=9999-12-31T23:59:59Z", "at"),
    ("region=Марс", "region"),
    ("format=xlsx", "format"),
    ("limit=0", "limit"),
    ("limit=99999999999999999999999", "limit"),
    ("limit=١", "limit"),
]


@pytest.mark.parametrize(("query", "param"), HOSTILE_QUERIES)
def test_hostile_coverage_parameters_are_400(client, world, admin, query, param):
    assert_problem(client.get(f"/api/v1/coverage?{query}", headers=admin), 400, param)


HOSTILE_BODIES = [
    ({"n": 10**30}, "n"),
    ({"n": 0}, "n"),
    ({"n": True}, "n"),
    ({"n": "3"}, "n"),
    ({}, "n"),
    ({"n": 2, "distance_km": -5}, "distance_km"),
    ({"n": 2, "distance_km": "NaN"}, "distance_km"),
    ({"n": 2, "distance_km": [1]}, "distance_km"),
    ({"n": 2, "at": "2025-13-45"}, "at"),
    ({"n": 2, "at": 12}, "at"),
    ({"n": 2, "services": ["unicorns"]}, "services"),
    ({"n": 2, "services": {"a": 1}}, "services"),
    ({"n": 2, "status": ["open"]}, "status"),
    ({"n": 2, "region": {"x": 1}}, "region"),
    ({"n": 2, "fleet": "yes"}, "fleet"),
    ({"n": 2, "candidates": "all"}, "candidates"),
    ({"n": 2, "candidates": []}, "candidates"),
    ({"n": 2, "candidates": [5]}, "candidates[0]"),
    ({"n": 2, "candidates": [{"name": "x", "lat": 99, "lon": 30}]}, "candidates[0]"),
    ({"n": 2, "candidates": [{"name": "x", "lat": 10, "lon": 10}]}, "candidates"),
    ({"n": 2, "surprise": 1}, "surprise"),
]


@pytest.mark.parametrize(("body", "param"), HOSTILE_BODIES)
def test_hostile_plan_bodies_are_400(client, world, admin, body, param):
    assert_problem(client.post("/api/v1/plans/mobile", json=body, headers=admin), 400, param)


def test_bodies_that_are_not_objects_are_400(client, world, admin):
    deep = "[" * 5000 + "]" * 5000
    for data in (deep, "[1, 2]", "not json", '{"n": 1'):
        response = client.post(
            "/api/v1/plans/mobile", data=data, headers=admin | {"Content-Type": "application/json"}
        )
        assert_problem(response, 400, "body")
