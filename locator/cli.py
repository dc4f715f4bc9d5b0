"""Flask CLI: `flask --app app points|users|db ...`. Thin shells over files and store."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from locator import config
from locator.domain.point import utcnow
from locator.domain.users import Role
from locator.services import accounts, imports, places
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
def set_password(name: str, password_stdin: bool) -> None:
    """Set a user's password (prompted twice unless --password-stdin); ends their sessions.

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
        _users().set_password(name, accounts.hash_password(password))
    except ValueError as error:  # too short
        raise click.ClickException(str(error)) from None
    except NotFoundError:  # removed meanwhile
        raise click.ClickException(f"no user named {name!r}") from None
    click.echo(f"password of {name} changed; their sessions have ended")


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
    """Disable a user: their sessions and API tokens stop working at once.

    Example: flask --app app users disable olena
    """
    _set_disabled(name, True)


@users_cli.command("enable")
@click.argument("name")
def enable_user(name: str) -> None:
    """Enable a disabled user again.

    Example: flask --app app users enable olena
    """
    _set_disabled(name, False)


def _set_disabled(name: str, disabled: bool) -> None:
    try:
        _users().set_disabled(name, disabled)
    except NotFoundError:
        raise click.ClickException(f"no user named {name!r}") from None
    click.echo(f"user {name} {'disabled' if disabled else 'enabled'}")


@users_cli.command("token")
@click.argument("name")
@click.option("--label", default="", help="What the token is for.")
def create_token(name: str, label: str) -> None:
    """Create an API token for a user and print it once; only its digest is stored.

    Example: flask --app app users token olena --label "hromada sync"
    """
    token, digest = accounts.new_token()
    try:
        _users().add_token(name, digest, label)
    except NotFoundError:
        raise click.ClickException(f"no user named {name!r}") from None
    click.echo(token)


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
