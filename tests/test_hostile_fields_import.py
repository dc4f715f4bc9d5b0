"""Every field a file can carry gets every class of hostile value, in GeoJSON and in CSV, through
each door an import comes in by (issue 16, part 5): the CLI's `points import` (with and without
--dry-run) and the console's import (its dry run, and applying a staged file). Never a traceback
or a 500: a file holding a value that must be refused is rejected whole, each such feature named
with its field (or the file, when it cannot be read at all), and the database stays exactly as
it was; a file taken is stored clean.

One file per field and class of value (a feature per value: the fields' types stay what a file
gives, so the fast reader and GDAL each see their own share), so the suite stays fast. The fields
come from the declaration (tests/hostile.py), and every control character goes through
parse_point, which is the import's own validation, for every field.
"""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import seed_points
from helpers import login, make_record
from hostile import (
    BAD_UTF8,
    CONTROLS,
    EITHER,
    POINT_KINDS,
    REFUSE,
    STOP_KINDS,
    STOP_TIME_FIELDS,
    TIME_FIELDS,
    TOO_BIG,
    Case,
    Raw,
    Unchanged,
    assert_clean,
    control_cases,
    dumps,
    json_cases,
    text_cases,
    valid_stop,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from locator import create_app
from locator.domain.fields import FIELD
from locator.domain.validation import ValidationError, parse_point

SHAPE = {dict: "dict", list: "list", bool: "bool"}  # else a number (or null)
COORDINATES = ("lat", "lon")  # a GeoJSON file carries them in its geometry
FEATURE_PROBLEM = re.compile(r"^(?:feature|row) \d+", re.M)  # else a problem of the whole file


@pytest.fixture(scope="module")
def imports(tmp_path_factory, password_hash):
    """One app per module (per worker): the seed, an admin logged in to the console."""
    folder = tmp_path_factory.mktemp("imports")
    app = create_app({"DATABASE": str(folder / "i.db"), "SEED_FILE": "", "TESTING": True})
    store = app.extensions["locator.store"]
    store.import_points(seed_points())
    app.extensions["locator.users"].create("admin", password_hash, "admin", [], [])
    client = app.test_client()
    assert login(client, "admin").status_code == 302
    uploads = Path(store.path).parent / "uploads"  # where the console stages a dry run's file
    uploads.mkdir(exist_ok=True)
    yield SimpleNamespace(app=app, store=store, client=client, runner=app.test_cli_runner(), uploads=uploads)
    store.close()


# -- the files --------------------------------------------------------------------------------


def base(field: str, number: int) -> dict:
    """A valid record of a new point (a mobile one, for a schedule)."""
    record = make_record(f"fz-{field}-{number}", services=["power"], note="")
    return record | ({"kind": "mobile", "stops": [valid_stop()]} if field == "stops" else {})


def geojson(field: str, cases: list[Case]) -> bytes:
    features = []
    for number, case in enumerate(cases):
        properties = base(field, number)
        lon, lat = properties.pop("lon"), properties.pop("lat")
        if field in COORDINATES:
            lat, lon = (case.value, lon) if field == "lat" else (lat, case.value)
        else:
            properties[field] = case.value
        geometry = {"type": "Point", "coordinates": [lon, lat]}
        features.append({"type": "Feature", "geometry": geometry, "properties": properties})
    return dumps({"type": "FeatureCollection", "features": features}).encode("utf-8", "surrogatepass")


def csv_file(field: str, cases: list[Case]) -> bytes:
    rows, raw = [], {}
    for number, case in enumerate(cases):
        row = base(field, number)
        row |= {"services": ",".join(row["services"]), "stops": json.dumps(row.get("stops", []))}
        row[field] = case.value
        if isinstance(case.value, bytes):  # not UTF-8: put in after the text is written
            raw[f"@@raw{number}@@"] = case.value
            row[field] = f"@@raw{number}@@"
        rows.append(row)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writeheader()
    writer.writerows(rows)
    data = text.getvalue().encode("utf-8")
    for key, value in raw.items():
        data = data.replace(key.encode(), value)
    return data


def files(field: str) -> list[tuple[str, str, bytes, list[Case] | None]]:
    """(label, suffix, content, the cases feature by feature, or None: refused as a whole).

    A "text" file must be read feature by feature; any other may be refused as a whole."""
    kind = POINT_KINDS[field]
    annotation = FIELD[field].annotation
    texts = [c for c in text_cases(kind, annotation, huge=TOO_BIG) if "\x00" not in c.value]
    nul = [c for c in text_cases(kind, annotation) if "\x00" in c.value]
    typed = [c for c in json_cases(kind, annotation) if not isinstance(c.value, (str, Raw))]
    made = [
        ("text", ".csv", csv_file(field, texts), texts),
        ("NUL", ".csv", csv_file(field, nul), None),
        ("not UTF-8", ".csv", csv_file(field, [Case(repr(b), b, REFUSE) for b in BAD_UTF8]), None),
        ("text", ".geojson", geojson(field, texts), texts),
        ("NUL", ".geojson", geojson(field, nul), None),
    ]
    for shape in ("dict", "list", "bool", "number"):  # a file each: GDAL types a mixed column as text
        group = [c for c in typed if SHAPE.get(type(c.value), "number") == shape]
        made.append((f"typed {shape}", ".geojson", geojson(field, group), group))
    for case in (c for c in json_cases(kind, annotation) if isinstance(c.value, Raw)):
        if case.value.text == "NaN":  # GDAL reads it, as pandas does: a missing value
            case = Case(case.label, case.value, EITHER)
        made.append((f"raw {case.label}", ".geojson", geojson(field, [case]), [case]))
    return made


# -- the doors --------------------------------------------------------------------------------


def cli(imports, path: Path, dry_run: bool) -> tuple[bool, str]:
    result = imports.runner.invoke(args=["points", "import", *(["--dry-run"] if dry_run else []), str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output, result.output[-2000:]
    return result.exit_code == 0, result.output


def console_plan(imports, path: Path) -> tuple[bool, str]:
    staged = set(imports.uploads.iterdir())
    form = {"csrf_token": token(imports.client), "file": (io.BytesIO(path.read_bytes()), path.name)}
    response = imports.client.post("/operator/import", data=form, content_type="multipart/form-data")
    assert response.status_code == 200, response.status_code
    page = response.get_data(as_text=True)
    rejected = 'id="rejected"' in page
    assert not rejected or set(imports.uploads.iterdir()) == staged  # a rejected file is not kept
    return not rejected, page


def console_apply(imports, path: Path) -> tuple[bool, str]:
    staged = imports.uploads / f"{secrets.token_hex(12)}{path.suffix}"
    staged.write_bytes(path.read_bytes())  # as a dry run of another file would have left it
    form = {"csrf_token": token(imports.client), "apply": "1", "staged": staged.name, "replace": "0"}
    response = imports.client.post("/operator/import", data=form)
    assert response.status_code == 302, response.status_code
    assert not staged.exists()  # a staged file is read once
    with imports.client.session_transaction() as session:
        flashes = session.pop("_flashes", [])
    return not any(category == "error" for category, _ in flashes), str(flashes)


def token(client) -> str:
    page = client.get("/operator/import").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


DOORS = {
    "cli": lambda imports, path: cli(imports, path, dry_run=False),
    "cli --dry-run": lambda imports, path: cli(imports, path, dry_run=True),
    "console dry run": console_plan,
    "console apply": console_apply,
}


def blamed(output: str, where: str, field: str) -> bool:
    """The output names the row or feature and the field (for a coordinate: or the geometry)."""
    fields = (field, "geometry", *COORDINATES) if field in COORDINATES else (field,)
    names = "|".join(map(re.escape, fields))
    return re.search(rf"{where}(?: \(id .*?\))?: (?:{names}): ", output, re.S) is not None


def where(path: Path, index: int) -> str:
    """How a problem names the case at 0-based index: a CSV's spreadsheet row (the header is
    row 1), a GeoJSON's feature counted from 1."""
    return f"row {index + 2}" if path.suffix == ".csv" else f"feature {index + 1}"


def check(imports, door: str, path: Path, cases: list[Case] | None, field: str, before: Unchanged) -> None:
    taken, output = DOORS[door](imports, path)
    what = f"{door} {path.name}"
    if taken:
        assert cases is not None and all(c.verdict == EITHER for c in cases), f"{what}: taken"
        for point in imports.store.all():
            assert_clean(point)
        before.take()
        return
    assert before.holds(), f"{what}: rejected, yet the database changed"
    if door != "cli" or cases is None:
        return
    if not FEATURE_PROBLEM.search(output):  # refused as a whole (GDAL could not read it, say)
        assert "-text." not in path.name, f"{what}: {output[-500:]}"
        return
    for number, case in enumerate(cases):
        if case.verdict == REFUSE:
            assert blamed(output, where(path, number), field), (
                f"{what}: {where(path, number)} ({case.label}) not named"
            )


@pytest.mark.parametrize("field", sorted(POINT_KINDS))
def test_every_field_of_every_file_through_the_cli(imports, tmp_path, field):
    before = Unchanged(imports.store)
    for label, suffix, content, cases in files(field):
        path = tmp_path / f"{field}-{label.replace(' ', '-')}{suffix}"
        path.write_bytes(content)
        check(imports, "cli", path, cases, field, before)


# The other doors read a file as the CLI does (services.imports.read_file): each gets every class
# of file on one field of each kind whose files differ most.
SAMPLED = [
    min(name for name, k in POINT_KINDS.items() if k == kind) for kind in ("text", "time", "number", "stops")
]


@pytest.mark.parametrize("door", ["cli --dry-run", "console dry run", "console apply"])
@pytest.mark.parametrize("field", SAMPLED)
def test_each_class_of_file_through_every_other_door(imports, tmp_path, door, field):
    before = Unchanged(imports.store)
    for label, suffix, content, cases in files(field):
        path = tmp_path / f"{field}-{label.replace(' ', '-')}{suffix}"
        path.write_bytes(content)
        check(imports, door, path, cases, field, before)


@pytest.mark.parametrize("field", sorted(POINT_KINDS))
def test_every_control_character_in_every_field_is_refused_by_parse_point(field):
    for case in control_cases(POINT_KINDS[field], FIELD[field].annotation, CONTROLS):
        check_parse(make_record("p1") | {field: case.value}, case, field)


@pytest.mark.parametrize("field", sorted(STOP_KINDS))
def test_every_control_character_in_every_field_of_a_stop_is_refused_by_parse_point(field):
    for case in control_cases(STOP_KINDS[field], controls=CONTROLS):
        stop = valid_stop() | {field: case.value}
        check_parse(make_record("p1", kind="mobile", stops=[stop]), case, "stops")


# Any value JSON or a file could carry: any code point (lone surrogates too), numbers of any size
# (NaN and infinities too), and lists and objects of them.
ANY_TEXT = st.text(st.characters(codec=None, categories=None), max_size=40)
ANY_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ANY_TEXT, inner, max_size=3),
    max_leaves=8,
)


@pytest.mark.parametrize("field", sorted(POINT_KINDS))
@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(value=ANY_VALUE)
def test_any_value_in_any_field_is_a_point_or_a_problem_of_that_field(field, value):
    record = make_record("p1", kind="mobile" if field == "stops" else "fixed") | {field: value}
    try:
        point = parse_point(record)
    except ValidationError as refused:
        assert [p.field for p in refused.problems] == [field]
        return
    assert_clean(point)
    json.dumps(point.to_record(), default=str, ensure_ascii=False).encode("utf-8")  # storable


def test_the_declarations_have_time_fields_to_try():
    assert {"updated_at", "verified_at", "moved_at"} <= set(TIME_FIELDS)
    assert STOP_TIME_FIELDS == ["ends_at", "starts_at"]


def check_parse(record: dict, case: Case, field: str) -> None:
    try:
        point = parse_point(record)
    except ValidationError as refused:
        assert [p.field for p in refused.problems] == [field], (case.label, refused)
        return
    assert case.verdict == EITHER, f"{field}: {case.label} taken"
    assert_clean(point)
