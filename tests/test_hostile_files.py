"""An import reads only the file it was given (issue 16, part 2).

Each hostile file goes through the console's dry run (the admin's upload) and through the CLI:
it is refused with its reason, GDAL never reads anything else (the app's own database, a local
URL), the live database's files survive, and no refusal echoes a server path or another file's
data.
"""

from __future__ import annotations

import io
import json
import os
import re
import sqlite3
import time

import pytest
from helpers import csrf_token, login, serving

from locator.io.files import ImportLimits, ImportRejected, read_points


def vrt(source: str, layer: str = "users") -> str:
    return (
        f'<OGRVRTDataSource><OGRVRTLayer name="{layer}"><SrcDataSource>{source}</SrcDataSource>'
        f"<SrcLayer>{layer}</SrcLayer></OGRVRTLayer></OGRVRTDataSource>"
    )


@pytest.fixture
def local_server():
    """A local HTTP server that counts what reaches it: nothing may."""
    asked: list[str] = []

    def app(environ, start_response):
        asked.append(environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"type": "FeatureCollection", "features": []}']

    with serving(app) as port:
        yield f"http://127.0.0.1:{port}", asked


def hostile_files(db_path, base_url) -> dict[str, str]:
    """name -> content, one per class of attack."""
    link_crs = {"type": "link", "properties": {"href": f"{base_url}/crs", "type": "proj4"}}
    pipeline = {"type": "gdal_streamed_alg", "command_line": f"gdal vector read {db_path}"}
    return {
        "vrt-on-own-database.json": vrt(str(db_path)),
        "vrt-as-geopackage.gpkg": vrt(str(db_path)),
        "vrt-over-http.json": vrt(f"/vsicurl/{base_url}/metrics", layer="metrics"),
        "gdalg.json": json.dumps(pipeline),
        "crs-link.geojson": json.dumps({"type": "FeatureCollection", "crs": link_crs, "features": []}),
        "not-json.geojson": "<xml/>",
        "sqlite-not-gpkg.gpkg": "SQLite format 3\x00" + "\x00" * 200,
        "shapefile.shp": "not allowed",
    }


def assert_database_intact(db_path, store) -> None:
    assert db_path.with_name(db_path.name + "-wal").exists()
    assert db_path.with_name(db_path.name + "-shm").exists()
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    store.create({"id": "after-1", "name": "Після", "status": "open", "lat": 50.4, "lon": 30.5}, by="t")


@pytest.mark.parametrize("index", range(8))
def test_a_hostile_file_is_refused_by_the_reader(tmp_path, db_path, store, seeded, local_server, index):
    base_url, asked = local_server
    name, content = list(hostile_files(db_path, base_url).items())[index]
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ImportRejected) as refused:
        read_points(path, limits=ImportLimits())
    message = str(refused.value)
    assert "argon2" not in message and str(tmp_path) not in message and str(db_path.parent) not in message
    assert asked == []  # GDAL fetched nothing
    assert_database_intact(db_path, store)


def test_the_console_dry_run_of_a_vrt_shows_no_hashes_and_the_database_survives(
    client, db_path, store, seeded, make_user, local_server
):
    make_user("admin", "admin")
    assert login(client, "admin").status_code == 302
    base_url, asked = local_server
    for name, content in hostile_files(db_path, base_url).items():
        if not name.endswith((".json", ".geojson", ".gpkg")):
            continue
        form = {
            "csrf_token": csrf_token(client, "/operator/import"),
            "file": (io.BytesIO(content.encode()), name),
        }
        page = client.post("/operator/import", data=form, content_type="multipart/form-data")
        text = page.get_data(as_text=True)
        assert page.status_code == 200, name
        assert "$argon2" not in text and str(db_path.parent) not in text, name
        assert re.search(r"not GeoJSON|not a GeoPackage|link", text), name
    assert asked == []
    assert_database_intact(db_path, store)
    assert client.get("/healthz").status_code == 200


def test_the_cli_refuses_a_vrt_by_content_whatever_its_name(tmp_path, db_path, runner, store, seeded):
    path = tmp_path / "points.geojson"
    path.write_text(vrt(str(db_path)))
    result = runner.invoke(args=["points", "import", str(path), "--dry-run"])
    assert result.exit_code != 0
    assert "not GeoJSON" in result.output and "argon2" not in result.output
    assert_database_intact(db_path, store)


def test_a_real_geopackage_still_imports(tmp_path, runner, store):
    import geopandas as gpd
    from shapely.geometry import Point

    frame = gpd.GeoDataFrame(
        {"id": ["g-1"], "name": ["Школа"], "status": ["open"]},
        geometry=[Point(30.52, 50.45)],
        crs="EPSG:4326",
    )
    path = tmp_path / "real.gpkg"
    frame.to_file(path, driver="GPKG")
    assert [p.id for p in read_points(path, limits=ImportLimits())] == ["g-1"]


def test_staged_uploads_expire(client, db_path, make_user):
    """A dry run's upload waits LOCATOR_IMPORT_STAGED_HOURS (3) to be applied, then goes."""
    make_user("admin", "admin")
    assert login(client, "admin").status_code == 302
    uploads = db_path.parent / "uploads"
    uploads.mkdir(exist_ok=True)
    old, fresh = uploads / "old.geojson", uploads / "fresh.geojson"
    for path in (old, fresh):
        path.write_text("{}")
    four_hours_ago = time.time() - 4 * 3600
    os.utime(old, (four_hours_ago, four_hours_ago))
    assert client.get("/operator/import").status_code == 200
    assert not old.exists() and fresh.exists()
