"""Open data for partners: CSV/GeoJSON downloads, the change feed, CORS and the rate limit."""

from __future__ import annotations

import csv
import io

import pytest
from helpers import assert_problem, make_point

from locator import create_app
from locator.http.limits import TokenBuckets
from locator.io.files import read_points


@pytest.fixture
def points(store):
    made = [make_point(f"p{i}", status="open" if i % 2 else "closed") for i in range(6)]
    store.import_points(made)
    return made


@pytest.mark.parametrize(
    ("path", "mimetype", "extension"),
    [
        ("/api/v1/points.csv", "text/csv", "csv"),
        ("/api/v1/points.geojson", "application/geo+json", "geojson"),
    ],
)
def test_downloads_carry_a_filename_filters_and_an_etag(client, points, path, mimetype, extension):
    response = client.get(path + "?status=open")
    assert response.status_code == 200 and response.mimetype == mimetype
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="points-of-invincibility-')
    assert disposition.endswith(f'.{extension}"')
    assert response.headers["ETag"]
    if extension == "csv":
        ids = [row["id"] for row in csv.DictReader(io.StringIO(response.get_data(as_text=True)))]
    else:
        ids = [f["id"] for f in response.get_json()["features"]]
    assert ids == sorted(p.id for p in points if p.status.value == "open")
    again = client.get(path + "?status=open", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_csv_download_imports_back_to_the_same_points(client, points, tmp_path):
    target = tmp_path / "open.csv"
    target.write_bytes(client.get("/api/v1/points.csv").data)
    assert sorted(read_points(target), key=lambda p: p.id) == sorted(points, key=lambda p: p.id)


def test_change_feed_pages_in_order_without_gaps_or_repeats(client, store, points):
    for i in range(7):
        store.update(f"p{i % 6}", {"note": f"зміна {i}"}, by="operator")
    seen, cursor, pages = [], 0, 0
    while True:
        body = client.get(f"/api/v1/changes?since={cursor}&limit=4").get_json()
        seen += body["changes"]
        cursor, pages = body["next_cursor"], pages + 1
        if not body["has_more"]:
            break
    all_rows = list(store.db.query("SELECT id, point_id, field, new FROM history ORDER BY id"))
    assert [c["cursor"] for c in seen] == [r["id"] for r in all_rows]
    assert [(c["point_id"], c["field"], c["new"]) for c in seen] == [
        (r["point_id"], r["field"], r["new"]) for r in all_rows
    ]
    assert pages == -(-len(all_rows) // 4) and all("by" not in c for c in seen)  # no authors
    later = client.get(f"/api/v1/changes?since={cursor}").get_json()
    assert later == {"changes": [], "next_cursor": cursor, "has_more": False}


@pytest.mark.parametrize("query", ["since=-1", "since=x", "limit=0", "limit=501", "since="])
def test_change_feed_rejects_bad_cursors(client, query):
    assert_problem(client.get(f"/api/v1/changes?{query}"), 400, query.split("=")[0])


def test_reads_allow_any_origin_and_writes_none(client, points):
    read = client.get("/api/v1/points", headers={"Origin": "https://hromada.example"})
    assert read.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in read.headers["Access-Control-Expose-Headers"]
    preflight = client.options(
        "/api/v1/points/p1", headers={"Origin": "https://x.example", "Access-Control-Request-Method": "PATCH"}
    )
    assert "PATCH" not in preflight.headers.get("Access-Control-Allow-Methods", "")
    write = client.patch("/api/v1/points/p1", json={}, headers={"Origin": "https://x.example"})
    assert "Access-Control-Allow-Origin" not in write.headers


def test_anonymous_api_use_is_rate_limited_per_address(tmp_path):
    app = create_app({"DATABASE": str(tmp_path / "l.db"), "SEED_FILE": "", "API_RATE_PER_MIN": 5})
    client = app.test_client()
    statuses = [client.get("/api/v1/points").status_code for _ in range(5)]
    assert statuses == [200] * 5
    refused = client.get("/api/v1/points")
    assert_problem(refused, 429, None)
    assert int(refused.headers["Retry-After"]) >= 1
    other = client.get("/api/v1/points", environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert other.status_code == 200  # another address has its own allowance
    assert client.get("/").status_code == 200  # pages are not the API


def test_token_buckets_refill_at_the_configured_rate():
    buckets = TokenBuckets(per_minute=60)  # one a second, burst of 60
    assert all(buckets.take("a", now=0.0) == 0 for _ in range(60))
    assert buckets.take("a", now=0.0) == pytest.approx(1.0)
    assert buckets.take("a", now=1.0) == 0
    assert buckets.take("a", now=1.0) > 0
