"""`flask --app app db ...`: back up, restore, and move a SQLite database to PostgreSQL.

On SQLite a backup is a checked copy of the file (store/backup.py); on PostgreSQL a checked
``pg_dump -Fc`` (store/pg_backup.py). No db command ever seeds demo data: create_app imports
nothing, and these commands write only what they are asked to.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from locator.domain.point import utcnow
from locator.store import backup as backups

db_cli = AppGroup("db", help="Back up and restore the database; move it to PostgreSQL.")


def _store():
    return current_app.extensions["locator.store"]


def _on_postgres() -> bool:
    return _store().dialect == "postgresql"


def _describe(info: backups.DatabaseInfo) -> str:
    checked = "read back by pg_restore" if _on_postgres() else "integrity ok"
    return (
        f"{info.points} points, {info.history} history rows, change counter {info.seq},"
        f" schema {info.schema_version}, {info.size_bytes:,} bytes; {checked}"
    )


@db_cli.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
def backup_command(path: str) -> None:
    """Copy the database to PATH, consistently, while the site runs and writes.

    SQLite: the copy passes PRAGMA integrity_check before it replaces PATH. PostgreSQL:
    pg_dump in custom format, read back by pg_restore before it replaces PATH.

    Example: flask --app app db backup /var/backups/locator/locator-2026112312.db
    """
    try:
        if _on_postgres():
            from locator.store import pg_backup

            info = pg_backup.backup(_store(), path)
        else:
            info = backups.backup(_store().path, path)
    except (backups.BackupError, OSError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{path}: {_describe(info)}")


@db_cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore_command(path: str, yes: bool) -> None:
    """Replace every point, user and report with those in the backup at PATH.

    The backup is checked first (readable, one of our databases, a schema this release knows);
    if it fails, nothing changes. The current database is backed up beside the backup first
    (SQLite: beside itself). Running workers, on every node, see the restored data at their
    next request; console users log in again.

    Example: flask --app app db restore /var/backups/locator/locator-2026112312.db --yes
    """
    store = _store()
    stamp = f"before-restore-{utcnow():%Y%m%dT%H%M%SZ}"
    try:
        if _on_postgres():
            from locator.store import pg_backup as module

            info = module.check_dump(path)
            safety = Path(path).with_name(f"{Path(path).stem}.{stamp}.dump")
        else:
            module = backups
            info = backups.check_database(path)
            live = Path(store.path)
            safety = live.with_name(f"{live.stem}.{stamp}{live.suffix}")
    except backups.BackupError as error:
        raise click.ClickException(f"refused, nothing changed: {error}") from None
    click.echo(f"{path}: {_describe(info)}")
    if not yes:
        click.confirm(f"Replace everything in {store.path} with this backup?", abort=True)
    try:
        if _on_postgres():
            module.backup(store, safety)
        else:
            backups.backup(store.path, safety)
        module.restore(store, path)
    except (backups.BackupError, OSError) as error:
        raise click.ClickException(f"refused, nothing changed: {error}") from None
    click.echo(f"the database before the restore is in {safety}")
    click.echo(f"restored {info.points} points; change counter now {store.change_seq()}")


@db_cli.command("migrate-to-postgres")
@click.argument("sqlite_file", type=click.Path(exists=True, dir_okay=False))
def migrate_to_postgres_command(sqlite_file: str) -> None:
    """Copy a SQLite database (points, history, stops, reports, users, tokens) into the empty
    PostgreSQL database at LOCATOR_DATABASE_URL.

    Every table is counted and checksummed on both sides before the copy is committed; any
    difference or error leaves the PostgreSQL database as it was. The SQLite file is only read.

    Example: LOCATOR_DATABASE_URL=postgresql://poi@db1/poi \\
      flask --app app db migrate-to-postgres instance/locator.db
    """
    if not _on_postgres():
        raise click.ClickException("set LOCATOR_DATABASE_URL to the PostgreSQL database to copy into")
    from locator.store.pg_copy import copy_sqlite

    try:
        copied = copy_sqlite(sqlite_file, _store())
    except (backups.BackupError, OSError) as error:
        raise click.ClickException(f"refused, nothing changed: {error}") from None
    for table, (rows, checksum) in copied.items():
        click.echo(f"  {table}: {rows} rows, sha256 {checksum[:16]}… on both sides")
    click.echo(f"copied {sqlite_file} into {_store().path}; counts and checksums match")
