"""/join: a business proposes its points to the network (issue 20); no account needed.

A plain form that works without JavaScript (lat and lon are inputs; join.js adds a map with a
draggable marker that fills them). Like citizens' reports it is bounded by sender group (the same
keyed hash of the sender's network, web/reporting.sender_key) and refused from other sites'
pages; unlike them it rides on a session, so Flask-WTF's CSRF token guards it too. A proposal is
stored out of the public's sight (store/proposals.py) until a reviewer approves it.
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from locator.domain.proposals import BUSINESS_TYPES, MAX_POINTS, parse_proposal, point_count
from locator.domain.validation import ValidationError
from locator.domain.values import SERVICES
from locator.http.errors import ApiError
from locator.services import proposals as proposal_commands
from locator.store.proposals import ProposalLimited, ProposalStore
from locator.web.reporting import same_site_or_403, sender_key

bp = Blueprint("join", __name__)


def proposals() -> ProposalStore:
    return current_app.extensions["locator.proposals"]


def _page(status: int = 200, *, form=None, problems=(), count: int = 1, **state):
    count = max(1, min(count, MAX_POINTS))
    body = render_template(
        "public/join.html",
        form=form or {},
        problems={p.field: p for p in problems},
        count=count,
        max_points=MAX_POINTS,
        business_types=BUSINESS_TYPES,
        services_order=SERVICES,
        join_settings={
            "tileUrl": current_app.config["TILE_URL"],
            "attribution": current_app.config["TILE_ATTRIBUTION"],
            "center": current_app.config["MAP_CENTER"],
            "zoom": current_app.config["MAP_ZOOM"],
        },
        **state,
    )
    response = current_app.make_response((body, status))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/join")
def join_page():
    """The form, with as many point blocks as ?points= asks (at most MAX_POINTS)."""
    try:
        count = int(request.args.get("points", "1"))
    except ValueError:
        count = 1
    return _page(count=count, sent=request.args.get("sent") == "1")


@bp.post("/join")
def join_send():
    """Check and store a proposal; thanks, or the form again with every problem."""
    count = min(point_count(request.form), MAX_POINTS)
    try:
        same_site_or_403()
    except ApiError as error:
        return _page(403, form=request.form, count=count, refused=error.detail)
    try:
        proposal = parse_proposal(request.form)
        territory = current_app.extensions["locator.territory"]
        proposal_commands.submit(proposals(), territory, proposal, sender_key())
    except ValidationError as error:
        return _page(400, form=request.form, problems=error.problems, count=count)
    except ProposalLimited as limited:
        page = _page(429, form=request.form, count=count, limited=limited)
        page.headers["Retry-After"] = str(limited.retry_after_s)
        return page
    return redirect(url_for("join.join_page", sent=1), 303)
