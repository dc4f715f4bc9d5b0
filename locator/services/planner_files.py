"""A planner's own files (issue 19): settlements with populations, and candidate sites.

Kept per user (store/planner.py: one file of each kind, with its name, time and author), so one
planner's better data never changes another's answers; a new upload replaces the old one. A
file is validated whole (io/planner_files.py) before anything is kept: a rejected file leaves
the one before in place. What lies outside the user's scope is kept but never used:
coverage_for drops such settlements, and sites_of drops such sites.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from locator.domain.users import User
from locator.io.planner_files import read_settlements, read_sites
from locator.search.planning import Site
from locator.search.settlements import Settlement
from locator.services.planner import scope_of
from locator.store import Store
from locator.store.planner import FILE_KINDS, PlannerFile


def upload(store: Store, actor: User, kind: str, path: Path, name: str) -> PlannerFile:
    """Read and validate a file of this kind (PlannerFileRejected), then keep it for the user."""
    if kind not in FILE_KINDS:
        raise ValueError(f"kind must be one of {', '.join(FILE_KINDS)}")
    found = read_settlements(path) if kind == "settlements" else read_sites(path)
    return store.planner.save_file(actor.id, kind, name[:200], [asdict(row) for row in found], by=actor.name)


def kept(store: Store, actor: User) -> dict[str, PlannerFile | None]:
    """The user's files by kind (None where none is kept)."""
    return {kind: store.planner.planner_file(actor.id, kind) for kind in FILE_KINDS}


def settlements_of(file: PlannerFile) -> list[Settlement]:
    return [Settlement(**row) for row in file.rows]


def sites_of(actor: User, file: PlannerFile) -> list[Site]:
    """The file's sites that stand in a region of the user's scope."""
    scope = scope_of(actor)
    return [site for site in (Site(**row) for row in file.rows) if scope.touches(site.region)]
