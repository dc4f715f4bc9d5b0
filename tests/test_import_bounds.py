"""Bounded imports: size, feature count, the allowed area, coordinate systems and encodings.
Each problem names the feature or row (its number and id) and nothing is written, by the CLI or
the console."""

from __future__ import annotations

import io
import json
import re
import shutil
import sqlite3

import geopandas as gpd
import pytest
from helpers import CSRF_FIELD, PROBLEM_JSON, login, make_record, write_geojson
from pyproj import Transformer
from shapely.geometry import Point as ShapelyPoint

from locator import create_app
from locator.config import ConfigError
from locator.io.files import ImportLimits, ImportRejected, read_points
from locator.services.accounts import new_token


def dump(path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return list(conn.iterdump())


def collection(features: list[dict], crs: dict | None = None) -> str:
    document = {"type": "FeatureCollection", "features": features}
    if crs is not None:
        document["crs"] = crs
    return json.dumps(document, ensure_ascii=False)


def named(name: str) -> dict:
    return {"type": "name", "properties": {"name": name}}


def feature(point_id: str, lon: float, lat: float, **properties) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"id": point_id, "name": f"Пункт {point_id}", "status": "open", **properties},
    }


CSV_HEADER = "id,name,status,lat,lon\n"


@pytest.fixture
def imported(runner, store, db_path, tmp_path):
    """The database with two points, and a check that a rejected import left it exactly so."""
    path = write_geojson(tmp_path / "first.geojson", [make_record("a"), make_record("b")])
    assert runner.invoke(args=["points", "import", str(path)]).exit_code == 0
    before = dump(db_path)

    def reject(path, *expected: str, app_runner=None):
        result = (app_runner or runner).invoke(args=["points", "import", str(path), "--replace"])
        assert result.exit_code != 0, result.output
        assert "nothing was imported" in result.output
        for text in expected:
            assert text in result.output, result.output
        assert dump(db_path) == before
        return result.output

    return reject


# -- size and count ------------------------------------------------------------------------------


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(imported, db_path, tmp_path):
    app = create_app({"DATABASE": str(db_path), "SEED_FILE": "", "IMPORT_MAX_BYTES": 1000})
    path = write_geojson(tmp_path / "big.geojson", [make_record(f"p{i}") for i in range(20)])
    size = path.stat().st_size
    imported(
        path,
        f"big.geojson is {size:,} bytes, more than the limit of 1,000 (LOCATOR_IMPORT_MAX_BYTES)",
        app_runner=app.test_cli_runner(),
    )


def test_a_file_with_too_many_features_is_refused(imported, db_path, tmp_path):
    app = create_app({"DATABASE": str(db_path), "SEED_FILE": "", "IMPORT_MAX_FEATURES": 5})
    path = tmp_path / "many.csv"
    path.write_text(CSV_HEADER + "".join(f"p{i},P,open,50.4,30.5\n" for i in range(6)))
    imported(path, "many.csv holds 6 features, more than the limit of 5", app_runner=app.test_cli_runner())


# -- where the points are ------------------------------------------------------------------------


def test_points_outside_the_allowed_area_are_named(imported, tmp_path):
    path = tmp_path / "far.geojson"
    path.write_text(
        collection(
            [
                feature("kyiv", 30.52, 50.45),
                feature("minsk", 27.56, 53.90),  # north of Ukraine
                feature("null-island", 0.0, 0.0),
                feature("uzhhorod", 22.29, 48.62),  # the far west, inside
            ]
        )
    )
    imported(
        path,
        "feature 2 (id minsk): geometry: lat 53.9, lon 27.56 is outside the allowed area"
        " (lat 44.3..52.4, lon 22.0..40.3; LOCATOR_BOUNDS)",
        "feature 3 (id null-island): geometry: lat 0.0, lon 0.0 is outside",
        "2 problem(s)",
    )


def test_a_mobile_point_stop_outside_the_area_is_named(imported, tmp_path):
    stops = [
        {
            "place": "Площа",
            "lat": 50.45,
            "lon": 30.52,
            "starts_at": "2025-01-15T08:00:00Z",
            "ends_at": "2025-01-15T12:00:00Z",
        },
        {
            "place": "Мінськ",
            "lat": 53.9,
            "lon": 27.56,
            "starts_at": "2025-01-15T13:00:00Z",
            "ends_at": "2025-01-15T18:00:00Z",
        },
    ]
    path = write_geojson(tmp_path / "stops.geojson", [make_record("tent", kind="mobile", stops=stops)])
    imported(path, "feature 1 (id tent): stops: stop 2: lat 53.9, lon 27.56 is outside the allowed area")


