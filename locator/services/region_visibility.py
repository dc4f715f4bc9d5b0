"""Bring points stored before their region was listed in LOCATOR_APPROXIMATE_REGIONS to that
region's default (issue 20): a setting changed later does not rewrite the stored points by itself,
so this command does, through the same write path, a history row per point.

Only points more public than their region's default change; a point an admin made public there
afterwards is a decision this command would undo, so it is listed and never run unattended.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from locator.domain.users import User
from locator.domain.visibility import more_public
from locator.search.regions import Territory
from locator.services.points import set_visibility
from locator.store import Store, VersionConflict


@dataclass
class RegionVisibility:
    changed: list[str] = field(default_factory=list)  # ids made as private as their region's default
    skipped: list[str] = field(default_factory=list)  # changed by someone meanwhile: run again


def apply_region_visibility(
    store: Store, territory: Territory, actor: User, *, dry_run: bool = False
) -> RegionVisibility:
    """Make every point more public than its region's default that default (unless dry_run)."""
    done = RegionVisibility()
    for point in store.all():
        floor = territory.visibility_floor(point.region)
        if not more_public(floor, point.visibility):
            continue
        if not dry_run:
            try:
                set_visibility(store, territory, actor, point.id, point.version, floor)
            except VersionConflict:
                done.skipped.append(point.id)
                continue
        done.changed.append(point.id)
    return done
