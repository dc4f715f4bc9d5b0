"""A business on its phone (issue 20): the one-time sign-in link, its own points, and the fence
that keeps a business account out of every other console page.

The link's page (GET) only asks for a tap: messengers fetch links to show a preview, and a GET
that used the link up would sign in the messenger, not the business. The tap (a POST with the
page's CSRF token) uses the link up and starts an ordinary console session (LOCATOR_SESSION_HOURS).
On its page the business may set a password, to sign in later by its account name (shown there)
without a new link; an admin can disable the account at any time (`users disable`).
"""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext

from locator.console.session import bp, login_required, start_session, store, territory, users
from locator.domain.scope import Forbidden
from locator.domain.users import Role
from locator.domain.validation import ValidationError
from locator.domain.values import OPERATOR_STATUSES
from locator.services import accounts
from locator.services import points as point_commands
from locator.services import proposals as proposal_commands
from locator.store import NotFoundError, VersionConflict

# The console pages a business account may open; any other sends it to its own points.
BUSINESS_ENDPOINTS = frozenset(
    {"operator.mine", "operator.mine_update", "operator.mine_password", "operator.logout", "operator.signin"}
)


def fence():
    """Keep a business account to its own pages (it must not read other points' console pages)."""
    user = g.get("user")
    if user is None or user.role is not Role.BUSINESS:
        return None
    blueprint = request.blueprint or ""
    if blueprint.startswith("operator") and request.endpoint not in BUSINESS_ENDPOINTS:
        return redirect(url_for("operator.mine"))
    return None


@bp.route("/signin/<token>", methods=["GET", "POST"])
def signin(token: str):
    """A business's one-time sign-in link: a tap signs it in; a used or expired link says so."""
    if request.method == "GET":
        return render_template("operator/signin.html", token=token)
    user = proposal_commands.use_link(current_app.extensions["locator.proposals"], users(), token)
    if user is None:
        return render_template("operator/signin.html", token=token, refused=True), 410
    start_session(user)
    return redirect(url_for("operator.mine"), 303)


@bp.get("/mine")
@login_required
def mine():
    """A business's own points, each with status, occupancy and hours: one form each."""
    if g.user.role is not Role.BUSINESS:
        return redirect(url_for("operator.points"))
    own = []
    for point_id in g.user.points:
        try:
            own.append(store().get(point_id))
        except NotFoundError:
            continue
    return render_template("operator/mine.html", own=own, statuses=OPERATOR_STATUSES)


@bp.post("/mine/<point_id>")
@login_required
def mine_update(point_id: str):
    """Set a point's status, occupancy and hours (the scope rule refuses anything else)."""
    form = request.form
    changes = {"status": form.get("status", "")}
    if "occupancy" in form:
        changes["occupancy"] = form["occupancy"] or None
    if "opening_hours" in form:
        changes["opening_hours"] = form["opening_hours"]
    try:
        version = int(form.get("version", ""))
    except ValueError:
        version = None
    try:
        point_commands.edit(store(), territory(), g.user, point_id, version, changes)
    except (Forbidden, NotFoundError):
        abort(403)  # not its point, or not a field it may change: the scope rule said no
    except ValidationError as error:
        flash("; ".join(str(p) for p in error.problems), "error")
    except VersionConflict:
        flash(gettext("Пункт щойно змінили. Перевірте й надішліть ще раз."), "error")
    else:
        flash(gettext("Збережено."), "ok")
    return redirect(url_for("operator.mine"))


@bp.post("/mine/password")
@login_required
def mine_password():
    """Set a password to sign in later by name; every other session ends, this one goes on."""
    password = request.form.get("password", "")
    try:
        password_hash = accounts.hash_password(password)
    except ValueError:
        flash(gettext("Пароль має бути не коротшим за 10 знаків."), "error")
        return redirect(url_for("operator.mine"))
    user = users().set_password(g.user.name, password_hash)
    start_session(user)
    session["password_set"] = True
    flash(gettext("Пароль збережено."), "ok")
    return redirect(url_for("operator.mine"))
