"""After a move without an address, the console offers the nearest settlement (the gazetteer's,
by the one haversine) as the new address; accepting is one edit through the services."""

from __future__ import annotations

import random
import re

import pytest
from helpers import csrf_token, db_state, haversine, login

OFFER = re.compile(
    r'id="address-offer".*?name="address" value="([^"]*)".*?name="settlement" value="([^"]+)"', re.S
)
IRPIN = (50.5218, 30.2506)
POINT = "brov-02"  # in Бровари, Київська обл.: olena's


@pytest.fixture
def olena(client, seeded, make_user):
    make_user("olena", "operator", regions=("Київська обл.",))
    assert login(client, "olena").status_code == 302
    return client


def post(client, path, data):
    return client.post(path, data={"csrf_token": csrf_token(client, "/operator/")} | data)


def move(client, store, lat, lon, **extra):
    version = store.get(POINT).version
    return post(
        client, f"/operator/points/{POINT}/move", {"lat": lat, "lon": lon, "version": version} | extra
    )


def test_nearest_settlement_matches_a_scan_of_the_gazetteer(app):
    gazetteer = app.extensions["locator.gazetteer"]
    rng = random.Random(3)
    for _ in range(40):
        lat, lon = rng.uniform(44.4, 52.4), rng.uniform(22.1, 40.2)
        best = min(haversine(lat, lon, p.lat, p.lon) for p in gazetteer.places)
        found = gazetteer.nearest(lat, lon)
        assert haversine(lat, lon, found.lat, found.lon) == pytest.approx(best, abs=1e-6)


def test_a_move_offers_the_nearest_settlement_and_accepting_updates_the_address(olena, store):
    response = move(olena, store, *IRPIN)
    assert response.status_code == 302 and "moved=1" in response.headers["Location"]
    page = olena.get(response.headers["Location"]).get_data(as_text=True)
    offer = OFFER.search(page)
    assert offer, "no address offer after the move"
    assert offer.groups() == ("", "Ірпінь")  # the street goes; the place is the settlement
    old_address = store.get(POINT).address
    assert f"Адреса: {old_address} — оновити на «Ірпінь, Київська область»?" in page

    moved = store.get(POINT)
    response = post(
        olena,
        f"/operator/points/{POINT}/address",
        {"address": offer.group(1), "settlement": offer.group(2), "version": moved.version},
    )
    assert response.status_code == 302
    after = store.get(POINT)
    # the street is gone, the place is the settlement (its region follows the coordinates): the
    # public page says "Ірпінь, Київська область" once, not twice
    assert (after.address, after.settlement, after.region) == ("", "Ірпінь", "Київська область")
    assert (after.lat, after.lon) == IRPIN
    assert any(row["field"] == "address" for row in store.history(POINT, limit=5))


def test_keeping_the_address_writes_nothing_and_the_offer_goes(olena, store):
    response = move(olena, store, *IRPIN)
    offered = olena.get(response.headers["Location"]).get_data(as_text=True)
    keep = re.search(r'<a class="button secondary" href="([^"]+)">Залишити як є</a>', offered)
    assert keep and keep.group(1) == f"/operator/points/{POINT}"
    before = db_state(store)
    page = olena.get(keep.group(1)).get_data(as_text=True)
    assert 'id="address-offer"' not in page
    assert db_state(store) == before


def test_no_offer_when_the_move_gave_an_address_or_the_place_is_already_just_the_settlement(olena, store):
    response = move(olena, store, *IRPIN, address="вул. Соборна 1, Ірпінь")
    assert "moved" not in response.headers["Location"]
    # moved on 100 m without a new address: that street may be wrong now, so the offer comes
    response = move(olena, store, IRPIN[0] + 0.001, IRPIN[1])
    page = olena.get(response.headers["Location"]).get_data(as_text=True)
    offer = OFFER.search(page)
    assert offer and offer.groups() == ("", "Ірпінь")
    version = store.get(POINT).version
    post(
        olena,
        f"/operator/points/{POINT}/address",
        {"address": "", "settlement": "Ірпінь", "version": version},
    )
    assert (store.get(POINT).address, store.get(POINT).settlement) == ("", "Ірпінь")
    # the place is just Ірпінь now: another small move has nothing to offer
    response = move(olena, store, IRPIN[0] + 0.002, IRPIN[1])
    assert 'id="address-offer"' not in olena.get(response.headers["Location"]).get_data(as_text=True)


def test_accepting_an_old_offer_after_another_write_changes_nothing(olena, store):
    move(olena, store, *IRPIN)
    stale = store.get(POINT).version
    move(olena, store, IRPIN[0] + 0.01, IRPIN[1])
    before = db_state(store)
    response = post(
        olena,
        f"/operator/points/{POINT}/address",
        {"address": "Ірпінь", "settlement": "Ірпінь", "version": stale},
    )
    assert response.status_code == 302
    assert db_state(store) == before


def test_an_address_for_a_point_outside_my_scope_is_refused(olena, store):
    before = db_state(store)
    version = store.get("lviv-01").version
    response = post(
        olena, "/operator/points/lviv-01/address", {"address": "x", "settlement": "Львів", "version": version}
    )
    assert response.status_code == 403
    assert db_state(store) == before
