"""Import a checked file: plan it (what would be added, changed, removed) and apply it.

The file is read by locator.io.files, which loads geopandas: it is imported here only when a
file is read, so a web worker that never imports does not load it. Every point the import
touches (added, changed, or removed by --replace) passes the same scope rule as any other write.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from locator.domain.point import Point
from locator.domain.scope import check_role, check_write, writes_anywhere
from locator.domain.users import User
from locator.store import ImportSummary, Store

if TYPE_CHECKING:
    from locator.io.files import ImportLimits, PointBatch


def read_file(path: str | Path, limits: ImportLimits) -> PointBatch:
    """Every point in the file, validated and within the limits (LOCATOR_BOUNDS included);
    ImportRejected lists every problem."""
    from locator.io import files  # geopandas: only when a file is read

    return files.read_points(path, limits=limits)


def plan_import(store: Store, actor: User, batch: PointBatch, *, replace: bool = False) -> ImportSummary:
    """What applying the batch would do; writes nothing. Forbidden if any of it is out of scope."""
    check_role(actor)
    summary = store.plan_import(batch, replace=replace, untimed=batch.untimed)
    _check_scope(store, actor, batch, summary.removed)
    return summary


def apply_import(store: Store, actor: User, batch: PointBatch, *, replace: bool = False) -> ImportSummary:
    """Add or update every point of the batch (with replace, delete the others) in one
    transaction, recorded as the actor's; Forbidden (nothing written) if any is out of scope."""
    check_role(actor)
    if not writes_anywhere(actor):
        removed = store.plan_import(batch, replace=replace, untimed=batch.untimed).removed
        _check_scope(store, actor, batch, removed)
    return store.import_points(batch, replace=replace, by=actor.name, untimed=batch.untimed)


def _check_scope(store: Store, actor: User, batch: list[Point], removed: list[str]) -> None:
    if writes_anywhere(actor):
        return  # an admin's 100,000-point import costs no per-point check
    existing = {point.id: point for point in store.all()}
    for point in batch:
        check_write(actor, existing.get(point.id), {"region": point.region, "settlement": point.settlement})
    for point_id in removed:
        check_write(actor, existing[point_id], {})
