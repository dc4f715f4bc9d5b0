"""The planner's writes in the console (issue 19): a suggestion made a stop, the outage list,
and the planner's own files.

A suggestion becomes a stop through services/stops.add_stop, the same command (role, scope,
version) as the point page's schedule form. The outage list is changed through
services/outages.mark (scope-checked: a forged region is 403); files go through the same guard
as the points' import (size limit at the edge, content checked before GDAL, all or nothing).
"""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path
from urllib.parse import parse_qsl

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from locator.console.planner import bp
from locator.console.session import login_required, store, territory
from locator.console.stops import local_moment
from locator.domain.filters import fold
from locator.domain.parsers import whole_number
from locator.domain.regions import REGIONS
from locator.domain.scope import Forbidden
from locator.domain.validation import ValidationError
from locator.io.planner_files import PlannerFileRejected, read_outages
from locator.services import outages, planner_files
from locator.services import stops as commands
from locator.services.planner import planner_settlements, scope_of
from locator.store import NotFoundError, VersionConflict
from locator.store.planner import FILE_KINDS, OutageEntry
from locator.web.messages import say

UPLOAD_SUFFIXES = (".csv", ".gpkg", ".geojson", ".json")
PROBLEMS_SHOWN = 5  # a rejected file's problems flashed (the rest are counted)


def _back() -> str:
    """The planner page the form came from (its query re-encoded, never a raw string)."""
    pairs = parse_qsl(request.form.get("back", "")[:2000])
    query: dict[str, list[str]] = {}
    for key, value in pairs:
        if key.isascii() and key.isidentifier() and value.isprintable():
            query.setdefault(key, []).append(value)
    return url_for("operator_planner.planner", **query)


@bp.post("/planner/stop")
@login_required
def make_stop():
    """Turn a suggested site into a stop of a chosen mobile point (id@version from the form)."""
    point_id, _, version_text = request.form.get("point", "").rpartition("@")
    version = whole_number(version_text)
    if not point_id or version is None:
        flash(gettext("Оберіть мобільний пункт."), "error")
        return redirect(_back())
    stop = {
        "place": request.form.get("place", ""),
        "lat": request.form.get("lat", ""),
        "lon": request.form.get("lon", ""),
        "starts_at": local_moment(request.form.get("starts_at", "")),
        "ends_at": local_moment(request.form.get("ends_at", "")),
    }
    try:
        commands.add_stop(store(), territory(), g.user, point_id, version, stop)
    except Forbidden:
        abort(403)
    except NotFoundError:
        abort(404)
    except VersionConflict:
        flash(gettext("Хтось щойно змінив цей пункт. Перевірте актуальний графік і повторіть."), "error")
        return redirect(_back())
    except ValidationError as error:
        for problem in error.problems:
            flash(gettext("Графік: %(problem)s", problem=say(problem)), "error")
        return redirect(_back())
    flash(gettext("Зупинку додано до графіка."), "ok")
    return redirect(url_for("operator.point", point_id=point_id, _anchor="schedule"))


@bp.get("/planner/outages")
@login_required
def outage_page():
    """The outage list in the user's scope: whole regions, and one region's settlements."""
    scope = scope_of(g.user)
    current = outages.visible(store(), g.user)
    shown = request.args.get("region", "")
    settlements = []
    if shown:
        snapshot = current_app.extensions["locator.operator_index"].sync()
        every = planner_settlements(current_app.extensions["locator.gazetteer"], snapshot)
        settlements = sorted(
            (s for s in every if fold(s.region) == fold(shown) and scope.sees(s.region, s.name)),
            key=lambda s: (-s.population, s.name),
        )
    regions = [names[0] for names in sorted(REGIONS.values())]
    return render_template(
        "operator/planner_outages.html",
        current=current,
        history=store().planner.outage_history(),
        whole={e.region for e in current.entries if not e.settlement},
        marked={(e.region, e.settlement) for e in current.entries if e.settlement},
        regions=[r for r in regions if scope.touches(r)],
        own={r for r in regions if outages.entry_in_scope(scope, OutageEntry(r))},
        shown=shown,
        settlements=settlements,
        may_write=g.user.role.value != "viewer",
    )


