"""The Point's fields are declared once (locator/domain/fields.py): every list of them is derived
from that declaration or held to it here, and a Point survives every way it travels."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import random
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from helpers import FIXED_NOW, random_points

from locator.domain import fields, point, validation
from locator.domain.fields import POINT_DECLARATION
from locator.domain.point import Kind, Point, Status, Stop
from locator.domain.validation import parse_point
from locator.domain.values import BusinessType, Visibility
from locator.io import compact, features, files
from locator.store import POINT_COLUMNS, Store
from locator.web import openapi

ROOT = Path(__file__).resolve().parent.parent
STALE_AFTER = timedelta(hours=12)
NAMES = tuple(f.name for f in POINT_DECLARATION)
# Columns the store keeps beside the declared fields, derived from them for its own queries.
STORE_OWN_COLUMNS = {"services_mask": int, "region_key": str, "search_text": str, "seq": int}
# Properties answers carry beside the declared fields (moved_at travels as located_since).
FEATURE_EXTRAS = {"operator_status", "located_since", "stop", "stale", "status_age_s"} | {
    "open_now",
    "hours_state",
    "next_change_at",
    "next_change_to",
}
NEAREST_EXTRAS = {"distance_m", "bearing_deg", "direction", "trust"}
# The compact table's one column that is not a declared field under its own name.
COMPACT_RENAMED = {"moved_at": "located_since"}


# -- every derived list is the declaration's -----------------------------------------------------


def test_the_point_dataclass_is_the_declaration():
    assert tuple(f.name for f in dataclasses.fields(Point)) == NAMES == point.POINT_FIELDS
    for declared, made in zip(POINT_DECLARATION, dataclasses.fields(Point), strict=True):
        assert made.type is declared.annotation
        if declared.default is not fields.NO_DEFAULT:
            assert made.default == declared.default
        assert (made.default_factory is not dataclasses.MISSING) == (declared.default_factory is not None)
    assert Point.__dataclass_params__.frozen


def test_editable_fields_are_the_declared_editable_ones():
    assert point.EDITABLE_FIELDS == tuple(f.name for f in POINT_DECLARATION if f.editable)
    assert "id" not in point.EDITABLE_FIELDS and "version" not in point.EDITABLE_FIELDS


def test_parse_table_is_the_declaration_in_its_order():
    assert validation.POINT_INPUT is fields.POINT_INPUT
    assert [row[0] for row in validation.POINT_INPUT] == [f.name for f in POINT_DECLARATION if f.parse]
    for name, parse, required, _missing in validation.POINT_INPUT:
        assert parse is fields.FIELD[name].parse and required is fields.FIELD[name].required
    never_input = {f.name for f in POINT_DECLARATION if f.parse is None}
    assert never_input == {"unconfirmed"}


def test_store_columns_are_the_declared_fields_and_the_stores_own(tmp_path):
    assert POINT_COLUMNS == {f.name: f.column for f in POINT_DECLARATION} | STORE_OWN_COLUMNS
    store = Store(tmp_path / "fields.db")
    try:
        store.migrate()
        table = {row[1] for row in store.db.execute("PRAGMA table_info(points)")}
    finally:
        store.close()
    assert table == set(POINT_COLUMNS), "a declared field needs a schema step for its column"


def test_csv_columns_are_the_declared_ones():
    assert features.CSV_COLUMNS == tuple(f.name for f in POINT_DECLARATION if f.in_csv)
    header = next(csv.reader(io.StringIO(features.points_csv(varied_points(2)))))
    assert tuple(header) == features.CSV_COLUMNS


def test_compact_fields_are_the_declared_compact_ones():
    declared = {COMPACT_RENAMED.get(f.name, f.name) for f in POINT_DECLARATION if f.in_compact}
    assert set(compact.COMPACT_FIELDS) == declared
    assert len(compact.COMPACT_FIELDS) == len(declared)


def test_compact_rows_hold_each_field_in_its_column():
    """compact_row is written out for speed; its columns must be COMPACT_FIELDS' in order."""
    for p in varied_points(60):
        placed = p.at(FIXED_NOW)
        row = dict(zip(compact.COMPACT_FIELDS, compact.compact_row(placed), strict=True))
        expected_since = placed.moved_at if placed.kind is Kind.MOBILE else None
        assert row == {
            "id": p.id,
            "lat": round(placed.lat, 5),
            "lon": round(placed.lon, 5),
            "status": p.status.value,
            "kind": p.kind.value,
            "category": p.category.value,
            "base": int(p.base),
            "services": p.services_mask,
            "verified_at": int(p.verified_at.timestamp()),
            "name": p.name,
            "settlement": p.settlement,
            "address": p.address,
            "located_since": int(expected_since.timestamp()) if expected_since else 0,
            "unconfirmed": int(p.unconfirmed),
            "opening_hours": p.opening_hours,
            "business_type": p.business_type.value,
            "visibility": p.visibility.value,
            "support": int(p.support),
            "beds": p.beds,
            "beds_free": p.beds_free,
        }


