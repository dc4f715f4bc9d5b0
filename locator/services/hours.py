"""`flask points migrate-hours`: free-text hours read into opening_hours (issue 17).

Each point whose free text (``hours``, and the 24/7 flag) reads without doubt as opening hours
gets them through the one write path (a history row each, the status not re-verified); the text
itself is never changed, so what cannot be read stays as the point's note on its hours.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from locator.domain.hours_text import read_hours
from locator.domain.users import User
from locator.search.regions import Territory
from locator.services.points import set_opening_hours
from locator.store import Store, VersionConflict


@dataclass
class HoursMigration:
    parsed: list[str] = field(default_factory=list)  # ids given opening_hours
    kept_as_note: list[str] = field(default_factory=list)  # text that did not read: left as it is
    already_set: list[str] = field(default_factory=list)  # opening_hours there before
    no_hours: list[str] = field(default_factory=list)  # neither text nor 24/7 flag
    skipped: list[str] = field(default_factory=list)  # changed by someone meanwhile: run again


def migrate_hours(
    store: Store, territory: Territory, actor: User, *, dry_run: bool = False
) -> HoursMigration:
    """Read every point's free-text hours; write those that read (unless dry_run)."""
    done = HoursMigration()
    for point in store.all():
        if point.opening_hours:
            done.already_set.append(point.id)
            continue
        found = read_hours(point.hours, point.open_24_7)
        if found is None:
            (done.kept_as_note if point.hours.strip() or point.open_24_7 else done.no_hours).append(point.id)
            continue
        if not dry_run:
            try:
                set_opening_hours(store, territory, actor, point.id, point.version, found)
            except VersionConflict:
                done.skipped.append(point.id)
                continue
        done.parsed.append(point.id)
    return done
