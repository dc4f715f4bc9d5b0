"""The read API and the pages' HTTP contract: shapes, filters, errors, caching, security headers."""

from __future__ import annotations

import json
import random
import re
import time
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from helpers import assert_problem, login, make_point, random_points
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from locator import create_app
from locator.domain.filters import fold
from locator.domain.point import SERVICES, Status, utcnow
from locator.domain.values import BusinessType

pytestmark = pytest.mark.backends  # SQLite and PostgreSQL (conftest.py)

PROPERTIES = {
    "archived",
    "id",
    "name",
    "kind",
    "category",
    "base",
    "status",
    "services",
    "address",
    "settlement",
    "region",
    "lat",
    "lon",
    "capacity",
    "occupancy",
    "phone",
    "hours",
    "open_24_7",
    "note",
    "updated_at",
    "verified_at",
    "version",
    "stale",
    "status_age_s",
    "operator_status",
    "unconfirmed",
    "located_since",
    "stop",
    "stops",
    "opening_hours",  # issue 17, and what "open now" derives from it:
    "open_now",
    "hours_state",
    "next_change_at",
    "next_change_to",
    "business_type",  # issue 20
    "visibility",
    "support",
    "beds",
    "beds_free",
}


def ids(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [feature["id"] for feature in response.get_json()["features"]]


# -- /api/v1/points -------------------------------------------------------------------------------


def test_points_is_a_geojson_feature_collection_with_every_field(client, seeded):
    response = client.get("/api/v1/points")
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    body = response.get_json()
    assert body["type"] == "FeatureCollection"
    assert body["seq"] == 1
    assert abs(datetime.fromisoformat(body["generated_at"]) - utcnow()) < timedelta(minutes=1)
    by_id = {p.id: p for p in seeded}
    assert [f["id"] for f in body["features"]] == sorted(by_id)
    now = utcnow()
    for feature in body["features"]:
        point = by_id[feature["id"]]
        assert feature["type"] == "Feature"
        assert feature["geometry"] == {"type": "Point", "coordinates": [point.lon, point.lat]}
        props = feature["properties"]
        assert set(props) == PROPERTIES
        assert props["id"] == point.id and props["name"] == point.name
        assert (props["kind"], props["category"], props["status"]) == (
            point.kind.value,
            point.category.value,
            point.status.value,
        )
        assert props["base"] is point.base and props["open_24_7"] is point.open_24_7
        assert props["services"] == [s for s in SERVICES if s in point.services]
        assert (props["lat"], props["lon"]) == (point.lat, point.lon)
        assert (props["address"], props["settlement"], props["region"]) == (
            point.address,
            point.settlement,
            point.region,
        )
        assert (props["capacity"], props["occupancy"], props["phone"], props["hours"], props["note"]) == (
            point.capacity,
            point.occupancy,
            point.phone,
            point.hours,
            point.note,
        )
        assert props["verified_at"] == point.verified_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert props["updated_at"] == point.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert props["version"] == point.version == 1
        # The seed confirmed every other point 30 hours ago: stale under the default 12 hours.
        assert props["stale"] is (now - point.verified_at > timedelta(hours=12))
        assert abs(props["status_age_s"] - (now - point.verified_at).total_seconds()) < 120
    assert sum(f["properties"]["stale"] for f in body["features"]) == 15


def test_stale_follows_the_configured_hours(db_path):
    app = create_app({"DATABASE": str(db_path), "SEED_FILE": "", "STALE_HOURS": 0.5})
    now = utcnow()
    app.extensions["locator.store"].import_points(
        [
            make_point(
                "recent", now=now, verified_at=(now - timedelta(minutes=20)).isoformat(), updated_at=None
            ),
            make_point(
                "older", now=now, verified_at=(now - timedelta(minutes=40)).isoformat(), updated_at=None
            ),
        ]
    )
    features = app.test_client().get("/api/v1/points").get_json()["features"]
    assert {f["id"]: f["properties"]["stale"] for f in features} == {"older": True, "recent": False}


FILTERS = [
    ({"bbox": "30.0,50.0,31.0,51.0"}, lambda p: 50 <= p.lat <= 51 and 30 <= p.lon <= 31),
    ({"bbox": "30.5234,50.4501,30.5234,50.4501"}, lambda p: (p.lat, p.lon) == (50.4501, 30.5234)),
    ({"bbox": "-180,-90,180,90"}, lambda p: True),
    ({"status": "open"}, lambda p: p.status.value == "open"),
    ({"status": "full,standby"}, lambda p: p.status.value in ("full", "standby")),
    ({"status": "CLOSED"}, lambda p: p.status.value == "closed"),
    ({"kind": "mobile"}, lambda p: p.kind.value == "mobile"),
    ({"kind": "fixed,mobile"}, lambda p: True),
    ({"category": "business"}, lambda p: p.category.value == "business"),
    ({"base": "true"}, lambda p: p.base),
    ({"base": "false"}, lambda p: not p.base),
    ({"base": "1"}, lambda p: p.base),
    ({"services": "power"}, lambda p: "power" in p.services),
    ({"services": "power,heat"}, lambda p: {"power", "heat"} <= p.services),
    ({"services": "heat,power,internet"}, lambda p: {"power", "heat", "internet"} <= p.services),
    ({"region": "Київська обл."}, lambda p: p.region.lower() == "київська обл."),
    ({"region": "ЛЬВІВСЬКА ОБЛ."}, lambda p: p.region.lower() == "львівська обл."),
    ({"q": "харків"}, lambda p: "харків" in (p.name + p.address + p.settlement).lower()),
    ({"q": "Кам'янець"}, lambda p: p.settlement.startswith("Кам")),
    ({"q": "СЛОВ’ЯНСЬК"}, lambda p: p.settlement.startswith("Слов")),
    ({"q": "намет"}, lambda p: "намет" in p.name.lower()),
    ({"q": "шевченка, 1"}, lambda p: "шевченка, 1" in p.address.lower()),
    (
        {"status": "open", "services": "power", "region": "київська обл.", "kind": "fixed"},
        lambda p: (
            p.status.value == "open"
            and "power" in p.services
            and p.region.lower() == "київська обл."
            and p.kind.value == "fixed"
        ),
    ),
    (
        {"status": "closed", "base": "true", "category": "state"},
        lambda p: p.status.value == "closed" and p.base and p.category.value == "state",
    ),
]


@pytest.mark.parametrize(("args", "predicate"), FILTERS, ids=lambda v: str(v) if isinstance(v, dict) else "")
def test_points_filters_select_what_a_python_filter_selects(client, seeded, args, predicate):
    expected = sorted(p.id for p in seeded if predicate(p))
    assert expected, "every case selects something (the empty case is its own test)"
    assert ids(client.get("/api/v1/points", query_string=args)) == expected


def test_points_filters_select_nothing_when_nothing_matches(client, seeded):
    assert ids(client.get("/api/v1/points", query_string={"q": "неіснуючий пункт"})) == []
    assert ids(client.get("/api/v1/points", query_string={"bbox": "0,0,1,1"})) == []


def test_points_compact_format_has_one_row_per_point(client, seeded):
    response = client.get("/api/v1/points?format=compact")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"seq", "generated_at", "stale_after_s", "services", "fields", "latin", "rows"}
    assert body["services"] == list(SERVICES)
    assert body["stale_after_s"] == 12 * 3600
    fields = body["fields"]
    assert fields[:3] == ["id", "lat", "lon"]
    by_id = {p.id: p for p in seeded}
    assert [row[0] for row in body["rows"]] == sorted(by_id)
    for row in body["rows"]:
        assert len(row) == len(fields)
        record = dict(zip(fields, row, strict=True))
        point = by_id[record["id"]]
        assert (record["lat"], record["lon"]) == (round(point.lat, 5), round(point.lon, 5))
        assert (record["status"], record["kind"], record["category"]) == (
            point.status.value,
            point.kind.value,
            point.category.value,
        )
        assert record["base"] == int(point.base)
        assert {
            name for i, name in enumerate(body["services"]) if record["services"] >> i & 1
        } == point.services
        assert record["verified_at"] == int(point.verified_at.timestamp())
        assert (record["name"], record["settlement"], record["address"]) == (
            point.name,
            point.settlement,
            point.address,
        )


