"""The import's fast paths (issue 5) against the plain ones: orjson against geopandas on random
GeoJSON, the store's row against Point.to_record, fold and parse_services against their
reference forms, and the garbage collector paused only while bulk work runs."""

from __future__ import annotations

import gc
import json
import random
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from locator.domain.filters import fold, search_text
from locator.domain.point import SERVICES, format_time, sorted_services
from locator.domain.validation import parse_point, parse_services
from locator.io import batch as batches
from locator.io import files, gcpause, plain_geojson
from locator.store import Store
from tests.helpers import FIXED_NOW, UKRAINE, random_points, random_record

LIMITS = files.ImportLimits()


def at(hours: float) -> str:
    return format_time(FIXED_NOW + timedelta(hours=hours))


def random_stops(rng: random.Random) -> list[dict[str, Any]]:
    """A mobile point's schedule, with coordinates of every precision."""
    stops = []
    for _ in range(rng.randrange(0, 4)):
        start = rng.uniform(-60, 60)
        stops.append(
            {
                "place": rng.choice(["Площа", "Школа №3", "Центр „Мрія“"]),
                "lat": round(rng.uniform(*UKRAINE[:2]), rng.choice([3, 6, 15])),
                "lon": rng.uniform(*UKRAINE[2:]),
                "starts_at": at(start),
                "ends_at": at(start + rng.uniform(0.5, 30)),
            }
        )
    return stops


PROBLEMS = (
    ("status", "closedd"),
    ("status", "UNCONFIRMED"),
    ("status", " Open "),  # valid: trimmed, lower case
    ("kind", "boat"),
    ("note", "a\x01b"),
    ("verified_at", "2025-02-30T10:00:00Z"),
    ("verified_at", at(24)),
    ("id", r"c:\x"),
    ("capacity", -3),
    ("lat", 99.5),
    ("lon", 10.0),  # outside the allowed area
)


def random_document(rng: random.Random, n: int) -> dict[str, Any]:
    """A FeatureCollection of the shapes the fast reader takes; each file picks its own column
    shapes (nulls beside whole numbers, lists or comma text, missing times, exports' ids...), and
    a few features carry problems, so rejections must match too."""
    style = {
        "capacity": rng.choice(["int", "int_or_null", "float_or_int", "missing"]),
        "services": rng.choice(["list", "text", "json_text"]),
        "base": rng.choice(["bool", "bool_or_null", "missing"]),
        "times": rng.choice(["all", "some", "blank", "none"]),
        "ids": rng.choice(["text", "text", "int", "digits", "export"]),
        # Whole columns of one shape that GDAL keeps as text, though made of digits, + or :.
        "phones": rng.choice(
            [("", "+380 44 123 45 67", "(044) 123-45-67"), ("+380 44 123 45 67", "0441234567")]
        ),
        "hours": rng.choice([("", "09:00–21:00", "цілодобово"), ("цілодобово", "Пн–Пт 9:00–18:00")]),
        "lat_lon_properties": rng.random() < 0.3,
        "problems": rng.random() < 0.3,
    }
    features = []
    for i in range(n):
        lat, lon = rng.uniform(*UKRAINE[:2]), rng.uniform(*UKRAINE[2:])
        record = random_record(rng, f"r{i:04d}", lat, lon)
        record["phone"] = rng.choice(style["phones"])
        record["hours"] = rng.choice(style["hours"])
        record["note"] = rng.choice(["", "Вхід з двору\nдзвоніть", "\tзмінено"])
        record["demo"] = True
        if style["capacity"] == "int_or_null":
            record["capacity"] = rng.choice([None, 0, 50, 120])
        elif style["capacity"] == "float_or_int":
            record["capacity"] = rng.choice([50, 120.0, 7.5])
        elif style["capacity"] == "missing":
            del record["capacity"]
        else:
            record["capacity"] = rng.choice([0, 50, 120])
        if style["services"] == "text":
            record["services"] = ", ".join(record["services"])
        elif style["services"] == "json_text":
            record["services"] = json.dumps(record["services"])
        if style["base"] == "bool_or_null":
            record["base"] = rng.choice([True, False, None])
        elif style["base"] == "missing":
            del record["base"]
        if style["times"] == "some" and rng.random() < 0.4:
            del record["verified_at"], record["updated_at"]
        elif style["times"] == "blank" and rng.random() < 0.4:
            record["verified_at"] = ""
        elif style["times"] == "none":
            del record["verified_at"], record["updated_at"]
        if style["ids"] == "int":
            record["id"] = 1000 + i
        elif style["ids"] == "digits":
            record["id"] = str(1000 + i)
        if record["kind"] == "mobile" and rng.random() < 0.7:
            record["stops"] = random_stops(rng)
            record["moved_at"] = rng.choice([None, at(-rng.uniform(0, 50))])
        if style["problems"] and rng.random() < 0.1:  # each of the column's own type
            field, value = rng.choice(PROBLEMS)
            if field != "id" or style["ids"] != "int":
                record[field] = value
        properties = {k: v for k, v in record.items() if k not in ("lat", "lon")}
        if style["lat_lon_properties"]:
            properties |= {"lat": record["lat"], "lon": record["lon"]}
        geometry = {"type": "Point", "coordinates": [record["lon"], record["lat"]]}
        roll = rng.random()
        if roll < 0.1:
            geometry["coordinates"].append(rng.choice([0, 151.5]))  # a height: GDAL reads Point Z
        elif roll < 0.13 and (style["lat_lon_properties"] or style["problems"]):
            geometry = None  # lat and lon from the properties, or "lat: is required"
        feature = {"type": "Feature", "geometry": geometry, "properties": properties}
        if style["ids"] == "export":
            feature = {"type": "Feature", "id": properties["id"], **feature}
        features.append(feature)
    if style["problems"] and n > 3 and rng.random() < 0.3:  # a duplicate id
        features[-1]["properties"]["id"] = features[0]["properties"]["id"]
        if "id" in features[-1]:
            features[-1]["id"] = features[0]["id"]
    return {"type": "FeatureCollection", "name": "random", "features": features}


