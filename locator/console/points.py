"""Blueprint /operator: the console where SES staff keep every point's status true, from a phone."""

from __future__ import annotations

import secrets
import time
from collections import Counter
from datetime import timedelta
from functools import wraps
from pathlib import Path

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
from werkzeug.utils import secure_filename

from locator.domain.filters import PointFilter
from locator.domain.point import (
    EDITABLE_FIELDS,
    OPERATOR_STATUSES,
    SERVICES,
    Category,
    Kind,
    Point,
    Status,
    utcnow,
)
from locator.domain.users import Role
from locator.domain.validation import ValidationError, parse_enum
from locator.io import files
from locator.services.accounts import check_password
from locator.store import NotFoundError, VersionConflict
from locator.web import labels
from locator.web.maps import build_map

bp = Blueprint("operator", __name__, url_prefix="/operator")

LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5  # then the account is refused for the rest of the window
MAX_FAILURES_PER_ADDRESS = 20
SLOWDOWN_PER_FAILURE_S = 0.2  # each recent failure delays the answer a little more...
MAX_SLOWDOWN_S = 1.5  # ...up to this
PROBLEM_ORDER = {Status.UNCONFIRMED: 0, Status.CLOSED: 1, Status.FULL: 2, Status.STANDBY: 3, Status.OPEN: 4}
UPLOAD_SUFFIXES = (".geojson", ".json", ".csv", ".gpkg")
LIST_LIMIT = 300  # rows on one page of "my points"; a phone should not render thousands


def _store():
    return current_app.extensions["locator.store"]


def _users():
    return current_app.extensions["locator.users"]


def _stale_after() -> timedelta:
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


def _point_or_404(point_id: str) -> Point:
    try:
        return _store().get(point_id)
    except NotFoundError:
        abort(404)


def _editable_point(point_id: str) -> Point:
    point = _point_or_404(point_id)
    if not g.user.may_edit(point):
        abort(403)
    return point


def _version() -> int | None:
    raw = request.form.get("version", "")
    return int(raw) if raw.isdigit() else None


def _save(point: Point, changes: dict, message: str, *, verify: bool = True):
    """Write through the store; a newer version elsewhere sends the operator back to look."""
    try:
        _store().update(point.id, changes, by=g.user.name, expected_version=_version(), verify=verify)
    except VersionConflict:
        flash(gettext("Хтось щойно змінив цей пункт. Перевірте актуальні дані та повторіть."), "error")
        return redirect(url_for("operator.point", point_id=point.id))
    except ValidationError as error:
        for problem in error.problems:
            flash(f"{labels.FIELD.get(problem.field, problem.field)}: {problem.message}", "error")
        return redirect(url_for("operator.point", point_id=point.id))
    flash(message, "ok")
    return redirect(url_for("operator.point", point_id=point.id))


