"""The console's import and export (admins): upload a file, see what it would add, change and
remove, then apply it; download every point.

locator.io.files loads geopandas: it is imported inside the views, so a web worker loads it only
when an admin imports or exports, never at start.
"""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from locator.console.session import admin_required, bp, stale_after, store, territory
from locator.domain.point import utcnow
from locator.domain.scope import Forbidden
from locator.services import imports as commands
from locator.web.messages import UNIT, say

UPLOAD_SUFFIXES = (".geojson", ".json", ".csv", ".gpkg")
# The names _plan stages files under: any other name in the apply form is "not found" (a name of
# 10,000 characters made the file system's check raise, a 500; issue 16).
STAGED_NAME = re.compile(r"[0-9a-f]{24}\.(?:geojson|json|csv|gpkg)")
CHANGES_SHOWN = 200  # changed points whose fields the dry run lists (all are counted)


def _upload_dir() -> Path:
    """Where dry-run uploads wait to be applied; files older than LOCATOR_IMPORT_STAGED_HOURS
    are deleted each time it is asked for (each up to LOCATOR_IMPORT_MAX_BYTES: they must not
    pile up)."""
    path = Path(store().path).parent / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    oldest = time.time() - current_app.config["IMPORT_STAGED_HOURS"] * 3600
    for staged in path.iterdir():
        try:
            if staged.stat().st_mtime < oldest:
                staged.unlink()
        except OSError:
            pass  # (another worker deleted it first)
    return path


@bp.route("/import", methods=["GET", "POST"])
@admin_required
def import_points():
    """Upload a file, see what would be added, changed and rejected, then apply it."""
    _upload_dir()  # (each visit also deletes the uploads left too long)
    if request.method == "POST":
        return _apply() if request.form.get("apply") else _plan()
    return _page(None)


def _page(report: dict | None):
    return render_template(
        "operator/import.html", report=report, say=say, UNIT=UNIT, CHANGES_SHOWN=CHANGES_SHOWN
    )


def _apply():
    from locator.io.files import ImportLimits, ImportRejected  # geopandas: see the module's docstring

    name = request.form.get("staged", "")
    staged = _upload_dir() / name  # (looked at only once the name is one _plan gives)
    if not STAGED_NAME.fullmatch(name) or not staged.is_file():
        flash(gettext("Файл для імпорту не знайдено; завантажте його ще раз."), "error")
        return redirect(url_for("operator.import_points"))
    try:
        batch = commands.read_file(staged, ImportLimits.from_config(current_app.config))
        replace = request.form.get("replace") == "1"
        summary = commands.apply_import(store(), territory(), g.user, batch, replace=replace)
    except ImportRejected:
        flash(gettext("Файл не пройшов перевірку; нічого не змінено."), "error")
        return redirect(url_for("operator.import_points"))
    except Forbidden:
        abort(403)
    finally:
        staged.unlink(missing_ok=True)
    flash(
        gettext(
            "Імпортовано: додано %(added)d, змінено %(changed)d, "
            "без змін %(unchanged)d, видалено %(removed)d.",
            added=len(summary.added),
            changed=len(summary.changed),
            unchanged=len(summary.unchanged),
            removed=len(summary.removed),
        ),
        "ok",
    )
    return redirect(url_for("operator.points"))


def _plan():
    """Stage the uploaded file and show its plan (or its problems); nothing is written."""
    from locator.io.files import ImportLimits, ImportRejected  # geopandas: see the module's docstring

    upload = request.files.get("file")
    suffix = Path(upload.filename or "").suffix.lower() if upload else ""
    if not upload or suffix not in UPLOAD_SUFFIXES:
        flash(gettext("Оберіть файл GeoJSON, CSV або GeoPackage."), "error")
        return redirect(url_for("operator.import_points"))
    staged = _upload_dir() / f"{secrets.token_hex(12)}{suffix}"
    upload.save(staged)
    replace = request.form.get("replace") == "1"
    report = {"staged": staged.name, "replace": replace, "name": upload.filename}
    try:
        batch = commands.read_file(staged, ImportLimits.from_config(current_app.config))
        report["plan"] = commands.plan_import(store(), territory(), g.user, batch, replace=replace)
    except ImportRejected as rejected:
        report["rejected"] = rejected.problems
        report["unit"] = next((p.unit for p in rejected.problems if p.unit != "file"), "file")
        staged.unlink(missing_ok=True)
    except Forbidden:
        staged.unlink(missing_ok=True)
        abort(403)
    return _page(report)


@bp.get("/export.<fmt>")
@admin_required
def export(fmt: str):
    """Download every point (archived included) as GeoJSON or CSV."""
    from locator.io import files  # geopandas: see the module's docstring

    if fmt not in ("geojson", "csv"):
        abort(404)
    target = _upload_dir() / f"export-{secrets.token_hex(8)}.{fmt}"
    try:
        files.write_points(store().all(), target, stale_after=stale_after())
        body = target.read_bytes()
    finally:
        target.unlink(missing_ok=True)
    mimetype = "application/geo+json" if fmt == "geojson" else "text/csv"
    response = current_app.response_class(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="points-{utcnow():%Y%m%d-%H%M}.{fmt}"'
    return response