def outcome(records: list[dict[str, Any]], path: Path) -> tuple:
    """What an import makes of these records: the points, or the rejection's whole text."""
    try:
        batch = batches.checked(batches.Records.features(records), path.name, FIXED_NOW, LIMITS)
    except files.ImportRejected as rejected:
        return ("rejected", str(rejected))
    return ("points", list(batch), batch.untimed)


def without_nulls(records: list[dict[str, Any]]) -> list[list[tuple[str, str]]]:
    """Records as parse_point sees them (a null and a missing property are the same to it), by
    repr: 50 and 50.0 are equal, but not the same to a problem message or an id."""
    return [sorted((k, repr(v)) for k, v in record.items() if v is not None) for record in records]


@pytest.mark.parametrize("seed", range(40))
def test_fast_reader_gives_the_points_geopandas_gives(tmp_path, seed):
    rng = random.Random(seed)
    path = tmp_path / "points.geojson"
    path.write_text(json.dumps(random_document(rng, rng.randrange(1, 60)), ensure_ascii=False), "utf-8")
    text = files._read_text(path)
    fast = plain_geojson.read_records(text)
    assert fast is not None  # every shape random_document makes is one the fast reader takes
    gdal = files._gdal_records(path, text).records
    assert without_nulls(fast) == without_nulls(gdal)
    expected = outcome(gdal, path)
    assert outcome(fast, path) == expected
    try:  # and the public function, which takes the fast path here
        batch = files.read_points(path, now=FIXED_NOW)
        assert ("points", list(batch), batch.untimed) == expected
    except files.ImportRejected as rejected:
        assert ("rejected", str(rejected)) == expected


