"""Import a checked file: plan it (what would be added, changed, removed) and apply it.

The file is read by locator.io.files, which loads geopandas: it is imported here only when a
file is read, so a web worker that never imports does not load it. Every point the import
touches (added, changed, or removed by --replace) passes the same scope rule as any other write.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from locator.domain.point import Point
from locator.domain.scope import check_role, check_visibility, check_write, writes_anywhere
from locator.domain.users import User
from locator.search.regions import Territory
from locator.services.places import in_public_names, places, spelt_publicly
from locator.store import ImportSummary, Store

if TYPE_CHECKING:
    from locator.io.files import ImportLimits, PointBatch


def read_file(path: str | Path, limits: ImportLimits, *, confirmed_at: datetime | None = None) -> PointBatch:
    """Every point in the file, validated, within the limits and settled in its territory
    (LOCATOR_BOUNDS, the region its coordinates give); ImportRejected lists every problem.
    A point without verified_at is never confirmed: only an operator's act confirms (issue 17);
    confirmed_at is for the demo seed alone, which stands in for operators."""
    from locator.io import files  # geopandas: only when a file is read

    return files.read_points(path, limits=limits, confirmed_at=confirmed_at)


def plan_import(
    store: Store, territory: Territory, actor: User, batch: PointBatch, *, replace: bool = False
) -> ImportSummary:
    """What applying the batch would do; writes nothing. Forbidden if any of it is out of scope."""
    check_role(actor)
    summary = store.plan_import(batch, replace=replace, untimed=batch.untimed)
    _check_scope(store, territory, actor, batch, summary.removed)
    return summary


def apply_import(
    store: Store, territory: Territory, actor: User, batch: PointBatch, *, replace: bool = False
) -> ImportSummary:
    """Add or update every point of the batch (with replace, delete the others) in one
    transaction, recorded as the actor's; Forbidden (nothing written) if any is out of scope."""
    check_role(actor)
    if not writes_anywhere(actor):
        removed = store.plan_import(batch, replace=replace, untimed=batch.untimed).removed
        _check_scope(store, territory, actor, batch, removed)
    return store.import_points(batch, replace=replace, by=actor.name, untimed=batch.untimed)


def _check_scope(
    store: Store, territory: Territory, actor: User, batch: list[Point], removed: list[str]
) -> None:
    if writes_anywhere(actor):
        return  # an admin's 100,000-point import costs no per-point check
    actor = in_public_names(actor)
    existing = {point.id: point for point in store.all()}
    for point in batch:
        as_is = spelt_publicly(existing.get(point.id))
        settled = territory.settle(point, follow=True)
        check_write(actor, as_is, places(territory, settled))  # as read_file
        floor = territory.visibility_floor(settled.region)
        before = existing[point.id].visibility if point.id in existing else floor
        if point.visibility is not before:  # issue 20: only an admin makes a point more public
            check_visibility(actor, before, point.visibility, floor)
    for point_id in removed:
        check_write(actor, spelt_publicly(existing[point_id]), ())
