"""Citizens report what they find at a point: no account, bounded by rate limits.

Two doors to the same command (locator.services.reports): the API (JSON or form, answers
problem+json) and the point page's plain HTML form (works without JavaScript; answers with the
page again). Reports from another site's page are refused, so a hostile page cannot make its
visitors' browsers report for it; the sender's network is kept only as a keyed hash, for the
limits.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, redirect, request, url_for

from locator.domain.validation import ValidationError
from locator.http.errors import ApiError
from locator.http.routes import sender
from locator.http.urls import site_root
from locator.services.reports import submit_report
from locator.store import NotFoundError
from locator.store.reports import ReportLimited
from locator.web.api import dump_json

bp = Blueprint("reports", __name__)


def sender_key() -> str:
    """A stable pseudonym for the sender's network (an IPv4 /24, an IPv6 /48 by default: one
    attacker's many addresses are one sender, issue 16): enough to count, useless to identify."""
    secret = current_app.config["SECRET_KEY"].encode()
    network = sender(current_app.config, request.environ).encode()
    return hmac.new(secret, b"report|" + network, hashlib.sha256).hexdigest()[:24]


def same_site_or_403() -> None:
    """Refuse a report sent by a page of another site (browsers say so in these headers). This
    site is the request's Host, or LOCATOR_PUBLIC_URL's when a proxy forwards another Host."""
    origin = request.headers.get("Origin")
    ours = {request.host, urlsplit(site_root()).netloc}
    if (
        request.headers.get("Sec-Fetch-Site") == "cross-site"
        or origin == "null"
        or (origin and urlsplit(origin).netloc not in ours)
    ):
        raise ApiError(403, "Forbidden", "reports are accepted from this site's pages only", "Origin")


def submit(point_id: str, data) -> bool:
    """Validate and store one report; True when it tipped the point into "unconfirmed"."""
    same_site_or_403()
    public = current_app.extensions["locator.index"]
    public.sync()
    if public.point(point_id) is None:
        # issue 20: a hidden point takes no reports, and answers as one that never was
        raise ApiError(404, "Not found", f"no point has the id {point_id!r}", "id")
    try:
        return submit_report(current_app.extensions["locator.store"], point_id, data, source=sender_key())
    except NotFoundError:
        raise ApiError(404, "Not found", f"no point has the id {point_id!r}", "id") from None


@bp.post("/api/v1/points/<point_id>/reports")
def report_api(point_id: str) -> Response:
    """A citizen's report about a point, as JSON or a form; 201, or problem+json."""
    data = request.get_json(silent=True) if request.is_json else request.form
    if not isinstance(data, dict) and data is not request.form:
        raise ApiError(400, "Invalid body", "send a JSON object with kind, service, comment", "body")
    try:
        unconfirmed = submit(point_id, data)
    except ValidationError as error:
        raise ApiError.from_validation(error) from None
    except ReportLimited as limited:
        raise ApiError(
            429, "Too many reports", str(limited), "point_id", retry_after=limited.retry_after_s
        ) from None
    body = {"point_id": point_id, "accepted": True, "made_unconfirmed": unconfirmed}
    response = current_app.response_class(dump_json(body), status=201, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/points/<point_id>/report")
def report_form(point_id: str):
    """The point page's form: thanks on success, the page again with the problem otherwise."""
    from locator.web.public import map_state, render_point_page  # the page is the public blueprint's

    try:
        submit(point_id, request.form)
    except ValidationError as error:
        return render_point_page(
            point_id, status=400, report_problems=error.problems, report_form=request.form
        )
    except ReportLimited as limited:
        page = render_point_page(point_id, status=429, report_limited=limited, report_form=request.form)
        page.headers["Retry-After"] = str(limited.retry_after_s)
        return page
    except ApiError as error:
        if error.status == 404:
            raise
        return render_point_page(point_id, status=error.status, report_refused=error.detail)
    state = map_state(request.args)  # the map the citizen came from, for "← До мапи"
    thanks = url_for("public.point_page", point_id=point_id, reported=1, _anchor="report", **state)
    return redirect(thanks, 303)
