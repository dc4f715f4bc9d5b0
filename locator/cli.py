"""Flask CLI: `flask --app app points|users|db ...`. Thin shells over files and store."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from locator import config
from locator.domain.point import format_time, utcnow
from locator.domain.users import NEVER, TOKEN_LIFETIME, ApiToken, Role, parse_lifetime
from locator.services import accounts, hours, imports, places
from locator.services.actors import system_actor
from locator.store import ImportSummary, NotFoundError, Store, UserStore
from locator.store import backup as backups

points_cli = AppGroup("points", help="Import and export points.")
users_cli = AppGroup("users", help="Manage console users and API tokens.")
db_cli = AppGroup("db", help="Back up and restore the database.")


def seed_if_empty(app: Flask) -> ImportSummary | None:
    """Fill an empty database from LOCATOR_SEED_FILE (the demo data), if that file is there.

    Never done by create_app: a web worker must not load geopandas to start. The serve script
    runs ``flask --app app points seed`` before the server starts."""
    store: Store = app.extensions["locator.store"]
    setting = app.config["SEED_FILE"]
    path = config.project_path(setting)
    if not setting or store.count() > 0 or not path.is_file():
        return None
    from locator.io.files import ImportLimits  # geopandas: loaded by this command only

    batch = imports.read_file(path, ImportLimits.from_config(app.config))
    territory = app.extensions["locator.territory"]
    return imports.apply_import(store, territory, system_actor(f"seed:{path.name}"), batch)


@points_cli.command("seed")
def seed_command() -> None:
    """Import LOCATOR_SEED_FILE into an empty database (a database with points is left alone).

    Example: flask --app app points seed
    """
    summary = seed_if_empty(current_app)
    if summary is None:
        click.echo("nothing seeded: the database has points, or LOCATOR_SEED_FILE is empty or missing")
    else:
        click.echo(f"seeded {len(summary.added)} points from {current_app.config['SEED_FILE']}")


@points_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--replace", is_flag=True, help="Delete points that are not in the file.")
@click.option("--dry-run", is_flag=True, help="Validate and report, write nothing.")
def import_command(file: str, replace: bool, dry_run: bool) -> None:
    """Import points from GeoJSON, CSV (lat/lon columns) or any format geopandas reads.

    Every feature is checked first; if any is invalid, each problem is listed and nothing
    changes.

    Example: flask --app app points import data/points.geojson --replace
    """
    from locator.io.files import ImportLimits, ImportRejected  # geopandas: only for this command

    try:
        batch = imports.read_file(file, ImportLimits.from_config(current_app.config))
    except ImportRejected as rejected:
        for problem in rejected.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(
            f"{file}: {len(rejected.problems)} problem(s); nothing was imported"
        ) from None
    if dry_run:
        click.echo(f"{file}: {len(batch)} valid points; nothing written (dry run)")
        return
    actor = system_actor(f"import:{Path(file).name}")
    territory = current_app.extensions["locator.territory"]
    summary = imports.apply_import(_store(), territory, actor, batch, replace=replace)
    click.echo(
        f"{file}: {len(summary.added)} added, {len(summary.changed)} changed, "
        f"{len(summary.unchanged)} unchanged, {len(summary.removed)} removed"
    )


@points_cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
def export_command(file: str) -> None:
    """Export every point to GeoJSON, CSV or GeoPackage, chosen by the extension.

    Example: flask --app app points export /tmp/points.csv
    """
    from locator.io.files import write_points  # geopandas: only for this command

    stale_after = timedelta(hours=current_app.config["STALE_HOURS"])
    try:
        count = write_points(_store().all(), file, stale_after=stale_after)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{file}: {count} points written")


NOTES_LISTED = 20  # points whose text stayed a note, listed by migrate-hours


@points_cli.command("migrate-hours")
@click.option("--dry-run", is_flag=True, help="Report what would be set, write nothing.")
def migrate_hours_command(dry_run: bool) -> None:
    """Read free-text hours ("Пн–Пт 09:00–18:00", "цілодобово") into opening_hours; text that
    does not read without doubt stays as it is (a note). A history row per write; safe to rerun.

    Example: flask --app app points migrate-hours --dry-run
    """
    territory = current_app.extensions["locator.territory"]
    done = hours.migrate_hours(_store(), territory, system_actor("migrate-hours"), dry_run=dry_run)
    click.echo(
        f"opening_hours {'would be ' if dry_run else ''}set from the text: {len(done.parsed)};"
        f" kept as a note: {len(done.kept_as_note)}; already set: {len(done.already_set)};"
        f" no hours given: {len(done.no_hours)}; changed meanwhile (run again): {len(done.skipped)}"
    )
    notes = {p.id: p.hours for p in _store().all()}
    for point_id in done.kept_as_note[:NOTES_LISTED]:
        click.echo(f"  kept as a note: {point_id}: {_printable(notes.get(point_id, ''))}")


def _users() -> UserStore:
    return current_app.extensions["locator.users"]


@users_cli.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--region", "regions", multiple=True, help="A region the operator may edit (repeatable).")
@click.option(
    "--settlement",
    "settlements",
    multiple=True,
    help='A settlement the operator may edit, in its region: NAME, or "NAME (REGION)" if names repeat.',
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user(name: str, role: str, regions, settlements, password_stdin: bool) -> None:
    """Create a console user; prompts for the password (twice) unless --password-stdin.

    Example: flask --app app users create olena --role operator --region "Київська область"
    """
    if role == Role.OPERATOR and not (regions or settlements):
        raise click.ClickException("an operator needs at least one --region or --settlement")
    try:
        regions, settlements = places.scope_entries(
            current_app.extensions["locator.gazetteer"], regions, settlements
        )
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")  # click.get_text_stream is deprecated
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = _users().create(name, accounts.hash_password(password), role, regions, settlements)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"user {user.name} created: {user.role.value}, scope {user.scope_text}")


@users_cli.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
@click.option(
    "--keep-tokens",
    is_flag=True,
    help="Leave the user's API tokens working (by default a new password revokes them all).",
)
def set_password(name: str, password_stdin: bool, keep_tokens: bool) -> None:
    """Set a user's password (prompted twice unless --password-stdin); ends their sessions and
    revokes their API tokens, unless --keep-tokens.

    A password is changed when it may have leaked, and whatever leaked it may hold tokens too.

    Example: echo "$NEW_PASSWORD" | flask --app app users passwd olena --password-stdin
    """
    try:
        _users().get_by_name(name)
    except NotFoundError:
        raise click.ClickException(f"no user named {name!r}") from None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        _users().set_password(name, accounts.hash_password(password), revoke_tokens=not keep_tokens)
    except ValueError as error:  # too short
        raise click.ClickException(str(error)) from None
    except NotFoundError:  # removed meanwhile
        raise click.ClickException(f"no user named {name!r}") from None
    tokens = "their API tokens keep working" if keep_tokens else "their API tokens are revoked"
    click.echo(f"password of {name} changed; their sessions have ended; {tokens}")


@users_cli.command("list")
def list_users() -> None:
    """List users with role, scope and state.

    Example: flask --app app users list
    """
    for user in _users().all():
        state = "disabled" if user.disabled else "active"
        click.echo(f"{user.name}\t{user.role.value}\t{state}\t{user.scope_text}")


@users_cli.command("disable")
@click.argument("name")
def disable_user(name: str) -> None:
    """Disable a user: their sessions end and every API token of theirs is revoked, for good.

    Example: flask --app app users disable olena
    """
    _set_disabled(name, True)
    click.echo(f"user {name} disabled; their sessions have ended and their API tokens are revoked")


@users_cli.command("enable")
@click.argument("name")
def enable_user(name: str) -> None:
    """Enable a disabled user again: they may log in; the tokens revoked by disable stay revoked
    (issue new ones with `users token`), so a re-enabled account revives no forgotten copy.

    Example: flask --app app users enable olena
    """
    _set_disabled(name, False)
    click.echo(f"user {name} enabled; no API token of theirs came back (issue new ones: users token)")


def _set_disabled(name: str, disabled: bool) -> None:
    try:
        _users().set_disabled(name, disabled)
    except NotFoundError:
        raise click.ClickException(f"no user named {name!r}") from None


class Lifetime(click.ParamType):
    """A token's lifetime as 12h, 90d, 2w or never (domain/users.parse_lifetime)."""

    name = "lifetime"

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value  # a timedelta or None: converted already
        try:
            return parse_lifetime(value)
        except ValueError as error:
            self.fail(str(error), param, ctx)


