"""Import and export: files round-trip, bad files change nothing, and the CLI reports what it did."""

from __future__ import annotations

import csv
import json
import sqlite3
from datetime import timedelta

import geopandas as gpd
import pytest
from helpers import FIXED_NOW, feature, make_point, make_record, write_geojson
from shapely.geometry import LineString
from shapely.geometry import Point as ShapelyPoint

from locator.io.files import ImportRejected, read_points, write_points

STALE = timedelta(hours=12)


def dump(path) -> list[str]:
    """The whole database as SQL, through a separate connection: equal dumps, equal databases."""
    with sqlite3.connect(path) as conn:
        return list(conn.iterdump())


@pytest.fixture
def varied_points() -> list:
    return [
        make_point(
            "kyiv-01",
            name="Ліцей №1 «Світло» & <Тепло>",
            kind="mobile",
            category="business",
            base=True,
            status="full",
            services="power,heat,internet,sleeping",
            address='вул. Об’їзна, 5, "корпус" 2',
            capacity=120,
            occupancy=119,
            phone="+380 (44) 123-45-67",
            hours="08:00–20:00",
            open_24_7=True,
            note="Вхід з двору.\nЄ пандус;\tкава, чай",
            lat=50.450123456789,
            lon=30.523412345678,
            version=4,
        ),
        make_point(
            "lviv-02",
            status="closed",
            services="",
            settlement="",
            address="",
            lat=49.84,
            lon=24.03,
        ),
        make_point("odesa-03", status="standby", capacity=0, lat=46.4825, lon=30.7233, note="=1+1"),
    ]


@pytest.mark.parametrize("suffix", [".geojson", ".json", ".csv", ".gpkg"])
def test_write_then_read_gives_identical_points(tmp_path, varied_points, suffix):
    path = tmp_path / f"points{suffix}"
    assert write_points(varied_points, path, stale_after=STALE) == 3
    assert read_points(path, now=FIXED_NOW) == varied_points


@pytest.mark.parametrize(
    "given, lat, lon, read",
    [
        ("", 49.84, 24.03, "Львівська область"),  # blank: the region the coordinates lie in
        ("м. Київ", 50.45, 30.52, "Київ"),  # one public spelling
        ("Київська обл.", 50.511, 30.79, "Київська область"),  # Бровари: the oblast, not the city
        ("Київ", 50.389, 30.37, "Київська область"),  # Вишневе: a file's region follows its coordinates
    ],
)
def test_a_files_region_is_the_one_its_coordinates_lie_in(tmp_path, given, lat, lon, read):
    path = tmp_path / "points.csv"
    path.write_text(f"id,name,status,lat,lon,region\np,П,open,{lat},{lon},{given}\n", encoding="utf-8")
    [point] = read_points(path, now=FIXED_NOW)
    assert point.region == read


