"""Visibility (issue 20): any writer may make a point more private, only an admin more public,
and a region listed in LOCATOR_APPROXIMATE_REGIONS makes its new points approximate. The public
view of a point keeps nothing of an approximate one's exact place and nothing of a hidden one."""

from __future__ import annotations

import pytest
from helpers import csrf_token, login, make_point, make_record

from locator import create_app
from locator.domain.scope import Forbidden
from locator.domain.support import beds_short_of
from locator.domain.users import Role, User
from locator.domain.values import Visibility
from locator.domain.visibility import GRID_DEG, public_view
from locator.io.files import PointBatch
from locator.search.regions import Territory
from locator.services import imports, points
from locator.services.actors import system_actor
from locator.services.region_visibility import apply_region_visibility

KYIV_CITY, KYIV = "м. Київ", "Київська обл."
OPERATOR = User(1, "olena", Role.OPERATOR, regions=(KYIV_CITY, KYIV))
ADMIN = User(2, "admin", Role.ADMIN)
OPEN = Territory()
GUARDED = Territory(approximate_regions=("Київ",))  # Kyiv city: approximate unless an admin says


def test_an_operator_makes_a_point_more_private_but_never_more_public(store):
    points.create(store, OPEN, OPERATOR, make_record("v1"))
    assert store.get("v1").visibility is Visibility.PUBLIC
    points.edit(store, OPEN, OPERATOR, "v1", None, {"visibility": "approximate"})
    points.edit(store, OPEN, OPERATOR, "v1", None, {"visibility": "hidden"})
    for less_private in ("approximate", "public"):
        with pytest.raises(Forbidden) as refused:
            points.edit(store, OPEN, OPERATOR, "v1", None, {"visibility": less_private})
        assert refused.value.field == "visibility"
    assert store.get("v1").visibility is Visibility.HIDDEN
    points.edit(store, OPEN, OPERATOR, "v1", None, {"visibility": "hidden", "name": "same visibility"})
    points.edit(store, OPEN, ADMIN, "v1", None, {"visibility": "public"})
    assert store.get("v1").visibility is Visibility.PUBLIC


def test_a_guarded_region_makes_new_points_approximate_unless_an_admin_says(store):
    points.create(store, GUARDED, OPERATOR, make_record("v2"))
    assert store.get("v2").visibility is Visibility.APPROXIMATE
    with pytest.raises(Forbidden):
        points.create(store, GUARDED, OPERATOR, make_record("v3", visibility="public"))
    points.create(store, GUARDED, OPERATOR, make_record("v4", visibility="hidden"))
    assert store.get("v4").visibility is Visibility.HIDDEN
    with pytest.raises(Forbidden):
        points.edit(store, GUARDED, OPERATOR, "v2", None, {"visibility": "public"})
    points.create(store, GUARDED, ADMIN, make_record("v5", visibility="public"))
    assert store.get("v5").visibility is Visibility.PUBLIC


def test_an_operator_import_cannot_make_a_point_more_public(store):
    points.create(store, OPEN, OPERATOR, make_record("v6", visibility="hidden"))
    batch = PointBatch([make_point("v6", visibility="public")], frozenset())
    with pytest.raises(Forbidden):
        imports.apply_import(store, OPEN, OPERATOR, batch)
    assert store.get("v6").visibility is Visibility.HIDDEN


def test_the_public_view_of_an_approximate_point_is_its_grid_cell_and_settlement():
    exact = make_point("v7", lat=50.4567891, lon=30.5432109, phone="+380 44 123 45 67", note="двір")
    assert public_view(exact) is exact
    assert public_view(exact.with_changes(visibility=Visibility.HIDDEN)) is None
    seen = public_view(exact.with_changes(visibility=Visibility.APPROXIMATE))
    assert (seen.lat, seen.lon) == (50.45, 30.55)
    assert abs(seen.lat - exact.lat) <= GRID_DEG and abs(seen.lon - exact.lon) <= GRID_DEG
    assert (seen.name, seen.address, seen.phone, seen.note) == ("Київ", "", "", "")


