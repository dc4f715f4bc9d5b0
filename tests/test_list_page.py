"""/list: the nearest open points as plain text, for any browser, with no JavaScript at all."""

from __future__ import annotations

import re

import pytest
from helpers import make_point

HOSTILE = '<img src=x onerror=alert(1)>"><script>alert(2)</script>'


@pytest.fixture
def points(store):
    made = [
        make_point("b1", name="Ліцей №1", settlement="Бровари", lat=50.511, lon=30.791, status="open"),
        make_point("b2", name=HOSTILE, settlement="Бровари", lat=50.52, lon=30.80, status="open"),
        make_point("b3", name="Зачинений", settlement="Бровари", lat=50.5111, lon=30.7911, status="closed"),
        make_point(
            "k1",
            name="Київ-1",
            settlement="Київ",
            lat=50.45,
            lon=30.52,
            status="open",
            services=["power", "water"],
        ),
        make_point(
            "k2", name="Київ-2", settlement="Київ", lat=50.46, lon=30.50, status="open", services=["heat"]
        ),
    ]
    store.import_points(made)
    return made


def listed(response) -> list[str]:
    return re.findall(r'href="/points/([^"]+)"', response.get_data(as_text=True))


def test_settlement_name_lists_nearest_open_points_in_api_order(client, points):
    response = client.get("/list?place=БРОВАРИ")
    place = client.get("/api/v1/places?q=Бровари").get_json()["places"][0]  # where the gazetteer puts it
    lat, lon = place["lat"], place["lon"]
    api = client.get(f"/api/v1/nearest?lat={lat}&lon={lon}&k=10").get_json()
    assert response.status_code == 200
    ids = listed(response)
    assert "b3" not in ids and set(ids) == {"b1", "b2", "k1", "k2"}
    text = response.get_data(as_text=True)
    assert "Поруч із: Бровари" in text and " м</strong>" in text and "Статус підтверджено" in text
    assert [f["id"] for f in api["features"]] == ids  # the same ranking as the API from that place


def test_coordinates_and_services_narrow_the_list(client, points):
    assert listed(client.get("/list?lat=50.45&lon=30.52&services=water")) == ["k1"]
    assert listed(client.get("/list?lat=50.45&lon=30.52"))[:2] == ["k1", "k2"]


def test_the_page_has_no_script_and_stays_small(client, points):
    response = client.get("/list?place=Київ")
    html = response.get_data(as_text=True)
    assert "<script" not in html.replace("&lt;script", "")
    assert len(response.data) < 12_000


def test_point_text_is_escaped(client, points):
    html = client.get("/list?place=Бровари").get_data(as_text=True)
    assert "<img src=x" not in html and "<script>alert" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


@pytest.mark.parametrize(
    ("query", "message"),
    [("place=Атлантида", "не знайдено"), ("lat=abc&lon=30", "Координати мають бути числами")],
)
def test_bad_input_gets_a_message_not_an_error(client, points, query, message):
    response = client.get(f"/list?{query}")
    assert response.status_code == 200 and message in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/", "/points/k1", "/api", "/embed/builder", "/list", "/nope"])
def test_every_page_links_to_the_text_version(client, points, path):
    assert 'href="/list"' in client.get(path).get_data(as_text=True)


@pytest.mark.parametrize(
    ("lang", "words"),
    [("uk", ("ДСНС / місцева влада", "АЗС")), ("en", ("Fuel station",))],
)
def test_each_point_shows_its_category_and_business_type_glyph_beside_the_words(
    client, store, points, lang, words
):
    """Issue 20: an icon per category and business type, always with its label, in either language."""
    store.import_points(
        [
            make_point(
                "k3",
                name="АЗС на Хрещатику",
                settlement="Київ",
                lat=50.447,
                lon=30.522,
                status="open",
                category="working_business",
                business_type="fuel_station",
            )
        ]
    )
    html = client.get("/list?lat=50.45&lon=30.52", headers={"Accept-Language": lang}).get_data(as_text=True)
    lines = re.findall(r'<p class="kind-line">(.*?)</p>', html, re.S)
    assert len(lines) == len(listed(client.get("/list?lat=50.45&lon=30.52")))
    fuel = next(line for line in lines if "\u26fd" in line)  # the fuel station's glyph...
    assert '<span class="kind-icon" aria-hidden="true">\U0001f3ea</span>' in fuel  # ...and its category's
    state = next(line for line in lines if "\U0001f3db" in line)
    assert "\u26fd" not in state  # a state point has no business type
    for word in words:
        assert word in html
    page = client.get("/points/k3", headers={"Accept-Language": lang}).get_data(as_text=True)
    assert "\u26fd</span> " + ("АЗС" if lang == "uk" else "Fuel station") in page
