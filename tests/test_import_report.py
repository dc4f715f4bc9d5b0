"""Imports a spreadsheet user can fix in one go (issue 17, part 7), and an import is not a
confirmation (part 2): every problem of every row at once, rows numbered as the spreadsheet
shows them, messages in the console's language, Excel's `;` and decimal commas, the dry run's
changed fields, and a point imported without verified_at shown and counted as never confirmed."""

from __future__ import annotations

import csv
import io
import json
import random
import re
from datetime import timedelta
from pathlib import Path

import pytest
from helpers import CSRF_FIELD, FIXED_NOW, login, make_point, make_record, random_points, write_geojson

from locator.domain.point import utcnow
from locator.io.features import points_csv
from locator.io.files import ImportRejected, read_points
from locator.web.messages import MESSAGES

PROJECT = Path(__file__).resolve().parent.parent
HEADER = "id,name,status,lat,lon,note\n"


def problems_of(path: Path) -> list[tuple[int, str | None, str]]:
    with pytest.raises(ImportRejected) as caught:
        read_points(path, now=FIXED_NOW)
    return [(p.number, p.point_id, p.problem.field) for p in caught.value.problems]


@pytest.fixture
def admin(client, make_user):
    make_user("admin", "admin")
    assert login(client, "admin").status_code == 302
    return client