@pytest.mark.parametrize("seed", range(3))
def test_an_export_reads_back_the_same_either_way(tmp_path, seed):
    rng = random.Random(seed)
    points = random_points(rng, 150)
    for i, point in enumerate(points[:30]):  # mobile, some with a schedule and a move
        stops = random_stops(rng)
        points[i] = parse_point(
            point.to_record() | {"kind": "mobile", "stops": stops, "moved_at": at(-1)}, now=FIXED_NOW
        )
    path = tmp_path / "export.geojson"
    files.write_points(points, path, stale_after=timedelta(hours=12))
    text = files._read_text(path)
    fast = plain_geojson.read_records(text)
    assert fast is not None
    gdal = files._gdal_records(path, text).records
    assert without_nulls(fast) == without_nulls(gdal)
    assert outcome(fast, path) == outcome(gdal, path)
    assert sorted(p.id for p in files.read_points(path, now=FIXED_NOW)) == sorted(p.id for p in points)


def plain(*properties: dict[str, Any], **feature_members: Any) -> dict[str, Any]:
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [30.5, 50.4]}, "properties": p}
        | feature_members
        for p in properties
    ]
    return {"type": "FeatureCollection", "features": features}


# Shapes GDAL reads its own way; the fast reader must leave each to geopandas.
DECLINED = {
    # A declared CRS: checked and converted on the geopandas path only.
    "crs": plain({"id": "a"}) | {"crs": {"type": "name", "properties": {"name": "EPSG:3857"}}},
    "numbers and text": plain({"id": 1}, {"id": "b"}),  # GDAL: "1"
    "numbers and bools": plain({"base": True}, {"base": 2}),
    "list of numbers": plain({"services": [1, 2]}),  # GDAL: ["1", "2"]
    "list and text": plain({"services": ["power"]}, {"services": "heat"}),  # GDAL: ["heat"]
    "lists of lists": plain({"s": [["a"]]}),
    "object": plain({"o": {"a": 1}}),
    "objects and text": plain({"stops": [{"a": 1.5}]}, {"stops": ""}),  # GDAL re-encodes the JSON
    "nul escape": plain({"id": "a", "name": "x\u0000y"}),  # GDAL ends the string at it
    "whole number past int64": plain({"capacity": 2**63}),
    "top-level id only": plain({"name": "a"}, id="a"),
    "top-level id not the property": plain({"id": "a"}, id="b"),
    "top-level number id": plain({"id": "a"}, id=1),
    "foreign member": plain({"id": "a"}, note="x"),
    "line": {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": [[30, 50], [31, 51]]},
                "properties": {},
            }
        ],
    },
    "empty point": {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": {"type": "Point", "coordinates": []}, "properties": {}}],
    },
    "no geometry member": {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}}]},
    "geometry property": plain({"geometry": "x"}),
    "names equal but for case": plain({"id": "a", "ID": "b"}),
    "a bare feature": plain({"id": "a"})["features"][0],
    "NaN": '{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": null,'
    ' "properties": {"capacity": NaN}}]}',
}


# Text GDAL once read as dates or times, and rewrote (files.py now asks it for text).
DATE_LIKE = {
    "time column": ({"hours": "09:00"}, {"hours": "10:30"}),  # was time(9, 0), "09:00:00"
    "clock ranges": ({"hours": "09:00–21:00"}, {"hours": "8:00–20:00"}),  # was time(9, 0) too
    "date, then text": ({"note": "2025-01-15T10:00:00Z, or so"},),  # was "2025-01-15T10:00:00Z"
    "date column": ({"note": "2025-01-15"}, {"note": "2025/01/16"}),  # was "2025-01-16"
    "spaced dates": ({"note": " 2025-01-15T10:00:00Z"},),  # were stripped
    "other date form": ({"note": "2025-01-15 10:00"},),  # was "2025-01-15T10:00:00"
}


@pytest.mark.parametrize("name", DATE_LIKE)
def test_dates_and_clock_times_stay_the_text_they_were_on_both_paths(name, tmp_path):
    rows = [
        random_record(random.Random(i), f"d{i}", 50.4, 30.5) | changed
        for i, changed in enumerate(DATE_LIKE[name])
    ]
    path = tmp_path / "dates.geojson"
    text = json.dumps(plain(*rows), ensure_ascii=False)
    path.write_text(text, "utf-8")
    fast = plain_geojson.read_records(text)
    assert fast is not None
    gdal = files._gdal_records(path, text).records
    assert without_nulls(fast) == without_nulls(gdal)
    points = sorted(files.read_points(path, now=FIXED_NOW), key=lambda p: p.id)
    for point, changed in zip(points, DATE_LIKE[name], strict=True):
        ((field, value),) = changed.items()
        assert getattr(point, field) == value.strip()  # (parse_point trims text fields)


