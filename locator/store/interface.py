"""What the rest of the app asks of the store: the contract a second backend (PostgreSQL +
PostGIS, a later issue) implements. SQLite is the one implementation today: Store
(store/points.py), ReportStore (store/reports.py) and UserStore (store/users.py).

The lists below are exactly the calls made from outside locator/store (web, console, search,
http, cli, services, create_app, the server's configuration). Every method raises only the
store's own exceptions (store/errors.py): NotFoundError, VersionConflict, DuplicateIdError,
StoreBusy (another writer held the database past the wait allowed: nothing was written), and
ReportLimited for reports; never a driver's exception or message. The one exception is probe:
/healthz shows operators why the database cannot be read or written, in the database's own words.
tests/test_store.py checks that the SQLite classes have every method named here, as declared.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from locator.domain.filters import PointFilter
from locator.domain.point import Point
from locator.domain.reports import Report
from locator.domain.users import TOKEN_LIFETIME, ApiToken, User
from locator.store.imports import ImportSummary
from locator.store.planner import OutageEntry, OutageList, PlannerFile


@runtime_checkable
class ReportsBackend(Protocol):
    """Citizens' reports about points, and the "unconfirmed" flag they can set."""

    def add(self, report: Report, *, source: str, now: datetime | None = None) -> bool:
        """Store a report within the limits (ReportLimited); True when it made the point unconfirmed."""

    def dismiss(self, point_id: str, *, by: str) -> int:
        """Close a point's open reports and clear its flag; how many were closed."""

    def open_for(self, point_id: str, limit: int = 200) -> list[dict[str, Any]]:
        """A point's unanswered reports, newest first, without who sent them."""

    def open_senders(self, point_id: str) -> int:
        """How many sender networks a point's unanswered reports came from."""

    def answered_for(self, point_id: str, limit: int = 50) -> list[dict[str, Any]]:
        """A point's answered reports, newest first, with who answered them and how."""

    def open_counts(self, point_ids: list[str] | None = None) -> dict[str, Counter]:
        """Unanswered reports by point and kind, for every point or just these."""


@runtime_checkable
class PlannerBackend(Protocol):
    """The planner's outage lists and uploaded files (issue 19)."""

    def current_outages(self) -> OutageList:
        """The newest outage list (id 0 and no entries when none was saved)."""

    def save_outages(
        self, entries: list[OutageEntry], *, by: str, expected: int, now: datetime | None = None
    ) -> OutageList:
        """Make these entries the current list if the current one is still ``expected``
        (VersionConflict otherwise); the new list has its time and author."""

    def outage_history(self, limit: int = 10) -> list[dict[str, Any]]:
        """The latest lists (id, at, author, entries), newest first."""

    def save_file(
        self, owner: int, kind: str, name: str, rows: list[dict[str, Any]], *, by: str, now=None
    ) -> PlannerFile:
        """Keep a user's file of a kind (settlements, sites), replacing the one before."""

    def planner_file(self, owner: int, kind: str) -> PlannerFile | None:
        """A user's file of a kind, or None."""

    def drop_file(self, owner: int, kind: str) -> bool:
        """Forget a user's file of a kind; whether there was one."""


@runtime_checkable
class UsersBackend(Protocol):
    """Console users, their API tokens and failed logins."""

    def create(
        self, name: str, password_hash: str, role: str, regions=(), settlements=(), points=(), *, conn=None
    ) -> User:
        """Add a user; a taken name is a ValueError, never an overwrite."""

    def get(self, user_id: int) -> User:
        """The user with this id; NotFoundError when there is none."""

    def get_by_name(self, name: str) -> User:
        """The user with this name; NotFoundError when there is none."""

    def all(self) -> list[User]:
        """Every user, by name."""

    def credentials(self, name: str) -> tuple[User | None, str | None]:
        """The user and their password hash, or (None, None): only the login check needs it."""

    def set_disabled(self, name: str, disabled: bool) -> User:
        """Disable or enable a user; their sessions stop at once. Disabling revokes every token
        of theirs for good (enabling revives none)."""

    def set_password(self, name: str, password_hash: str, *, revoke_tokens: bool = False) -> User:
        """Replace a user's password and end every session they have; with revoke_tokens, revoke
        every API token of theirs in the same transaction."""

    def end_sessions(self, user_id: int) -> None:
        """Make every session of this user invalid (log out everywhere)."""

    def add_token(
        self,
        name: str,
        digest: str,
        label: str = "",
        *,
        lifetime: timedelta | None = TOKEN_LIFETIME,
        now: datetime | None = None,
    ) -> ApiToken:
        """Give an enabled user an API token (only its digest is kept) that expires after
        lifetime (None: never); ValueError for a disabled user."""

    def token(self, token_id: int) -> ApiToken:
        """One token (never its digest); NotFoundError when there is none."""

    def tokens(self, name: str) -> list[ApiToken]:
        """A user's tokens, revoked and expired ones too, oldest first."""

    def revoke_token(self, token_id: int, now: datetime | None = None) -> ApiToken:
        """Revoke one token at once (a token revoked already keeps its first revocation time)."""

    def for_token(self, digest: str, now: datetime | None = None) -> User | None:
        """The user of an active token (not revoked, not expired, the user enabled), or None."""

    def login_failures(self, key: str, since: datetime) -> int:
        """Failed logins under this key (an account or an address) since a moment."""

    def record_login_failure(self, keys: Iterable[str]) -> None:
        """Count one failed login under each key."""

    def clear_login_failures(self, key: str, older_than: datetime | None = None) -> None:
        """Forget a key's failures (a good login), and everyone's older than older_than."""


