"""The console's points: my list, one point's page and its one-tap writes (status, "still true",
move, archive), its history. Each write is one command of locator.services."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from locator.console import undo
from locator.console.session import bp, login_required, stale_after, store, territory
from locator.console.writes import form_version, point_or_404, refused_as_http
from locator.domain.point import OPERATOR_STATUSES, Point, utcnow
from locator.domain.scope import PLACE_FIELD, Forbidden
from locator.domain.validation import Problem, ValidationError
from locator.search.listing import search_key
from locator.services import places
from locator.services import points as commands
from locator.services import undo as undoable
from locator.store import VersionConflict
from locator.web import labels
from locator.web.maps import build_map


@bp.get("/points/<point_id>")
@login_required
def point(point_id: str):
    """One point: big status buttons, services now, occupancy, note; move a mobile point."""
    current = point_or_404(point_id)
    config = current_app.config
    now = utcnow()
    here = current.at(now)  # where citizens see it: a mobile point at its current stop
    fmap = build_map(
        (here.lat, here.lon),
        15,
        config["TILE_URL"],
        config["TILE_ATTRIBUTION"],
        marker=(here.lat, here.lon),
    )
    # Comments and who answered them only where the reader may see them (User.may_read_private);
    # elsewhere the counts, as the public point page shows them.
    private = places.may_read_private(g.user, current)
    may_edit = places.may_edit(g.user, current)
    reports = store().reports
    report_counts = reports.open_counts([current.id]).get(current.id, Counter())
    return render_template(
        "operator/point.html",
        point=current,
        here=here,
        current_stop=current.current_stop(now),
        fmap=fmap,
        settings={"map": fmap.name},
        may_edit=may_edit,
        now=now,
        stale=current.is_stale(now, stale_after()),
        statuses=OPERATOR_STATUSES,
        private=private,
        report_counts=report_counts,
        report_total=sum(report_counts.values()),
        report_senders=reports.open_senders(current.id),
        open_reports=reports.open_for(current.id) if private else [],
        answered_reports=reports.answered_for(current.id, limit=20) if private else [],
        undo_offer=undo.offer(current.id),
        address_offer=address_offer(current) if request.args.get("moved") == "1" and may_edit else None,
    )


@bp.post("/points/<point_id>/status")
@login_required
def update_status(point_id: str):
    """Save status, services working now, occupancy and note; the point counts as verified now."""
    values = {"status": request.form.get("status")}
    if request.form.get("details") == "1":
        values |= {
            "services": request.form.getlist("services"),
            "occupancy": request.form.get("occupancy", ""),
            "note": request.form.get("note", ""),
        }

    def message(saved: Point) -> str:
        label = labels.STATUS.get(saved.status.value, saved.status.value)
        return gettext("Збережено: %(status)s. Статус підтверджено зараз.", status=label)

    def write() -> Point:
        saved, ticket = undoable.set_status(
            store(), territory(), g.user, point_id, form_version(), now=utcnow(), **values
        )
        undo.remember(ticket)  # the point's page offers "Undo" for UNDO_WINDOW
        return saved

    return _save(point_id, write, message)


@bp.post("/points/<point_id>/verify")
@login_required
def verify(point_id: str):
    """ "Still true": confirm the status as it is, now."""
    try:
        with refused_as_http():
            commands.confirm(store(), territory(), g.user, point_id, form_version())
    except VersionConflict:
        flash(gettext("Хтось щойно змінив цей пункт. Перевірте актуальні дані."), "error")
        return redirect(url_for("operator.point", point_id=point_id))
    flash(gettext("Статус підтверджено."), "ok")
    return redirect(url_for("operator.point", point_id=point_id))


@bp.post("/points/<point_id>/move")
@login_required
def move(point_id: str):
    """Set a (mobile) point's location from the phone's GPS or a map click."""
    address = request.form["address"] if request.form.get("address", "").strip() else None
    lat, lon = request.form.get("lat"), request.form.get("lon")
    return _save(
        point_id,
        lambda: commands.move(
            store(), territory(), g.user, point_id, form_version(), lat=lat, lon=lon, address=address
        ),
        lambda saved: gettext("Місце пункту оновлено."),
        # Moved without a new address: the page asks whether to take the nearest settlement's.
        then={"moved": 1, "_anchor": "address-offer"} if address is None else {},
    )


@bp.post("/points/<point_id>/address")
@login_required
def accept_address(point_id: str):
    """Take the address the page offered after a move (the nearest settlement): one edit."""
    changes = {"address": request.form.get("address", ""), "settlement": request.form.get("settlement", "")}

    def write() -> Point:
        try:
            return commands.edit(store(), territory(), g.user, point_id, form_version(), changes)
        except Forbidden as refusal:
            if refusal.field != PLACE_FIELD:
                raise  # the point itself is not the user's: 403
            raise ValidationError(
                [Problem("settlement", gettext("Цей населений пункт поза вашою зоною: адресу не змінено."))]
            ) from None

    return _save(
        point_id,
        write,
        lambda saved: gettext(
            "Адресу оновлено: %(address)s.",
            address=", ".join(part for part in (saved.address, saved.settlement, saved.region) if part),
        ),
    )


def address_offer(point: Point) -> dict | None:
    """After a move without a new address: the nearest settlement as the point's place. The old
    street is dropped (the point is no longer there; a GPS move knows no street), and the
    settlement alone is kept: pages show the settlement and region beside the address, so putting
    them in the address too would show them twice. Nothing to offer when the point already says
    just that settlement."""
    settlement = current_app.extensions["locator.gazetteer"].nearest(point.lat, point.lon)
    if settlement is None:
        return None
    if not point.address and search_key(settlement.name) == search_key(point.settlement):
        return None
    label = ", ".join(part for part in (settlement.name, settlement.region) if part)
    return {"label": label, "address": "", "settlement": settlement.name}


@bp.post("/points/<point_id>/archive")
@login_required
def archive(point_id: str):
    """Take a point off the public map (or bring it back); its history stays."""
    archived = request.form.get("archived") == "1"
    message = gettext("Пункт прибрано з публічної мапи.") if archived else gettext("Пункт повернуто на мапу.")
    return _save(
        point_id,
        lambda: commands.archive(store(), territory(), g.user, point_id, form_version(), archived=archived),
        lambda saved: message,
    )


@bp.get("/points/<point_id>/history")
@login_required
def history(point_id: str):
    """Who changed what, from what, to what, when (who by name only where User.may_read_private)."""
    current = point_or_404(point_id)
    private = places.may_read_private(g.user, current)
    history = store().history(point_id, limit=1000, authors=private)
    return render_template("operator/history.html", point=current, history=history, private=private)


def _save(
    point_id: str, write: Callable[[], Point], message: Callable[[Point], str], then: dict | None = None
):
    """Run one command; a newer version elsewhere or a bad value sends the operator back to look."""
    try:
        with refused_as_http():
            saved = write()
    except VersionConflict:
        flash(gettext("Хтось щойно змінив цей пункт. Перевірте актуальні дані та повторіть."), "error")
        return redirect(url_for("operator.point", point_id=point_id))
    except ValidationError as error:
        for problem in error.problems:
            flash(f"{labels.FIELD.get(problem.field, problem.field)}: {problem.message}", "error")
        return redirect(url_for("operator.point", point_id=point_id))
    flash(message(saved), "ok")
    return redirect(url_for("operator.point", point_id=point_id, **(then or {})))
