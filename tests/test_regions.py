"""Scope is checked on what is written (issue 16, part 3): a point's region comes from its
coordinates, on every write path, and an operator writes only where their scope lies.

The region lookup is held to shapely (the oracle: exact polygon tests and distances) on places
sampled around every border; the border cases the issue names (Kyiv city inside Kyiv oblast,
Бровари, Вишневе) are checked by name; then each write path is tried as an attacker would.
"""

from __future__ import annotations

import json
import math
import random

import pytest
import shapely
from helpers import assert_problem, csrf_token, db_state, login
from shapely.geometry import MultiPolygon, Point, Polygon

from locator import create_app
from locator.search.regions import BORDER_M, REGIONS_FILE, canonical_region, shared
from locator.search.settlements import REGIONS
from locator.services.accounts import new_token
from locator.store import UserStore

KYIV, OBLAST, LVIV, ODESA = "Київ", "Київська область", "Львівська область", "Одеська область"
PLACES = {  # name: (lat, lon, the region it is in)
    "Хрещатик": (50.4501, 30.5234, KYIV),
    "Троєщина": (50.5200, 30.6200, KYIV),
    "Бортничі": (50.3900, 30.6900, KYIV),
    "Жуляни": (50.4000, 30.4500, KYIV),
    "Бровари": (50.5110, 30.7909, OBLAST),
    "Вишневе": (50.3898, 30.3704, OBLAST),
    "Ірпінь": (50.5218, 30.2506, OBLAST),
    "Бориспіль": (50.3527, 30.9550, OBLAST),
    "Львів": (49.8397, 24.0297, LVIV),
    "Одеса": (46.4825, 30.7233, ODESA),
    "Харків": (49.9935, 36.2304, "Харківська область"),
    "Сімферополь": (44.9521, 34.1024, "Автономна Республіка Крим"),
}


def polygons() -> dict[str, MultiPolygon]:
    document = json.loads(REGIONS_FILE.read_text(encoding="utf-8"))["regions"]
    return {
        REGIONS[code][0]: MultiPolygon([Polygon(p[0], p[1:]) for p in found])
        for code, found in document.items()
    }


def test_the_lookup_agrees_with_shapely_around_every_border():
    regions, lookup, rng = polygons(), shared(), random.Random(16)
    checked = 0
    for shape in regions.values():
        for _ in range(40):
            on = shape.boundary.interpolate(rng.random(), normalized=True)
            lat, lon = on.y + rng.uniform(-0.03, 0.03), on.x + rng.uniform(-0.03, 0.03)
            found = lookup.locate(lat, lon)
            inside = [name for name, g in regions.items() if g.contains(Point(lon, lat))]
            scale = math.cos(math.radians(lat))
            metres = {
                name: shapely.transform(g, lambda xy, s=scale: xy * [s, 1]).distance(Point(lon * scale, lat))
                * 111_195
                for name, g in regions.items()
            }
            surely = {name for name, m in metres.items() if m <= BORDER_M - 1} | set(inside)
            maybe = {name for name, m in metres.items() if m <= BORDER_M + 1} | set(inside)
            assert surely <= found.nearby <= maybe, (lat, lon)
            if inside:
                assert found.region == inside[0], (lat, lon)
            checked += 1
    assert checked == 40 * len(regions)


@pytest.mark.parametrize("name", PLACES)
def test_kyiv_is_a_region_of_its_own_and_its_suburbs_are_the_oblasts(name):
    lat, lon, region = PLACES[name]
    assert shared().locate(lat, lon).region == region


@pytest.mark.parametrize(
    "spelt, name",
    [
        ("Київська обл.", OBLAST),
        ("КИЇВСЬКА ОБЛАСТЬ", OBLAST),
        ("Kyiv Oblast", OBLAST),
        ("м. Київ", KYIV),
        ("місто Київ", KYIV),
        ("Kyiv", KYIV),
        ("Одеська", ODESA),
        ("", ""),
        ("Марсіанська область", None),
    ],
)
def test_each_region_has_one_public_name(spelt, name):
    assert canonical_region(spelt) == name