@pytest.mark.parametrize(
    "beds, population, short",
    [
        (None, 20_000, None),  # the rules say nothing below 30 thousand
        (10, 60_000, None),  # "up to 100": no least
        (99, 250_000, 100),
        (100, 250_000, None),
        (299, 717_273, 300),  # Lviv
        (None, 2_900_000, 300),
        (300, 2_900_000, None),
    ],
)
def test_support_points_are_held_to_the_population_rule(beds, population, short):
    assert beds_short_of(beds, population) == short


def test_the_console_warns_when_a_support_point_has_too_few_beds(app, make_user):
    """Kyiv (about 3 million residents) asks at least 300 beds: 50 saves, with a warning."""
    make_user("admin", "admin")
    client = app.test_client()
    login(client, "admin")
    form = make_record("kyiv-support") | {
        "services": ["power"],
        "support": "1",
        "beds": "50",
        "beds_free": "7",
    }
    form = {key: ("" if value is None else value) for key, value in form.items() if key != "updated_at"}
    response = client.post(
        "/operator/points/new",
        data={"csrf_token": csrf_token(client, "/operator/"), **form},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "щонайменше 300 ліжок" in response.get_data(as_text=True)
    stored = app.extensions["locator.store"].get("kyiv-support")
    assert (stored.support, stored.beds, stored.beds_free) == (True, 50, 7)
    enough = form | {"id": "kyiv-support-2", "beds": "320"}
    response = client.post(
        "/operator/points/new",
        data={"csrf_token": csrf_token(client, "/operator/"), **enough},
        follow_redirects=True,
    )
    assert response.status_code == 200 and "щонайменше 300" not in response.get_data(as_text=True)
    assert app.extensions["locator.store"].get("kyiv-support-2").beds == 320


def test_points_stored_before_their_region_was_guarded_follow_it_only_through_the_command(store):
    points.create(store, OPEN, OPERATOR, make_record("r1"))  # Kyiv city, public
    points.create(store, OPEN, OPERATOR, make_record("r2", visibility="hidden"))
    points.create(store, OPEN, ADMIN, make_record("r3", lat=49.8397, lon=24.0297, settlement="Львів"))
    before = {p.id: (p.visibility, p.version) for p in store.all()}
    confirmed = store.get("r1").verified_at

    dry = apply_region_visibility(store, GUARDED, system_actor("apply-region-visibility"), dry_run=True)
    assert dry.changed == ["r1"] and {p.id: (p.visibility, p.version) for p in store.all()} == before

    done = apply_region_visibility(store, GUARDED, system_actor("apply-region-visibility"))
    assert done.changed == ["r1"] and done.skipped == []
    seen = {p.id: p.visibility for p in store.all()}
    assert seen == {"r1": Visibility.APPROXIMATE, "r2": Visibility.HIDDEN, "r3": Visibility.PUBLIC}
    assert store.get("r1").verified_at == confirmed  # not a confirmation of its status
    [row] = [r for r in store.history("r1") if r["field"] == "visibility"]
    assert (row["old"], row["new"], row["by"]) == ("public", "approximate", "apply-region-visibility")
    again = apply_region_visibility(store, GUARDED, system_actor("apply-region-visibility"))
    assert again.changed == [] and store.get("r1").version == before["r1"][1] + 1


def test_the_region_command_names_what_it_would_change_and_then_changes_it(database_settings):
    app = create_app(
        {**database_settings, "SEED_FILE": "", "TESTING": True, "APPROXIMATE_REGIONS": ("Київ",)}
    )
    try:
        store = app.extensions["locator.store"]
        points.create(store, OPEN, ADMIN, make_record("c1"))
        runner = app.test_cli_runner()
        dry = runner.invoke(args=["points", "apply-region-visibility", "--dry-run"])
        assert dry.exit_code == 0 and "(dry run): 1" in dry.output and "c1" in dry.output
        assert store.get("c1").visibility is Visibility.PUBLIC
        done = runner.invoke(args=["points", "apply-region-visibility"])
        assert done.exit_code == 0 and ": 1;" in done.output
        assert store.get("c1").visibility is Visibility.APPROXIMATE
        published = app.test_client().get("/api/v1/points/c1").get_json()
        assert published["geometry"]["coordinates"] == [30.55, 50.45]  # its grid cell's centre
    finally:
        app.extensions["locator.store"].dispose()