def test_the_allowed_area_is_a_setting(db_path, tmp_path, monkeypatch):
    monkeypatch.setenv("LOCATOR_BOUNDS", "23.5,51.2,32.8,56.2")  # Belarus, roughly
    app = create_app({"DATABASE": str(db_path), "SEED_FILE": ""})
    assert app.config["BOUNDS"] == (23.5, 51.2, 32.8, 56.2)
    path = tmp_path / "p.csv"
    path.write_text(CSV_HEADER + "minsk,Мінськ,open,53.9,27.56\nkyiv,Київ,open,50.45,30.52\n")
    result = app.test_cli_runner().invoke(args=["points", "import", str(path)])
    assert result.exit_code != 0
    assert "row 3 (id kyiv): lat: lat 50.45, lon 30.52 is outside" in result.output  # the header is row 1
    assert "minsk" not in result.output


@pytest.mark.parametrize("value", ["22,44,40", "40.3,44.3,22.0,52.4", "a,b,c,d", "22,44,40,95"])
def test_a_bad_bounds_setting_stops_the_app(db_path, monkeypatch, value):
    monkeypatch.setenv("LOCATOR_BOUNDS", value)
    with pytest.raises(
        ConfigError, match="LOCATOR_BOUNDS=.* is not valid: expected min_lon,min_lat,max_lon,max_lat"
    ):
        create_app({"DATABASE": str(db_path), "SEED_FILE": ""})


def test_null_and_empty_coordinates_are_named(imported, tmp_path):
    path = tmp_path / "holes.geojson"
    empty = feature("empty", 30.5, 50.4)
    empty["geometry"]["coordinates"] = []
    nothing = feature("nothing", 30.5, 50.4)
    nothing["geometry"] = None
    path.write_text(collection([feature("ok", 30.5, 50.4), empty, nothing]))
    imported(path, "feature 2 (id empty): lat: is required", "feature 3 (id nothing): lon: is required")
    csv_path = tmp_path / "holes.csv"
    csv_path.write_text(CSV_HEADER + "ok,A,open,50.4,30.5\nblank,B,open,,\nnan,C,open,nan,30.5\n")
    imported(csv_path, "row 3 (id blank): lat: is required", "row 4 (id nan): lat: must be between")


# -- coordinate reference systems --------------------------------------------------------------------


def test_a_declared_crs_is_reprojected(tmp_path):
    # Kyiv in Web Mercator metres, with the CRS named the pre-RFC 7946 way.
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True).transform(30.5234, 50.4501)
    path = tmp_path / "mercator.geojson"
    path.write_text(collection([feature("kyiv", x, y)], named("urn:ogc:def:crs:EPSG::3857")))
    (kyiv,) = read_points(path)
    assert (kyiv.lat, kyiv.lon) == pytest.approx((50.4501, 30.5234), abs=1e-9)
    crs84 = tmp_path / "crs84.geojson"
    crs84.write_text(collection([feature("kyiv", 30.5234, 50.4501)], named("urn:ogc:def:crs:OGC:1.3:CRS84")))
    assert [(p.lat, p.lon) for p in read_points(crs84)] == [(50.4501, 30.5234)]


@pytest.mark.parametrize(
    ("crs", "message"),
    [
        (named("urn:ogc:def:crs:EPSG::999999"), "declares an unknown coordinate reference system"),
        (named("my own grid"), "declares an unknown coordinate reference system 'my own grid'"),
        (
            {"type": "link", "properties": {"href": "https://example.org/crs.prj"}},
            "in a form that cannot be read",
        ),
    ],
)
def test_an_unknown_crs_is_refused(imported, tmp_path, crs, message):
    # GDAL alone would read each of these as plain WGS84 and import the points in the wrong place.
    path = tmp_path / "odd.geojson"
    path.write_text(collection([feature("kyiv", 30.52, 50.45)], crs))
    imported(path, message)


def test_a_geopackage_whose_crs_cannot_be_parsed_is_refused(imported, tmp_path):
    path = tmp_path / "broken-srs.gpkg"
    gpd.GeoDataFrame(
        {"id": ["kyiv"], "name": ["Київ"], "status": ["open"]},
        geometry=[ShapelyPoint(30.52, 50.45)],
        crs="EPSG:4326",
    ).to_crs("EPSG:3857").to_file(path, driver="GPKG")
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE gpkg_spatial_ref_sys SET definition = 'garbage', organization = 'NONE',"
            " organization_coordsys_id = 99999 WHERE srs_id = 3857"
        )
    imported(path, "broken-srs.gpkg declares a coordinate reference system that cannot be read")
    undefined = tmp_path / "undefined.gpkg"
    shutil.copy(path, undefined)
    with sqlite3.connect(undefined) as conn:
        conn.execute("UPDATE gpkg_geometry_columns SET srs_id = -1")
        conn.execute("UPDATE gpkg_contents SET srs_id = -1")
    imported(undefined, "undefined.gpkg: coordinates in Undefined Cartesian SRS cannot be converted to WGS84")


# -- encodings -------------------------------------------------------------------------------------