@users_cli.command("token")
@click.argument("name")
@click.option("--label", default="", help="What the token is for.")
@click.option(
    "--expires",
    "lifetime",
    type=Lifetime(),
    default=f"{TOKEN_LIFETIME.days}d",
    show_default=True,
    help=f"How long the token works: 12h, 90d, 2w (up to 730d), or {NEVER!r} for no expiry.",
)
def create_token(name: str, label: str, lifetime) -> None:
    """Create an API token for a user and print it once; only its digest is stored. It expires
    after --expires; the token alone goes to standard output, its id and expiry to stderr.

    Example: flask --app app users token olena --label "hromada sync" --expires 30d
    """
    token, digest = accounts.new_token()
    try:
        issued = _users().add_token(name, digest, label, lifetime=lifetime)
    except NotFoundError:
        raise click.ClickException(f"no user named {name!r}") from None
    except ValueError as error:  # a disabled user
        raise click.ClickException(str(error)) from None
    click.echo(token)
    click.echo(f"token {issued.id} for {name}, expires {_when(issued.expires_at, NEVER)}", err=True)


@users_cli.command("tokens")
@click.argument("name")
def list_tokens(name: str) -> None:
    """List a user's API tokens (never the secret): id, label, created, expires, last used (to
    the hour), state (active, expired or revoked). Times are UTC.

    Example: flask --app app users tokens olena
    """
    try:
        tokens = _users().tokens(name)
    except NotFoundError:
        raise click.ClickException(f"no user named {name!r}") from None
    now = utcnow()
    click.echo("id\tlabel\tcreated\texpires\tlast used\tstate")
    for token in tokens:
        click.echo(
            f"{token.id}\t{_printable(token.label)}\t{_when(token.created_at)}\t"
            f"{_when(token.expires_at, NEVER)}\t{_when(token.last_used_at)}\t{_state(token, now)}"
        )