@runtime_checkable
class PointsBackend(Protocol):
    """The points, their history, the change counter and the database's health."""

    path: str  # where the database is, for the CLI's backup and restore
    reports: ReportsBackend
    planner: PlannerBackend

    def migrate(self) -> list[int]:
        """Bring the schema up to date (SchemaError when the database is newer); the steps applied."""

    def close(self) -> None:
        """Close this thread's connection."""

    def release(self) -> None:
        """A request is over: hand back what it held (PostgreSQL's pooled connection)."""

    def dispose(self) -> None:
        """Let go of the database in this process: every connection, any thread of the store's."""

    def checkpoint_in_background(self, every_s: float) -> threading.Thread:
        """Keep the database's housekeeping out of requests (called in each server process)."""

    # -- points ------------------------------------------------------------------------------

    def count(self) -> int:
        """How many points are stored, archived ones included."""

    def get(self, point_id: str) -> Point:
        """The point with this id; NotFoundError when there is none."""

    def all(self) -> list[Point]:
        """Every point, archived ones included, ordered by id."""

    def find(self, wanted: PointFilter, now: datetime | None = None) -> list[Point]:
        """The points PointFilter.matches selects (a scheduled one where it stands at now), by id."""

    def regions(self) -> list[str]:
        """Every region a point names, sorted."""

    def create(self, record: dict[str, Any], *, by: str) -> Point:
        """Add a point from raw input (ValidationError, DuplicateIdError for a taken id)."""

    def update(
        self,
        point_id: str,
        changes: dict[str, Any],
        *,
        by: str,
        expected_version: int | None = None,
        verify: bool = True,
        undo: bool = False,
        undo_to: datetime | None = None,
    ) -> Point:
        """Change editable fields in one transaction (VersionConflict when expected_version is old);
        undo: an undo, confirmed as of undo_to (None: never), with an "undo" history row."""

    def confirm(self, point_id: str, *, by: str, expected_version: int | None = None) -> Point:
        """Confirm the status as it stands now, answering the point's open reports."""

    def import_points(
        self,
        points: Iterable[Point],
        *,
        replace: bool = False,
        by: str = "import",
        untimed: frozenset[str] = frozenset(),
    ) -> ImportSummary:
        """Add or update every point (with replace, delete the rest) in one transaction."""

    def plan_import(
        self, points: Iterable[Point], *, replace: bool = False, untimed: frozenset[str] = frozenset()
    ) -> ImportSummary:
        """What import_points would do, writing nothing."""

    # -- changes and history -----------------------------------------------------------------

    def change_seq(self) -> int:
        """The change counter: it moves with every write to any point, in any process."""

    def latest_seq(self, known: int) -> int:
        """The change counter for a reader that last saw known, as cheaply as it can be asked."""

    def changed_since(self, seq: int) -> tuple[int, list[Point], list[str]]:
        """(current counter, points changed after seq, ids deleted after seq), read at one moment."""

    def history(self, point_id: str, limit: int = 200, *, authors: bool = True) -> list[dict[str, Any]]:
        """A point's changes, newest first, with their authors ("by"); authors=False: each row says
        only the kind of author ("author": operator, citizens or import), never a name."""

    def changes(self, since: int, limit: int) -> list[dict[str, Any]]:
        """The public change feed after a cursor, oldest first, without authors."""

    # -- health ------------------------------------------------------------------------------

    def probe(self) -> dict[str, Any]:
        """Read and write the database afresh, moving no change counter; raises why it cannot (/healthz)."""

    def stats(self, stale_before: datetime) -> dict[str, Any]:
        """Points by public status, archived, stale, the counter and the last change (/metrics)."""
