"""Businesses join (issue 20): a proposal comes in, a reviewer of its regions decides it, and an
approval makes its points (through the write path, category business) and a business account.

The account's sign-in link is a random token shown once and kept only as a digest; it lives
LINK_LIFETIME and works once. A messenger's link preview fetches the link's page, so the page
asks for one tap (a POST) before the link is used up (console/business.py).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import timedelta

from locator.domain.filters import fold
from locator.domain.point import Point
from locator.domain.proposals import Proposal, ProposedPoint
from locator.domain.scope import Forbidden
from locator.domain.users import Role, User
from locator.search.distance import haversine_m
from locator.search.regions import Territory
from locator.services import points as point_commands
from locator.services.accounts import hash_password, token_digest
from locator.services.actors import system_actor
from locator.services.places import in_public_names
from locator.store import Store, UserStore
from locator.store.errors import NotFoundError
from locator.store.proposals import APPROVED, REJECTED, ProposalStore, StoredProposal

DUPLICATE_WITHIN_M = 100  # an existing point this near a proposed one may be the same place
LINK_LIFETIME = timedelta(hours=72)  # long enough to pass on by phone over a weekend
LINK_PREFIX = "join_"
MAX_REASON = 500
ACCOUNT_PREFIX = "business-"  # an approved proposal's account: business-<proposal id>


def settle(territory: Territory, proposal: Proposal) -> list[str]:
    """The regions the proposed points lie in, from their coordinates (ValidationError when one
    lies outside LOCATOR_BOUNDS): who may review it follows from them, never from the form."""
    from locator.domain.validation import Problem, ValidationError, parse_point

    regions, problems = [], []
    for index, proposed in enumerate(proposal.points):
        try:
            point = territory.settle(parse_point(proposed.record()), follow=True)
        except ValidationError as error:
            problems += [
                Problem(f"point-{index}-{p.field}", p.message, p.template, p.params) for p in error.problems
            ]
            continue
        if point.region not in regions:
            regions.append(point.region)
    if problems:
        raise ValidationError(problems)
    return regions


def submit(proposals: ProposalStore, territory: Territory, proposal: Proposal, source: str) -> int:
    """Store a checked proposal (ProposalLimited past the sender's limits); its id."""
    return proposals.add(proposal, settle(territory, proposal), source=source)


def may_review(actor: User, stored: StoredProposal) -> bool:
    """Admins review anything; a reviewer a proposal whose every point lies in its scope."""
    scoped = in_public_names(actor)  # "Київська обл." in a scope is "Київська область"
    return all(scoped.may_review_place(region, "") for region in stored.regions) and (
        actor.is_admin or actor.role is Role.REVIEWER
    )


def queue(proposals: ProposalStore, actor: User) -> list[StoredProposal]:
    return [p for p in proposals.in_state() if may_review(actor, p)]


@dataclass(frozen=True)
class Duplicate:
    point: Point
    distance_m: float
    same_name: bool


def duplicates(store: Store, proposed: ProposedPoint) -> list[Duplicate]:
    """Existing points within DUPLICATE_WITHIN_M of the proposed one, or with its name (folded)."""
    name = fold(proposed.name)
    found = []
    for point in store.all():
        distance = haversine_m(proposed.lat, proposed.lon, point.lat, point.lon)
        same = fold(point.name) == name
        if distance <= DUPLICATE_WITHIN_M or same:
            found.append(Duplicate(point, distance, same))
    return sorted(found, key=lambda d: d.distance_m)[:10]


def _decidable(proposals: ProposalStore, actor: User, proposal_id: int) -> StoredProposal:
    stored = proposals.get(proposal_id)  # NotFoundError
    if actor.disabled or not may_review(actor, stored):
        raise Forbidden(f"{actor.name} may not review proposal {proposal_id}")
    if stored.state != "pending":
        raise ValueError(f"proposal {proposal_id} is {stored.state} already")
    return stored


def reject(proposals: ProposalStore, actor: User, proposal_id: int, reason: str) -> None:
    from locator.domain.parsers import clean_text

    reason = clean_text(reason, MAX_REASON)  # Invalid (a ValueError) for control characters
    if not reason:
        raise ValueError("say why the proposal is rejected")
    _decidable(proposals, actor, proposal_id)
    proposals.decide(proposal_id, REJECTED, by=actor.name, reason=reason)


@dataclass(frozen=True)
class Approval:
    account: User
    link: str  # the one-time sign-in token: shown once, never stored


def approve(
    store: Store,
    territory: Territory,
    users: UserStore,
    proposals: ProposalStore,
    actor: User,
    proposal_id: int,
) -> Approval:
    """Create the proposal's points as business points (their history names the reviewer and the
    proposal), a business account scoped to exactly them, and its sign-in link.

    The steps write to separate stores, each in its own transaction, so a failure between them
    leaves the proposal pending with some of its work done. Each step is therefore idempotent and
    keyed by the proposal's number: a retry skips the points and the account already made and
    finishes the job (the ids join-N-i and business-N are this proposal's alone)."""
    stored = _decidable(proposals, actor, proposal_id)
    writer = system_actor(f"{actor.name} (proposal {proposal_id})")
    point_ids, created = [], []
    for index, proposed in enumerate(stored.proposal.points):
        point_id = f"join-{proposal_id}-{index + 1}"
        if not _exists(store, point_id):  # made by an approval that failed later on
            point_commands.create(store, territory, writer, proposed.record(point_id))
            created.append(point_id)
        point_ids.append(point_id)
    if created:
        proposals.note(proposal_id, actor.name, "points created", ", ".join(created))
    account = _business_account(users, f"{ACCOUNT_PREFIX}{proposal_id}", tuple(point_ids))
    proposals.decide(proposal_id, APPROVED, by=actor.name, account=account.name, detail=", ".join(point_ids))
    return Approval(account, new_link(proposals, account, proposal_id, actor.name))


def _exists(store: Store, point_id: str) -> bool:
    try:
        store.get(point_id)
    except NotFoundError:
        return False
    return True


def _business_account(users: UserStore, name: str, point_ids: tuple[str, ...]) -> User:
    """The proposal's business account: made now, or the one an approval that failed after making
    it left; any other account of that name is refused, never taken over."""
    try:
        account = users.get_by_name(name)
    except NotFoundError:
        return users.create(
            name, hash_password(secrets.token_urlsafe(32)), Role.BUSINESS.value, points=list(point_ids)
        )
    if account.role is not Role.BUSINESS or tuple(account.points) != point_ids:
        raise ValueError(f"an account named {name} exists and is not this proposal's")
    return account


def new_link(proposals: ProposalStore, account: User, proposal_id: int | None, by: str) -> str:
    """A fresh one-time sign-in link's token for the account (older ones stay valid until used
    or expired); noted in its proposal's history."""
    token = LINK_PREFIX + secrets.token_urlsafe(32)
    proposals.add_link(account.id, token_digest(token), LINK_LIFETIME)
    if proposal_id is not None:
        proposals.note(proposal_id, by, "sign-in link issued", account.name)
    return token


def proposal_of(account: User) -> int | None:
    """The proposal whose approval made the account (named business-N), or None."""
    number = account.name.removeprefix(ACCOUNT_PREFIX)
    return int(number) if number.isdigit() else None


def use_link(proposals: ProposalStore, users: UserStore, token: str) -> User | None:
    """The enabled business account the link signs in, using the link up; None otherwise."""
    if not token.startswith(LINK_PREFIX) or len(token) > 100:
        return None
    user_id = proposals.use_link(token_digest(token))
    if user_id is None:
        return None
    user = users.get(user_id)
    return None if user.disabled or user.role is not Role.BUSINESS else replace(user)