def test_compact_rows_follow_every_write_as_the_geojson_does(client, store):
    """Rows are kept per point between answers (locator/bodies.py): after rounds of random
    writes, every row still says what the GeoJSON answer (made apart from them) says."""
    rng = random.Random(8)
    store.import_points(random_points(rng, 150))
    for round_no in range(4):
        body = client.get("/api/v1/points?format=compact").get_json()
        features = client.get("/api/v1/points").get_json()["features"]
        expected = [
            [
                f["id"],
                round(f["geometry"]["coordinates"][1], 5),
                round(f["geometry"]["coordinates"][0], 5),
                f["properties"]["operator_status"],
                f["properties"]["kind"],
                f["properties"]["category"],
                int(f["properties"]["base"]),
                sum(1 << body["services"].index(name) for name in f["properties"]["services"]),
                int(datetime.fromisoformat(f["properties"]["verified_at"]).timestamp()),
                f["properties"]["name"],
                f["properties"]["settlement"],
                f["properties"]["address"],
                int(f["properties"]["unconfirmed"]),
                f["properties"]["opening_hours"],
                f["properties"]["business_type"],
                f["properties"]["visibility"],
                int(f["properties"]["support"]),
                f["properties"]["beds"],
                f["properties"]["beds_free"],
            ]
            for f in features
        ]
        located_since = body["fields"].index("located_since")  # a clock's answer, not compared
        rows = [row[:located_since] + row[located_since + 1 :] for row in body["rows"]]
        assert rows == expected, f"round {round_no}"
        for point_id in rng.sample([f["id"] for f in features], 20):
            changes = rng.choice(
                [
                    {"status": rng.choice(["open", "closed", "full", "standby"])},
                    {"lat": rng.uniform(45, 52), "lon": rng.uniform(23, 40)},
                    {"name": f"Пункт {rng.randrange(1000)}", "services": ["power"]},
                ]
            )
            store.update(point_id, changes, by="test")