def test_feature_properties_carry_every_declared_feature_field():
    """The feature properties are written out for speed: every in_feature field, under its name."""
    declared = {f.name for f in POINT_DECLARATION if f.in_feature}
    for p in varied_points(40):
        properties = features.point_properties(p, FIXED_NOW, STALE_AFTER)
        assert set(properties) == declared | FEATURE_EXTRAS
        stored = features.point_properties(p, FIXED_NOW, STALE_AFTER, as_stored=True)
        assert set(stored) == set(NAMES) | FEATURE_EXTRAS


def test_to_record_has_every_field_as_plain_data():
    for p in varied_points(20):
        record = p.to_record()
        assert tuple(record) == NAMES
        assert json.loads(json.dumps(record)) == record


def test_openapi_point_schemas_are_the_declarations():
    schemas = openapi.document("/")["components"]["schemas"]
    in_feature = {f.name for f in POINT_DECLARATION if f.in_feature}
    answers = schemas["Properties"]["properties"]
    assert set(answers) == in_feature | FEATURE_EXTRAS | NEAREST_EXTRAS
    assert all(answers[f.name] is f.schema for f in POINT_DECLARATION if f.in_feature)
    assert set(schemas["Properties"]["required"]) == in_feature | {"stale"}
    assert tuple(schemas["PointInput"]["properties"]) == point.EDITABLE_FIELDS
    create = schemas["PointCreate"]
    assert set(create["properties"]) == set(point.EDITABLE_FIELDS) | {"id"}
    assert tuple(create["required"]) == tuple(f.name for f in POINT_DECLARATION if f.required)
    for name, schema in create["properties"].items():
        assert schema is (fields.FIELD[name].input_schema or fields.FIELD[name].schema)


