"""The console's schedule editor for mobile points: add and remove planned stops.

Times are entered as Kyiv wall-clock time (what the operator's phone shows) and stored in UTC.
Every change names the version it read, like every other console write.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, flash, g, redirect, request, url_for
from flask_babel import gettext

from locator.console.points import _editable_point, _store, _version, login_required
from locator.domain.validation import ValidationError
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
    point = _editable_point(point_id)
    form = request.form
    stop = {
        "place": form.get("place", ""),
        "lat": form.get("lat", ""),
        "lon": form.get("lon", ""),
        "starts_at": local_moment(form.get("starts_at", "")),
        "ends_at": local_moment(form.get("ends_at", "")),
    }
    stops = [s.to_record() for s in point.stops] + [stop]
    return _save_schedule(point.id, stops, gettext("Зупинку додано до графіка."))


@bp.post("/points/<point_id>/stops/remove")
@login_required
def remove_stop(point_id: str):
    """Remove one stop (by its place in the list the operator saw; the version guards it)."""
    point = _editable_point(point_id)
    raw = request.form.get("index", "")
    if not raw.isdigit() or int(raw) >= len(point.stops):
        flash(gettext("Такої зупинки немає; перевірте актуальний графік."), "error")
        return redirect(url_for("operator.point", point_id=point.id))
    stops = [s.to_record() for i, s in enumerate(point.stops) if i != int(raw)]
    return _save_schedule(point.id, stops, gettext("Зупинку прибрано з графіка."))


def _save_schedule(point_id: str, stops: list[dict], message: str):
    try:
        # A schedule is a plan, not a check of the status: it does not count as verification.
        _store().update(point_id, {"stops": stops}, by=g.user.name, expected_version=_version(), verify=False)
    except VersionConflict:
        flash(gettext("Хтось щойно змінив цей пункт. Перевірте актуальний графік і повторіть."), "error")
    except ValidationError as error:
        for problem in error.problems:
            flash(gettext("Графік: %(problem)s", problem=problem.message), "error")
    else:
        flash(message, "ok")
    return redirect(url_for("operator.point", point_id=point_id, _anchor="schedule"))