def test_a_region_nobody_knows_is_refused_by_name(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text(
        "id,name,status,lat,lon,region\np,П,open,50.45,30.52,Марсіанська область\n", encoding="utf-8"
    )
    with pytest.raises(ImportRejected) as rejected:
        read_points(path, now=FIXED_NOW)
    [problem] = rejected.value.problems
    assert problem.problem.field == "region" and "unknown region" in problem.problem.message


def test_export_to_an_unknown_format_is_refused(tmp_path, varied_points):
    with pytest.raises(ValueError, match="cannot export"):
        write_points(varied_points, tmp_path / "points.kml", stale_after=STALE)


def test_geojson_export_has_every_field_and_a_point_geometry(tmp_path, varied_points):
    path = tmp_path / "p.geojson"
    write_points(varied_points, path, stale_after=STALE)
    collection = json.loads(path.read_text(encoding="utf-8"))
    assert collection["type"] == "FeatureCollection"
    first = collection["features"][0]
    assert first["id"] == "kyiv-01"
    assert first["geometry"] == {"type": "Point", "coordinates": [30.523412345678, 50.450123456789]}
    assert first["properties"]["services"] == ["power", "heat", "internet", "sleeping"]
    assert first["properties"]["name"] == "Ліцей №1 «Світло» & <Тепло>"


def test_csv_import_reads_lat_lon_columns_and_comma_separated_services(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text(
        "\ufeffid,name,status,lat,lon,services,base,capacity,region\n"
        'a,Школа №1,open,50.45,30.52,"power,heat",true,,Київська область\n'
        'b,"Ліцей, корпус 2",Closed,49.84,24.03,,0,25,\n',
        encoding="utf-8",
    )
    a, b = read_points(path, now=FIXED_NOW)
    assert (a.id, a.name, a.lat, a.lon, a.services, a.base, a.capacity) == (
        "a",
        "Школа №1",
        50.45,
        30.52,
        frozenset({"power", "heat"}),
        True,
        None,
    )
    assert (b.name, b.status.value, b.services, b.base, b.capacity, b.region) == (
        "Ліцей, корпус 2",
        "closed",
        frozenset(),
        False,
        25,
        "Львівська область",  # blank: where the coordinates lie
    )


def test_rejected_file_lists_every_problem_with_index_and_id(tmp_path):
    path = write_geojson(
        tmp_path / "bad.geojson",
        [
            make_record("ok-1"),
            make_record("dup", lat=50.1),
            make_record("dup", lat=50.2),
            feature(make_record("line"), {"type": "LineString", "coordinates": [[30, 50], [31, 51]]}),
            feature(make_record("nowhere"), None),
            make_record("bad-status", status="bogus"),
            make_record("too-north", lat=95.0),
            make_record("ok-2"),
        ],
    )
    with pytest.raises(ImportRejected) as caught:
        read_points(path, now=FIXED_NOW)
    found = {(p.number, p.point_id, p.problem.field) for p in caught.value.problems}
    assert found == {  # features are numbered from 1
        (3, "dup", "id"),
        (4, "line", "geometry"),
        (5, "nowhere", "lat"),
        (5, "nowhere", "lon"),
        (6, "bad-status", "status"),
        (7, "too-north", "lat"),
    }
    message = str(caught.value)
    assert "feature 3 (id dup): id: duplicate id, first used in feature 2" in message
    assert "feature 6 (id bad-status): status:" in message
    assert "feature 7 (id too-north): lat: must be between -90 and 90" in message


def test_a_feature_without_an_id_is_named_by_its_index(tmp_path):
    path = write_geojson(tmp_path / "bad.geojson", [make_record("a"), make_record(None, name="Без id")])
    with pytest.raises(ImportRejected) as caught:
        read_points(path, now=FIXED_NOW)
    assert [str(p) for p in caught.value.problems] == ["feature 2: id: is required"]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("broken.geojson", '{"type": "FeatureCollection", "features": ['),
        ("empty.csv", ""),
        ("not-geo.gpkg", "this is not a geopackage"),
    ],
)
def test_unreadable_file_is_rejected_with_its_name(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ImportRejected, match=name.replace(".", r"\.")):
        read_points(path)


def test_missing_file_is_rejected(tmp_path):
    with pytest.raises(ImportRejected, match="is not a file"):
        read_points(tmp_path / "nope.geojson")


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg"])
def test_projected_file_is_reprojected_to_wgs84(tmp_path, suffix):
    places = {"kyiv": (30.5234, 50.4501), "lviv": (24.0297, 49.8397), "kharkiv": (36.2304, 49.9935)}
    frame = gpd.GeoDataFrame(
        {"id": list(places), "name": ["Київ", "Львів", "Харків"], "status": ["open", "full", "closed"]},
        geometry=[ShapelyPoint(lon, lat) for lon, lat in places.values()],
        crs="EPSG:4326",
    ).to_crs("EPSG:3857")
    assert frame.geometry.x.abs().max() > 1_000_000  # really projected: metres, not degrees
    path = tmp_path / f"mercator{suffix}"
    frame.to_file(path, driver="GeoJSON" if suffix == ".geojson" else "GPKG")
    points = {p.id: p for p in read_points(path, now=FIXED_NOW)}
    for point_id, (lon, lat) in places.items():
        assert points[point_id].lat == pytest.approx(lat, abs=1e-9)
        assert points[point_id].lon == pytest.approx(lon, abs=1e-9)


