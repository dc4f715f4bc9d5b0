"""The console's queue of citizens' reports: see them per point, and dismiss them.

Confirming a report is an ordinary status change on the point's page (any verification by an
operator answers the point's open reports); dismissing says "checked, the point is as shown".
"""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, url_for
from flask_babel import gettext

from locator.console.session import login_required, store, territory
from locator.console.writes import form_version, refused_as_http
from locator.services.reports import dismiss_reports
from locator.store import VersionConflict

bp = Blueprint("operator_reports", __name__, url_prefix="/operator")


@bp.post("/points/<point_id>/reports/dismiss")
@login_required
def dismiss(point_id: str):
    """The operator checked: the point is as shown. Its open reports close, "unconfirmed" goes."""
    try:
        with refused_as_http():
            count = dismiss_reports(store(), territory(), g.user, point_id, form_version())
    except VersionConflict:
        flash(gettext("Хтось щойно змінив цей пункт. Перевірте актуальні дані."), "error")
        return redirect(url_for("operator.point", point_id=point_id))
    flash(gettext("Повідомлення відхилено: %(n)d. Пункт показано як є.", n=count), "ok")
    return redirect(url_for("operator.point", point_id=point_id))
