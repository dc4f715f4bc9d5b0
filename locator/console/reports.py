"""The console's queue of citizens' reports: see them per point, and dismiss them.

Confirming a report is an ordinary status change on the point's page (any verification by an
operator answers the point's open reports); dismissing says "checked, the point is as shown".
"""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, url_for
from flask_babel import gettext

from locator.console.points import _editable_point, _store, login_required

bp = Blueprint("operator_reports", __name__, url_prefix="/operator")


@bp.post("/points/<point_id>/reports/dismiss")
@login_required
def dismiss(point_id: str):
    """The operator checked: the point is as shown. Its open reports close, "unconfirmed" goes."""
    point = _editable_point(point_id)
    count = _store().reports.dismiss(point.id, by=g.user.name)
    flash(gettext("Повідомлення відхилено: %(n)d. Пункт показано як є.", n=count), "ok")
    return redirect(url_for("operator.point", point_id=point.id))