def test_geopackage_with_a_non_point_geometry_is_rejected(tmp_path):
    frame = gpd.GeoDataFrame(
        {"id": ["a", "b"], "name": ["A", "B"], "status": ["open", "open"]},
        geometry=[ShapelyPoint(30, 50), LineString([(30, 50), (31, 51)])],
        crs="EPSG:4326",
    )
    frame.to_file(tmp_path / "mixed.gpkg", driver="GPKG")
    with pytest.raises(ImportRejected) as caught:
        read_points(tmp_path / "mixed.gpkg", now=FIXED_NOW)
    assert {(p.number, p.point_id) for p in caught.value.problems} == {(2, "b")}


# -- the CLI -----------------------------------------------------------------------------------------


def invoke(runner, *args):
    return runner.invoke(args=["points", *map(str, args)])


def test_cli_import_prints_counts(runner, store, tmp_path):
    first = write_geojson(tmp_path / "first.geojson", [make_record("a"), make_record("b"), make_record("c")])
    result = invoke(runner, "import", first)
    assert result.exit_code == 0, result.output
    assert "3 added, 0 changed, 0 unchanged, 0 removed" in result.output
    assert [p.id for p in store.all()] == ["a", "b", "c"]

    second = write_geojson(tmp_path / "second.geojson", [make_record("a"), make_record("b", status="full")])
    result = invoke(runner, "import", second)
    assert result.exit_code == 0, result.output
    assert "0 added, 1 changed, 1 unchanged, 0 removed" in result.output
    assert store.get("b").status.value == "full"
    assert store.history("b")[0]["by"] == "import:second.geojson"


def test_cli_import_replace_removes_missing_points(runner, store, tmp_path):
    invoke(runner, "import", write_geojson(tmp_path / "all.geojson", [make_record(i) for i in "abcd"]))
    result = invoke(
        runner,
        "import",
        write_geojson(tmp_path / "two.geojson", [make_record("b"), make_record("d")]),
        "--replace",
    )
    assert result.exit_code == 0, result.output
    assert "0 added, 0 changed, 2 unchanged, 2 removed" in result.output
    assert [p.id for p in store.all()] == ["b", "d"]


def test_cli_dry_run_writes_nothing(runner, store, db_path, tmp_path):
    invoke(runner, "import", write_geojson(tmp_path / "all.geojson", [make_record("a"), make_record("b")]))
    before = dump(db_path)
    path = write_geojson(tmp_path / "new.geojson", [make_record("a", status="closed"), make_record("z")])
    result = invoke(runner, "import", path, "--replace", "--dry-run")
    assert result.exit_code == 0, result.output
    assert (
        "2 valid points; would add 1, change 1, leave 0 unchanged, remove 1; nothing written (dry run)"
        in result.output
    )
    assert '  a: status: "open" -> "closed"' in result.output  # each changed field, from what, to what
    assert dump(db_path) == before


def test_cli_rejected_import_changes_nothing(runner, store, db_path, tmp_path):
    invoke(runner, "import", write_geojson(tmp_path / "all.geojson", [make_record("a"), make_record("b")]))
    before = dump(db_path)
    seq = store.change_seq()
    bad = write_geojson(
        tmp_path / "bad.geojson",
        [
            make_record("a", status="closed"),  # valid on its own: must not be written either
            make_record("a", status="full"),
            feature(make_record("line"), {"type": "LineString", "coordinates": [[30, 50], [31, 51]]}),
            feature(make_record("nowhere"), None),
            make_record("c", status="bogus"),
            make_record("d", lat=-91),
        ],
    )
    result = invoke(runner, "import", bad, "--replace")
    assert result.exit_code != 0
    output = result.output  # click's runner mixes stderr into output
    for expected in (
        "feature 2 (id a): id: duplicate id, first used in feature 1",
        "feature 3 (id line): geometry: expected a Point, got a LineString",
        "feature 4 (id nowhere): lat: is required",
        "feature 5 (id c): status: 'bogus' is not one of",
        "feature 6 (id d): lat: must be between -90 and 90",
        "6 problem(s); nothing was imported",
    ):
        assert expected in output, output
    assert dump(db_path) == before
    assert store.change_seq() == seq


