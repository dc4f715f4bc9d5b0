"""Plain GeoJSON read with orjson, without GDAL: the records geopandas would give, or None.

Issue 5: geopandas (GDAL, then pandas) spends ~10 s of the 30 s budget reading 100,000 points;
orjson and one pass per property column take ~2 s. GDAL types each column from all its values
(whole numbers beside nulls become floats, "\\u0000" ends a string; dates and clock times stay
text, as io/files.py asks GDAL), so a column is read here only in the shapes whose GDAL result is known, and
tests/test_import_fast.py holds both readers to the same points on random files. Anything else
(a declared CRS, another geometry, a mixed column, a foreign member) returns None and the file
goes through geopandas as before.
"""

from __future__ import annotations

import json
from itertools import repeat
from typing import Any

import orjson

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # GDAL refuses the file past these
FEATURE_MEMBERS = frozenset(("type", "id", "geometry", "properties"))
POINT_MEMBERS = frozenset(("type", "coordinates"))
RESERVED_COLUMNS = frozenset(("", "geometry", "__geometry__"))  # geopandas' or io/files.py's own
NUMBER = (int, float)


def read_records(text: str) -> list[dict[str, Any]] | None:
    """Plain dicts (properties, then lon and lat), as files._gdal_records makes them; None when
    the file is not plain GeoJSON in WGS84 of a shape read here."""
    if '"crs"' in text or "\\u0000" in text:  # a declared CRS is checked on the geopandas path
        return None
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:  # GDAL reads some of these (NaN); it words the problem too
        return None
    if type(document) is not dict or document.get("type") != "FeatureCollection":
        return None
    features = document.get("features")
    if type(features) is not list:
        return None
    records: list[dict[str, Any]] = []
    places: list[tuple[float, float] | None] = []
    for feature in features:
        split = _split(feature)
        if split is None:
            return None
        records.append(split[0])
        places.append(split[1])
    if not _columns_as_gdal_reads_them(records):
        return None
    for record, place in zip(records, places, strict=True):
        if place is None:  # no geometry: lat and lon from the properties, if any
            record.setdefault("lat", None)
            record.setdefault("lon", None)
        else:
            record["lon"], record["lat"] = place
    return records


def _split(feature: Any) -> tuple[dict[str, Any], tuple[float, float] | None] | None:
    """(properties, (lon, lat) or None) of a plain Feature with a Point or no geometry."""
    if type(feature) is not dict or feature.get("type") != "Feature" or not feature.keys() <= FEATURE_MEMBERS:
        return None
    properties = feature.get("properties")
    if properties is None:
        properties = {}
    elif type(properties) is not dict:
        return None
    if "id" in feature:  # GDAL's choice between the two ids is left to it, unless they agree
        if type(feature["id"]) is not str or properties.get("id") != feature["id"]:
            return None
    if "geometry" not in feature:
        return None
    geometry = feature["geometry"]
    if geometry is None:
        return properties, None
    if type(geometry) is not dict or geometry.keys() != POINT_MEMBERS or geometry["type"] != "Point":
        return None
    coordinates = geometry["coordinates"]
    if type(coordinates) is not list or len(coordinates) not in (2, 3):
        return None
    for number in coordinates:
        if type(number) not in NUMBER or (type(number) is int and not INT64_MIN <= number <= INT64_MAX):
            return None
    return properties, (float(coordinates[0]), float(coordinates[1]))


def _columns_as_gdal_reads_them(records: list[dict[str, Any]]) -> bool:
    """Give each property the value GDAL and pandas would (in place); False when unsure."""
    # Each record's names and value types, in C (a loop per value costs 4 times as much).
    types = map(tuple, map(map, repeat(type), map(dict.values, records)))
    shapes = set(zip(map(tuple, records), types, strict=True))
    kinds: dict[str, set[type]] = {}
    for names, kinds_here in shapes:
        for name, kind in zip(names, kinds_here, strict=True):
            kinds.setdefault(name, set()).add(kind)
    if kinds.keys() & RESERVED_COLUMNS or len({name.casefold() for name in kinds}) != len(kinds):
        return False
    for name, found in kinds.items():
        # A name some features lack is null there, to GDAL as to pandas.
        nullable = type(None) in found or any(name not in names for names, _ in shapes)
        found.discard(type(None))
        if not found:
            continue
        if found == {str}:
            if not _text_column(name, records):
                return False
        elif found == {int} or found == {bool}:
            numbers = [value for value in map(dict.get, records, repeat(name)) if value is not None]
            if min(numbers) < INT64_MIN or max(numbers) > INT64_MAX:
                return False
            if nullable:  # pandas holds a missing whole number as NaN: the rest become floats
                _to_float(name, records)
        elif found <= {int, float}:
            _to_float(name, records)
        elif found == {list}:
            items: set[type] = set()
            for value in map(dict.get, records, repeat(name)):
                if value:
                    items.update(map(type, value))
            if not (items <= {str} or items == {dict}):  # string lists, or JSON (a schedule)
                return False
        else:
            return False
    return True


def _text_column(name: str, records: list[dict[str, Any]]) -> bool:
    """A string column: text as it is (GDAL too, reading GeoJSON with DATE_AS_STRING)."""
    if name == "services":  # as files._clean_record: a JSON list written as text
        for record in records:
            value = record.get(name)
            if value is not None and value.startswith("["):
                try:
                    record[name] = json.loads(value)
                except (ValueError, RecursionError):  # (nested past ~1,000 levels: text, as it is)
                    pass
    return True


def _to_float(name: str, records: list[dict[str, Any]]) -> None:
    for record in records:
        value = record.get(name)
        if value is not None:
            record[name] = float(value)
