"""Revalidations answered before Flask (locator/http/revalidation.py): the same 304 with the same
headers as Flask's, never once the answer may have changed, and rate-limited, logged and counted
like any other request."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from helpers import make_point

from locator import create_app
from locator.domain.point import Stop, utcnow
from locator.http import revalidation

REVALIDATED = [
    "/api/v1/points?format=compact",
    "/api/v1/points",
    "/api/v1/points?format=csv&status=open",
    "/api/v1/points.geojson",
    "/api/v1/points.csv?region=Львівська обл.",
    "/api/v1/nearest?lat=50.45&lon=30.52",
    "/api/v1/nearest?lat=49.8&lon=24&k=3&services=power",
]


def revalidate(client, url: str, etag: str, **headers: str):
    return client.get(url, headers={"If-None-Match": etag, **headers})


def seeded_304(client, url: str):
    """A first answer, then Flask's 304 for it (which the middleware remembers)."""
    first = client.get(url)
    assert first.status_code == 200, first.get_data(as_text=True)
    etag = first.headers["ETag"]
    through_flask = revalidate(client, url, etag)
    assert through_flask.status_code == 304
    return etag, through_flask


@pytest.mark.parametrize("url", REVALIDATED)
def test_a_repeated_revalidation_gets_flasks_304_without_flask(client, seeded, dispatched, url):
    etag, through_flask = seeded_304(client, url)
    before = dispatched["n"]
    for _ in range(3):
        fast = revalidate(client, url, etag)
        assert fast.status_code == 304 and fast.get_data() == b""
        assert list(fast.headers.items()) == list(through_flask.headers.items())
    assert dispatched["n"] == before, "the revalidations went through Flask"
    # A HEAD, a list of validators and a weak comparison all count as the same revalidation.
    assert revalidate(client, url, f'"other", {etag}').status_code == 304
    assert dispatched["n"] == before


def test_another_etag_gets_the_full_answer_from_flask(client, seeded, dispatched):
    url = REVALIDATED[0]
    seeded_304(client, url)
    before = dispatched["n"]
    stale = revalidate(client, url, 'W/"not-this-one"')
    assert stale.status_code == 200 and dispatched["n"] == before + 1


def test_after_a_write_the_revalidation_gets_the_new_answer(client, store, seeded, dispatched):
    for url in ("/api/v1/points?format=compact", "/api/v1/nearest?lat=50.45&lon=30.52&k=1"):
        etag, _ = seeded_304(client, url)
        store.update("kyiv-01", {"status": "closed" if "nearest" in url else "full"}, by="test")
        before = dispatched["n"]
        fresh = revalidate(client, url, etag)
        assert fresh.status_code == 200 and fresh.headers["ETag"] != etag
        assert dispatched["n"] == before + 1
    body = client.get("/api/v1/nearest?lat=50.45&lon=30.52&k=1").get_json()
    assert body["features"][0]["id"] != "kyiv-01"  # closed: not the nearest open point any more


def test_a_minute_turning_sends_clock_answers_back_through_flask(client, seeded, dispatched, monkeypatch):
    """GeoJSON and nearest answers say whether a status is stale: their ETag rolls each minute."""
    clocked, lasting = "/api/v1/nearest?lat=50.45&lon=30.52", "/api/v1/points?format=compact"
    etags = {url: seeded_304(client, url)[0] for url in (clocked, lasting)}
    later = time.time() + 61
    monkeypatch.setattr(revalidation.time, "time", lambda: later)
    before = dispatched["n"]
    revalidate(client, lasting, etags[lasting])
    assert dispatched["n"] == before  # the compact table carries times, not flags: still true
    revalidate(client, clocked, etags[clocked])
    assert dispatched["n"] == before + 1


def test_a_mobile_points_stop_starting_sends_the_revalidation_back_through_flask(client, store, dispatched):
    now = utcnow()
    starts = now + timedelta(seconds=2)
    tent = make_point("tent", now=None, kind="mobile", lat=50.40, lon=30.40, moved_at=now - timedelta(days=1))
    tent = tent.with_changes(stops=(Stop("Майдан", 50.4501, 30.5234, starts, starts + timedelta(hours=2)),))
    store.import_points([tent])
    url = "/api/v1/points?format=compact"
    etag, _ = seeded_304(client, url)
    assert revalidate(client, url, etag).status_code == 304
    time.sleep(max(0.0, (starts - utcnow()).total_seconds()) + 0.2)
    before = dispatched["n"]
    moved = revalidate(client, url, etag)
    assert moved.status_code == 200 and dispatched["n"] == before + 1
    row = moved.get_json()["rows"][0]
    assert (row[1], row[2]) == (50.4501, 30.5234)  # at its stop now


def test_requests_with_credentials_and_a_points_own_answer_always_go_through_flask(
    client, seeded, dispatched
):
    url = REVALIDATED[0]
    etag, _ = seeded_304(client, url)
    before = dispatched["n"]
    revalidate(client, url, etag, Authorization="Bearer not-a-token")
    assert dispatched["n"] == before + 1
    one = client.get("/api/v1/points/kyiv-01")  # its ETag also counts citizens' reports
    for _ in range(2):
        assert revalidate(client, "/api/v1/points/kyiv-01", one.headers["ETag"]).status_code == 304
    assert dispatched["n"] == before + 4


def test_the_anonymous_rate_limit_counts_revalidations_too(tmp_path):
    app = create_app({"DATABASE": str(tmp_path / "limited.db"), "SEED_FILE": "", "API_RATE_PER_MIN": 6})
    app.extensions["locator.store"].import_points([make_point("p-1", lat=50.45, lon=30.52)])
    client = app.test_client()
    url = "/api/v1/points?format=compact"
    etag = client.get(url).headers["ETag"]
    statuses = [revalidate(client, url, etag).status_code for _ in range(10)]
    assert statuses[:5] == [304] * 5  # (the first GET took one of the 6)
    assert statuses[5:] == [429] * 5


def test_a_revalidation_answered_here_is_logged_and_counted(app, client, seeded, capsys):
    url = REVALIDATED[0]
    etag, _ = seeded_304(client, url)
    capsys.readouterr()
    assert revalidate(client, url, etag).status_code == 304
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    assert [(line["route"], line["status"], line["method"]) for line in lines] == [
        ("/api/v1/points", 304, "GET")
    ]
    metrics = app.extensions["locator.metrics"]
    counted = metrics.requests.labels("/api/v1/points", "GET", "304")._value.get()
    assert counted == 2  # Flask's 304 and this one


def test_the_remembered_revalidations_are_bounded(client, seeded, monkeypatch):
    monkeypatch.setattr(revalidation, "ENTRIES", 5)
    for i in range(12):
        seeded_304(client, f"/api/v1/nearest?lat=50.4{i}&lon=30.52")
    middleware = client.application.wsgi_app
    assert isinstance(middleware, revalidation.Revalidations)
    assert len(middleware.entries) == 5
