"""The console's blueprint and who is using it: log in and out, the user on g, and the guards
every console page wears (login_required, admin_required)."""

from __future__ import annotations

import time
from datetime import timedelta
from functools import wraps

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext

from locator.domain.point import utcnow
from locator.domain.users import User
from locator.http.routes import sender
from locator.search.regions import Territory
from locator.services.accounts import check_password
from locator.store import NotFoundError, Store, UserStore

bp = Blueprint("operator", __name__, url_prefix="/operator")  # the pages of points.py and imports.py too

LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5  # then the account is refused for the rest of the window
MAX_FAILURES_PER_ADDRESS = 20
SLOWDOWN_PER_FAILURE_S = 0.2  # each recent failure delays the answer a little more...
MAX_SLOWDOWN_S = 1.5  # ...up to this


def store() -> Store:
    return current_app.extensions["locator.store"]


def territory() -> Territory:
    return current_app.extensions["locator.territory"]


def users() -> UserStore:
    return current_app.extensions["locator.users"]


def stale_after() -> timedelta:
    return timedelta(hours=current_app.config["STALE_HOURS"])


def login_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("user") is None:
            return redirect(url_for("operator.login", next=request.full_path))
        return view(*args, **kwargs)

    return wrapped


def admin_required(view):
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not g.user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in with name and password; repeated failures are slowed, then refused for a while."""
    error = None
    status = 200
    if request.method == "POST":
        name = request.form.get("name", "").strip()[:100]
        password = request.form.get("password", "")
        # Failures count per (name as typed, sender's network) and per network (issue 16): a
        # stranger's wrong passwords lock out the stranger, never the operator of that name
        # elsewhere; keyed by the name whether or not the account exists, so the delays tell
        # nobody which accounts do.
        group = sender(current_app.config, request.environ)
        keys = [f"user:{name.casefold()}|{group}", f"addr:{group}"]
        accounts = users()
        since = utcnow() - LOGIN_WINDOW
        account_failures = accounts.login_failures(keys[0], since)
        address_failures = accounts.login_failures(keys[1], since)
        if account_failures >= MAX_FAILURES_PER_ACCOUNT or address_failures >= MAX_FAILURES_PER_ADDRESS:
            minutes = int(LOGIN_WINDOW.total_seconds() // 60)
            error = gettext("Забагато невдалих спроб входу. Спробуйте знову за %(n)d хв.", n=minutes)
            status = 429
        else:
            time.sleep(min(MAX_SLOWDOWN_S, SLOWDOWN_PER_FAILURE_S * max(account_failures, address_failures)))
            user, password_hash = accounts.credentials(name)
            # A hash is verified whatever the account's state (none, disabled, real): every
            # answer takes the same time, so timing tells nobody which accounts exist.
            right = check_password(password_hash, password)
            if user is not None and not user.disabled and right:
                accounts.clear_login_failures(keys[0], older_than=since)
                start_session(user)
                target = request.args.get("next", "")
                if not target.startswith("/operator") or target.startswith("//") or not target.isprintable():
                    target = url_for("operator.points")
                return redirect(target)
            accounts.record_login_failure(keys)
            error = gettext("Неправильне ім'я або пароль.")
            status = 401
    response = current_app.make_response((render_template("operator/login.html", error=error), status))
    if status == 429:
        response.headers["Retry-After"] = str(int(LOGIN_WINDOW.total_seconds()))
    return response


def start_session(user: User) -> None:
    """Sign the user in on this browser: a fresh session, ended SESSION_HOURS from now or when
    the user's session version moves (logout everywhere, disable, a new password)."""
    session.clear()
    session.permanent = True
    session["uid"] = user.id
    session["sv"] = user.session_version
    session["at"] = int(utcnow().timestamp())  # the session ends SESSION_HOURS after this


@bp.post("/logout")
def logout():
    """Log out on every device: the user's session version moves, so every cookie goes stale."""
    if g.get("user") is not None:
        users().end_sessions(g.user.id)
    session.clear()
    flash(gettext("Ви вийшли з консолі."), "ok")
    return redirect(url_for("operator.login"))


def load_user() -> None:
    """Attach the logged-in user to g; a disabled user or an outdated session is logged out."""
    g.user = None
    uid = session.get("uid")
    if uid is None:
        return
    try:
        user = users().get(uid)
    except NotFoundError:
        session.clear()
        return
    max_age_s = current_app.config["SESSION_HOURS"] * 3600
    expired = utcnow().timestamp() - session.get("at", 0) > max_age_s
    if user.disabled or session.get("sv") != user.session_version or expired:
        session.clear()
        return
    g.user = user