def test_points_compact_format_applies_filters(client, seeded):
    body = client.get("/api/v1/points?format=compact&status=closed").get_json()
    assert [row[0] for row in body["rows"]] == sorted(p.id for p in seeded if p.status is Status.CLOSED)


# -- /api/v1/points/<id> ----------------------------------------------------------------------------


def test_one_point_is_a_feature(client, seeded):
    point = next(p for p in seeded if p.id == "kyiv-01")
    response = client.get("/api/v1/points/kyiv-01")
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    body = response.get_json()
    assert body["type"] == "Feature" and body["id"] == "kyiv-01"
    assert body["geometry"]["coordinates"] == [point.lon, point.lat]
    assert set(body["properties"]) == PROPERTIES | {"open_reports"}
    assert body["properties"]["services"] == ["power", "heat", "internet"]


@pytest.mark.parametrize("point_id", ["nope", "kyiv-99", "x" * 65, "-bad", "%3Cscript%3E"])
def test_unknown_point_is_a_404_problem(client, seeded, point_id):
    assert_problem(client.get(f"/api/v1/points/{point_id}"), 404, "id")


# -- caching --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/points",
        "/api/v1/points?format=compact",
        "/api/v1/points/kyiv-01",
        "/api/v1/nearest?lat=50.45&lon=30.52",
        "/api/v1/places?q=київ",
    ],
)
def test_reads_carry_an_etag_and_answer_304_when_it_matches(client, seeded, url):
    first = client.get(url)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert etag.startswith('W/"')
    cache_control = first.headers["Cache-Control"]
    assert "max-age=30" in cache_control and "public" in cache_control
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == etag
    assert client.get(url, headers={"If-None-Match": 'W/"something-else"'}).status_code == 200


