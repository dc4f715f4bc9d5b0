"""A file's records checked into Points: every problem of every row in one pass, or a PointBatch.

The readers (io/files.py, io/sheet.py, io/plain_geojson.py) give plain records, each with its
number: a CSV's spreadsheet row (the header is row 1) or a feature's 1-based number. Each record
is validated (domain/validation.py) and its place checked (search/regions.py Territory: bounds,
region), even when its fields are wrong, and repeated ids are found: a spreadsheet's user fixes
every problem in one go. No geopandas here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from locator.domain.parsers import parse_lat, parse_lon, parse_stops
from locator.domain.point import Point
from locator.domain.validation import Problem, ValidationError, parse_point
from locator.search.regions import Territory

ROW, FEATURE, FILE = "row", "feature", "file"  # what a FeatureProblem's number counts


@dataclass(frozen=True)
class ImportLimits:
    """What one import file may be: LOCATOR_IMPORT_MAX_BYTES, _MAX_FEATURES, and the territory
    (LOCATOR_BOUNDS, regions from coordinates) every point must fit, as any other write's must."""

    max_bytes: int = 50 * 1024 * 1024
    max_features: int = 200_000
    territory: Territory = field(default_factory=Territory)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ImportLimits:
        return cls(config["IMPORT_MAX_BYTES"], config["IMPORT_MAX_FEATURES"], Territory(config["BOUNDS"]))


@dataclass(frozen=True)
class FeatureProblem:
    """One problem of one row (CSV: its spreadsheet row, the header is row 1) or feature (its
    1-based number) of a file, or of the whole file (unit FILE)."""

    number: int
    point_id: str | None
    problem: Problem
    unit: str = FEATURE

    def __str__(self) -> str:
        if self.unit == FILE:
            return f"{self.problem.message}"
        who = f"{self.unit} {self.number}" + (f" (id {self.point_id})" if self.point_id else "")
        return f"{who}: {self.problem}"


class PointBatch(list):
    """The points of one file, plus the ids of those that did not say when they were verified.

    An import is not a confirmation (issue 17): a point whose row carries no verified_at is
    never confirmed (verified_at None, stale), unless the store keeps an operator's confirmation
    of the same status and place (store/imports.py). A verified_at the file carries is the
    partner's claim, kept, but never later than the import.
    """

    def __init__(self, points: list[Point], untimed: frozenset[str]):
        super().__init__(points)
        self.untimed = untimed


class ImportRejected(ValueError):
    """The file cannot be imported; nothing was written. Given a template (and its values), the
    one problem of the whole file."""

    def __init__(self, problems: list[FeatureProblem] | str, **params: Any):
        if isinstance(problems, str):
            problems = [whole_file(problems, **params)]
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def whole_file(template: str, **params: Any) -> FeatureProblem:
    return FeatureProblem(0, None, Problem.of("file", template, **params), FILE)


def checked(
    read: Records, name: str, now: datetime, limits: ImportLimits, *, confirmed_at: datetime | None = None
) -> PointBatch:
    """The records of one file validated into Points, or ImportRejected with every problem of
    every record: its fields, its place (bounds, region) and a repeated id, all in one pass.
    Rows without verified_at get confirmed_at: None (never confirmed), except for the demo's seed."""
    records = read.records
    if len(records) > limits.max_features:
        raise ImportRejected(
            "{name} holds {count} features, more than the limit of {limit} (LOCATOR_IMPORT_MAX_FEATURES)",
            name=name,
            count=f"{len(records):,}",
            limit=f"{limits.max_features:,}",
        )
    # A spreadsheet's user thinks in columns lat and lon; a GeoJSON's position is its geometry.
    position_field = "lat" if read.unit == ROW else "geometry"
    points: list[Point] = []
    problems = [FeatureProblem(number, None, problem, read.unit) for number, problem in read.problems]
    first_number: dict[str, int] = {}
    untimed: set[str] = set()
    for number, record in zip(read.numbers, records, strict=True):
        point_id = raw_id(record.get("id"))
        found, point = _record_problems(record, now, limits.territory, position_field)
        if point is not None:
            point_id = point.id
        if point_id is not None:
            if point_id in first_number:
                found.append(
                    Problem.of(
                        "id",
                        "duplicate id, first used in " + read.unit + " {number}",
                        number=first_number[point_id],
                    )
                )
            else:
                first_number[point_id] = number
        if found:
            problems.extend(FeatureProblem(number, point_id, p, read.unit) for p in found)
            continue
        if _blank(record.get("verified_at")):
            untimed.add(point.id)
            point = point.with_changes(verified_at=confirmed_at)
        elif point.verified_at > now:  # (validation allows 5 minutes of clock skew)
            point = point.with_changes(verified_at=now)
        points.append(point)
    if problems:
        problems.sort(key=lambda p: p.number)  # (a sheet's unreadable rows were put first)
        raise ImportRejected(problems)
    return PointBatch(points, frozenset(untimed))


def _blank(value: Any) -> bool:
    """No value, as parse_point reads one (None, blank text, NaN)."""
    return value is None or (isinstance(value, str) and not value.strip()) or value != value


def raw_id(value: Any) -> str | None:
    """The id a row carries, as text, for its problems ("" and None: none)."""
    return None if value in (None, "") else str(value).strip() or None


def _record_problems(
    record: dict[str, Any], now: datetime, territory: Territory, position_field: str
) -> tuple[list[Problem], Point | None]:
    """Every problem of one record (its fields, then its place), and its Point when it has none."""
    found: list[Problem] = []
    geometry = record.pop("__geometry__", None)
    if geometry is not None:
        found.append(Problem.of("geometry", "expected a Point, got a {kind}", kind=geometry))
    try:
        point = parse_point(record, now=now)
    except ValidationError as error:
        position = {"lat", "lon"} if geometry is not None else set()  # (not given: said above)
        found.extend(p for p in error.problems if p.field not in position)
        found.extend(_place_problems(record, territory, position_field, {p.field for p in error.problems}))
        return found, None
    try:
        # A file's region follows its coordinates (our own export of a mobile point at a
        # stop gives the stop's place with its home region); the dry run shows the change.
        point = territory.settle(point, follow=True, position_field=position_field)
    except ValidationError as error:
        found.extend(error.problems)
    return found, None if found else point


def _place_problems(
    record: dict[str, Any], territory: Territory, position_field: str, refused: set[str]
) -> list[Problem]:
    """A record whose fields are wrong may lie out of the area too: said now, not after the
    other problems are fixed. Only what parsed is checked (a bad lat is already a problem)."""
    if {"lat", "lon"} & refused:
        lat = lon = None
    else:
        lat, lon = parse_lat(record.get("lat")), parse_lon(record.get("lon"))
    stops = () if "stops" in refused or record.get("stops") in (None, "") else parse_stops(record["stops"])
    found = territory.position_problems(lat, lon, stops, position_field)
    region = record.get("region")
    if "region" not in refused and isinstance(region, str) and region.strip():
        if problem := territory.region_problem(region.strip()):
            found.append(problem)
    return found


@dataclass
class Records:
    """A file's records, each with its number: a CSV's spreadsheet row, else a feature's."""

    records: list[dict[str, Any]]
    numbers: list[int]
    unit: str = FEATURE
    problems: list[tuple[int, Problem]] = field(default_factory=list)  # rows that could not be read

    @classmethod
    def features(cls, records: list[dict[str, Any]]) -> Records:
        return cls(records, list(range(1, len(records) + 1)))
