"""Nothing leaks (issue 20): a hidden point, or the exact place and details of an approximate one,
never appears in any public output.

Hidden and approximate points carry unique markers (id, name, address, note, phone) and exact
coordinates with distinctive decimals. Every public GET route of the Flask url_map (everything
but /operator and static files) is crawled with each format and both languages, the nearest
lookups centred on the secrets themselves, the change feed from cursor 0, the service worker,
the manifest and the widget; no body or header may carry a marker or a coordinate, whether
written out to 6, 5, 4 or 3 decimals, with a decimal comma, or packed as a binary double.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

import pytest
from helpers import make_point

from locator.domain.values import Visibility
from locator.web.api import FORMATS

pytestmark = pytest.mark.backends  # SQLite and PostgreSQL (conftest.py)

HIDDEN = {"id": "zqhid-4471", "lat": 50.4123457, "lon": 30.6987653}
APPROXIMATE = {"id": "apx-9002", "lat": 49.8217543, "lon": 24.0461579}
PUBLIC_ID = "pub-0001"
HIDDEN_TEXT = ("zqhid", "QXHIDNAME", "QXHIDADDR", "QXHIDNOTE", "7314286", "731 42 86")
APPROXIMATE_TEXT = ("QXAPXNAME", "QXAPXADDR", "QXAPXNOTE", "8526179", "852 61 79")
LANGUAGES = ("uk", "en")
EXTRA_FORMATS = ("json", "gpkg", "html")  # formats other routes take (or refuse)


def planted() -> list:
    """A public point beside a hidden one in Kyiv and an approximate one in Lviv."""
    return [
        make_point(PUBLIC_ID, name="Відкритий пункт", lat=50.4501, lon=30.5234),
        make_point(
            HIDDEN["id"],
            name="Школа QXHIDNAME",
            address="вул. QXHIDADDR, 3",
            note="QXHIDNOTE двір",
            phone="+380 97 731 42 86",
            lat=HIDDEN["lat"],
            lon=HIDDEN["lon"],
            visibility=Visibility.HIDDEN,
        ),
        make_point(
            APPROXIMATE["id"],
            name="Ліцей QXAPXNAME",
            address="вул. QXAPXADDR, 9",
            note="QXAPXNOTE",
            phone="+380 93 852 61 79",
            settlement="Львів",
            lat=APPROXIMATE["lat"],
            lon=APPROXIMATE["lon"],
            visibility=Visibility.APPROXIMATE,
        ),
    ]


def secrets() -> list[bytes]:
    """Every form of every secret as bytes to look for."""
    found = [text.encode() for text in HIDDEN_TEXT + APPROXIMATE_TEXT]
    for place in (HIDDEN, APPROXIMATE):
        for value in (place["lat"], place["lon"]):
            for decimals in (6, 5, 4, 3):
                text = f"{value:.{decimals}f}"
                found += [text.encode(), text.replace(".", ",").encode()]
            found += [struct.pack("<d", value), struct.pack(">d", value)]
    found.append(b"QXHIDNAME".lower())
    return found


def public_rules(app) -> list[str]:
    rules = []
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.rule.startswith(("/operator", "/static")):
            rules.append(rule.rule)
    return rules


def urls(app) -> Iterator[str]:
    """Each public GET route, with each id, format, language and centre it can take."""
    ids = (HIDDEN["id"], APPROXIMATE["id"], PUBLIC_ID)
    # ~400 m off each secret: it would be the nearest, and the answer's echo of the centre is no leak
    centres = [(round(p["lat"] + 0.003, 7), round(p["lon"] - 0.004, 7)) for p in (HIDDEN, APPROXIMATE)]
    for rule in public_rules(app):
        if "<point_id>" in rule:
            paths = [rule.replace("<point_id>", point_id) for point_id in ids]
        elif "<code>" in rule:
            paths = [rule.replace("<code>", code) for code in LANGUAGES]
        elif "<" in rule:
            raise AssertionError(f"the leak test does not yet know how to fill {rule}")
        else:
            paths = [rule]
        queries = [""] + [f"format={name}" for name in (*FORMATS, *EXTRA_FORMATS)]
        queries += ["since=0", "since=0&limit=1", "q=Львів", "q=Київ", "place=Львів", "bed=1"]
        queries += [f"lat={lat}&lon={lon}&k=50" for lat, lon in centres]
        queries += [
            f"lat={lat}&lon={lon}&k=50&format=geojson&status=open,full,standby,closed" for lat, lon in centres
        ]
        queries += [f"near={lat},{lon}" for lat, lon in centres]
        for path in paths:
            for query in queries:
                for lang in LANGUAGES:
                    yield f"{path}?{query}&lang={lang}" if query else f"{path}?lang={lang}"


def leaks(response, wanted: list[bytes]) -> list[bytes]:
    body = response.get_data()
    headers = "\n".join(f"{name}: {value}" for name, value in response.headers).encode()
    return [secret for secret in wanted if secret in body or secret in headers]


@pytest.fixture
def planted_store(store):
    store.import_points(planted())
    # Changes the feed would tell: the hidden point moves, the approximate one gets a new address.
    store.update(HIDDEN["id"], {"status": "full"}, by="setup", verify=False)
    store.update(APPROXIMATE["id"], {"address": "вул. QXAPXADDR, 11"}, by="setup", verify=False)
    return store


def test_no_public_route_carries_a_hidden_or_approximate_secret(app, client, planted_store):
    wanted = secrets()
    crawled, found = 0, []
    unasked = [secret for secret in wanted if secret != b"zqhid"]
    for url in urls(app):
        response = client.get(url)
        crawled += 1
        if HIDDEN["id"] in url:  # an answer may echo the id asked for: as for an id that never was
            assert response.status_code in (404, 410), url
        if hits := leaks(response, unasked if HIDDEN["id"] in url else wanted):
            found.append((url, response.status_code, hits[:3]))
    assert crawled > 500
    assert not found, found[:10]


def test_the_public_still_sees_the_public_point_and_the_approximate_one_as_its_settlement(
    client, planted_store
):
    features = client.get("/api/v1/points").get_json()["features"]
    by_id = {f["id"]: f for f in features}
    assert set(by_id) == {PUBLIC_ID, APPROXIMATE["id"]}
    approximate = by_id[APPROXIMATE["id"]]
    assert approximate["properties"]["settlement"] == "Львів"
    assert approximate["properties"]["address"] == ""
    assert client.get(f"/points/{HIDDEN['id']}").status_code == 404
    assert client.get(f"/api/v1/points/{HIDDEN['id']}").status_code == 404
    assert client.get(f"/points/{APPROXIMATE['id']}").status_code == 200


def test_the_crawl_finds_a_leak_when_there_is_one(app, client, planted_store):
    """The check can fail: a point made public again is seen at once, markers and all."""
    planted_store.update(HIDDEN["id"], {"visibility": "public"}, by="setup", verify=False)
    response = client.get(f"/api/v1/points/{HIDDEN['id']}")
    assert b"QXHIDNAME" in leaks(response, secrets())
    assert leaks(client.get("/api/v1/points?format=csv"), secrets())


def test_a_hidden_point_takes_no_reports_and_answers_as_one_that_never_was(client, planted_store):
    for point_id in (HIDDEN["id"], "never-was"):
        response = client.post(f"/api/v1/points/{point_id}/reports", json={"kind": "closed"})
        assert response.status_code == 404, point_id
    assert client.post(f"/api/v1/points/{PUBLIC_ID}/reports", json={"kind": "closed"}).status_code == 201


def feed(client) -> list[dict]:
    """Every change-feed row from cursor 0, paged as a mirror would page it."""
    rows, cursor, more = [], 0, True
    while more:
        page = client.get(f"/api/v1/changes?since={cursor}&limit=2").get_json()
        rows += page["changes"]
        cursor, more = page["next_cursor"], page["has_more"]
    return rows


def test_a_point_deleted_while_hidden_leaves_nothing_in_the_change_feed(client, planted_store):
    """An import --replace without the hidden and approximate points deletes them: the feed tells
    mirrors of the approximate one's deletion (no place, no details) and nothing of the hidden one."""
    kept = [p for p in planted() if p.id == PUBLIC_ID]
    planted_store.import_points(kept, replace=True)
    assert {p.id for p in planted_store.all()} == {PUBLIC_ID}
    rows = feed(client)
    assert not [row for row in rows if row["point_id"] == HIDDEN["id"]]
    approximate = {row["field"] for row in rows if row["point_id"] == APPROXIMATE["id"]}
    assert "deleted" in approximate and approximate <= {"created", "deleted", "status"}
    for url in ("/api/v1/changes?since=0", "/api/v1/changes?since=0&limit=1"):
        for lang in LANGUAGES:
            assert not leaks(client.get(f"{url}&lang={lang}"), secrets()), url