def test_a_field_added_to_the_declaration_appears_everywhere(tmp_path):
    """Add a field to a copy of the code: the Point, the parser, the editable fields, the store's
    columns, CSV and the OpenAPI schemas all carry it with no other edit."""
    shutil.copytree(ROOT / "locator", tmp_path / "locator", ignore=shutil.ignore_patterns("__pycache__"))
    declaration = tmp_path / "locator" / "domain" / "fields.py"
    text = declaration.read_text(encoding="utf-8")
    end = "\n)\n\n\ndef declared_fields"
    assert text.count(end) == 1
    floor = '    Field("floor", str, str, STRING, parse.parse_text, default="", editable=True),'
    declaration.write_text(text.replace(end, "\n" + floor + end), encoding="utf-8")
    check = """
import json
from locator.domain.point import EDITABLE_FIELDS, POINT_FIELDS, Point
from locator.domain.validation import POINT_INPUT, parse_point
from locator.io.features import CSV_COLUMNS
from locator.store import POINT_COLUMNS
from locator.web.openapi import document
schemas = document("/")["components"]["schemas"]
point = parse_point({"id": "a", "name": "A", "status": "open", "lat": 50, "lon": 30, "floor": "2"})
print(json.dumps({
    "point": point.floor, "record": point.to_record()["floor"], "fields": POINT_FIELDS[-1],
    "editable": "floor" in EDITABLE_FIELDS, "input": POINT_INPUT[-1][0], "csv": CSV_COLUMNS[-1],
    "column": POINT_COLUMNS.get("floor") is str, "answers": "floor" in schemas["Properties"]["properties"],
    "patch": "floor" in schemas["PointInput"]["properties"],
    "create": "floor" in schemas["PointCreate"]["properties"],
}))
"""
    result = subprocess.run(
        [sys.executable, "-c", check], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {
        "point": "2",
        "record": "2",
        "fields": "floor",
        "editable": True,
        "input": "floor",
        "csv": "floor",
        "column": True,
        "answers": True,
        "patch": True,
        "create": True,
    }


# -- a Point survives every way it travels -------------------------------------------------------


def varied_points(n: int, seed: int = 15) -> list[Point]:
    """Random valid points in which every field, over the lot, differs from its default."""
    rng, extra = random.Random(seed), random.Random(seed + 1)
    points = []
    for p in random_points(rng, n, prefix="f"):
        changes = {
            "phone": rng.choice(["", "+380 44 123 45 67", "(044) 555-12-12"]),
            "hours": rng.choice(["", "08:00–20:00", "цілодобово"]),
            "note": rng.choice(["", "Вхід з двору\nдзвонити", "=1+1 не формула", "-2 поверх\tліворуч"]),
            "occupancy": rng.choice([None, 0, 35]),
            "open_24_7": rng.random() < 0.3,
            "archived": rng.random() < 0.2,
            "version": rng.randrange(1, 9),
            "moved_at": rng.choice([None, p.verified_at - timedelta(hours=rng.randrange(1, 50))]),
            "unconfirmed": p.status in (Status.OPEN, Status.FULL) and rng.random() < 0.3,
            "opening_hours": rng.choice(["", "24/7", "Mo-Fr 09:00-18:00", "Mo-Su 20:00-08:00; PH off"]),
            # issue 20's fields, from their own generator so the older ones' draws stay as they were
            "business_type": extra.choice(list(BusinessType)),
            "visibility": extra.choice(list(Visibility)),
            "support": extra.random() < 0.3,
            "beds": extra.choice([None, 40, 120]),
        }
        changes["beds_free"] = None if changes["beds"] is None else extra.choice([None, 0, 12])
        if p.kind is Kind.MOBILE and rng.random() < 0.7:
            starts = FIXED_NOW + timedelta(hours=rng.randrange(-30, 30))
            changes["stops"] = tuple(
                Stop(
                    f"Зупинка {i}",
                    round(p.lat + rng.uniform(-0.1, 0.1), 6),
                    round(p.lon + rng.uniform(-0.1, 0.1), 6),
                    starts + timedelta(hours=6 * i),
                    starts + timedelta(hours=6 * i + 4),
                )
                for i in range(rng.randrange(1, 4))
            )
        points.append(dataclasses.replace(p, **changes))
    return points


def as_input(p: Point) -> Point:
    """What reading p back from input gives: fields input never sets are at their defaults."""
    return dataclasses.replace(p, **{f.name: f.default for f in POINT_DECLARATION if f.parse is None})


def test_varied_points_vary_every_field():
    """So that a round trip that drops a field cannot pass by luck."""
    points = varied_points(200)
    for f in POINT_DECLARATION:
        if f.default is not fields.NO_DEFAULT:
            assert any(getattr(p, f.name) != f.default for p in points), f.name
        else:
            assert len({repr(getattr(p, f.name)) for p in points}) > 1, f.name


def test_points_round_trip_through_to_record():
    for p in varied_points(200):
        assert parse_point(p.to_record(), now=FIXED_NOW) == as_input(p)


def test_points_round_trip_through_csv():
    points = varied_points(200)
    rows = list(csv.DictReader(io.StringIO(features.points_csv(points, FIXED_NOW, as_stored=True))))
    again = [
        parse_point({k: features.unguard_cell(v) for k, v in row.items()}, now=FIXED_NOW) for row in rows
    ]
    assert again == [as_input(p) for p in points]


@pytest.mark.parametrize(
    ("suffix", "with_stops"), [(".geojson", True), (".geojson", False), (".csv", True), (".gpkg", True)]
)
def test_points_round_trip_through_export_and_import(tmp_path, suffix, with_stops):
    """`points export` then `points import` (io/files.py) gives back the same points."""
    points = varied_points(150)
    if not with_stops:
        points = [dataclasses.replace(p, stops=()) for p in points]
    path = tmp_path / f"points{suffix}"
    files.write_points(points, path, stale_after=STALE_AFTER)
    again = files.read_points(path, now=FIXED_NOW)
    assert sorted(again, key=lambda p: p.id) == sorted(map(as_input, points), key=lambda p: p.id)


@pytest.mark.parametrize("seed", [1, 2])
def test_points_round_trip_through_the_store(tmp_path, seed):
    points = varied_points(150, seed)
    store = Store(tmp_path / "round.db")
    try:
        store.migrate()
        store.import_points(points)
        stored = {p.id: p for p in store.all()}
    finally:
        store.close()
    assert stored == {p.id: dataclasses.replace(p, version=1) for p in points}  # new rows start at 1
