"""Import and export through geopandas: any readable file -> validated Points, and back.

All or nothing: ``read_points`` validates every feature and raises ``ImportRejected`` with every
problem it found (feature index and id) before anything can be written. Files are bounded
(``ImportLimits``: size, number of features, an area every point must lie in) and read strictly:
text must be UTF-8, and a declared coordinate reference system must be one we can convert from.
"""

from __future__ import annotations

import io
import json
import math
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio.errors
from pyproj import CRS
from pyproj.exceptions import CRSError

from locator.domain.point import Point, utcnow
from locator.domain.validation import Problem, ValidationError, parse_point
from locator.io import file_guard, gcpause, plain_geojson
from locator.io.features import (
    CSV_COLUMNS,
    csv_row,
    feature_collection,
    point_feature,
    points_csv,
    unguard_cell,
)
from locator.search.regions import Territory

WGS84 = "EPSG:4326"
CSV_SUFFIXES = (".csv", ".txt")
GEOJSON_SUFFIXES = (".geojson", ".json")
TEXT_SUFFIXES = CSV_SUFFIXES + GEOJSON_SUFFIXES  # read as UTF-8 by us before any parser
# GDAL reports a coordinate system it cannot parse only as a warning, then reads the file as if
# it had none: such a warning must refuse the file, or metres would be taken for degrees.
CRS_WARNING = re.compile(r"\b(srs|crs|spatial ?ref|projection|coordinate (reference )?system)", re.IGNORECASE)
NOT_UTF8 = "text that is not UTF-8 (Windows-1251 or Latin-1?): save the file as UTF-8"


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
    index: int  # 0-based position of the feature (CSV: data row) in the file
    point_id: str | None
    problem: Problem

    def __str__(self) -> str:
        if self.index < 0:  # the whole file
            return f"{self.problem.message}"
        who = f"feature {self.index}" + (f" (id {self.point_id})" if self.point_id else "")
        return f"{who}: {self.problem}"


class PointBatch(list):
    """The points of one file, plus the ids of those that did not say when they were verified.

    A file without times (an official export, say) must not make every point look freshly
    confirmed: for those ids the import keeps the stored verification time unless something
    about the point changed.
    """

    def __init__(self, points: list[Point], untimed: frozenset[str]):
        super().__init__(points)
        self.untimed = untimed


class ImportRejected(ValueError):
    """The file cannot be imported; nothing was written."""

    def __init__(self, problems: list[FeatureProblem] | str):
        if isinstance(problems, str):
            problems = [FeatureProblem(-1, None, Problem("file", problems))]
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def read_points(
    path: str | Path, *, now: datetime | None = None, limits: ImportLimits = ImportLimits()
) -> PointBatch:
    """Every point in the file, validated and within limits; raise ImportRejected listing every
    problem (feature index and id)."""
    path = Path(path)
    with gcpause.paused():
        return _points(_read_records(path, limits), path, now or utcnow(), limits)


def _points(records: list[dict[str, Any]], path: Path, now: datetime, limits: ImportLimits) -> PointBatch:
    """The records of one file validated into Points, or ImportRejected with every problem."""
    if len(records) > limits.max_features:
        raise ImportRejected(
            f"{path.name} holds {len(records):,} features, more than the limit of"
            f" {limits.max_features:,} (LOCATOR_IMPORT_MAX_FEATURES)"
        )
    points: list[Point] = []
    problems: list[FeatureProblem] = []
    first_index: dict[str, int] = {}
    untimed: set[str] = set()
    for index, record in enumerate(records):
        point_id = record.get("id")
        point_id = None if point_id in (None, "") else str(point_id)
        if "__geometry__" in record:
            problems.append(FeatureProblem(index, point_id, Problem("geometry", record.pop("__geometry__"))))
            continue
        try:
            point = parse_point(record, now=now)
        except ValidationError as error:
            problems.extend(FeatureProblem(index, point_id, p) for p in error.problems)
            continue
        try:
            # A file's region follows its coordinates (our own export of a mobile point at a
            # stop gives the stop's place with its home region); the dry run shows the change.
            point = limits.territory.settle(point, follow=True, position_field="geometry")
        except ValidationError as error:
            problems.extend(FeatureProblem(index, point.id, p) for p in error.problems)
            continue
        if point.id in first_index:
            message = f"duplicate id, first used by feature {first_index[point.id]}"
            problems.append(FeatureProblem(index, point.id, Problem("id", message)))
            continue
        first_index[point.id] = index
        points.append(point)
        if record.get("verified_at") in (None, ""):
            untimed.add(point.id)
    if problems:
        raise ImportRejected(problems)
    return PointBatch(points, frozenset(untimed))


