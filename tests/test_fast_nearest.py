"""Nearest lookups answered before Flask (locator/http/fast_nearest.py): byte for byte what Flask
answers, on random data and queries, and rate-limited, logged and counted like any request."""

from __future__ import annotations

import gzip
import json
import random
import time
from datetime import timedelta
from urllib.parse import urlencode

import brotli
import pytest
from flask import Flask
from helpers import FIXED_NOW, UKRAINE, assert_problem, make_point, random_filter_args, random_points
from werkzeug.test import Client

from locator import create_app
from locator.domain.point import Status, Stop
from locator.http import fast_nearest
from locator.io.features import point_properties
from locator.web import api

BROWSER_HEADERS = [
    {"Cookie": "poi_session=not-a-session; lang=en"},
    {"Accept-Language": "en-GB,en;q=0.9"},
    {"Origin": "https://hromada.example", "Sec-Fetch-Site": "cross-site"},
    {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"},
]
ENCODINGS = [None, "br", "gzip", "br, gzip", "gzip;q=0.5, br;q=0.1", "*", "identity", "deflate", "br;q=0"]


@pytest.fixture
def frozen(monkeypatch):
    """One clock for both answers of a pair: the same "stale" flags, ages and ETag minute."""
    monkeypatch.setattr(api, "utcnow", lambda: FIXED_NOW)
    monkeypatch.setattr(fast_nearest, "utcnow", lambda: FIXED_NOW)
    minute = FIXED_NOW.timestamp() + 5
    monkeypatch.setattr(time, "time", lambda: minute)


def flask_only(app: Flask) -> Client:
    """A client of the Flask app itself, with no middleware in front: the reference answer."""
    return Client(lambda environ, start_response: Flask.wsgi_app(app, environ, start_response))


def mixed_points(rng: random.Random) -> list:
    """Fixed and mobile points over Ukraine; a fifth of the mobile ones on a schedule (a stop
    under way, one ended, one to come), as the index and the API treat them differently."""
    points = random_points(rng, 400)
    for i, point in enumerate(points):
        if point.kind.value == "mobile" and i % 5 == 0:
            lat, lon = point.lat + rng.uniform(-0.3, 0.3), point.lon + rng.uniform(-0.3, 0.3)
            start = FIXED_NOW + timedelta(hours=rng.choice([-30, -2, 3]))
            stops = (Stop(f"Зупинка {i}", lat, lon, start, start + timedelta(hours=5)),)
            points[i] = point.with_changes(stops=stops, moved_at=FIXED_NOW - timedelta(days=2))
    return points


def random_query(rng: random.Random, points: list) -> dict[str, str]:
    min_lat, max_lat, min_lon, max_lon = UKRAINE
    args = {"lat": f"{rng.uniform(min_lat, max_lat):.5f}", "lon": f"{rng.uniform(min_lon, max_lon):.5f}"}
    if rng.random() < 0.5:
        args["k"] = str(rng.choice([1, 3, 5, 20, 100]))
    return args | random_filter_args(rng, points, q_share=0.1)


def test_fast_answers_are_flasks_byte_for_byte_on_random_queries(app, client, store, dispatched, frozen):
    rng = random.Random(11)
    points = mixed_points(rng)
    store.import_points(points)
    reference = flask_only(app)
    fast_before = 0
    for _ in range(250):
        url = "/api/v1/nearest?" + urlencode(random_query(rng, points))
        encoding = rng.choice(ENCODINGS)
        headers = {"Accept-Encoding": encoding} if encoding else {}
        if rng.random() < 0.3:  # what browsers and partner pages send besides
            headers |= rng.choice(BROWSER_HEADERS)
        base = rng.choice(["http://localhost", "https://poi.example"])
        before = dispatched["n"]
        fast = client.get(url, headers=headers, base_url=base)
        assert dispatched["n"] == before, f"{url} went through Flask"
        expected = reference.get(url, headers=headers, base_url=base)
        assert fast.status_code == expected.status_code == 200
        assert list(fast.headers.items()) == list(expected.headers.items()), (url, headers, base)
        assert fast.get_data() == expected.get_data(), url
        fast_before += 1
    assert fast_before == 250


def test_the_compressed_answers_decode_to_the_plain_one(client, seeded, frozen):
    url = "/api/v1/nearest?lat=50.45&lon=30.52&k=20"
    plain = client.get(url)
    assert "Content-Encoding" not in plain.headers
    as_br = client.get(url, headers={"Accept-Encoding": "br"})
    as_gzip = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert as_br.headers["Content-Encoding"] == "br" and as_gzip.headers["Content-Encoding"] == "gzip"
    assert brotli.decompress(as_br.get_data()) == plain.get_data()
    assert gzip.decompress(as_gzip.get_data()) == plain.get_data()
    assert plain.headers["ETag"] == as_br.headers["ETag"] == as_gzip.headers["ETag"]
    assert len(plain.get_json()["features"]) > 5  # (over COMPRESS_AT: compressed)


@pytest.mark.parametrize(
    "query, param",
    [
        ("lon=30.52", "lat"),
        ("lat=50.45&lon=181", "lon"),
        ("lat=50.45&lon=30.52&k=0", "k"),
        ("lat=50.45&lon=30.52&k=101", "k"),
        ("lat=abc&lon=30.52", "lat"),
        ("lat=50.45&lon=30.52&status=maybe", "status"),
        ("lat=50.45&lon=30.52&services=unicorns", "services"),
        ("lat=50.45&lon=30.52&bbox=1,2,3", "bbox"),
    ],
)
def test_bad_arguments_go_on_to_flask_which_names_them(client, seeded, dispatched, query, param):
    before = dispatched["n"]
    assert_problem(client.get(f"/api/v1/nearest?{query}"), 400, param)
    assert dispatched["n"] == before + 1


def test_other_requests_for_nearest_go_through_flask(client, seeded, dispatched):
    url = "/api/v1/nearest?lat=50.45&lon=30.52"
    etag = client.get(url).headers["ETag"]
    cases = [
        lambda: client.head(url),
        lambda: client.options(url),
        lambda: client.get(url, headers={"Authorization": "Bearer not-a-token"}),
        lambda: client.get(url, headers={"If-None-Match": 'W/"other"'}),
        lambda: client.get(url, headers={"If-None-Match": etag}),  # Flask's 304, remembered
        lambda: client.get("/api/v1/nearest/", query_string={"lat": 50.45, "lon": 30.52}),
        lambda: client.post(url),
    ]
    for number, request in enumerate(cases, start=1):
        before = dispatched["n"]
        request()
        assert dispatched["n"] == before + 1, f"case {number}"


def test_a_write_is_in_the_next_fast_answer(client, store, dispatched):
    store.import_points(
        [make_point("near", lat=50.4501, lon=30.5234), make_point("far", lat=50.50, lon=30.60)]
    )
    url = "/api/v1/nearest?lat=50.45&lon=30.52&k=1"
    first = client.get(url)
    assert first.get_json()["features"][0]["id"] == "near"
    before = dispatched["n"]
    store.update("near", {"status": "closed"}, by="test")
    after = client.get(url)
    assert after.get_json()["features"][0]["id"] == "far"
    assert after.headers["ETag"] != first.headers["ETag"]
    assert dispatched["n"] == before


def test_the_rate_limit_takes_one_token_per_request_whichever_path_answers(tmp_path):
    app = create_app({"DATABASE": str(tmp_path / "limited.db"), "SEED_FILE": "", "API_RATE_PER_MIN": 4})
    app.extensions["locator.store"].import_points([make_point("p-1", lat=50.45, lon=30.52)])
    client = app.test_client()
    good, bad = "/api/v1/nearest?lat=50.45&lon=30.52", "/api/v1/nearest?lat=50.45"
    statuses = [client.get(url).status_code for url in (good, bad, good, bad, good, bad)]
    assert statuses == [200, 400, 200, 400, 429, 429]
    limited = client.get(good)
    assert_problem(limited, 429, None)
    assert int(limited.headers["Retry-After"]) >= 1
    app.extensions["locator.store"].close()


def test_a_fast_answer_is_logged_and_counted(app, client, seeded, dispatched, capsys):
    capsys.readouterr()
    before = dispatched["n"]
    response = client.get("/api/v1/nearest?lat=50.45&lon=30.52", headers={"Accept-Encoding": "br"})
    assert response.status_code == 200 and dispatched["n"] == before
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    assert [(line["route"], line["method"], line["status"], line["bytes"]) for line in lines] == [
        ("/api/v1/nearest", "GET", 200, len(response.get_data()))
    ]
    assert 0 <= lines[0]["duration_ms"] < 10_000
    metrics = app.extensions["locator.metrics"]
    assert metrics.requests.labels("/api/v1/nearest", "GET", "200")._value.get() == 1


def test_kept_properties_follow_the_point_and_the_clock():
    """A point's clock-free properties are made once per Point object (features.py): the next
    answer still has its own "stale" and age, and a changed point (a new object) its new fields."""
    rng = random.Random(3)
    stale_after = timedelta(hours=6)
    for point in random_points(rng, 60):
        first = point_properties(point, FIXED_NOW, stale_after)
        first["name"] = "changed by a caller"
        later = FIXED_NOW + timedelta(hours=7)
        again = point_properties(point, later, stale_after)
        assert again["name"] == point.name
        assert again["stale"] is point.is_stale(later, stale_after)
        assert again["status_age_s"] == int((later - point.verified_at).total_seconds())
        closed = point.with_changes(status=Status.CLOSED, name=point.name + " (зачинено)")
        changed = point_properties(closed, later, stale_after)
        assert (changed["status"], changed["name"]) == ("closed", closed.name)
        stored = point_properties(point, later, stale_after, as_stored=True)
        assert {k: v for k, v in stored.items() if k != "moved_at"} == again