@pytest.mark.parametrize("name", DECLINED)
def test_fast_reader_leaves_gdals_own_readings_to_geopandas(name):
    document = DECLINED[name]
    text = document if isinstance(document, str) else json.dumps(document, ensure_ascii=False)
    assert plain_geojson.read_records(text) is None


def test_a_declined_file_still_reads_through_geopandas(tmp_path):
    path = tmp_path / "metres.geojson"
    record = random_record(random.Random(1), "a1", 50.4, 30.5)
    document = plain(record) | {"crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}}}
    document["features"][0]["geometry"]["coordinates"] = [3397881.5, 6522772.0]  # Kyiv, in metres
    path.write_text(json.dumps(document), "utf-8")
    (point,) = files.read_points(path, now=FIXED_NOW)
    assert (point.lat, point.lon) == pytest.approx((50.45, 30.52), abs=0.02)


def reference_row(point, seq: int) -> dict[str, Any]:
    """The row as the store built it from Point.to_record before it built rows field by field."""
    record = point.to_record()
    record.update(
        base=int(point.base),
        open_24_7=int(point.open_24_7),
        archived=int(point.archived),
        services=",".join(sorted_services(point.services)),
        services_mask=point.services_mask,
        region_key=fold(point.region),
        search_text=search_text(point),
        stops=json.dumps(record["stops"], ensure_ascii=False) if point.stops else "",
        unconfirmed=int(point.unconfirmed),
        seq=seq,
    )
    return record


def test_store_rows_hold_what_to_record_says(tmp_path):
    rng = random.Random(7)
    store = Store(tmp_path / "rows.db")
    points = random_points(rng, 200)
    for i, point in enumerate(points[:60]):
        mobile = parse_point(
            point.to_record() | {"kind": "mobile", "stops": random_stops(rng)}, now=FIXED_NOW
        )
        points[i] = mobile.with_changes(
            moved_at=rng.choice([None, FIXED_NOW]),
            unconfirmed=rng.random() < 0.5,
            archived=rng.random() < 0.2,
            version=rng.randrange(1, 9),
            capacity=rng.choice([None, 3]),
            open_24_7=rng.random() < 0.5,
        )
    for point in points:
        row = store._row(point, 41)
        assert row == reference_row(point, 41)
        assert store._row(point, 41, version=1) == row | {"version": 1}


def test_fold_folds_as_the_translation_table_did():
    table = str.maketrans({"’": "'", "ʼ": "'", "`": "'", "´": "'", "‘": "'"})
    rng = random.Random(3)
    alphabet = "aZїЇєҐґ’ʼ`´‘'ßİ ΣσςﬁǅÅ\u0130\u212a"
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 12)))
        assert fold(text) == text.casefold().translate(table), text


def test_parse_services_short_path_agrees_with_the_long_one():
    rng = random.Random(5)
    for _ in range(2000):
        names = rng.sample(SERVICES, rng.randrange(0, 6))
        names += rng.sample(["", " heat", "Power", "power,water", "sauna"], rng.randrange(0, 2))
        try:
            expected = parse_services(tuple(names))  # a tuple takes the long way
        except ValueError as error:
            with pytest.raises(ValueError) as raised:
                parse_services(names)
            assert str(raised.value) == str(error)
        else:
            assert parse_services(names) == expected


def test_collector_paused_only_while_bulk_work_runs():
    assert gc.isenabled()
    started, release = threading.Event(), threading.Event()

    def other_job():
        with gcpause.paused():
            started.set()
            release.wait(5)

    thread = threading.Thread(target=other_job)
    with gcpause.paused():
        assert not gc.isenabled()
        thread.start()
        started.wait(5)
    assert not gc.isenabled()  # the other job is still under way
    release.set()
    thread.join(5)
    assert gc.isenabled()


def test_collector_left_off_when_it_was_off():
    gc.disable()
    try:
        with gcpause.paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