@pytest.mark.parametrize(
    "url",
    ["/api/v1/points", "/api/v1/points/kyiv-01", "/api/v1/nearest?lat=50.45&lon=30.52&status=open,closed"],
)
def test_etag_changes_after_a_write(client, store, seeded, url):
    etag = client.get(url).headers["ETag"]
    store.update("kyiv-01", {"status": "closed"}, by="test")
    response = client.get(url, headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response.headers["ETag"] != etag
    body = response.get_json()
    feature = body if body["type"] == "Feature" else next(f for f in body["features"] if f["id"] == "kyiv-01")
    assert feature["properties"]["status"] == "closed"


def test_etag_differs_between_filters(client, seeded):
    assert (
        client.get("/api/v1/points?status=open").headers["ETag"]
        != client.get("/api/v1/points").headers["ETag"]
    )


def test_cache_seconds_setting_reaches_cache_control(db_path):
    app = create_app({"DATABASE": str(db_path), "SEED_FILE": "", "CACHE_SECONDS": 0})
    assert "max-age=0" in app.test_client().get("/api/v1/points").headers["Cache-Control"]


def test_two_apps_never_share_response_bodies(tmp_path):
    """Same change counter and same query in two apps on two databases: each answers its own data."""
    answers = []
    for name in ("first", "second"):
        app = create_app({"DATABASE": str(tmp_path / f"{name}.db"), "SEED_FILE": ""})
        app.extensions["locator.store"].import_points([make_point(name)])
        client = app.test_client()
        answers.append(
            (ids(client.get("/api/v1/points")), client.get("/api/v1/points?format=compact").get_json())
        )
    assert answers[0][0] == ["first"] and answers[1][0] == ["second"]
    assert answers[1][1]["rows"][0][0] == "second"


# -- errors ---------------------------------------------------------------------------------------


BAD_REQUESTS = [
    ("/api/v1/nearest?lat=91&lon=30", "lat"),
    ("/api/v1/nearest?lat=-90.0001&lon=30", "lat"),
    ("/api/v1/nearest?lat=abc&lon=30", "lat"),
    ("/api/v1/nearest?lat=nan&lon=30", "lat"),
    ("/api/v1/nearest?lat=inf&lon=30", "lat"),
    ("/api/v1/nearest?lon=30", "lat"),
    ("/api/v1/nearest?lat=&lon=30", "lat"),
    ("/api/v1/nearest?lat=50", "lon"),
    ("/api/v1/nearest?lat=50&lon=181", "lon"),
    ("/api/v1/nearest?lat=50&lon=30,5", "lon"),
    ("/api/v1/nearest?lat=50&lon=30&k=0", "k"),
    ("/api/v1/nearest?lat=50&lon=30&k=101", "k"),
    ("/api/v1/nearest?lat=50&lon=30&k=x", "k"),
    ("/api/v1/nearest?lat=50&lon=30&k=-1", "k"),
    ("/api/v1/nearest?lat=50&lon=30&k=2.5", "k"),
    ("/api/v1/nearest?lat=50&lon=30&k=", "k"),
    ("/api/v1/nearest?lat=50&lon=30&k=%C2%B2", "k"),  # "²" is a digit to str.isdigit, not to int()
    ("/api/v1/nearest?lat=50&lon=30&k=99999999999999999999999", "k"),
    ("/api/v1/nearest?lat=50&lon=30&status=bogus", "status"),
    ("/api/v1/nearest?lat=50&lon=30&services=bogus", "services"),
    ("/api/v1/nearest?lat=50&lon=30&bbox=1,2,3", "bbox"),
    ("/api/v1/points?status=bogus", "status"),
    ("/api/v1/points?status=open,bogus", "status"),
    ("/api/v1/points?kind=tent", "kind"),
    ("/api/v1/points?category=ngo", "category"),
    ("/api/v1/points?services=bogus", "services"),
    ("/api/v1/points?services=power,teleport", "services"),
    ("/api/v1/points?bbox=30,50,31", "bbox"),
    ("/api/v1/points?bbox=31,50,30,51", "bbox"),
    ("/api/v1/points?bbox=30,51,31,50", "bbox"),
    ("/api/v1/points?bbox=west,south,east,north", "bbox"),
    ("/api/v1/points?bbox=30,50,31,91", "bbox"),
    ("/api/v1/points?base=maybe", "base"),
    ("/api/v1/points?q=a%00b", "q"),
    ("/api/v1/points?region=" + "x" * 201, "region"),
    ("/api/v1/points?format=xml", "format"),
    ("/api/v1/places", "q"),
    ("/api/v1/places?q=%20", "q"),
    ("/api/v1/places?q=" + "x" * 101, "q"),
]


@pytest.mark.parametrize(("url", "param"), BAD_REQUESTS, ids=[u for u, _ in BAD_REQUESTS])
def test_bad_input_is_a_400_problem_naming_the_parameter(client, seeded, url, param):
    response = client.get(url)
    assert_problem(response, 400, param)
    assert response.headers["Cache-Control"] == "no-store"


def test_a_problem_lists_every_bad_parameter(client):
    body = assert_problem(client.get("/api/v1/points?status=x&kind=y&bbox=1"), 400, "status")
    assert [e["param"] for e in body["errors"]] == ["status", "kind", "bbox"]
    assert all(e["detail"] for e in body["errors"])


@pytest.mark.parametrize(
    "url", ["/api/v1/whatever", "/api/v1/", "/api/v1/points/a/b", "/api/v2/points", "/api/v1/nearest/x"]
)
def test_unknown_api_path_is_a_404_problem(client, url):
    assert_problem(client.get(url), 404, None)


def test_writing_without_credentials_is_a_401_problem_not_a_page(client, seeded):
    response = client.post("/api/v1/points", json={})
    assert_problem(response, 401, "Authorization")


def test_a_method_the_api_does_not_have_is_a_405_problem(client, seeded):
    response = client.delete("/api/v1/points/kyiv-01")
    assert_problem(response, 405, None)


def test_unknown_page_is_an_html_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "Сторінку не знайдено" in response.get_data(as_text=True)


@pytest.mark.parametrize("point_id", ["nope", "-bad", "x" * 65])
def test_unknown_point_page_is_an_html_404(client, seeded, point_id):
    response = client.get(f"/points/{point_id}")
    assert response.status_code == 404
    assert response.mimetype == "text/html"


query_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(["/api/v1/points", "/api/v1/nearest", "/api/v1/places", "/api/v1/points/x"]),
    args=st.dictionaries(
        st.sampled_from(
            [
                "lat",
                "lon",
                "k",
                "status",
                "kind",
                "category",
                "base",
                "services",
                "region",
                "q",
                "bbox",
                "format",
            ]
        ),
        query_text
        | st.sampled_from(["50", "30", "5", "open", "power,heat", "30,50,31,51", "true", "compact"]),
    ),
)
def test_no_query_makes_the_api_fail_with_a_500(client, path, args):
    response = client.get(path, query_string=args)
    assert response.status_code in (200, 400, 404), response.get_data(as_text=True)
    if response.status_code != 200:
        assert_problem(response, response.status_code, response.get_json().get("param"))


