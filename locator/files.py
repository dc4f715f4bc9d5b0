"""Import and export through geopandas: any readable file -> validated Points, and back.

All or nothing: ``read_points`` validates every feature and raises ``ImportRejected`` with every
problem it found (feature index and id) before anything can be written.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .features import CSV_COLUMNS, csv_row, feature_collection, point_feature
from .model import Point, Problem, ValidationError, parse_point, utcnow

WGS84 = "EPSG:4326"
CSV_SUFFIXES = (".csv", ".txt")


@dataclass(frozen=True)
class FeatureProblem:
    index: int  # 0-based position of the feature (CSV: data row) in the file
    point_id: str | None
    problem: Problem

    def __str__(self) -> str:
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


def read_points(path: str | Path, *, now: datetime | None = None) -> PointBatch:
    """Every point in the file, validated; raise ImportRejected listing every problem."""
    path = Path(path)
    records = _read_records(path)
    now = now or utcnow()
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


def _read_records(path: Path) -> list[dict[str, Any]]:
    """Plain dicts (id, name, ..., lat, lon) from any format geopandas or pandas reads."""
    if not path.is_file():
        raise ImportRejected(f"{path} is not a file")
    try:
        if path.suffix.lower() in CSV_SUFFIXES:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
            return [_clean_record(row) for row in frame.to_dict("records")]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pyogrio warns about columns it leaves as text
            frame = gpd.read_file(path, datetime_as_string=True)
    except ImportRejected:
        raise
    except Exception as error:  # any reader failure is the file's fault, not ours
        raise ImportRejected(f"cannot read {path.name}: {error}") from None
    if frame.crs is not None and not frame.crs.equals(WGS84):
        frame = frame.to_crs(WGS84)
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
            except ValueError:
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
        collection = feature_collection([point_feature(p, now, stale_after) for p in points])
        path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    elif suffix == ".csv":
        frame = pd.DataFrame([csv_row(p) for p in points], columns=list(CSV_COLUMNS))
        frame.to_csv(path, index=False)
    elif suffix == ".gpkg":
        rows = [csv_row(p) for p in points]
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
