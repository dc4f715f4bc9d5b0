"""Businesses' proposals (issue 20), their history and the one-time sign-in links, in the points'
database: nothing here is public, and nothing reaches the map until a proposal is approved."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from locator.domain.point import format_time, utcnow
from locator.domain.proposals import Proposal
from locator.store.errors import NotFoundError
from locator.store.reports import HOUR, ReportLimited

if TYPE_CHECKING:
    from locator.store.points import Store

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"


@dataclass(frozen=True)
class ProposalRules:
    """How many proposals one sender's network may send (its ``source``, a keyed hash of it as
    for reports: web/reporting.sender_key)."""

    per_sender_per_hour: int = 3
    per_sender_per_day: int = 10


class ProposalLimited(ReportLimited):
    """Too many proposals from this sender's network; nothing was stored."""


@dataclass(frozen=True)
class StoredProposal:
    id: int
    at: str
    state: str
    regions: tuple[str, ...]
    proposal: Proposal
    decided_by: str | None
    reason: str | None
    account: str | None


class ProposalStore:
    def __init__(self, store: Store):
        self.store = store
        self.rules = ProposalRules()

    def add(self, proposal: Proposal, regions: list[str], *, source: str, now: datetime | None = None) -> int:
        """Store a pending proposal, within the sender's limits; its id."""
        now = now or utcnow()
        with self.store.transaction() as conn:
            for window, limit in (
                (HOUR, self.rules.per_sender_per_hour),
                (24 * HOUR, self.rules.per_sender_per_day),
            ):
                since = format_time(now - window)
                sent = conn.execute(
                    "SELECT count(*), min(at) FROM proposals WHERE source = ? AND at >= ?", [source, since]
                ).fetchone()
                if sent[0] >= limit:
                    oldest = datetime.fromisoformat(sent[1].replace("Z", "+00:00"))
                    retry = max(1, int((oldest + window - now).total_seconds()))
                    raise ProposalLimited("from your network", retry)
            proposal_id = conn.execute(
                "INSERT INTO proposals (at, source, state, regions, body)"
                " VALUES (?, ?, ?, ?, ?) RETURNING id",
                [format_time(now), source, PENDING, json.dumps(regions), json.dumps(proposal.to_json())],
            ).fetchone()[0]
            note(conn, proposal_id, "citizens", "proposed", f"{len(proposal.points)} point(s)", now)
        return proposal_id

    def get(self, proposal_id: int) -> StoredProposal:
        row = self.store.db.execute(SELECT + " WHERE id = ?", [proposal_id]).fetchone()
        if row is None:
            raise NotFoundError(f"proposal {proposal_id}")
        return _proposal(row)

    def in_state(self, state: str = PENDING, limit: int = 200) -> list[StoredProposal]:
        rows = self.store.db.execute(SELECT + " WHERE state = ? ORDER BY id LIMIT ?", [state, limit])
        return [_proposal(row) for row in rows]

    def history(self, proposal_id: int) -> list[dict[str, Any]]:
        rows = self.store.db.execute(
            "SELECT at, by, action, detail FROM proposal_history WHERE proposal_id = ? ORDER BY id",
            [proposal_id],
        )
        return [dict(zip(("at", "by", "action", "detail"), row, strict=True)) for row in rows]

    def decide(
        self,
        proposal_id: int,
        state: str,
        *,
        by: str,
        reason: str = "",
        account: str | None = None,
        detail: str = "",
    ) -> None:
        """Mark a pending proposal approved or rejected; ValueError when it was decided already
        (two reviewers at once: the second learns so, nothing changes twice)."""
        now = utcnow()
        with self.store.transaction() as conn:
            cursor = conn.execute(
                "UPDATE proposals SET state = ?, decided_at = ?, decided_by = ?, reason = ?, account = ?"
                " WHERE id = ? AND state = ?",
                [state, format_time(now), by, reason, account, proposal_id, PENDING],
            )
            if cursor.rowcount != 1:
                raise ValueError(f"proposal {proposal_id} is not pending")
            note(conn, proposal_id, by, state, detail or reason, now)

    def note(self, proposal_id: int, by: str, action: str, detail: str = "") -> None:
        with self.store.transaction() as conn:
            note(conn, proposal_id, by, action, detail, utcnow())

    # -- one-time sign-in links: only their digests are kept -------------------------------------

    def add_link(self, user_id: int, digest: str, lifetime: timedelta, now: datetime | None = None) -> None:
        now = now or utcnow()
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO signin_links (digest, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                [digest, user_id, format_time(now), format_time(now + lifetime)],
            )

    def use_link(self, digest: str, now: datetime | None = None) -> int | None:
        """The user id of an unused, unexpired link, which is used up at once; None otherwise."""
        now = format_time(now or utcnow())
        with self.store.transaction() as conn:
            row = conn.execute(
                "UPDATE signin_links SET used_at = ? WHERE digest = ? AND used_at IS NULL AND expires_at > ?"
                " RETURNING user_id",
                [now, digest, now],
            ).fetchone()
        return None if row is None else row[0]


def note(conn, proposal_id: int, by: str, action: str, detail: str, now: datetime) -> None:
    """One step of a proposal's history (inside the caller's write)."""
    conn.execute(
        "INSERT INTO proposal_history (proposal_id, at, by, action, detail) VALUES (?, ?, ?, ?, ?)",
        [proposal_id, format_time(now), by, action, detail],
    )


SELECT = "SELECT id, at, state, regions, body, decided_by, reason, account FROM proposals"


def _proposal(row) -> StoredProposal:
    proposal_id, at, state, regions, body, decided_by, reason, account = row
    return StoredProposal(
        proposal_id,
        at,
        state,
        tuple(json.loads(regions)),
        Proposal.from_json(json.loads(body)),
        decided_by,
        reason,
        account,
    )