# -- every write path, as an attacker ------------------------------------------------------------


@pytest.fixture
def world(tmp_path, password_hash):
    """A city operator (Київ), an oblast operator, a Бровари-only operator and an admin, each
    with an API token; one point in Kyiv city and a mobile one in the oblast."""
    app = create_app({"DATABASE": str(tmp_path / "db.sqlite"), "SEED_FILE": "", "TESTING": True})
    users: UserStore = app.extensions["locator.users"]
    tokens = {}
    for name, role, regions, settlements in (
        ("city", "operator", ("м. Київ",), ()),
        ("oblast", "operator", ("Київська обл.",), ()),
        ("brovary", "operator", (), ("Бровари (Київська область)",)),
        ("admin", "admin", (), ()),
    ):
        users.create(name, password_hash, role, regions, settlements)
        token, digest = new_token()
        users.add_token(name, digest)
        tokens[name] = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    for body in (point("city-1", *PLACES["Хрещатик"][:2]), point("tent-1", *PLACES["Бровари"][:2], "mobile")):
        assert client.post("/api/v1/points", json=body, headers=tokens["admin"]).status_code == 201
    yield app, client, tokens
    app.extensions["locator.store"].close()


def point(point_id: str, lat: float, lon: float, kind: str = "fixed", **more) -> dict:
    return {"id": point_id, "name": "Пункт", "status": "open", "kind": kind, "lat": lat, "lon": lon} | more


def at(name: str) -> dict:
    lat, lon, _ = PLACES[name]
    return {"lat": lat, "lon": lon}


def stop(name: str) -> dict:
    return at(name) | {"place": name, "starts_at": "2030-01-01T10:00:00Z", "ends_at": "2030-01-01T12:00:00Z"}


REFUSED = [  # who, method, path, body, status, the field blamed (None: the scope)
    ("city", "POST", "/api/v1/points", point("x", **at("Львів"), region=LVIV), 403, None),
    ("city", "POST", "/api/v1/points", point("x", **at("Львів"), region=KYIV), 400, "region"),
    ("city", "POST", "/api/v1/points", point("x", **at("Львів")), 403, None),
    ("city", "POST", "/api/v1/points", point("x", lat=0, lon=0, region=KYIV), 400, "lat"),
    ("city", "POST", "/api/v1/points", point("x", **at("Бровари"), region=KYIV), 400, "region"),
    ("city", "POST", "/api/v1/points", point("x", **at("Вишневе")), 403, None),
    ("city", "PATCH", "/api/v1/points/city-1", at("Одеса") | {"region": ODESA}, 403, None),
    ("city", "PATCH", "/api/v1/points/city-1", at("Одеса"), 403, None),
    ("city", "PATCH", "/api/v1/points/city-1", {"region": ODESA}, 400, "region"),
    ("city", "PATCH", "/api/v1/points/city-1", {"region": "Марсіанська область"}, 400, "region"),
    ("city", "PATCH", "/api/v1/points/city-1", at("Бровари"), 403, None),
    ("oblast", "POST", "/api/v1/points", point("x", **at("Хрещатик"), region=OBLAST), 400, "region"),
    ("oblast", "POST", "/api/v1/points", point("x", **at("Хрещатик")), 403, None),
    ("oblast", "PATCH", "/api/v1/points/tent-1", {"stops": [stop("Одеса")]}, 403, None),
    ("oblast", "PATCH", "/api/v1/points/tent-1", {"stops": [stop("Хрещатик")]}, 403, None),
    ("brovary", "POST", "/api/v1/points", point("x", **at("Львів"), settlement="Бровари"), 403, None),
    ("brovary", "PATCH", "/api/v1/points/tent-1", {"settlement": "Бровари", **at("Ірпінь")}, 403, None),
    ("admin", "POST", "/api/v1/points", point("x", lat=0, lon=0), 400, "lat"),
    ("admin", "POST", "/api/v1/points", point("x", lat=50.45, lon=-0.0), 400, "lon"),  # names the one out
    ("admin", "POST", "/api/v1/points", point("x", **at("Одеса"), region=LVIV), 400, "region"),
    ("admin", "PATCH", "/api/v1/points/tent-1", {"stops": [stop("Одеса") | {"lat": 10.0}]}, 400, "stops"),
]


