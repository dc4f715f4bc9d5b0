"""Flask CLI: `flask --app app points|users|db ...`. Thin shells over files and store."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from locator import config
from locator.cli_db import db_cli
from locator.cli_users import printable, users_cli
from locator.domain.point import utcnow
from locator.services import hours, imports
from locator.services.actors import system_actor
from locator.services.region_visibility import apply_region_visibility
from locator.store import ImportSummary, Store

points_cli = AppGroup("points", help="Import and export points.")


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

    # Demo data only: its points without a time count as confirmed at seeding, standing in for
    # the operators a demo has not got (a real import never confirms; docs/operators.md).
    batch = imports.read_file(path, ImportLimits.from_config(app.config), confirmed_at=utcnow())
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

    Every feature is checked first; if any is invalid, every problem of every row is listed
    (CSV: the spreadsheet's row number, the header being row 1; GeoJSON: the feature's number
    from 1) and nothing changes. --dry-run also lists each changed field, from what, to what.

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
    actor = system_actor(f"import:{Path(file).name}")
    territory = current_app.extensions["locator.territory"]
    if dry_run:
        summary = imports.plan_import(_store(), territory, actor, batch, replace=replace)
        click.echo(
            f"{file}: {len(batch)} valid points; would add {len(summary.added)}, change"
            f" {len(summary.changed)}, leave {len(summary.unchanged)} unchanged, remove"
            f" {len(summary.removed)}; nothing written (dry run)"
        )
        for point_id in summary.changed:
            for field, old, new in summary.changes[point_id]:
                # As JSON text: a value's quotes and line breaks are shown, never acted on.
                click.echo(f"  {point_id}: {field}: {_shown(old)} -> {_shown(new)}")
        return
    summary = imports.apply_import(_store(), territory, actor, batch, replace=replace)
    click.echo(
        f"{file}: {len(summary.added)} added, {len(summary.changed)} changed, "
        f"{len(summary.unchanged)} unchanged, {len(summary.removed)} removed"
    )


def _shown(value: str | None) -> str:
    return json.dumps(value, ensure_ascii=False)


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
        click.echo(f"  kept as a note: {point_id}: {printable(notes.get(point_id, ''))}")


@points_cli.command("apply-region-visibility")
@click.option("--dry-run", is_flag=True, help="List what would change, write nothing.")
def apply_region_visibility_command(dry_run: bool) -> None:
    """Make the points stored in LOCATOR_APPROXIMATE_REGIONS approximate (hidden ones stay hidden).

    New points and points moved there follow the setting by themselves; the points stored before
    a region was listed keep their visibility until this runs. A history row per point; safe to
    rerun. It also undoes an admin's later choice to make such a point public: check --dry-run.

    Example: flask --app app points apply-region-visibility --dry-run
    """
    territory = current_app.extensions["locator.territory"]
    actor = system_actor("apply-region-visibility")
    done = apply_region_visibility(_store(), territory, actor, dry_run=dry_run)
    click.echo(
        f"made as private as their region's default{' (dry run)' if dry_run else ''}: {len(done.changed)};"
        f" changed meanwhile (run again): {len(done.skipped)}"
    )
    for point_id in done.changed[:NOTES_LISTED]:
        click.echo(f"  {printable(point_id)}")


def _store() -> Store:
    return current_app.extensions["locator.store"]


def init_app(app: Flask) -> None:
    app.cli.add_command(points_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(db_cli)