def test_cli_import_of_a_missing_file_fails(runner, tmp_path):
    result = invoke(runner, "import", tmp_path / "nope.geojson")
    assert result.exit_code != 0
    assert "does not exist" in result.output


@pytest.mark.parametrize("suffix", [".geojson", ".csv", ".gpkg"])
def test_cli_export_then_import_into_an_empty_database_gives_the_same_points(
    runner, store, tmp_path, varied_points, suffix
):
    store.import_points(varied_points)
    path = tmp_path / f"export{suffix}"
    result = invoke(runner, "export", path)
    assert result.exit_code == 0, result.output
    assert f"{path}: 3 points written" in result.output

    from locator import create_app

    other = create_app({"DATABASE": str(tmp_path / "other.db"), "SEED_FILE": ""})
    result = invoke(other.test_cli_runner(), "import", path)
    assert result.exit_code == 0, result.output
    assert "3 added" in result.output
    imported = other.extensions["locator.store"].all()
    assert imported == store.all()


def test_cli_csv_export_has_lat_lon_columns(runner, store, tmp_path, varied_points):
    store.import_points(varied_points)
    path = tmp_path / "export.csv"
    assert invoke(runner, "export", path).exit_code == 0
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["id"] for row in rows] == ["kyiv-01", "lviv-02", "odesa-03"]
    assert float(rows[0]["lat"]) == 50.450123456789 and float(rows[0]["lon"]) == 30.523412345678
    assert rows[0]["services"] == "power,heat,internet,sleeping"
    assert rows[0]["note"] == "Вхід з двору.\nЄ пандус;\tкава, чай"


def test_cli_geojson_export_marks_stale_points(runner, store, tmp_path):
    just_now = make_point("new", now=None, updated_at=None, verified_at=None)
    store.import_points([make_point("old", verified_at="2025-01-01T00:00:00Z"), just_now])
    path = tmp_path / "export.geojson"
    assert invoke(runner, "export", path).exit_code == 0
    stale = {f["id"]: f["properties"]["stale"] for f in json.loads(path.read_text())["features"]}
    assert stale == {"new": False, "old": True}


def test_cli_export_to_an_unknown_format_fails(runner, store, tmp_path):
    result = invoke(runner, "export", tmp_path / "points.kml")
    assert result.exit_code != 0
    assert "cannot export to .kml" in result.output
    assert not (tmp_path / "points.kml").exists()


def test_reimporting_a_file_without_times_keeps_verification_times(store, tmp_path):
    """An export without verified_at must not make stale points look freshly confirmed."""
    old = FIXED_NOW - timedelta(days=3)
    stamp = old.strftime("%Y-%m-%dT%H:%M:%SZ")
    store.import_points([make_point(i, verified_at=stamp, updated_at=stamp) for i in "ab"])
    seq = store.change_seq()
    untimed = [
        {k: v for k, v in make_record(i).items() if k not in ("verified_at", "updated_at")} for i in "ab"
    ]
    untimed[1]["status"] = "closed"
    summary = store.import_points(
        batch := read_points(write_geojson(tmp_path / "u.geojson", untimed)), untimed=batch.untimed
    )
    assert (summary.unchanged, summary.changed) == (["a"], ["b"])
    assert store.get("a").verified_at == old  # nothing changed: the old confirmation stands
    assert store.get("b").verified_at is None  # a status the file brings: never confirmed
    assert store.change_seq() == seq + 1


def test_an_import_that_changes_nothing_leaves_the_change_counter(store, tmp_path):
    store.import_points([make_point("a")])
    seq = store.change_seq()
    assert store.import_points([make_point("a")]).unchanged == ["a"]
    assert store.change_seq() == seq
