"""/join (issue 20): a business proposes points; nothing public until approved, hostile input
refused whole, limits by sender group, CSRF and same-site checks."""

from __future__ import annotations

import pytest
from helpers import csrf_token, db_state

pytestmark = pytest.mark.backends  # SQLite and PostgreSQL (conftest.py)

KYIV_SPOT = ("50.4501", "30.5234")


def proposal_form(client, **overrides) -> dict:
    form = {
        "csrf_token": csrf_token(client, "/join"),
        "contact": "Олена Коваль",
        "phone": "+380 67 123 45 67",
        "point-0-name": "Кав'ярня «Тепло»",
        "point-0-business_type": "cafe",
        "point-0-address": "вул. Хрещатик, 1",
        "point-0-lat": KYIV_SPOT[0],
        "point-0-lon": KYIV_SPOT[1],
        "point-0-opening_hours": "Mo-Su 08:00-22:00",
        "point-0-services": ["power", "internet"],
    }
    return form | overrides


def pending(app) -> list:
    return app.extensions["locator.proposals"].in_state()


def test_a_proposal_is_stored_pending_and_nothing_public(app, client, store):
    before = db_state(store)
    response = client.post("/join", data=proposal_form(client))
    assert response.status_code == 303 and response.headers["Location"].endswith("/join?sent=1")
    [stored] = pending(app)
    point = stored.proposal.points[0]
    assert (point.name, point.business_type, point.services) == (
        "Кав'ярня «Тепло»",
        "cafe",
        ("internet", "power"),
    )
    assert stored.regions == ("Київ",) or stored.regions[0].startswith("Київ")
    assert db_state(store) == before  # no point, no history, no change feed
    assert "Тепло" not in client.get("/api/v1/points").get_data(as_text=True)
    assert app.extensions["locator.proposals"].history(stored.id)[0]["action"] == "proposed"


def test_many_points_in_one_proposal(app, client):
    form = proposal_form(client)
    form |= {k.replace("point-0-", "point-1-"): v for k, v in form.items() if k.startswith("point-0-")}
    form["point-1-name"] = "Друга кав'ярня"
    assert client.post("/join", data=form).status_code == 303
    assert len(pending(app)[0].proposal.points) == 2


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"point-0-name": "Кава\x00"}, "point-0-name"),
        ({"point-0-address": "вул.\x1b[31m"}, "point-0-address"),
        ({"contact": "x" * 5000}, "contact"),
        ({"point-0-name": "x" * 100_000}, "point-0-name"),
        ({"point-0-lat": "10.0"}, "point-0-lat"),
        ({"point-0-lon": "200"}, "point-0-lon"),
        ({"point-0-lat": "nan"}, "point-0-lat"),
        ({"point-0-opening_hours": "whenever we like"}, "point-0-opening_hours"),
        ({"point-0-business_type": "casino"}, "point-0-business_type"),
        ({"point-0-services": ["power", "teleport"]}, "point-0-services"),
        ({"phone": "call me"}, "phone"),
        ({"phone": ""}, "phone"),
        ({"point-9-name": "ninth"}, "points"),
    ],
)
def test_hostile_input_is_refused_whole(app, client, store, overrides, field):
    before = db_state(store)
    response = client.post("/join", data=proposal_form(client, **overrides))
    assert response.status_code == 400
    assert field in response.get_data(as_text=True)
    assert pending(app) == [] and db_state(store) == before


def test_forged_fields_change_nothing_that_matters(app, client):
    form = proposal_form(
        client, **{"point-0-category": "state", "point-0-status": "closed", "point-0-id": "x"}
    )
    form |= {"region": "Львівська область", "point-0-region": "Львівська область", "state": "approved"}
    assert client.post("/join", data=form).status_code == 303
    [stored] = pending(app)
    assert stored.state == "pending" and "Львівська область" not in stored.regions
    assert stored.proposal.points[0].record()["category"] == "business"


def test_without_a_csrf_token_nothing_is_stored(app, client):
    form = proposal_form(client)
    del form["csrf_token"]
    assert client.post("/join", data=form).status_code == 400
    assert pending(app) == []


def test_from_another_site_nothing_is_stored(app, client):
    form = proposal_form(client)
    response = client.post("/join", data=form, headers={"Origin": "https://evil.example"})
    assert response.status_code in (400, 403)
    response = client.post("/join", data=form, headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code in (400, 403)
    assert pending(app) == []


def test_proposals_are_limited_by_sender_group(app, client):
    limit = app.extensions["locator.proposals"].rules.per_sender_per_hour
    for last_octet in range(limit):
        environ = {"REMOTE_ADDR": f"198.51.100.{last_octet + 1}"}  # one /24: one sender group
        assert client.post("/join", data=proposal_form(client), environ_base=environ).status_code == 303
    refused = client.post("/join", data=proposal_form(client), environ_base={"REMOTE_ADDR": "198.51.100.200"})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    other = client.post("/join", data=proposal_form(client), environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert other.status_code == 303
    assert len(pending(app)) == limit + 1


def test_the_form_works_in_english_and_offers_more_points(client):
    page = client.get("/join?points=3", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'name="point-2-lat"' in page and 'name="point-3-lat"' not in page
    assert "Leaflet" not in page or "/static/vendor/leaflet/leaflet.js" in page


def test_a_huge_body_is_refused_unread(app, client, store):
    before = db_state(store)
    response = client.post("/join", data=proposal_form(client, **{"point-0-address": "x" * 1_000_000}))
    assert response.status_code == 413
    assert pending(app) == [] and db_state(store) == before


def test_the_form_speaks_english_when_asked(client):
    page = client.get("/join", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Send proposal" in page and "Fuel station" in page and "Надіслати заявку" not in page