@pytest.mark.parametrize("who, method, path, body, status, field", REFUSED)
def test_a_write_outside_its_place_is_refused_and_changes_nothing(
    world, who, method, path, body, status, field
):
    app, client, tokens = world
    store = app.extensions["locator.store"]
    before = db_state(store)
    response = client.open(path, method=method, json=body, headers=tokens[who] | {"If-Match": "*"})
    assert_problem(response, status, field)
    assert db_state(store) == before


@pytest.mark.parametrize(
    "who, body, region",
    [
        ("city", point("a", **at("Троєщина")), KYIV),  # blank: filled from the coordinates
        ("city", point("a", **at("Жуляни"), region="м. Київ"), KYIV),  # one spelling
        ("oblast", point("a", **at("Вишневе"), region="київська обл."), OBLAST),
        ("oblast", point("a", **at("Бровари"), settlement="Бровари"), OBLAST),
        ("brovary", point("a", **at("Бровари"), settlement="бровари"), OBLAST),
        ("admin", point("a", **at("Сімферополь")), "Автономна Республіка Крим"),
    ],
)
def test_a_write_in_its_place_is_stored_with_the_regions_public_name(world, who, body, region):
    app, client, tokens = world
    response = client.post("/api/v1/points", json=body, headers=tokens[who])
    assert response.status_code == 201, response.get_data(as_text=True)
    assert app.extensions["locator.store"].get("a").region == region


def test_a_moved_point_takes_the_region_it_moved_to(world):
    app, client, tokens = world
    moved = client.patch(
        "/api/v1/points/tent-1", json=at("Одеса"), headers=tokens["admin"] | {"If-Match": "*"}
    )
    assert moved.status_code == 200
    assert app.extensions["locator.store"].get("tent-1").region == ODESA


def test_the_console_refuses_a_point_outside_the_scope_beside_the_region(world):
    app, _, _ = world
    store = app.extensions["locator.store"]
    client = app.test_client()
    assert login(client, "city").status_code == 302
    before = db_state(store)
    form = {"id": "x", "name": "П", "status": "open", "kind": "fixed", "category": "state"}
    for extra in (at("Львів") | {"region": LVIV}, at("Бровари") | {"region": ""}, {"lat": "0", "lon": "0"}):
        token = csrf_token(client, "/operator/points/new")
        response = client.post("/operator/points/new", data=form | extra | {"csrf_token": token})
        assert response.status_code in (400, 403), extra
        assert 'aria-invalid="true"' in response.get_data(as_text=True), extra
    assert db_state(store) == before


def test_bounds_hold_for_every_path_not_only_imports(tmp_path, password_hash):
    app = create_app(
        {
            "DATABASE": str(tmp_path / "db.sqlite"),
            "SEED_FILE": "",
            "TESTING": True,
            "BOUNDS": (29.0, 49.0, 32.0, 51.5),  # around Kyiv only
        }
    )
    users: UserStore = app.extensions["locator.users"]
    users.create("admin", password_hash, "admin")
    token, digest = new_token()
    users.add_token("admin", digest)
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    assert (
        client.post("/api/v1/points", json=point("k", **at("Хрещатик")), headers=headers).status_code == 201
    )
    assert_problem(client.post("/api/v1/points", json=point("l", **at("Львів")), headers=headers), 400, "lon")
    patch = client.patch("/api/v1/points/k", json=at("Одеса"), headers=headers | {"If-Match": "*"})
    assert_problem(patch, 400, "lat")
    app.extensions["locator.store"].close()