@users_cli.command("revoke")
@click.argument("token_id", type=click.IntRange(min=1), metavar="TOKEN_ID")
def revoke_token(token_id: int) -> None:
    """Revoke one API token (its id from `users tokens NAME`): it earns nothing from the next
    request on, and stays revoked; the user's other tokens keep working.

    Example: flask --app app users revoke 7
    """
    try:
        token = _users().revoke_token(token_id)
    except NotFoundError:
        raise click.ClickException(f"no API token with id {token_id}") from None
    label = f" ({_printable(token.label)})" if token.label else ""
    click.echo(f"token {token.id}{label} of {token.user} is revoked since {_when(token.revoked_at)}")


def _when(moment, none: str = "-") -> str:
    return format_time(moment) if moment else none


def _state(token: ApiToken, now) -> str:
    state = token.state(now)
    return f"revoked {_when(token.revoked_at)}" if state == "revoked" else state


def _printable(text: str) -> str:
    """Text someone typed, safe on a terminal: control characters (escapes, tabs) shown as '?'."""
    return "".join(c if c.isprintable() else "?" for c in text)


def _store() -> Store:
    return current_app.extensions["locator.store"]


def _describe(info: backups.DatabaseInfo) -> str:
    return (
        f"{info.points} points, {info.history} history rows, change counter {info.seq},"
        f" schema {info.schema_version}, {info.size_bytes:,} bytes"
    )


@db_cli.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
def backup_command(path: str) -> None:
    """Copy the database to PATH, consistently, while the site runs and writes.

    The copy is checked with PRAGMA integrity_check before it replaces PATH.

    Example: flask --app app db backup /var/backups/locator/locator-2026112312.db
    """
    try:
        info = backups.backup(_store().path, path)
    except (backups.BackupError, OSError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{path}: {_describe(info)}; integrity ok")


@db_cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore_command(path: str, yes: bool) -> None:
    """Replace every point, user and report with those in the backup at PATH.

    The backup is checked first (integrity, one of our databases, a schema this release knows);
    if it fails, nothing changes. The current database is backed up beside itself first.
    Running workers see the restored data at their next request; console users log in again.

    Example: flask --app app db restore /var/backups/locator/locator-2026112312.db --yes
    """
    store = _store()
    try:
        info = backups.check_database(path)
    except backups.BackupError as error:
        raise click.ClickException(f"refused, nothing changed: {error}") from None
    click.echo(f"{path}: {_describe(info)}; integrity ok")
    if not yes:
        click.confirm(f"Replace everything in {store.path} with this backup?", abort=True)
    live = Path(store.path)
    safety = live.with_name(f"{live.stem}.before-restore-{utcnow():%Y%m%dT%H%M%SZ}{live.suffix}")
    try:
        backups.backup(live, safety)
        backups.restore(store, path)
    except (backups.BackupError, OSError) as error:
        raise click.ClickException(f"refused, nothing changed: {error}") from None
    click.echo(f"the database before the restore is in {safety}")
    click.echo(f"restored {info.points} points; change counter now {store.change_seq()}")


def init_app(app: Flask) -> None:
    app.cli.add_command(points_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(db_cli)