def _read_records(path: Path, limits: ImportLimits) -> list[dict[str, Any]]:
    """Plain dicts (id, name, ..., lat, lon) from any format geopandas or pandas reads."""
    if not path.is_file():
        raise ImportRejected(f"{path} is not a file")
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise ImportRejected(
            f"{path.name} is {size:,} bytes, more than the limit of {limits.max_bytes:,}"
            " (LOCATOR_IMPORT_MAX_BYTES)"
        )
    suffix = path.suffix.lower()
    text = _read_text(path) if suffix in TEXT_SUFFIXES else None
    if suffix in CSV_SUFFIXES:
        try:
            return _csv_records(text)
        except Exception as error:  # any reader failure is the file's fault, not ours
            raise ImportRejected(f"cannot read {path.name}: {error}") from None
    # Plain GeoJSON in WGS84 without GDAL and pandas (issue 5: 2 s, not 10, for 100,000 points).
    records = plain_geojson.read_records(text) if suffix in GEOJSON_SUFFIXES else None
    return records if records is not None else _gdal_records(path, text)


def _gdal_records(path: Path, text: str | None) -> list[dict[str, Any]]:
    """Plain dicts from a GeoJSON or GeoPackage file (text: the file's, when it is text), read by
    GDAL only once file_guard has recognised it."""
    try:
        declared = file_guard.check(path, text)
    except file_guard.NotAllowed as refused:
        raise ImportRejected(str(refused)) from None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # kept, not shown: some say the CRS was not understood
            # Text that looks like a date or a clock stays text: GDAL would otherwise read a
            # column of opening hours ("09:00–21:00") as times, and keep only 09:00:00.
            as_text = {"DATE_AS_STRING": "YES"} if path.suffix.lower() in GEOJSON_SUFFIXES else {}
            frame = gpd.read_file(path, datetime_as_string=True, **as_text)
    except (CRSError, pyogrio.errors.CRSError) as error:
        raise ImportRejected(
            f"{path.name}: its coordinate reference system cannot be read ({error})"
        ) from None
    except Exception as error:  # any reader failure is the file's fault, not ours
        raise ImportRejected(
            f"cannot read {path.name}: {file_guard.without_paths(str(error), path)}"
        ) from None
    for warning in caught:
        if CRS_WARNING.search(str(warning.message)):
            raise ImportRejected(
                f"{path.name} declares a coordinate reference system that cannot be read: {warning.message}"
            )
    if not isinstance(frame, gpd.GeoDataFrame):  # a table GDAL reads without geometry (wkbNone)
        raise ImportRejected(
            f"{path.name} has no geometry: points need one (a CSV may give lat and lon columns instead)"
        )
    frame = _to_wgs84(frame, _declared_crs(path, declared), path)
    records = []
    for row in frame.to_dict("records"):
        geometry = row.pop("geometry", None)
        record = _clean_record(row)
        if geometry is None or geometry.is_empty:
            record.setdefault("lat", None)
            record.setdefault("lon", None)
        elif geometry.geom_type != "Point":
            record["__geometry__"] = f"expected a Point, got a {geometry.geom_type}"
        else:
            record["lon"], record["lat"] = geometry.x, geometry.y
        records.append(record)
    return records


def _csv_records(text: str) -> list[dict[str, Any]]:
    """Rows of a CSV file; cells our export guarded against formula injection read back as stored."""
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    return [{k: unguard_cell(v) for k, v in _clean_record(row).items()} for row in frame.to_dict("records")]


def _read_text(path: Path) -> str:
    """The file as UTF-8 text; anything else is refused, naming the features it garbles."""
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data:
        raise ImportRejected(f"{path.name} is not UTF-8 text (it looks like UTF-16): save the file as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        whole = FeatureProblem(
            -1,
            None,
            Problem("file", f"{path.name} holds {NOT_UTF8} (byte 0x{data[error.start]:02X} on line {line})"),
        )
        raise ImportRejected([whole, *_garbled(path, data.decode("utf-8-sig", errors="replace"))]) from None


