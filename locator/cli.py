"""Flask CLI: `flask --app app points import|export ...`. Thin shells over files and store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from . import files
from .store import ImportSummary, Store

points_cli = AppGroup("points", help="Import and export points.")


def seed(store: Store, path: Path) -> ImportSummary | None:
    """Fill an empty database from the demo file, if it is there."""
    if not path.is_file():
        return None
    return store.import_points(files.read_points(path), by=f"seed:{path.name}")


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
    summary = store.import_points(points, replace=replace, by=f"import:{Path(file).name}")
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


def init_app(app: Flask) -> None:
    app.cli.add_command(points_cli)