# -- security headers and pages ------------------------------------------------------------------


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text of each inline script."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline_scripts: list[tuple[dict, str]] = []
        self._open_script: dict | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script" and "src" not in dict(attrs):
            self._open_script = dict(attrs)

    def handle_data(self, data):
        if self._open_script is not None:
            self.inline_scripts.append((self._open_script, data))

    def handle_endtag(self, tag):
        if tag == "script":
            self._open_script = None


def parse_html(response) -> Tags:
    parser = Tags()
    parser.feed(response.get_data(as_text=True))
    return parser


def csp_directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


PAGES = ["/", "/points/kyiv-01"]
ALL_URLS = PAGES + [
    "/api/v1/points",
    "/api/v1/points/kyiv-01",
    "/api/v1/nearest?lat=50&lon=30",
    "/api/v1/nearest?lat=x",
    "/api/v1/whatever",
    "/no/such/page",
]


@pytest.mark.parametrize("url", ALL_URLS)
def test_every_response_has_the_security_headers(client, seeded, url):
    response = client.get(url)
    policy = response.headers["Content-Security-Policy"]
    directives = csp_directives(response)
    assert directives["frame-ancestors"] == "frame-ancestors 'none'"
    assert directives["object-src"] == "object-src 'none'"
    assert directives["default-src"] == "default-src 'self'"
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert "*" not in directives["script-src"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("url", PAGES)
def test_pages_run_inline_scripts_only_under_the_response_nonce(client, seeded, url):
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "text/html"
    nonce = re.search(r"'nonce-([^']+)'", csp_directives(response)["script-src"]).group(1)
    assert f"'nonce-{nonce}'" in csp_directives(response)["style-src"]
    tags = parse_html(response)
    inline = [attrs for tag, attrs in tags.tags if tag in ("script", "style") and "src" not in attrs]
    assert inline, "the page has folium's inline script"
    assert all(attrs.get("nonce") == nonce for attrs in inline)
    assert not [attrs for _, attrs in tags.tags if "style" in attrs], "CSP would block style attributes"
    assert not [attrs for _, attrs in tags.tags if any(name.startswith("on") for name in attrs)]
    assert client.get(url).headers["Content-Security-Policy"] != response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("url", PAGES)
def test_pages_load_nothing_from_another_host_but_tiles(client, seeded, url, app):
    response = client.get(url)
    tags = parse_html(response)
    loaded = [
        attrs.get("src") or attrs.get("href")
        for tag, attrs in tags.tags
        if (tag in ("script", "img", "iframe", "source", "video", "audio") and attrs.get("src"))
        or (tag == "link" and attrs.get("href"))
    ]
    assert loaded, "the page loads its own scripts and styles"
    for url_ in loaded:
        parts = urlsplit(url_)
        assert not parts.scheme and not parts.netloc, f"{url_} is loaded from another host"
        # our static files, the web manifest (served at the root so its scope is the site) and
        # the map's point data, preloaded from our own API
        assert (
            url_.startswith("/static/")
            or url_ == "/manifest.webmanifest"
            or url_.startswith("/api/v1/points?format=compact")
        ), url_
    script_text = "\n".join(text for _, text in tags.inline_scripts)
    outside = re.findall(r"(?:https?:)?//[^\s\"'<>]+", script_text)
    assert outside == [app.config["TILE_URL"]]
    img_src = csp_directives(response)["img-src"].split()[1:]
    assert img_src == ["'self'", "data:", "https://tile.openstreetmap.org"]


def test_point_page_escapes_point_text(client, store):
    hostile = "<img src=x onerror=alert(1)>"
    store.import_points(
        [
            make_point(
                "evil",
                name=hostile,
                address="<script>alert(2)</script>",
                note="\"'><b>bold</b>",
                settlement="Київ & Бровари",
            )
        ]
    )
    response = client.get("/points/evil")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert hostile not in html and "<script>alert(2)" not in html and "<b>bold</b>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert "Київ &amp; Бровари" in html
    assert not [attrs for tag, attrs in parse_html(response).tags if tag == "img" or "onerror" in attrs]


def test_point_page_shows_the_point_and_its_status_history(client, store):
    store.import_points([make_point("kyiv-7", name="Ліцей №7", status="open", note="Вхід з двору")])
    store.update("kyiv-7", {"status": "full"}, by="operator:olena")
    html = client.get("/points/kyiv-7").get_data(as_text=True)
    assert "Ліцей №7" in html and "Вхід з двору" in html
    assert "Переповнений" in html  # the new status, in words
    assert "operator:olena" not in html and "оператор" in html  # who in general, never by name
    assert "/api/v1/points/kyiv-7" in html


def test_map_page_hands_settings_to_the_script_through_one_attribute(client):
    tags = parse_html(client.get("/"))
    app_div = next(attrs for tag, attrs in tags.tags if attrs.get("id") == "map-app")
    settings_ = json.loads(app_div["data-settings"])
    assert settings_["pointsUrl"] == "/api/v1/points?format=compact"
    assert settings_["nearestUrl"] == "/api/v1/nearest"
    assert settings_["staleAfterS"] == 12 * 3600


# -- /api/v1/places -------------------------------------------------------------------------------


def test_places_finds_settlements_ignoring_case_and_apostrophes(client, seeded):
    places = client.get("/api/v1/places?q=кам'янець").get_json()["places"]
    kam = [p for p in seeded if fold(p.settlement) == fold("Кам'янець")]
    exact = [p for p in places if p["match"] == "exact"]
    assert places[: len(exact)] == exact  # exact names first, then longer ones (Кам'янець-Подільський)
    assert {fold(p["name"]) for p in exact} == {fold("Кам'янець")}
    assert sum(p["points"] for p in exact) == len(kam) == 2  # both apostrophes count as one name
    # The seed spells Kyiv's region in two cases: its points all join the gazetteer's Kyiv.
    kyiv = client.get("/api/v1/places?q=КИЇВ").get_json()["places"]
    assert kyiv[0]["name"] == "Київ" and kyiv[0]["name_en"] == "Kyiv" and kyiv[0]["match"] == "exact"
    assert kyiv[0]["points"] == len([p for p in seeded if p.settlement == "Київ"]) == 5
    assert kyiv[0]["lat"] == pytest.approx(50.45, abs=0.01)  # the city's own position, not the points'


def test_response_times_are_utc(client, seeded):
    body = client.get("/api/v1/points/kyiv-01").get_json()
    moment = datetime.fromisoformat(body["properties"]["verified_at"].replace("Z", "+00:00"))
    assert moment.tzinfo is not None and moment.utcoffset() == UTC.utcoffset(None)


def test_places_follow_writes(client, store, seeded):
    assert client.get("/api/v1/places?q=Незламне Тестове").get_json()["places"] == []
    [slavutych] = client.get("/api/v1/places?q=Славутич").get_json()["places"]  # known to the gazetteer
    assert slavutych["points"] == 0
    store.import_points(
        [
            make_point("slav-1", settlement="Славутич", region="Київська область", lat=51.52, lon=30.75),
            make_point("new-1", settlement="Незламне Тестове", region="Київська область", lat=51.5, lon=30.7),
        ]
    )
    found = client.get("/api/v1/places?q=славутич").get_json()["places"]
    assert [(p["name"], p["points"], p["lat"]) for p in found] == [("Славутич", 1, slavutych["lat"])]
    found = client.get("/api/v1/places?q=незламне тестове").get_json()["places"]
    assert [(p["name"], p["points"], p["lat"], p["source"]) for p in found] == [
        ("Незламне Тестове", 1, 51.5, "points")
    ]


def test_compact_and_csv_etags_last_until_the_data_changes_but_geojson_rolls_with_the_clock(
    client, seeded, monkeypatch
):
    import locator.http.policy

    def etags(now: float) -> dict[str, str]:
        monkeypatch.setattr(locator.http.policy.time, "time", lambda: now)
        paths = ["/api/v1/points?format=compact", "/api/v1/points.csv", "/api/v1/points"]
        return {path: client.get(path).headers["ETag"] for path in paths}

    before, later = etags(1_800_000_000.0), etags(1_800_000_000.0 + 600)
    assert before["/api/v1/points?format=compact"] == later["/api/v1/points?format=compact"]
    assert before["/api/v1/points.csv"] == later["/api/v1/points.csv"]
    assert before["/api/v1/points"] != later["/api/v1/points"]  # "stale" flags depend on the clock


# -- the read path's own costs (issue 5) --------------------------------------------------------------


def test_a_revalidation_carries_the_headers_of_the_answer_it_stands_for(client, seeded):
    """A 304 has no type, and varies on what its 200 varies on (not on the page language)."""
    for path in ("/api/v1/points?format=compact", "/api/v1/nearest?lat=50.45&lon=30.52", "/api/v1/points"):
        full = client.get(path)
        again = client.get(path, headers={"If-None-Match": full.headers["ETag"]})
        assert again.status_code == 304, path
        assert "Content-Type" not in again.headers and "Content-Language" not in again.headers
        assert again.headers["Vary"] == full.headers["Vary"] == "Accept-Encoding", path
        assert again.headers["ETag"] == full.headers["ETag"]


def test_api_reads_leave_the_session_alone_and_writes_still_use_it(client, seeded, make_user):
    make_user("olena", "admin")
    assert login(client, "olena").status_code in (302, 303)
    read = client.get("/api/v1/points/kyiv-01")
    assert read.status_code == 200
    assert "Cookie" not in read.headers.get("Vary", "") and "Set-Cookie" not in read.headers
    assert client.get("/operator/").status_code == 200  # the session itself still works


def test_a_revalidation_is_answered_before_the_filters_but_bad_filters_still_fail(client, seeded):
    path = "/api/v1/points?status=open&services=power"
    etag = client.get(path).headers["ETag"]
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
    assert_problem(client.get("/api/v1/points?status=nonsense"), 400, "status")
    assert_problem(client.get("/api/v1/nearest?lat=91&lon=30"), 400, "lat")
    other = client.get("/api/v1/nearest?lat=50&lon=30", headers={"If-None-Match": etag})
    assert other.status_code == 200  # another question's ETag matches nothing here


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_large_bodies_are_compressed_once_and_small_ones_on_the_fly(client, store, encoding, monkeypatch):
    import brotli

    from locator.http import bodies
    from locator.http import encoding as edge_encoding

    decode = brotli.decompress if encoding == "br" else __import__("gzip").decompress
    monkeypatch.setattr(edge_encoding, "KEEP_COMPRESSED_AT", 64 * 1024)  # not 100,000 points here
    store.import_points([make_point(f"p{i:04d}", lat=48 + i / 1000, lon=30.0) for i in range(1500)])
    path = "/api/v1/points?format=compact"
    identity = client.get(path, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in identity.headers
    assert len(identity.data) > edge_encoding.KEEP_COMPRESSED_AT
    calls = []
    real = bodies.compress
    counting = lambda *args: calls.append(args[1:]) or real(*args)  # noqa: E731
    monkeypatch.setattr(bodies, "compress", counting)
    monkeypatch.setattr(edge_encoding, "compress", counting)
    first = client.get(path, headers={"Accept-Encoding": f"{encoding}, identity;q=0.5"})
    assert first.headers["Content-Encoding"] == encoding and decode(first.data) == identity.data
    assert first.headers["Content-Length"] == str(len(first.data))
    best = (encoding, bodies.BR_QUALITY_KEPT_LONG)
    if encoding == "br":
        # A quick copy at once; the best one is made in the background and then served.
        assert (encoding, bodies.BR_QUALITY_QUICK) in calls
        deadline = time.monotonic() + 30
        while len(calls) < 2 or client.get(path, headers={"Accept-Encoding": encoding}).data == first.data:
            assert time.monotonic() < deadline, "the best copy never replaced the quick one"
            time.sleep(0.05)
        # the quick copy first, then the best (on data this repetitive either may be a few bytes smaller)
        assert first.data == brotli.compress(identity.data, quality=bodies.BR_QUALITY_QUICK)
        best_copy = client.get(path, headers={"Accept-Encoding": encoding}).data
        assert best_copy == brotli.compress(identity.data, quality=bodies.BR_QUALITY_KEPT_LONG)
    second = client.get(path, headers={"Accept-Encoding": encoding})
    third = client.get(path, headers={"Accept-Encoding": encoding})
    assert second.data == third.data and decode(second.data) == identity.data
    quick = [(encoding, bodies.BR_QUALITY_QUICK)] if encoding == "br" else []
    assert sorted(calls) == sorted([best, *quick])  # each once, then kept

    small = client.get("/api/v1/nearest?lat=48.5&lon=30", headers={"Accept-Encoding": encoding})
    assert small.headers["Content-Encoding"] == encoding
    plain = client.get("/api/v1/nearest?lat=48.5&lon=30", headers={"Accept-Encoding": "identity"})
    # The two answers are a moment apart: a status's age may have ticked by a second between them.
    compressed, identity_features = json.loads(decode(small.data))["features"], plain.get_json()["features"]
    ages = [
        (a["properties"].pop("status_age_s"), b["properties"].pop("status_age_s"))
        for a, b in zip(compressed, identity_features, strict=True)
    ]
    assert compressed == identity_features and all(0 <= later - first <= 1 for first, later in ages)
    assert calls[-1] == (encoding, bodies.BR_QUALITY_SMALL)


def test_business_type_none_names_the_points_of_no_business_type(client, store):
    rng = random.Random(20)
    store.import_points(
        [p.with_changes(business_type=rng.choice(list(BusinessType))) for p in random_points(rng, 80)]
    )
    every = client.get("/api/v1/points").get_json()["features"]

    def ids(query: str) -> set[str]:
        response = client.get("/api/v1/points?" + query)
        assert response.status_code == 200, response.get_data(as_text=True)
        return {f["id"] for f in response.get_json()["features"]}

    of_type = {t: {f["id"] for f in every if f["properties"]["business_type"] == t} for t in ("", "pharmacy")}
    assert of_type[""] and of_type["pharmacy"]  # the random data has both
    assert ids("business_type=none") == of_type[""]
    assert ids("business_type=NONE,pharmacy") == of_type[""] | of_type["pharmacy"]
    assert ids("business_type=pharmacy") == of_type["pharmacy"]
    near = client.get(
        "/api/v1/nearest?lat=50.45&lon=30.52&k=50&status=open,closed,full,standby&business_type=none"
    )
    assert near.status_code == 200, near.get_data(as_text=True)
    assert {f["properties"]["business_type"] for f in near.get_json()["features"]} == {""}
    bad = client.get("/api/v1/points?business_type=none,nobody")
    assert bad.status_code == 400 and bad.mimetype == "application/problem+json"
    assert "business_type" in bad.get_data(as_text=True)
