"""The console's schedule editor for mobile points: add and remove planned stops.

Times are entered as Kyiv wall-clock time (what the operator's phone shows) and stored in UTC.
Every change names the version it read, like every other console write.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from flask import Blueprint, flash, g, redirect, request, url_for
from flask_babel import gettext

from locator.console.session import login_required, store, territory
from locator.console.writes import form_version, refused_as_http
from locator.domain.parsers import whole_number
from locator.domain.point import Point
from locator.domain.validation import ValidationError
from locator.services import stops as commands
from locator.store import VersionConflict
from locator.web.i18n import LOCAL_TIME

bp = Blueprint("operator_stops", __name__, url_prefix="/operator")


def local_moment(text: str) -> str:
    """A datetime-local value ("2026-11-23T14:00") in Kyiv time, as ISO 8601 with its offset."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return text  # parse_stops names the stop and the problem
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL_TIME)
    return moment.isoformat()


@bp.app_template_filter("local_input")
def local_input(moment: datetime, hours: float = 0) -> str:
    """A moment (plus some hours) as the value of a datetime-local field, in Kyiv time."""
    return (moment + timedelta(hours=hours)).astimezone(LOCAL_TIME).strftime("%Y-%m-%dT%H:%M")


@bp.post("/points/<point_id>/stops")
@login_required
def add_stop(point_id: str):
    """Add one stop to a mobile point's schedule."""
    form = request.form
    stop = {
        "place": form.get("place", ""),
        "lat": form.get("lat", ""),
        "lon": form.get("lon", ""),
        "starts_at": local_moment(form.get("starts_at", "")),
        "ends_at": local_moment(form.get("ends_at", "")),
    }
    return _save_schedule(
        point_id,
        lambda: commands.add_stop(store(), territory(), g.user, point_id, form_version(), stop),
        gettext("Зупинку додано до графіка."),
    )


@bp.post("/points/<point_id>/stops/remove")
@login_required
def remove_stop(point_id: str):
    """Remove one stop (by its place in the list the operator saw; the version guards it)."""
    index = whole_number(request.form.get("index", ""))
    index = -1 if index is None else index
    try:
        return _save_schedule(
            point_id,
            lambda: commands.remove_stop(store(), territory(), g.user, point_id, form_version(), index),
            gettext("Зупинку прибрано з графіка."),
        )
    except commands.NoSuchStop:
        flash(gettext("Такої зупинки немає; перевірте актуальний графік."), "error")
        return redirect(url_for("operator.point", point_id=point_id))


def _save_schedule(point_id: str, write: Callable[[], Point], message: str):
    try:
        with refused_as_http():
            write()
    except VersionConflict:
        flash(gettext("Хтось щойно змінив цей пункт. Перевірте актуальний графік і повторіть."), "error")
    except ValidationError as error:
        for problem in error.problems:
            flash(gettext("Графік: %(problem)s", problem=problem.message), "error")
    else:
        flash(message, "ok")
    return redirect(url_for("operator.point", point_id=point_id, _anchor="schedule"))
