"""Flask CLI: `flask --app app points import|export ...`. Thin shells over files and store."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from . import auth, files
from .store import ImportSummary, NotFoundError, Store, UserStore

points_cli = AppGroup("points", help="Import and export points.")
users_cli = AppGroup("users", help="Manage console users and API tokens.")


def seed(store: Store, path: Path) -> ImportSummary | None:
    """Fill an empty database from the demo file, if it is there."""
    if not path.is_file():
        return None
    batch = files.read_points(path)
    return store.import_points(batch, by=f"seed:{path.name}", untimed=batch.untimed)


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
    try:
        points = files.read_points(file)
    except files.ImportRejected as rejected:
        for problem in rejected.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(
            f"{file}: {len(rejected.problems)} problem(s); nothing was imported"
        ) from None
    store: Store = current_app.extensions["locator.store"]
    if dry_run:
        click.echo(f"{file}: {len(points)} valid points; nothing written (dry run)")
        return
    summary = store.import_points(
        points, replace=replace, by=f"import:{Path(file).name}", untimed=points.untimed
    )
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
    store: Store = current_app.extensions["locator.store"]
    stale_after = timedelta(hours=current_app.config["STALE_HOURS"])
    try:
        count = files.write_points(store.all(), file, stale_after=stale_after)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{file}: {count} points written")


def _users() -> UserStore:
    return current_app.extensions["locator.users"]


@users_cli.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice([r.value for r in auth.Role]), required=True)
@click.option("--region", "regions", multiple=True, help="A region the operator may edit (repeatable).")
@click.option("--settlement", "settlements", multiple=True, help="A settlement the operator may edit.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user(name: str, role: str, regions, settlements, password_stdin: bool) -> None:
    """Create a console user; prompts for the password (twice) unless --password-stdin.

    Example: flask --app app users create olena --role operator --region "Київська область"
    """
    if role == auth.Role.OPERATOR and not (regions or settlements):
        raise click.ClickException("an operator needs at least one --region or --settlement")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")  # click.get_text_stream is deprecated
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = _users().create(name, auth.hash_password(password), role, regions, settlements)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"user {user.name} created: {user.role.value}, scope {user.scope_text}")


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
    token, digest = auth.new_token()
    try:
        _users().add_token(name, digest, label)
    except NotFoundError:
        raise click.ClickException(f"no user named {name!r}") from None
    click.echo(token)


def init_app(app: Flask) -> None:
    app.cli.add_command(points_cli)
    app.cli.add_command(users_cli)