@bp.post("/planner/outages")
@login_required
def save_outages():
    """Save the ticked regions and settlements (of the region shown) as this user's part."""
    form = request.form
    expected = whole_number(form.get("version", "")) or 0
    shown = form.get("shown", "")
    pairs = [(region, "") for region in form.getlist("regions")]
    pairs += [tuple(value.split("|", 1)) for value in form.getlist("settlements") if "|" in value]
    current = outages.visible(store(), g.user)
    others = (e for e in current.entries if e.settlement and fold(e.region) != fold(shown))
    pairs += [(e.region, e.settlement) for e in others]
    try:
        outages.mark(store(), g.user, outages.clean_entries(pairs), expected)
    except (Forbidden, ValueError):
        abort(403)
    except VersionConflict:
        flash(gettext("Список відключень щойно змінили. Перевірте його і повторіть."), "error")
    else:
        flash(gettext("Список відключень збережено."), "ok")
    return redirect(url_for("operator_planner.outage_page", region=shown or None))


def _staged(kind: str) -> Path | None:
    """The upload saved to a temporary file with its suffix, or None (a flash says why)."""
    upload = request.files.get("file")
    suffix = Path(upload.filename or "").suffix.lower() if upload else ""
    if not upload or suffix not in UPLOAD_SUFFIXES:
        flash(gettext("Оберіть файл GeoJSON, CSV або GeoPackage."), "error")
        return None
    path = Path(tempfile.gettempdir()) / f"planner-{kind}-{secrets.token_hex(12)}{suffix}"
    upload.save(path)
    return path


def _rejected(error: PlannerFileRejected) -> None:
    flash(gettext("Файл не пройшов перевірку; нічого не змінено."), "error")
    for row, problem in error.problems[:PROBLEMS_SHOWN]:
        message = say(problem)
        flash(gettext("Рядок %(row)d: %(problem)s", row=row, problem=message) if row else message, "error")
    if len(error.problems) > PROBLEMS_SHOWN:
        flash(gettext("…і ще %(n)d.", n=len(error.problems) - PROBLEMS_SHOWN), "error")


@bp.post("/planner/outages/import")
@login_required
def import_outages():
    """Replace this user's part of the outage list by a file's (all or nothing)."""
    path = _staged("outages")
    if path is None:
        return redirect(url_for("operator_planner.outage_page"))
    try:
        entries = outages.clean_entries(read_outages(path))
        outages.mark(store(), g.user, entries, whole_number(request.form.get("version", "")) or 0)
    except PlannerFileRejected as error:
        _rejected(error)
    except (Forbidden, ValueError) as error:
        flash(gettext("Файл не прийнято; нічого не змінено: %(why)s", why=str(error)[:200]), "error")
    except VersionConflict:
        flash(gettext("Список відключень щойно змінили. Перевірте його і повторіть."), "error")
    else:
        flash(gettext("Список відключень збережено."), "ok")
    finally:
        path.unlink(missing_ok=True)
    return redirect(url_for("operator_planner.outage_page"))


@bp.post("/planner/files")
@login_required
def upload_file():
    """Keep a settlements or candidate-sites file for this user (all or nothing)."""
    kind = request.form.get("kind", "")
    if kind not in FILE_KINDS:
        abort(400)
    path = _staged(kind)
    if path is not None:
        name = Path(request.files["file"].filename or "").name
        try:
            kept = planner_files.upload(store(), g.user, kind, path, name)
        except PlannerFileRejected as error:
            _rejected(error)
        else:
            flash(gettext("Файл прийнято: %(n)d рядків.", n=len(kept.rows)), "ok")
        finally:
            path.unlink(missing_ok=True)
    return redirect(url_for("operator_planner.planner", _anchor="files"))


@bp.post("/planner/files/remove")
@login_required
def remove_file():
    """Forget this user's file of a kind (the planner goes back to GeoNames or the settlements)."""
    kind = request.form.get("kind", "")
    if kind not in FILE_KINDS:
        abort(400)
    store().planner.drop_file(g.user.id, kind)
    flash(gettext("Файл прибрано."), "ok")
    return redirect(url_for("operator_planner.planner", _anchor="files"))
