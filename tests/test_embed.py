"""Only /embed may be framed, by the configured sites; its options are validated."""

from __future__ import annotations

import re

import pytest
from helpers import make_point

from locator import create_app


@pytest.fixture
def points(store):
    store.import_points(
        [make_point("k1", region="Київська область", settlement="Бровари", lat=50.51, lon=30.79)]
    )


def frame_ancestors(response) -> str:
    policy = dict(
        part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";")
    )
    return policy["frame-ancestors"]


def test_embed_may_be_framed_by_any_site_by_default(client, points):
    response = client.get("/embed?region=Київська область&services=power")
    assert response.status_code == 200
    assert frame_ancestors(response) == "*"
    assert "X-Frame-Options" not in response.headers
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize(
    "path", ["/", "/points/k1", "/api", "/embed/builder", "/operator/login", "/api/v1/points"]
)
def test_every_other_page_refuses_framing(client, points, path):
    response = client.get(path)
    assert frame_ancestors(response) == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_embedding_sites_come_from_configuration(tmp_path):
    sites = "https://kyiv.example https://*.gov.ua"
    app = create_app({"DATABASE": str(tmp_path / "e.db"), "SEED_FILE": "", "EMBED_ANCESTORS": sites})
    # plus 'self': the builder's live preview frames the widget from this site
    assert frame_ancestors(app.test_client().get("/embed")) == f"{sites} 'self'"


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("status=bogus", "status"),
        ("services=x", "services"),
        ("lang=de", "lang"),
        ("zoom=40", "zoom"),
        ("center=91,30", "center"),
        ("center=50", "center"),
        ("settlement=Атлантида", "settlement"),
    ],
)
def test_bad_options_are_a_400_naming_the_option(client, points, query, param):
    response = client.get(f"/embed?{query}")
    assert response.status_code == 400
    assert param in response.get_data(as_text=True)


def _centre(html: str) -> tuple[float, float]:
    """folium's map centre, as the page states it."""
    found = re.search(r"center: \[([-\d.]+), ([-\d.]+)\]", html)
    assert found, "no map centre in the page"
    return float(found.group(1)), float(found.group(2))


@pytest.mark.parametrize("name", ["бровари", "Бровари", "Brovary", "BROVARY"])
def test_settlement_option_centres_the_widget_on_it(client, points, name):
    """Any spelling the place search knows, Latin included (the builder's place picker)."""
    lat, lon = _centre(client.get("/embed", query_string={"settlement": name}).get_data(as_text=True))
    assert abs(lat - 50.51) < 0.02 and abs(lon - 30.79) < 0.03, (lat, lon)


def test_a_settlement_outside_the_chosen_region_is_a_400(client, points):
    response = client.get("/embed", query_string={"settlement": "Бровари", "region": "Львівська область"})
    assert response.status_code == 400 and "settlement" in response.get_data(as_text=True)
