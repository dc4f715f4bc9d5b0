"""The console's full form: create a point, edit every field of one. Errors are shown beside
their fields; each save is one command of locator.services."""

from __future__ import annotations

from flask import abort, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext

from locator.console.session import bp, login_required, store, territory
from locator.console.writes import form_version, point_or_404
from locator.domain.hours import parse_opening_hours
from locator.domain.point import EDITABLE_FIELDS, OPERATOR_STATUSES, SERVICES, Category, Kind
from locator.domain.scope import PLACE_FIELD, VISIBILITY_FIELD, Forbidden
from locator.domain.support import beds_short_of
from locator.domain.validation import ValidationError
from locator.domain.values import BusinessType, Visibility
from locator.search.regions import canonical_region
from locator.search.settlements import REGIONS
from locator.services import places
from locator.services import points as commands
from locator.store import NotFoundError, VersionConflict
from locator.web import hours_words


def _form_record() -> dict:
    # Archiving and the schedule of stops have their own forms: an edit must keep them.
    record = {
        name: request.form.get(name, "") for name in EDITABLE_FIELDS if name not in ("archived", "stops")
    }
    record["services"] = request.form.getlist("services")
    for flag in ("base", "open_24_7", "support"):
        record[flag] = request.form.get(flag) == "1"
    return record


@bp.route("/points/new", methods=["GET", "POST"])
@login_required
def create():
    """Create a point; every field is checked on the server, errors shown beside the field."""
    errors: dict[str, str] = {}
    record = {"kind": "fixed", "category": "state", "status": "open", "services": []}
    if request.method == "POST":
        record = _form_record() | {"id": request.form.get("id", "").strip()}
        try:
            created = commands.create(store(), territory(), g.user, record)
        except Forbidden as refusal:
            if refusal.field == VISIBILITY_FIELD:
                errors[VISIBILITY_FIELD] = gettext("Зробити пункт публічнішим може лише адміністратор.")
                return _edit_form(record, errors, new=True)
            errors[PLACE_FIELD] = gettext(
                "Ви не можете створювати пункти в цьому регіоні чи населеному пункті."
            )
        except ValidationError as error:
            errors = _errors(error)
        else:
            flash(gettext("Пункт створено."), "ok")
            _warn_beds(created)
            return redirect(url_for("operator.point", point_id=created.id))
    return _edit_form(record, errors, new=True)


@bp.route("/points/<point_id>/edit", methods=["GET", "POST"])
@login_required
def edit(point_id: str):
    """Edit every field of a point."""
    point = point_or_404(point_id)
    if request.method == "GET":
        if not places.may_edit(g.user, point):
            abort(403)
        return _edit_form(point.to_record(), {}, new=False, version=point.version)
    errors: dict[str, str] = {}
    record = _form_record() | {"id": point.id, "version": request.form.get("version", "")}
    try:
        saved = commands.edit(store(), territory(), g.user, point.id, form_version(), record)
    except Forbidden as refusal:
        if refusal.field == VISIBILITY_FIELD:
            errors[VISIBILITY_FIELD] = gettext("Зробити пункт публічнішим може лише адміністратор.")
            return _edit_form(record, errors, new=False, version=point.version)
        if refusal.field != PLACE_FIELD:
            abort(403)  # the point as it is: not the user's
        errors[PLACE_FIELD] = gettext("Цей регіон чи населений пункт поза вашою зоною.")
    except NotFoundError:
        abort(404)
    except ValidationError as error:
        errors = _errors(error)
        if "stops" in errors:  # the form has no schedule field: the kind is what to fix
            errors["kind"] = gettext("Лише мобільний пункт має графік зупинок: спершу приберіть зупинки.")
    except VersionConflict:
        flash(
            gettext("Хтось щойно змінив цей пункт. Нижче актуальні дані; внесіть зміни ще раз."),
            "error",
        )
        return redirect(url_for("operator.edit", point_id=point.id))
    else:
        flash(gettext("Зміни збережено."), "ok")
        _warn_beds(saved)
        return redirect(url_for("operator.point", point_id=point.id))
    return _edit_form(record, errors, new=False, version=point.version)


def _warn_beds(point) -> None:
    """A support point with fewer beds than its settlement's population asks: warn, not refuse."""
    if not point.support:
        return
    population = places.settlement_population(current_app.extensions["locator.gazetteer"], point)
    least = beds_short_of(point.beds, population)
    if least is not None:
        flash(
            gettext(
                "Опорному пункту в населеному пункті з %(population)s мешканців потрібно щонайменше"
                " %(least)s ліжок; зараз %(beds)s.",
                population=population,
                least=least,
                beds=point.beds or 0,
            ),
            "warning",
        )


HOURS_EXAMPLE = " Mo-Fr 09:00-18:00; Sa 10:00-14:00 · 24/7 · Mo-Su 20:00-08:00"


def _errors(error: ValidationError) -> dict[str, str]:
    errors = {p.field: p.message for p in error.problems}
    if "opening_hours" in errors:  # the one message here that an operator types against
        errors["opening_hours"] = _hours_problem(errors["opening_hours"])
    return errors


def _hours_problem(message: str) -> str:
    where = message.rpartition(" at character ")[2].split(" ")[0] if " at character " in message else ""
    if where.isdigit():
        return gettext("Не вдається прочитати графік (помилка біля символу %(n)s).", n=where) + HOURS_EXAMPLE
    return gettext("Не вдається прочитати графік: %(detail)s", detail=message) + HOURS_EXAMPLE


@bp.get("/hours/preview")
@login_required
def hours_preview():
    """The form's preview of an opening_hours value as the operator types it: the value in the
    page's language, or the problem with it."""
    try:
        value = parse_opening_hours(request.args.get("value", ""))
    except ValueError as error:
        return jsonify(ok=False, error=_hours_problem(str(error)))
    return jsonify(ok=True, preview=hours_words.preview(value))


def _edit_form(record: dict, errors: dict, *, new: bool, version: int | None = None):
    status = 400 if errors else 200
    return (
        render_template(
            "operator/edit.html",
            record=record,
            errors=errors,
            new=new,
            version=version,
            services=SERVICES,
            statuses=OPERATOR_STATUSES,
            kinds=list(Kind),
            categories=list(Category),
            business_types=list(BusinessType),
            visibilities=list(Visibility),
            # The regions' one public spelling (search/settlements.py REGIONS): a select, not text.
            region_names=sorted(REGIONS.values()),
            region_now=canonical_region(str(record.get("region") or "")),
        ),
        status,
    )
