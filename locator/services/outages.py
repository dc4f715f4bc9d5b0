"""Outage lists (issue 19): which settlements are in a power outage now, as planners mark them.

One list is current for everyone (each save a new list, with its time and author). A planner
sees and changes only the part of it in their scope (services/planner.py scope_of): a save
replaces the entries in the saver's scope and keeps everyone else's, and an entry outside the
scope is Forbidden, so an operator cannot mark (or clear) outages elsewhere. Coverage and plans
restricted to the outage list take only the settlements it names (restrict).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from locator.domain.filters import fold
from locator.domain.scope import Forbidden
from locator.domain.users import Role, User
from locator.search.regions import canonical_region
from locator.search.settlements import Settlement
from locator.services.planner import PlanScope, scope_of
from locator.store import Store
from locator.store.planner import OutageEntry, OutageList

MAX_ENTRIES = 20_000  # more settlements than Ukraine has


def entry_in_scope(scope: PlanScope, entry: OutageEntry) -> bool:
    """A whole region only for whoever has the whole region; a settlement as the scope sees it."""
    if not entry.settlement:
        return scope.regions is None or fold(entry.region) in scope.regions
    return scope.sees(entry.region, entry.settlement)


def visible(store: Store, actor: User) -> OutageList:
    """The current list, only the entries this user may see."""
    current = store.planner.current_outages()
    scope = scope_of(actor)
    return OutageList(
        current.id, current.at, current.author, tuple(e for e in current.entries if entry_in_scope(scope, e))
    )


def clean_entries(pairs: Iterable[tuple[str, str]]) -> list[OutageEntry]:
    """(region, settlement) pairs as entries, each region by its one public name; ValueError for
    an unknown region or too many entries."""
    entries = []
    for number, (region, settlement) in enumerate(pairs, start=1):
        if number > MAX_ENTRIES:
            raise ValueError(f"more than {MAX_ENTRIES} entries")
        named = canonical_region(region)
        if not named:
            raise ValueError(f"unknown region {region[:60]!r}")
        entries.append(OutageEntry(named, settlement.strip()))
    return entries


def mark(store: Store, actor: User, entries: Sequence[OutageEntry], expected: int) -> OutageList:
    """Make ``entries`` this user's part of the current list (the rest kept as it is).
    Forbidden for a viewer or an entry outside the scope; VersionConflict when the list
    changed since ``expected``."""
    if actor.role is Role.VIEWER or actor.disabled:
        raise Forbidden(f"{actor.name} may not change the outage list")
    scope = scope_of(actor)
    for entry in entries:
        if not entry_in_scope(scope, entry):
            where = f"{entry.settlement}, {entry.region}" if entry.settlement else entry.region
            raise Forbidden(f"{actor.name} may not mark an outage in {where}")
    current = store.planner.current_outages()
    kept = [e for e in current.entries if not entry_in_scope(scope, e)]
    return store.planner.save_outages(kept + list(entries), by=actor.name, expected=expected)


def restrict(settlements: Sequence[Settlement], outages: OutageList) -> list[Settlement]:
    """The settlements the outage list names: in a whole region listed, or listed themselves."""
    regions = {fold(e.region) for e in outages.entries if not e.settlement}
    places = {(fold(e.settlement), fold(e.region)) for e in outages.entries if e.settlement}
    return [
        s
        for s in settlements
        if fold(s.region) in regions
        or (fold(s.name), fold(s.region)) in places
        # (a file's settlement may be named in its English form)
        or (fold(s.name_en), fold(s.region)) in places
    ]
