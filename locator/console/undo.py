"""The console's "Undo" after a status tap (services/undo.py): the ticket signed with the app's
secret, kept in the session for the point's page, and the form that sends it back. The button
works without JavaScript; the page's script only hides it when the window closes."""

from __future__ import annotations

import math

from flask import abort, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext
from itsdangerous import BadSignature, URLSafeSerializer

from locator.console.session import bp, login_required, store, territory
from locator.console.writes import refused_as_http
from locator.domain.point import utcnow
from locator.domain.validation import ValidationError
from locator.services import undo as commands
from locator.services.undo import UndoExpired, UndoTicket
from locator.store import VersionConflict
from locator.web import labels

UNDO_SALT = "locator.console.undo"  # a signature made for anything else never passes as a ticket
SESSION_KEY = "undo"  # the one pending undo: a newer tap replaces it


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=UNDO_SALT)


def sign(ticket: UndoTicket) -> str:
    """The ticket as a signed token (readable, not secret; only the server can make one)."""
    return _serializer().dumps(ticket.as_dict())


def unsign(token: str) -> UndoTicket:
    """The ticket inside a token; ValueError for a token the server did not sign."""
    try:
        return UndoTicket.from_dict(_serializer().loads(token))
    except BadSignature as error:
        raise ValueError("not a signed undo ticket") from error


def remember(ticket: UndoTicket | None) -> None:
    """Keep the tap's ticket for the point's page (or forget the last one: nothing to undo)."""
    if ticket is None:
        session.pop(SESSION_KEY, None)
    else:
        session[SESSION_KEY] = sign(ticket)


def offer(point_id: str) -> dict | None:
    """The point page's "Undo": the token and the whole seconds left, while the window is open
    for this user and this point."""
    token = session.get(SESSION_KEY)
    if not token:
        return None
    try:
        ticket = unsign(token)
    except ValueError:
        session.pop(SESSION_KEY, None)
        return None
    left = ticket.seconds_left(utcnow())
    if ticket.point_id != point_id or ticket.user_id != g.user.id or left <= 0:
        return None
    return {"token": token, "seconds": math.ceil(left)}


@bp.post("/points/<point_id>/undo")
@login_required
def undo_status(point_id: str):
    """Take back the last status tap on this point, if it is the user's, recent and the last write."""
    try:
        ticket = unsign(request.form.get("undo", ""))
    except ValueError:
        abort(400)
    if ticket.point_id != point_id:
        abort(400)
    back = redirect(url_for("operator.point", point_id=point_id))
    try:
        with refused_as_http():
            restored = commands.undo(store(), territory(), g.user, ticket, now=utcnow())
    except UndoExpired:
        seconds = int(commands.UNDO_WINDOW.total_seconds())
        message = gettext("Скасувати вже не можна: минуло понад %(n)d с. Виберіть статус ще раз.", n=seconds)
        flash(message, "error")
    except VersionConflict:
        flash(
            gettext("Не скасовано: після вас пункт уже змінив хтось інший. Перевірте поточний статус."),
            "error",
        )
    except ValidationError as error:
        for problem in error.problems:
            flash(f"{labels.FIELD.get(problem.field, problem.field)}: {problem.message}", "error")
    else:
        label = labels.STATUS.get(restored.status.value, restored.status.value)
        flash(gettext("Скасовано: статус знову «%(status)s».", status=label), "ok")
    session.pop(SESSION_KEY, None)
    return back