# -- log in and out --------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in with name and password; repeated failures are slowed, then refused for a while."""
    error = None
    status = 200
    if request.method == "POST":
        name = request.form.get("name", "").strip()[:100]
        password = request.form.get("password", "")
        keys = [f"user:{name.casefold()}", f"addr:{request.remote_addr}"]
        users = _users()
        since = utcnow() - LOGIN_WINDOW
        account_failures = users.login_failures(keys[0], since)
        address_failures = users.login_failures(keys[1], since)
        if account_failures >= MAX_FAILURES_PER_ACCOUNT or address_failures >= MAX_FAILURES_PER_ADDRESS:
            minutes = int(LOGIN_WINDOW.total_seconds() // 60)
            error = gettext("Забагато невдалих спроб входу. Спробуйте знову за %(n)d хв.", n=minutes)
            status = 429
        else:
            time.sleep(min(MAX_SLOWDOWN_S, SLOWDOWN_PER_FAILURE_S * max(account_failures, address_failures)))
            user, password_hash = users.credentials(name)
            if user is not None and not user.disabled and check_password(password_hash, password):
                users.clear_login_failures(keys[0], older_than=since)
                session.clear()
                session.permanent = True
                session["uid"] = user.id
                session["sv"] = user.session_version
                session["at"] = int(utcnow().timestamp())  # the session ends SESSION_HOURS after this
                target = request.args.get("next", "")
                if not target.startswith("/operator") or target.startswith("//"):
                    target = url_for("operator.points")
                return redirect(target)
            users.record_login_failure(keys)
            error = gettext("Неправильне ім'я або пароль.")
            status = 401
    response = current_app.make_response((render_template("operator/login.html", error=error), status))
    if status == 429:
        response.headers["Retry-After"] = str(int(LOGIN_WINDOW.total_seconds()))
    return response


@bp.post("/logout")
def logout():
    """Log out on every device: the user's session version moves, so every cookie goes stale."""
    if g.get("user") is not None:
        _users().end_sessions(g.user.id)
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
        user = _users().get(uid)
    except NotFoundError:
        session.clear()
        return
    max_age_s = current_app.config["SESSION_HOURS"] * 3600
    expired = utcnow().timestamp() - session.get("at", 0) > max_age_s
    if user.disabled or session.get("sv") != user.session_version or expired:
        session.clear()
        return
    g.user = user


# -- my points ---------------------------------------------------------------------------------


@bp.get("/")
@login_required
def points():
    """List the points I look after, stale and problem points first."""
    store = _store()
    status = request.args.get("status", "")
    region = request.args.get("region", "").strip()
    only_stale = request.args.get("stale") == "1"
    show_archived = request.args.get("archived") == "1"
    statuses = frozenset()
    if status:
        try:
            statuses = frozenset({parse_enum(Status, status)})
        except ValueError:
            statuses = frozenset()
    wanted = PointFilter(statuses=statuses, region=region, include_archived=show_archived)
    now, stale_after = utcnow(), _stale_after()
    user = g.user
    mine = [
        p
        for p in store.find(wanted)
        if (user.role is not Role.OPERATOR or user.may_edit(p))
        and (not only_stale or p.is_stale(now, stale_after))
        and (p.archived == show_archived)
    ]
    reports = store.reports.open_counts()
    # Citizens' open reports first, then stale, then by how much of a problem the status is.
    mine.sort(
        key=lambda p: (
            p.id not in reports,
            not p.is_stale(now, stale_after),
            PROBLEM_ORDER[p.public_status],
            p.name,
        )
    )
    return render_template(
        "operator/points.html",
        points=mine[:LIST_LIMIT],
        total=len(mine),
        now=now,
        stale_after=stale_after,
        reports={point_id: sum(counts.values()) for point_id, counts in reports.items()},
        statuses=list(Status),
        regions=store.regions(),
        chosen={"status": status, "region": region, "stale": only_stale, "archived": show_archived},
    )


@bp.get("/points/<point_id>")
@login_required
def point(point_id: str):
    """One point: big status buttons, services now, occupancy, note; move a mobile point."""
    current = _point_or_404(point_id)
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
    reports = _store().reports
    open_reports = reports.open_for(current.id)
    return render_template(
        "operator/point.html",
        point=current,
        here=here,
        current_stop=current.current_stop(now),
        fmap=fmap,
        settings={"map": fmap.name},
        may_edit=g.user.may_edit(current),
        now=now,
        stale=current.is_stale(now, _stale_after()),
        statuses=OPERATOR_STATUSES,
        open_reports=open_reports,
        report_counts=Counter(row["kind"] for row in open_reports),
        answered_reports=reports.answered_for(current.id, limit=20),
    )


@bp.post("/points/<point_id>/status")
@login_required
def update_status(point_id: str):
    """Save status, services working now, occupancy and note; the point counts as verified now."""
    point = _editable_point(point_id)
    changes = {"status": request.form.get("status", point.status.value)}
    if request.form.get("details") == "1":
        changes["services"] = request.form.getlist("services")
        changes["occupancy"] = request.form.get("occupancy", "")
        changes["note"] = request.form.get("note", "")
    label = labels.STATUS.get(changes["status"], changes["status"])
    return _save(point, changes, gettext("Збережено: %(status)s. Статус підтверджено зараз.", status=label))


@bp.post("/points/<point_id>/verify")
@login_required
def verify(point_id: str):
    """ "Still true": confirm the status as it is, now."""
    point = _editable_point(point_id)
    try:
        _store().confirm(point.id, by=g.user.name, expected_version=_version())
    except VersionConflict:
        flash(gettext("Хтось щойно змінив цей пункт. Перевірте актуальні дані."), "error")
        return redirect(url_for("operator.point", point_id=point.id))
    flash(gettext("Статус підтверджено."), "ok")
    return redirect(url_for("operator.point", point_id=point.id))


@bp.post("/points/<point_id>/move")
@login_required
def move(point_id: str):
    """Set a (mobile) point's location from the phone's GPS or a map click."""
    point = _editable_point(point_id)
    changes = {"lat": request.form.get("lat"), "lon": request.form.get("lon")}
    if request.form.get("address", "").strip():
        changes["address"] = request.form["address"]
    return _save(point, changes, gettext("Місце пункту оновлено."))


@bp.post("/points/<point_id>/archive")
@login_required
def archive(point_id: str):
    """Take a point off the public map (or bring it back); its history stays."""
    point = _editable_point(point_id)
    archived = request.form.get("archived") == "1"
    message = gettext("Пункт прибрано з публічної мапи.") if archived else gettext("Пункт повернуто на мапу.")
    return _save(point, {"archived": archived}, message, verify=False)


@bp.get("/points/<point_id>/history")
@login_required
def history(point_id: str):
    """Who changed what, from what, to what, when."""
    current = _point_or_404(point_id)
    return render_template(
        "operator/history.html", point=current, history=_store().history(point_id, limit=1000)
    )


# -- create and edit ---------------------------------------------------------------------------


def _form_record() -> dict:
    # Archiving and the schedule of stops have their own forms: an edit must keep them.
    record = {
        name: request.form.get(name, "") for name in EDITABLE_FIELDS if name not in ("archived", "stops")
    }
    record["services"] = request.form.getlist("services")
    for flag in ("base", "open_24_7"):
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
        if not g.user.may_edit_place(record.get("region", ""), record.get("settlement", "")):
            errors["region"] = gettext("Ви не можете створювати пункти в цьому регіоні чи населеному пункті.")
        else:
            try:
                created = _store().create(record, by=g.user.name)
            except ValidationError as error:
                errors = {p.field: p.message for p in error.problems}
            else:
                flash(gettext("Пункт створено."), "ok")
                return redirect(url_for("operator.point", point_id=created.id))
    return _edit_form(record, errors, new=True)


@bp.route("/points/<point_id>/edit", methods=["GET", "POST"])
@login_required
def edit(point_id: str):
    """Edit every field of a point."""
    point = _editable_point(point_id)
    errors: dict[str, str] = {}
    record = point.to_record()
    if request.method == "POST":
        record = _form_record() | {"id": point.id, "version": request.form.get("version", "")}
        if not g.user.may_edit_place(record["region"], record["settlement"]):
            errors["region"] = gettext("Цей регіон чи населений пункт поза вашою зоною.")
        else:
            try:
                _store().update(point.id, record, by=g.user.name, expected_version=_version())
            except ValidationError as error:
                errors = {p.field: p.message for p in error.problems}
                if "stops" in errors:  # the form has no schedule field: the kind is what to fix
                    errors["kind"] = gettext(
                        "Лише мобільний пункт має графік зупинок: спершу приберіть зупинки."
                    )
            except VersionConflict:
                flash(
                    gettext("Хтось щойно змінив цей пункт. Нижче актуальні дані; внесіть зміни ще раз."),
                    "error",
                )
                return redirect(url_for("operator.edit", point_id=point.id))
            else:
                flash(gettext("Зміни збережено."), "ok")
                return redirect(url_for("operator.point", point_id=point.id))
    return _edit_form(record, errors, new=False, version=point.version)


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
        ),
        status,
    )


