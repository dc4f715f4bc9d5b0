"""Citizens' reports: a citizen reports what they find at a point; an operator dismisses them.

A citizen is anonymous: the report command has no actor, only the store's report rules (limits
per sender network and per point and sender, the "unconfirmed" threshold). Dismissing is an
operator's write like any other: role, scope and version are checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from locator.domain.reports import parse_report
from locator.domain.users import User
from locator.search.regions import Territory
from locator.services.guard import write_point
from locator.store import Store


def submit_report(store: Store, point_id: str, data: Mapping[str, Any], *, source: str) -> bool:
    """Validate and store one report; True when it tipped the point into "unconfirmed".

    NotFoundError for an unknown point (before the report is looked at), ValidationError for a
    bad report, ReportLimited past the limits; nothing is stored in each case.
    """
    point = store.get(point_id)
    return store.reports.add(parse_report(point.id, data), source=source)


def dismiss_reports(
    store: Store, territory: Territory, actor: User, point_id: str, expected_version: int | None = None
) -> int:
    """The operator checked: the point is as shown. Its open reports close, "unconfirmed" goes;
    returns how many reports were closed. (The flag is not a version: the store does not bump it,
    so the version is checked just before, not inside, the store's transaction.)"""
    return write_point(
        store,
        territory,
        actor,
        point_id,
        expected_version,
        lambda current: {},
        lambda current, changes: store.reports.dismiss(point_id, by=actor.name),
    )
