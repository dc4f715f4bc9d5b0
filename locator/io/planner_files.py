"""The planner's own files in (issue 19): settlements with populations, and candidate sites.

A planner with better data than GeoNames (a regional administration's list, a wartime count)
replaces the settlements; a list of school yards or fuel stations replaces the candidate sites.
Files are GeoPackage, GeoJSON or CSV (name, region, population, lat/lon or a point geometry).
All or nothing: every problem of every row is reported at once (``PlannerFileRejected``), as
the points' import does. A settlement's region comes from its coordinates (search/regions.py);
a region the file states must agree with them, so a file cannot move people into a scope.
geopandas is loaded only to read a GeoPackage or GeoJSON, inside read_table.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from locator.domain.validation import MAX_TEXT, Invalid, Problem, clean_text, parse_coordinate
from locator.io import file_guard
from locator.io.sheet import read_sheet
from locator.search.planning import Site
from locator.search.regions import canonical_region
from locator.search.regions import shared as region_map
from locator.search.settlements import REGIONS, Settlement

MAX_ROWS = 100_000  # more settlements than Ukraine has
MAX_POPULATION = 10_000_000  # more than any one place
MAX_PROBLEMS = 100  # reported at once; the rest are counted
LAT_NAMES, LON_NAMES = ("lat", "latitude"), ("lon", "lng", "longitude")
ENGLISH = {names[0]: names[1] for names in REGIONS.values()}


class PlannerFileRejected(ValueError):
    """The file cannot be used; ``problems`` are (row, Problem), row 0 for the whole file."""

    def __init__(self, problems: list[tuple[int, Problem]]):
        self.problems = problems
        shown = "; ".join(f"row {row}: {problem}" if row else str(problem) for row, problem in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(shown + more)


def read_table(path: str | Path) -> tuple[list[dict[str, Any]], list[int]]:
    """A file's rows as records with lat/lon, and each row's number as its reader would show it
    (a CSV's spreadsheet row, a feature's 1-based number)."""
    path = Path(path)
    if path.suffix.lower() in (".csv", ".txt"):
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise PlannerFileRejected([(0, Problem("file", "not UTF-8: save the file as UTF-8"))]) from None
        try:
            sheet = read_sheet(text)
        except (Invalid, ValueError) as error:
            raise PlannerFileRejected([(0, Problem.from_error("file", error))]) from None
        if sheet.problems:
            raise PlannerFileRejected(sheet.problems)
        return sheet.records, sheet.rows
    return _read_geo(path)


def _read_geo(path: Path) -> tuple[list[dict[str, Any]], list[int]]:
    """A GeoPackage or GeoJSON, read by GDAL only once file_guard has recognised it (issue 16)."""
    text = None
    if path.suffix.lower() in file_guard.GEOJSON_SUFFIXES:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise PlannerFileRejected([(0, Problem("file", "not UTF-8: save the file as UTF-8"))]) from None
    try:
        file_guard.check(path, text)
    except file_guard.NotAllowed as refused:
        raise PlannerFileRejected([(0, Problem("file", str(refused)))]) from None
    import geopandas as gpd
    import pyogrio.errors

    try:
        frame = gpd.read_file(path)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError, ValueError) as error:
        detail = file_guard.without_paths(str(error), path)
        raise PlannerFileRejected([(0, Problem("file", f"cannot read the file: {detail}"))]) from None
    if frame.crs is not None and frame.geometry.notna().any():
        frame = frame.to_crs("EPSG:4326")
    records = []
    for record, shape in zip(
        frame.drop(columns=frame.geometry.name).to_dict("records"), frame.geometry, strict=True
    ):
        if shape is not None and not shape.is_empty and shape.geom_type == "Point":
            record.setdefault("lat", shape.y)
            record.setdefault("lon", shape.x)
        records.append(record)
    return records, list(range(1, len(records) + 1))


def _first(record: dict[str, Any], names: Iterable[str]) -> Any:
    return next((record[name] for name in names if name in record and _present(record[name])), None)


def _present(value: Any) -> bool:
    return (
        value is not None
        and not (isinstance(value, float) and math.isnan(value))
        and str(value).strip() != ""
    )


def _position(record: dict[str, Any], problems: list[Problem]) -> tuple[float, float] | None:
    lat, lon = _first(record, LAT_NAMES), _first(record, LON_NAMES)
    if lat is None or lon is None:
        problems.append(Problem("lat", "no coordinates: give lat and lon, or a point geometry"))
        return None
    try:
        return parse_coordinate(lat, -90, 90), parse_coordinate(lon, -180, 180)
    except ValueError as error:
        problems.append(Problem.from_error("lat" if lat is not None else "lon", error))
        return None


def parse_population(value: Any) -> int:
    """A count of people: a whole number 0..MAX_POPULATION ("12 345" and 12345.0 too)."""
    if isinstance(value, bool):
        raise Invalid("expected a whole number of people")
    if isinstance(value, str):
        text = value.strip().replace(" ", "").replace("\u00a0", "").replace("_", "")
        if not (text.isascii() and text.isdigit() and len(text) <= 9):
            raise Invalid("expected a whole number of people")
        value = int(text)
    if isinstance(value, float):
        if not value.is_integer():
            raise Invalid("expected a whole number of people")
        value = int(value)
    if not isinstance(value, int) or not 0 <= value <= MAX_POPULATION:
        raise Invalid("must be a whole number between 0 and {high}", high=MAX_POPULATION)
    return value


def _region(stated: Any, lat: float, lon: float, problems: list[Problem]) -> str:
    located = region_map().locate(lat, lon)
    if not located.region:
        problems.append(Problem("lat", "these coordinates lie in none of Ukraine's regions"))
        return ""
    if _present(stated):
        named = canonical_region(str(stated))
        if named is None:
            problems.append(Problem("region", f"unknown region {str(stated)[:60]!r}"))
        elif named and named not in located.nearby:
            problems.append(Problem("region", f"{named}, but the coordinates lie in {located.region}"))
    return located.region


def _rows(records: list[dict[str, Any]], rows: list[int], make) -> list:
    """Each record through make(record, problems), all or nothing."""
    if not records:
        raise PlannerFileRejected([(0, Problem("file", "the file has no rows"))])
    if len(records) > MAX_ROWS:
        raise PlannerFileRejected([(0, Problem("file", f"more than {MAX_ROWS} rows"))])
    found, rejected = [], []
    for record, row in zip(records, rows, strict=True):
        problems: list[Problem] = []
        made = make(record, problems)
        if problems:
            rejected.extend((row, problem) for problem in problems)
        else:
            found.append(made)
    if rejected:
        raise PlannerFileRejected(rejected[:MAX_PROBLEMS])
    return found


def _name(record: dict[str, Any], problems: list[Problem]) -> str:
    try:
        name = clean_text(record.get("name"), MAX_TEXT)
    except ValueError as error:
        problems.append(Problem.from_error("name", error))
        return ""
    if not name:
        problems.append(Problem("name", "required"))
    return name


def settlements_from(records: list[dict[str, Any]], rows: list[int]) -> list[Settlement]:
    """Records (name, population, lat/lon, optional region) as Settlements (source "file")."""

    def make(record: dict[str, Any], problems: list[Problem]) -> Settlement | None:
        name = _name(record, problems)
        try:
            population = parse_population(record.get("population", ""))
        except ValueError as error:
            problems.append(Problem.from_error("population", error))
            population = 0
        position = _position(record, problems)
        if position is None:
            return None
        region = _region(record.get("region"), *position, problems)
        return Settlement(name, name, region, ENGLISH.get(region, region), *position, population, 0, "file")

    return _rows(records, rows, make)


def sites_from(records: list[dict[str, Any]], rows: list[int]) -> list[Site]:
    """Records (name, lat/lon) as candidate sites; their region from the coordinates."""

    def make(record: dict[str, Any], problems: list[Problem]) -> Site | None:
        name = _name(record, problems)
        position = _position(record, problems)
        if position is None:
            return None
        region = _region(record.get("region"), *position, problems)
        return Site(name, *position, region)

    return _rows(records, rows, make)


def read_settlements(path: str | Path) -> list[Settlement]:
    """A settlements file (GeoPackage, GeoJSON or CSV), validated; PlannerFileRejected."""
    return settlements_from(*read_table(path))


def read_sites(path: str | Path) -> list[Site]:
    """A candidate-sites file (GeoPackage, GeoJSON or CSV), validated; PlannerFileRejected."""
    return sites_from(*read_table(path))


def outages_from(records: list[dict[str, Any]], rows: list[int]) -> list[tuple[str, str]]:
    """Records (region, and settlement or name; or lat/lon for the region) as (region,
    settlement) pairs; a row without a settlement marks its whole region."""

    def make(record: dict[str, Any], problems: list[Problem]) -> tuple[str, str] | None:
        try:
            settlement = clean_text(_first(record, ("settlement", "name")) or "", MAX_TEXT)
        except ValueError as error:
            problems.append(Problem.from_error("settlement", error))
            return None
        stated = _first(record, ("region",))
        if _present(stated):
            region = canonical_region(str(stated))
            if not region:
                problems.append(Problem("region", f"unknown region {str(stated)[:60]!r}"))
            return region or "", settlement
        position = _position(record, problems)
        if position is None:
            return None
        return _region(None, *position, problems), settlement

    return _rows(records, rows, make)


def read_outages(path: str | Path) -> list[tuple[str, str]]:
    """An outage list file (CSV, GeoPackage or GeoJSON), validated; PlannerFileRejected."""
    return outages_from(*read_table(path))
