"""Where a write puts a point, from its coordinates: the one step between a write's input and
the scope rule (domain/scope.check_write).

Every write path (API, console, import, stops, CLI) passes here, so each gets the same answers:
LOCATOR_BOUNDS holds for the point and every stop, a region is spelt the one public way, a blank
region becomes the one the coordinates lie in, and a region the coordinates are nowhere near is
refused. Scope is then checked on the region the coordinates give, where the point stands and
where each stop is: what a form or file says cannot widen it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from locator.domain.point import Point
from locator.domain.scope import Place, check_visibility, check_write
from locator.domain.users import User, settlement_scope
from locator.domain.validation import merged_record, parse_point
from locator.domain.visibility import more_public
from locator.search.distance import haversine_m
from locator.search.gazetteer import Gazetteer
from locator.search.regions import KNOWN, Territory, canonical_region


def places(territory: Territory, point: Point) -> list[Place]:
    """Every place the point will be: where it stands, then where each stop is."""
    return [Place(point.region, point.settlement)] + [
        Place(region, point.settlement) for region in territory.regions_of_stops(point)
    ]


def spelt_publicly(point: Point | None) -> Point | None:
    """The point with its region's public name (one stored before names were checked may differ)."""
    if point is None:
        return None
    region = canonical_region(point.region) or point.region
    return point if region == point.region else replace(point, region=region)


def in_public_names(actor: User) -> User:
    """The actor with their scope's regions spelt as points' regions are ("Київська обл." is
    "Київська область"), so the scope compares like with like."""
    regions = tuple(canonical_region(r) or r for r in actor.regions)
    settlements = []
    for entry in actor.settlements:
        name, region = settlement_scope(entry)
        settlements.append(f"{name} ({canonical_region(region) or region})" if region else name)
    return replace(actor, regions=regions, settlements=tuple(settlements))


def may_edit(actor: User, point: Point) -> bool:
    """Whether the actor may edit the point as it stands (the console's lists and buttons)."""
    return in_public_names(actor).may_edit(spelt_publicly(point))


def may_read_private(actor: User, point: Point) -> bool:
    """Whether the actor may read the point's operator names and report comments."""
    return in_public_names(actor).may_read_private(spelt_publicly(point))


def check_new(territory: Territory, actor: User, record: Mapping[str, Any]) -> dict[str, Any]:
    """A new point's record, settled and allowed (ValidationError, Forbidden otherwise)."""
    point = territory.settle(parse_point(record))
    check_write(in_public_names(actor), None, places(territory, point))
    floor = territory.visibility_floor(point.region)
    given = record.get("visibility")
    visibility = point.visibility if given not in (None, "") else floor  # a region's default
    check_visibility(actor, floor, visibility, floor)
    return {**record, "region": point.region, "visibility": visibility.value}


def check_changes(
    territory: Territory, actor: User, current: Point, changes: Mapping[str, Any]
) -> Mapping[str, Any]:
    """The changes to an existing point, settled and allowed. A region given must lie near the
    coordinates; without one, the region follows them (a moved point takes its new region)."""
    actor, as_is = in_public_names(actor), spelt_publicly(current)
    check_write(actor, as_is, (), changes.keys())  # the point as it is first: a stranger learns nothing more
    after = territory.settle(parse_point(merged_record(current, changes)), follow="region" not in changes)
    check_write(actor, as_is, places(territory, after), changes.keys())
    changes = _private_enough(territory, actor, current, after, changes)
    return (
        changes
        if after.region == current.region and "region" not in changes
        else {**changes, "region": after.region}
    )


def _private_enough(
    territory: Territory, actor: User, current: Point, after: Point, changes: Mapping[str, Any]
) -> Mapping[str, Any]:
    """Visibility (issue 20): a point moved into an approximate region (without a visibility
    asked for) becomes approximate; any other change to it passes check_visibility."""
    floor = territory.visibility_floor(after.region)
    if "visibility" not in changes:
        if more_public(floor, after.visibility) and after.region != current.region:
            return {**changes, "visibility": floor.value}
        return changes
    if after.visibility is not current.visibility:  # a form sends it unchanged: nothing to check
        check_visibility(actor, current.visibility, after.visibility, floor)
    return changes


def scope_entries(
    gazetteer: Gazetteer, regions: Iterable[str], settlements: Iterable[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A user's scope, spelt the one way the write check compares: regions by their public
    name, each settlement with its region ("Бровари (Київська область)"). A settlement given
    without a region takes the gazetteer's, when only one region has a settlement of that name.
    ValueError names what cannot be placed."""
    named = []
    for text in regions:
        region = canonical_region(text)
        if not region:
            raise ValueError(f"unknown region {text!r}; one of: {KNOWN}")
        named.append(region)
    placed = []
    for text in settlements:
        name, region_text = settlement_scope(text)
        region = canonical_region(region_text)
        if region is None:
            raise ValueError(f"unknown region {region_text!r} for {name!r}; one of: {KNOWN}")
        if not region:
            found = {m.settlement.region for m in gazetteer.find(name, limit=50) if m.exact}
            if len(found) != 1:
                known = ", ".join(sorted(found)) or "no region the gazetteer knows"
                raise ValueError(f'say which region {name!r} is in, as "{name} (region)": {known}')
            region = canonical_region(found.pop()) or ""
        placed.append(f"{name} ({region})")
    return tuple(named), tuple(placed)


def settlement_population(gazetteer: Gazetteer, point: Point) -> int:
    """The gazetteer's population of the point's settlement (the same-named place nearest to
    it); 0 when unknown. The console holds support points' beds to it (domain/support.py)."""
    same = [m.settlement for m in gazetteer.find(point.settlement, limit=50) if m.exact]
    if not same:
        return 0
    return min(same, key=lambda s: haversine_m(point.lat, point.lon, s.lat, s.lon)).population