def upload(client, name: str, data: bytes, lang: str = "uk"):
    page = client.get(f"/operator/import?lang={lang}").get_data(as_text=True)
    token = CSRF_FIELD.search(page).group(1)
    return client.post(
        f"/operator/import?lang={lang}",
        data={"csrf_token": token, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def table_rows(page: str, table: str) -> list[list[str]]:
    body = re.search(rf'<table class="history" id="{table}">.*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    return [re.findall(r"<td>(.*?)</td>", row, re.S) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def changes_shown(page: str) -> dict[str, list[list[str]]]:
    """The dry run's changes table: point id -> its [field, was, will be] rows."""
    table = re.search(r'<table class="history" id="changes">(.*?)</table>', page, re.S).group(1)
    groups = re.findall(
        r'<tbody><tr><th scope="rowgroup" colspan="3">(.*?)</th></tr>(.*?)</tbody>', table, re.S
    )
    return {
        point_id: [
            re.findall(r"<td>(.*?)</td>", row, re.S) for row in re.findall(r"<tr>(.*?)</tr>", rows, re.S)
        ]
        for point_id, rows in groups
    }


# -- every problem of a row, in one pass ------------------------------------------------------------


def test_a_row_with_three_problems_lists_all_three_out_of_bounds_included(tmp_path):
    path = tmp_path / "three.csv"
    path.write_text(HEADER + "ok,Школа,open,50.45,30.52,\nbad,,melted,53.9,27.56,\n", encoding="utf-8")
    assert problems_of(path) == [(3, "bad", "name"), (3, "bad", "status"), (3, "bad", "lat")]


def test_a_stop_out_of_bounds_and_an_unknown_region_are_listed_beside_field_errors(tmp_path):
    stop = {"place": "Мінськ", "lat": 53.9, "lon": 27.56, "starts_at": "2025-01-15T08:00:00Z"}
    stop["ends_at"] = "2025-01-15T10:00:00Z"
    record = make_record("tent", kind="mobile", status="melted", region="Марс", stops=[stop])
    path = write_geojson(tmp_path / "tent.geojson", [make_record("ok"), record])
    with pytest.raises(ImportRejected) as caught:
        read_points(path, now=FIXED_NOW)
    said = [str(p) for p in caught.value.problems]
    assert [s.split(":")[0] for s in said] == ["feature 2 (id tent)"] * 3
    assert any("status:" in s for s in said)
    assert any("stops: stop 1: lat 53.9, lon 27.56 is outside the allowed area" in s for s in said)
    assert any("region: unknown region 'Марс'" in s for s in said)


def test_a_repeated_id_is_named_even_when_its_first_row_is_wrong(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text(HEADER + "a,,open,50.45,30.52,\na,A,open,50.45,30.52,\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as caught:
        read_points(path, now=FIXED_NOW)
    assert [str(p) for p in caught.value.problems] == [
        "row 2 (id a): name: is required",
        "row 3 (id a): id: duplicate id, first used in row 2",
    ]


# -- rows numbered as the spreadsheet shows them -----------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_csv_rows_are_numbered_as_a_spreadsheet_shows_them(tmp_path, seed):
    """Oracle: the row a spreadsheet gives each record (header 1, blank lines counted, a quoted
    cell with line breaks one row), known while the file is written."""
    rng = random.Random(seed)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator=rng.choice(["\n", "\r\n"]), delimiter=rng.choice([",", ";"]))
    writer.writerow(["id", "name", "status", "lat", "lon", "note"])
    row, bad_rows = 1, []
    for i in range(rng.randrange(5, 40)):
        if rng.random() < 0.15:
            text.write("\n")  # a blank row: shown, counted, skipped
            row += 1
        note = rng.choice(["", "одна лінія", "дві\nлінії", "три;\nлінії,\n«так»", 'лапки "тут"'])
        bad = rng.random() < 0.3
        writer.writerow([f"p{i}", f"Пункт {i}", "melted" if bad else "open", "50.45", "30.52", note])
        row += 1
        if bad:
            bad_rows.append((row, f"p{i}"))
    if not bad_rows:
        writer.writerow(["last", "Останній", "melted", "50.45", "30.52", ""])
        bad_rows.append((row + 1, "last"))
    path = tmp_path / "rows.csv"
    path.write_text(text.getvalue(), encoding="utf-8")
    assert [(number, point_id) for number, point_id, _ in problems_of(path)] == bad_rows


def test_geojson_features_are_counted_from_one(tmp_path):
    path = write_geojson(tmp_path / "f.geojson", [make_record("a"), make_record("b", status="melted")])
    assert problems_of(path) == [(2, "b", "status")]


def test_a_row_with_more_cells_than_the_header_is_named_with_the_others(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text(HEADER + "a,A,open,50.45,30.52,,extra\nb,B,melted,50.45,30.52,\n", encoding="utf-8")
    assert problems_of(path) == [(2, None, "file"), (3, "b", "status")]


# -- messages in the console's language --------------------------------------------------------------


def test_the_console_says_each_problem_in_its_language(admin, store, db_path):
    before = store.all()
    data = (HEADER + "ok,Школа,open,50.45,30.52,\nbad,,melted,53.9,27.56,\n").encode()
    uk = upload(admin, "bad.csv", data, "uk").get_data(as_text=True)
    assert table_rows(uk, "rejected") == [
        ["3", "bad", "name", "обов’язкове поле"],
        ["3", "bad", "status", "&#39;melted&#39; — не одне з: open, full, standby, closed, unconfirmed"],
        [
            "3",
            "bad",
            "lat",
            "lat 53.9, lon 27.56 — поза дозволеною територією (lat 44.3..52.4, lon 22.0..40.3;"
            " LOCATOR_BOUNDS)",
        ],
    ]
    assert "Рядок" in uk and "заголовок — рядок 1" in uk
    assert "is required" not in uk
    en = upload(admin, "bad.csv", data, "en").get_data(as_text=True)
    assert [row[3] for row in table_rows(en, "rejected")][0] == "is required"
    assert '<th scope="col">Row</th>' in en
    assert store.all() == before  # a rejected import changes nothing


def test_a_nested_problem_is_said_in_the_console_language_too(admin):
    stop = {"place": "Площа", "lat": 50.45, "lon": 30.52, "starts_at": "2025-01-15T08:00:00Z"}
    stop["ends_at"] = "2025-01-15T07:00:00Z"
    record = make_record("tent", kind="mobile", stops=[stop])
    data = json.dumps({"type": "FeatureCollection", "features": [_feature(record)]}).encode()
    page = upload(admin, "tent.geojson", data, "uk").get_data(as_text=True)
    assert table_rows(page, "rejected") == [
        ["1", "tent", "stops", "зупинка 1: ends_at має бути пізніше за starts_at"]
    ]


def _feature(record: dict) -> dict:
    properties = {k: v for k, v in record.items() if k not in ("lat", "lon")}
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [record["lon"], record["lat"]]},
            "properties": properties}  # fmt: skip


def test_every_message_template_in_the_code_has_a_translation():
    """The table in web/messages.py covers every template domain/, search/ and io/ raise."""
    found = set()
    for folder in ("domain", "search", "io"):
        for path in (PROJECT / "locator" / folder).glob("*.py"):
            source = path.read_text(encoding="utf-8")
            found |= set(re.findall(r'Invalid\(\s*"((?:[^"\\]|\\.)*)"', source))
            found |= set(re.findall(r'Problem\.of\(\s*"\w+",\s*"((?:[^"\\]|\\.)*)"', source))
            found |= set(re.findall(r'ImportRejected\(\s*"((?:[^"\\]|\\.)*)"', source))
    assert len(found) > 30
    from locator.domain.parsers import TIME_RANGE_PROBLEM
    from locator.io.batch import FEATURE, ROW
    from locator.io.files import NOT_UTF8
    from locator.search.regions import OUTSIDE

    composed = {TIME_RANGE_PROBLEM, OUTSIDE, NOT_UTF8}
    composed |= {f"duplicate id, first used in {unit} {{number}}" for unit in (ROW, FEATURE)}
    composed.add("{name} holds " + NOT_UTF8 + " (byte 0x{byte} on line {line})")
    found.discard("duplicate id, first used in ")  # (composed with the unit, above)
    missing = sorted(t for t in found | composed if t not in MESSAGES)
    assert missing == []


# -- `;` separators and decimal commas ---------------------------------------------------------------


def excel_ukrainian(points_text: str) -> str:
    """The comma CSV as a Ukrainian-locale Excel saves it: `;` between cells, decimal commas."""
    rows = list(csv.reader(io.StringIO(points_text, newline="")))
    header = rows[0]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    for row in rows[1:]:
        cells = dict(zip(header, row, strict=True))
        for column in ("lat", "lon"):
            cells[column] = cells[column].replace(".", ",")
        writer.writerow([cells[name] for name in header])
    return out.getvalue()


@pytest.mark.parametrize("seed", range(4))
def test_semicolons_and_decimal_commas_read_as_the_comma_file(tmp_path, seed):
    rng = random.Random(seed)
    points = random_points(rng, 60)
    points = [
        p.with_changes(note=rng.choice(["", "a; b", "1,5 км; вхід «з двору»", "рядок\nдругий"]))
        for p in points
    ]
    comma = points_csv(points, as_stored=True)
    assert "," in comma.splitlines()[0]
    (tmp_path / "comma.csv").write_text(comma, encoding="utf-8")
    (tmp_path / "excel.csv").write_bytes(("\ufeff" + excel_ukrainian(comma)).encode("utf-8"))
    oracle = [p.to_record() for p in read_points(tmp_path / "comma.csv", now=FIXED_NOW)]
    excel = [p.to_record() for p in read_points(tmp_path / "excel.csv", now=FIXED_NOW)]
    assert excel == oracle
    assert [(r["id"], r["lat"], r["lon"], r["note"]) for r in oracle] == [
        (p.id, pytest.approx(p.lat, abs=1e-9), pytest.approx(p.lon, abs=1e-9), p.note) for p in points
    ]


def test_a_comma_file_with_semicolons_in_quoted_cells_stays_a_comma_file(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text(
        HEADER + 'a,"Школа; корпус 2",open,50.45,30.52,"вхід; двір; 2-й поверх"\n', encoding="utf-8"
    )
    [point] = read_points(path, now=FIXED_NOW)
    assert (point.name, point.note, point.lat) == ("Школа; корпус 2", "вхід; двір; 2-й поверх", 50.45)


def test_a_count_with_a_comma_is_not_guessed_at(tmp_path):
    path = tmp_path / "count.csv"
    path.write_text("id;name;status;lat;lon;capacity\na;A;open;50,45;30,52;1,000\n", encoding="utf-8")
    assert problems_of(path) == [(2, "a", "capacity")]


# -- the dry run's changed fields --------------------------------------------------------------------


def test_the_dry_run_shows_each_changed_field_from_what_to_what_as_text(admin, store):
    store.import_points([make_point("a"), make_point("b")])
    before = store.all()
    records = [make_record("a", status="closed", note="<b>зачинено</b>"), make_record("b")]
    data = json.dumps({"type": "FeatureCollection", "features": [_feature(r) for r in records]}).encode()
    page = upload(admin, "changed.geojson", data).get_data(as_text=True)
    assert changes_shown(page) == {
        "a": [["status", "open", "closed"], ["note", "—", "&lt;b&gt;зачинено&lt;/b&gt;"]]
    }
    assert "<b>зачинено" not in page
    assert store.all() == before


def test_the_cli_dry_run_lists_changed_fields(runner, store, tmp_path):
    store.import_points([make_point("a")])
    path = write_geojson(tmp_path / "a.geojson", [make_record("a", note='два\nрядки "так"')])
    result = runner.invoke(args=["points", "import", "--dry-run", str(path)])
    assert result.exit_code == 0, result.output
    assert '  a: note: "" -> "два\\nрядки \\"так\\""' in result.output
    assert store.get("a").note == ""


# -- an import is not a confirmation -----------------------------------------------------------------


def test_a_point_imported_without_verified_at_is_never_confirmed_end_to_end(client, runner, store, tmp_path):
    path = tmp_path / "new.csv"
    path.write_text("id,name,status,lat,lon\nnew,Новий пункт,open,50.45,30.52\n", encoding="utf-8")
    result = runner.invoke(args=["points", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert store.get("new").verified_at is None
    answer = client.get("/api/v1/points/new").get_json()
    properties = answer.get("properties", answer)
    assert (properties["verified_at"], properties["status_age_s"], properties["stale"]) == (None, None, True)
    listed = client.get("/api/v1/points").get_json()["features"][0]["properties"]
    assert (listed["verified_at"], listed["stale"]) == (None, True)
    near = client.get("/api/v1/nearest?lat=50.45&lon=30.52").get_json()["features"][0]["properties"]
    assert (near["verified_at"], near["stale"]) == (None, True)
    page = client.get("/points/new?lang=uk").get_data(as_text=True)
    assert "Статус ще не підтверджено оператором" in page
    assert "Статус підтверджено" not in page
    assert "Never confirmed" in client.get("/points/new?lang=en").get_data(as_text=True)
    assert "Статус ще не підтверджено оператором" in client.get("/list?lat=50.45&lon=30.52").get_data(
        as_text=True
    )
    table = client.get("/api/v1/points?format=compact").get_json()
    assert table["rows"][0][table["fields"].index("verified_at")] == 0  # map.js: "never confirmed"


def test_only_an_operator_confirms_an_imported_point(store, tmp_path):
    path = write_geojson(
        tmp_path / "p.geojson", [{k: v for k, v in make_record("a").items() if k != "verified_at"}]
    )
    batch = read_points(path)
    store.import_points(batch, untimed=batch.untimed)
    assert store.get("a").is_stale(utcnow())
    confirmed = store.confirm("a", by="operator")
    assert confirmed.verified_at is not None and not confirmed.is_stale(utcnow())
    # Re-imported without a time, same status and place: the operator's confirmation stands.
    store.import_points(batch := read_points(path), untimed=batch.untimed)
    assert store.get("a").verified_at == confirmed.verified_at
    # A status the file changes is never confirmed.
    closed = write_geojson(
        tmp_path / "c.geojson",
        [{k: v for k, v in make_record("a", status="closed").items() if k != "verified_at"}],
    )
    store.import_points(batch := read_points(closed), untimed=batch.untimed)
    assert store.get("a").verified_at is None


def test_a_files_verified_at_is_kept_but_never_later_than_the_import(tmp_path):
    soon = utcnow() + timedelta(minutes=3)  # within the clock skew validation allows
    records = [
        make_record("past", verified_at="2025-01-10T09:00:00Z"),
        make_record("soon", verified_at=soon.strftime("%Y-%m-%dT%H:%M:%SZ")),
    ]
    before = utcnow().replace(microsecond=0)
    points = {p.id: p for p in read_points(write_geojson(tmp_path / "t.geojson", records))}
    assert points["past"].verified_at.isoformat() == "2025-01-10T09:00:00+00:00"
    assert before <= points["soon"].verified_at <= utcnow()


def test_the_stale_count_includes_never_confirmed_points(store):
    from locator.store.health import stats

    store.import_points([make_point("a"), make_point("b").with_changes(verified_at=None)])
    assert stats(store, FIXED_NOW - timedelta(days=365))["stale"] == 1