def _garbled(path: Path, text: str) -> list[FeatureProblem]:
    """The features of a wrongly encoded file that hold undecodable bytes (best effort)."""
    try:
        if path.suffix.lower() in CSV_SUFFIXES:
            records = _csv_records(text)
        else:
            document = json.loads(text)
            records = [
                {**(f.get("properties") or {}), "id": (f.get("properties") or {}).get("id", f.get("id"))}
                for f in document.get("features", [])
            ]
    except Exception:  # the file-level problem says enough
        return []
    return [
        FeatureProblem(
            index,
            None if record.get("id") in (None, "") else str(record.get("id")),
            Problem("encoding", NOT_UTF8),
        )
        for index, record in enumerate(records)
        if "\ufffd" in json.dumps(record, ensure_ascii=False, default=str)
    ]


def _declared_crs(path: Path, declared: dict[str, Any] | None) -> CRS | None:
    """The CRS a GeoJSON file names in its (pre-RFC 7946) "crs" member (file_guard has let only
    a named one through), or None.

    GDAL reads an unknown or garbled name as WGS84 without a word, so it is checked here.
    """
    if declared is None:
        return None
    properties = declared.get("properties")
    name = properties.get("name") if isinstance(properties, dict) else None
    if not isinstance(name, str):
        raise ImportRejected(
            f"{path.name} declares its coordinate reference system in a form that cannot be read"
            f" ({json.dumps(declared)[:200]}): name it (e.g. urn:ogc:def:crs:EPSG::3857) or use WGS84"
        )
    try:
        return CRS.from_user_input(name)
    except CRSError:
        raise ImportRejected(
            f"{path.name} declares an unknown coordinate reference system {name!r}"
        ) from None


def _to_wgs84(frame: gpd.GeoDataFrame, declared: CRS | None, path: Path) -> gpd.GeoDataFrame:
    """Coordinates in WGS84 longitude/latitude, converted from the declared CRS."""
    if declared is not None and (frame.crs is None or not declared.equals(frame.crs, ignore_axis_order=True)):
        frame = frame.set_crs(declared, allow_override=True)
    if frame.crs is None or frame.crs.equals(WGS84):
        return frame
    try:
        return frame.to_crs(WGS84)
    except Exception as error:
        raise ImportRejected(
            f"{path.name}: coordinates in {frame.crs.name} cannot be converted to WGS84 ({error})"
        ) from None


def _clean_record(row: dict[str, Any]) -> dict[str, Any]:
    """Pandas/numpy values as plain Python: NaN -> None, arrays -> lists, numbers unboxed."""
    record = {}
    for key, value in row.items():
        if isinstance(value, np.ndarray):
            value = [str(item) for item in value.tolist()]
        elif isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, float) and math.isnan(value):
            value = None
        if isinstance(value, str) and key == "services" and value.startswith("["):
            try:
                value = json.loads(value)
            except (ValueError, RecursionError):  # (nested past ~1,000 levels: text, as it is)
                pass
        record[str(key)] = value
    return record


def write_points(points: Iterable[Point], path: str | Path, *, stale_after: timedelta) -> int:
    """Write GeoJSON or CSV, chosen by the file's extension; return how many points."""
    path = Path(path)
    points = sorted(points, key=lambda p: p.id)
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json"):
        now = utcnow()
        # Stored positions and whole schedules: an export re-imports as exactly what it was.
        collection = feature_collection([point_feature(p, now, stale_after, as_stored=True) for p in points])
        path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    elif suffix == ".csv":
        path.write_text(points_csv(points, as_stored=True), encoding="utf-8")  # the API's CSV, as stored
    elif suffix == ".gpkg":
        rows = [csv_row(p, as_stored=True) for p in points]
        frame = gpd.GeoDataFrame(
            rows,
            columns=list(CSV_COLUMNS),
            geometry=gpd.points_from_xy([p.lon for p in points], [p.lat for p in points]),
            crs=WGS84,
        )
        frame.to_file(path, driver="GPKG", layer="points")
    else:
        raise ValueError(
            f"cannot export to {suffix or 'a file without extension'}: use .geojson, .csv or .gpkg"
        )
    return len(points)