# -- import and export (admins) ------------------------------------------------------------------


def _upload_dir() -> Path:
    path = Path(_store().path).parent / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


@bp.route("/import", methods=["GET", "POST"])
@admin_required
def import_points():
    """Upload a file, see what would be added, changed and rejected, then apply it."""
    report = None
    if request.method == "POST" and request.form.get("apply"):
        staged = _upload_dir() / secure_filename(request.form.get("staged", ""))
        if not staged.is_file() or not staged.name:
            flash(gettext("Файл для імпорту не знайдено; завантажте його ще раз."), "error")
            return redirect(url_for("operator.import_points"))
        try:
            batch = files.read_points(staged, limits=files.ImportLimits.from_config(current_app.config))
            summary = _store().import_points(
                batch, replace=request.form.get("replace") == "1", by=g.user.name, untimed=batch.untimed
            )
        except files.ImportRejected:
            flash(gettext("Файл не пройшов перевірку; нічого не змінено."), "error")
            return redirect(url_for("operator.import_points"))
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
    if request.method == "POST":
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
            batch = files.read_points(staged, limits=files.ImportLimits.from_config(current_app.config))
            report["plan"] = _store().plan_import(batch, replace=replace, untimed=batch.untimed)
        except files.ImportRejected as rejected:
            report["rejected"] = rejected.problems
            staged.unlink(missing_ok=True)
    return render_template("operator/import.html", report=report)


@bp.get("/export.<fmt>")
@admin_required
def export(fmt: str):
    """Download every point (archived included) as GeoJSON or CSV."""
    if fmt not in ("geojson", "csv"):
        abort(404)
    target = _upload_dir() / f"export-{secrets.token_hex(8)}.{fmt}"
    try:
        files.write_points(_store().all(), target, stale_after=_stale_after())
        body = target.read_bytes()
    finally:
        target.unlink(missing_ok=True)
    mimetype = "application/geo+json" if fmt == "geojson" else "text/csv"
    response = current_app.response_class(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="points-{utcnow():%Y%m%d-%H%M}.{fmt}"'
    return response


def init_app(app) -> None:
    app.before_request(load_user)
