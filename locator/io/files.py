"""Import and export through geopandas: any readable file -> validated Points, and back.

All or nothing: ``read_points`` validates every feature and raises ``ImportRejected`` with every
problem it found, every problem of every row in one pass (where: a CSV's spreadsheet row, the
header being row 1, or a feature's 1-based number; and its id; io/batch.py), before anything
can be written. Files are bounded (``ImportLimits``: size, number of features, an area every
point must lie in) and read strictly: text must be UTF-8, and a declared coordinate reference
system must be one we can convert from.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio.errors
from pyproj import CRS
from pyproj.exceptions import CRSError

from locator.domain.point import Point, utcnow
from locator.domain.validation import Invalid, Problem
from locator.io import file_guard, gcpause, plain_geojson
from locator.io.batch import (
    ROW,
    FeatureProblem,
    ImportLimits,
    ImportRejected,
    PointBatch,
    Records,
    checked,
    raw_id,
    whole_file,
)
from locator.io.features import CSV_COLUMNS, csv_row, feature_collection, point_feature, points_csv
from locator.io.sheet import read_sheet

__all__ = ["FeatureProblem", "ImportLimits", "ImportRejected", "PointBatch", "read_points", "write_points"]

WGS84 = "EPSG:4326"
CSV_SUFFIXES = (".csv", ".txt")
GEOJSON_SUFFIXES = (".geojson", ".json")
TEXT_SUFFIXES = CSV_SUFFIXES + GEOJSON_SUFFIXES  # read as UTF-8 by us before any parser
# GDAL reports a coordinate system it cannot parse only as a warning, then reads the file as if
# it had none: such a warning must refuse the file, or metres would be taken for degrees.
CRS_WARNING = re.compile(r"\b(srs|crs|spatial ?ref|projection|coordinate (reference )?system)", re.IGNORECASE)
NOT_UTF8 = "text that is not UTF-8 (Windows-1251 or Latin-1?): save the file as UTF-8"


def read_points(
    path: str | Path,
    *,
    now: datetime | None = None,
    limits: ImportLimits | None = None,
    confirmed_at: datetime | None = None,
) -> PointBatch:
    """Every point in the file, validated and within limits; raise ImportRejected listing every
    problem of every row (its row or feature number and id). A row without verified_at is never
    confirmed (confirmed_at: the demo seed's stand-in for operators)."""
    path, limits = Path(path), limits or ImportLimits()
    with gcpause.paused():
        read = _read_records(path, limits)
        return checked(read, path.name, now or utcnow(), limits, confirmed_at=confirmed_at)


def _read_records(path: Path, limits: ImportLimits) -> Records:
    """Plain dicts (id, name, ..., lat, lon) from any format geopandas or pandas reads."""
    if not path.is_file():
        raise ImportRejected("{name} is not a file", name=path.name)
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise ImportRejected(
            "{name} is {size} bytes, more than the limit of {limit} (LOCATOR_IMPORT_MAX_BYTES)",
            name=path.name,
            size=f"{size:,}",
            limit=f"{limits.max_bytes:,}",
        )
    suffix = path.suffix.lower()
    text = _read_text(path) if suffix in TEXT_SUFFIXES else None
    if suffix in CSV_SUFFIXES:
        try:
            return _csv_records(text)
        except Exception as error:  # any reader failure is the file's fault, not ours
            said = error if isinstance(error, Invalid) else str(error)
            raise ImportRejected("cannot read {name}: {error}", name=path.name, error=said) from None
    # Plain GeoJSON in WGS84 without GDAL and pandas (issue 5: 2 s, not 10, for 100,000 points).
    records = plain_geojson.read_records(text) if suffix in GEOJSON_SUFFIXES else None
    return Records.features(records) if records is not None else _gdal_records(path, text)


def _gdal_records(path: Path, text: str | None) -> Records:
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
            record["__geometry__"] = geometry.geom_type
        else:
            record["lon"], record["lat"] = geometry.x, geometry.y
        records.append(record)
    return Records.features(records)


def _csv_records(text: str) -> Records:
    """Rows of a CSV file (io/sheet.py: its separator, decimal commas, row numbers); cells our
    export guarded against formula injection read back as stored."""
    sheet = read_sheet(text)
    return Records([_clean_record(r) for r in sheet.records], sheet.rows, ROW, sheet.problems)


def _read_text(path: Path) -> str:
    """The file as UTF-8 text (a byte order mark is dropped); anything else is refused, naming
    the rows it garbles. Windows-1251 is not guessed: any bytes read as it, so a wrong guess
    would store garbled names without a word (docs/operators.md says how to save UTF-8)."""
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data:
        raise ImportRejected(
            "{name} is not UTF-8 text (it looks like UTF-16): save the file as UTF-8", name=path.name
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        whole = whole_file(
            "{name} holds " + NOT_UTF8 + " (byte 0x{byte} on line {line})",
            name=path.name,
            byte=f"{data[error.start]:02X}",
            line=data.count(b"\n", 0, error.start) + 1,
        )
        raise ImportRejected([whole, *_garbled(path, data.decode("utf-8-sig", errors="replace"))]) from None


def _garbled(path: Path, text: str) -> list[FeatureProblem]:
    """The rows or features of a wrongly encoded file that hold undecodable bytes (best effort)."""
    try:
        if path.suffix.lower() in CSV_SUFFIXES:
            read = _csv_records(text)
        else:
            document = json.loads(text)
            read = Records.features(
                [
                    {**(f.get("properties") or {}), "id": (f.get("properties") or {}).get("id", f.get("id"))}
                    for f in document.get("features", [])
                ]
            )
    except Exception:  # the file-level problem says enough
        return []
    return [
        FeatureProblem(number, raw_id(record.get("id")), Problem.of("encoding", NOT_UTF8), read.unit)
        for number, record in zip(read.numbers, read.records, strict=True)
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
