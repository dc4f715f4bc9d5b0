"""Visibility (issue 20): any writer may make a point more private, only an admin more public,
and a region listed in LOCATOR_APPROXIMATE_REGIONS makes its new points approximate. The public
view of a point keeps nothing of an approximate one's exact place and nothing of a hidden one."""

from __future__ import annotations

import pytest
from helpers import make_point, make_record

from locator.domain.scope import Forbidden
from locator.domain.users import Role, User
from locator.domain.values import Visibility
from locator.domain.visibility import GRID_DEG, public_view
from locator.io.files import PointBatch
from locator.search.regions import Territory
from locator.services import imports, points

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
