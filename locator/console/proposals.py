"""The review queue (issue 20): businesses' proposals for an admin, or a reviewer of their regions
(the regions their coordinates lie in), with duplicate hints; approve or reject with a reason.

An approval shows the new business account's one-time sign-in link once, on the answer page
(never in a flash, which would ride in the reviewer's cookie), and mails it when SMTP is set.
"""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from locator.console.session import bp, login_required, store, territory, users
from locator.domain.scope import Forbidden
from locator.domain.users import Role
from locator.http.urls import external_url
from locator.services import mail
from locator.services import proposals as commands
from locator.store import NotFoundError
from locator.store.proposals import ProposalStore


def proposals() -> ProposalStore:
    return current_app.extensions["locator.proposals"]


def reviewer_required() -> None:
    if not (g.user.is_admin or g.user.role is Role.REVIEWER):
        abort(403)


@bp.get("/proposals")
@login_required
def proposals_queue():
    """Pending proposals the user may decide, each point with its possible duplicates."""
    reviewer_required()
    queue = commands.queue(proposals(), g.user)
    hints = {
        (stored.id, index): commands.duplicates(store(), point)
        for stored in queue
        for index, point in enumerate(stored.proposal.points)
    }
    histories = {stored.id: proposals().history(stored.id) for stored in queue}
    return render_template("operator/proposals.html", queue=queue, hints=hints, histories=histories)


def _decided(proposal_id: int):
    try:
        stored = proposals().get(proposal_id)
    except NotFoundError:
        abort(404)
    if not commands.may_review(g.user, stored):
        abort(404)  # a proposal outside the reviewer's regions is not theirs to know of
    return stored


@bp.post("/proposals/<int:proposal_id>/approve")
@login_required
def approve_proposal(proposal_id: int):
    """Create the points and the business account; show the sign-in link once."""
    reviewer_required()
    stored = _decided(proposal_id)
    try:
        approval = commands.approve(store(), territory(), users(), proposals(), g.user, proposal_id)
    except (Forbidden, ValueError) as error:
        flash(str(error), "error")
        return redirect(url_for("operator.proposals_queue"))
    link = external_url("operator.signin", token=approval.link)
    body = render_template("mail/signin.txt", link=link, points=approval.account.points)
    subject = gettext("Пункти незламності: вхід для вашого бізнесу")
    mailed = mail.send_link(current_app.config, stored.proposal.email, subject, body)
    if mailed:
        proposals().note(proposal_id, g.user.name, "sign-in link mailed", stored.proposal.email)
    return render_template(
        "operator/proposal_approved.html", approval=approval, link=link, mailed=mailed, stored=stored
    )


@bp.post("/proposals/<int:proposal_id>/reject")
@login_required
def reject_proposal(proposal_id: int):
    """Reject with a reason (required); the proposal and its history stay."""
    reviewer_required()
    _decided(proposal_id)
    try:
        commands.reject(proposals(), g.user, proposal_id, request.form.get("reason", ""))
    except (Forbidden, ValueError) as error:
        flash(str(error), "error")
    else:
        flash(gettext("Заявку відхилено."), "ok")
    return redirect(url_for("operator.proposals_queue"))