ROWS = "a,Школа №1,open,50.45,30.52\nb,Ліцей «Світло»,open,50.46,30.53\n"


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        (
            "cp1251",
            [
                "holds text that is not UTF-8",
                "(byte 0xD8 on line 2)",
                "row 2 (id a): encoding",
                "row 3 (id b): encoding",
            ],
        ),
        ("latin-1", ["holds text that is not UTF-8", "row 3 (id b): encoding"]),  # « is 0xAB
        ("utf-16", ["is not UTF-8 text (it looks like UTF-16): save the file as UTF-8"]),
        ("utf-16-le", ["is not UTF-8 text (it looks like UTF-16)"]),
    ],
)
def test_a_csv_that_is_not_utf8_is_refused_naming_what_it_garbles(imported, tmp_path, encoding, expected):
    path = tmp_path / f"{encoding}.csv"
    text = CSV_HEADER + ROWS
    path.write_bytes(text.encode(encoding, errors="replace"))
    imported(path, *expected)


def test_a_geojson_with_invalid_utf8_names_the_feature(imported, tmp_path):
    path = tmp_path / "mixed.geojson"
    text = collection([feature("good", 30.52, 50.45), feature("bad", 30.53, 50.46, note="XXXX")])
    path.write_bytes(text.encode().replace(b"XXXX", b"caf\xe9"))
    output = imported(path, "mixed.geojson holds text that is not UTF-8", "feature 2 (id bad): encoding:")
    assert "id good" not in output


def test_utf8_with_a_byte_order_mark_is_fine(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(("\ufeff" + CSV_HEADER + ROWS).encode())
    assert [p.name for p in read_points(path)] == ["Школа №1", "Ліцей «Світло»"]


def test_limits_come_from_the_settings(app):
    assert ImportLimits.from_config(app.config) == ImportLimits()


def test_every_problem_of_a_file_is_listed_at_once(tmp_path):
    path = tmp_path / "all.csv"
    path.write_text(CSV_HEADER + "a,A,open,53.9,27.5\na,A,open,50.4,30.5\nb,B,bogus,50.4,30.5\n")
    with pytest.raises(ImportRejected) as caught:
        read_points(path)
    assert {(p.number, p.point_id, p.problem.field) for p in caught.value.problems} == {
        (2, "a", "lat"),  # the header is row 1; a CSV's position is its lat and lon columns
        (3, "a", "id"),  # a repeated id, even of a row that is wrong itself
        (4, "b", "status"),
    }


# -- the console and the API -----------------------------------------------------------------------


@pytest.fixture
def admin(client, make_user):
    make_user("admin", "admin")
    assert login(client, "admin").status_code == 302
    return client


def upload(client, name: str, data: bytes):
    token = CSRF_FIELD.search(client.get("/operator/import").get_data(as_text=True)).group(1)
    return client.post(
        "/operator/import",
        data={"csrf_token": token, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_console_import_applies_the_same_bounds(admin, store, db_path):
    store.import_points([])
    before = dump(db_path)
    data = collection([feature("kyiv", 30.52, 50.45), feature("minsk", 27.56, 53.9)]).encode()
    response = upload(admin, "far.geojson", data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    found = r"<td>2</td><td>minsk</td><td>geometry</td><td>lat 53.9, lon 27.56 — поза дозволеною територією"
    assert re.search(found, page)  # in the console's language
    assert dump(db_path) == before
    cp1251 = upload(admin, "cp1251.csv", (CSV_HEADER + ROWS).encode("cp1251")).get_data(as_text=True)
    assert "<td>2</td><td>a</td><td>encoding</td>" in cp1251
    assert dump(db_path) == before


def test_console_upload_over_the_limit_gets_a_clear_413_page(db_path, password_hash):
    app = create_app({"DATABASE": str(db_path), "SEED_FILE": "", "IMPORT_MAX_BYTES": 2048})
    app.extensions["locator.users"].create("boss", password_hash, "admin")
    client = app.test_client()
    assert login(client, "boss").status_code == 302
    before = dump(db_path)
    response = upload(client, "big.geojson", b" " * 200_000)
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "Файл завеликий" in page
    assert "the upload is larger than the limit of 2.0 KB (2,048 bytes)" in page
    assert dump(db_path) == before
    assert not list((db_path.parent / "uploads").glob("*"))


def test_api_body_over_the_limit_is_a_413_problem(db_path, password_hash):
    app = create_app({"DATABASE": str(db_path), "SEED_FILE": "", "IMPORT_MAX_BYTES": 1024})
    users = app.extensions["locator.users"]
    users.create("boss", password_hash, "admin")
    token, digest = new_token()
    users.add_token("boss", digest)
    response = app.test_client().post(
        "/api/v1/points",
        data=b"{" + b" " * 100_000 + b"}",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 413
    assert response.mimetype == PROBLEM_JSON
    assert "larger than the limit" in response.get_json()["detail"]
