"""The console's "my points": search (id, name, address; case, marks, apostrophes and script
forgiven), the kind filter and "nearest to me", all from the query string, a page at a time;
each held to a brute-force scan over random points."""

from __future__ import annotations

import random
import re
import unicodedata

import pytest
from helpers import login, random_points

from locator.console.listing import PAGE_SIZE
from locator.search.distance import haversine_m
from locator.search.transliteration import key, transliterate

POINT_LINK = re.compile(r'<li class="point-row[^"]*">\s*<a href="/operator/points/([^"/]+)"')
NEXT_LINK = re.compile(r'<a class="button secondary" href="([^"]+)" rel="next">')
N_POINTS = 230  # five pages
ROUNDS = 25


@pytest.fixture
def points(store):
    rng = random.Random(17)
    made = random_points(rng, N_POINTS, prefix="r")
    store.import_points(made)
    return made


@pytest.fixture
def admin(client, make_user, points):
    make_user("admin", "admin")
    assert login(client, "admin").status_code == 302
    return client


def every_page(client, query: dict) -> list[str]:
    """The ids the list shows, following its "next" links from the first page to the last."""
    response = client.get("/operator/", query_string=query)
    ids = []
    pages = 0
    while True:
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        found = POINT_LINK.findall(page)
        assert len(found) <= PAGE_SIZE
        ids += found
        pages += 1
        link = NEXT_LINK.search(page)
        if not link:
            break
        assert len(found) == PAGE_SIZE  # only the last page is short
        response = client.get(link.group(1).replace("&amp;", "&"))
    return ids


def texts(point) -> tuple[str, ...]:
    return (point.id, point.name, point.address, point.settlement)


def oracle_matches(point, query: str) -> bool:
    wanted = key(query)
    return not wanted or any(wanted in key(text) for text in texts(point))


def accented(text: str) -> str:
    """Latin text with an acute on every vowel, as a phone's keyboard might add them."""
    return "".join(unicodedata.normalize("NFC", c + "\u0301") if c in "aeiouAEIOU" else c for c in text)


def typed(rng: random.Random, point) -> str:
    """Part of a point's id, name or address as an operator might type it."""
    source = rng.choice(texts(point)[:3])
    start = rng.randrange(0, max(1, len(source) - 4))
    part = source[start : start + rng.randrange(4, 10)].strip() or source
    return rng.choice([part, part.upper(), part.lower(), transliterate(part), accented(transliterate(part))])


def test_search_and_kind_filter_match_a_scan_of_every_point(admin, points):
    rng = random.Random(5)
    for _ in range(ROUNDS):
        kind = rng.choice(["", "fixed", "mobile"])
        query = typed(rng, rng.choice([p for p in points if not kind or p.kind.value == kind]))
        expected = {p.id for p in points if oracle_matches(p, query) and (not kind or p.kind.value == kind)}
        shown = every_page(admin, {"q": query, "kind": kind})
        assert len(shown) == len(set(shown))
        assert set(shown) == expected, (query, kind)
        assert expected, query  # the query was taken from a point of that kind or any


@pytest.mark.parametrize(
    "query", ["ХРЕЩАТИК", "хрещатик", "Khreshchatyk", "KHRESHCHÁTYK", "вул. Об'їзна", "Obizna", "об’їзна"]
)
def test_search_forgives_case_marks_apostrophes_and_script(admin, points, query):
    street = "Хрещатик" if "хрещ" in query.casefold() or "khresh" in key(query) else "Об’їзна"
    expected = {p.id for p in points if street in p.address}
    assert expected
    assert set(every_page(admin, {"q": query})) == expected


def test_search_finds_a_point_by_its_id(admin, points):
    assert every_page(admin, {"q": "R0117"}) == ["r0117"]


def test_nearest_first_matches_a_scan_by_the_one_haversine(admin, points):
    rng = random.Random(9)
    for _ in range(8):
        lat, lon = rng.uniform(44.4, 52.4), rng.uniform(22.1, 40.2)
        kind = rng.choice(["", "fixed", "mobile"])
        chosen = [p for p in points if not kind or p.kind.value == kind]
        query = {"sort": "near", "lat": f"{lat:.6f}", "lon": f"{lon:.6f}", "kind": kind}
        # The page carries lat and lon at six decimals: the oracle measures from the same place.
        lat, lon = float(query["lat"]), float(query["lon"])
        expected = [p.id for p in sorted(chosen, key=lambda p: (haversine_m(lat, lon, p.lat, p.lon), p.id))]
        assert every_page(admin, query) == expected


def test_nearest_without_a_place_says_so_and_keeps_the_problem_order(admin, points):
    response = admin.get("/operator/", query_string={"sort": "near", "lat": "north", "lon": "999"})
    assert response.status_code == 200
    assert "Місце невідоме" in response.get_data(as_text=True)
    assert every_page(admin, {"sort": "near", "lat": "north"}) == every_page(admin, {})


def test_paging_keeps_the_search_and_a_page_past_the_end_shows_the_last(admin, points):
    everything = every_page(admin, {})
    assert len(everything) == N_POINTS
    last = admin.get("/operator/", query_string={"page": "999"}).get_data(as_text=True)
    assert POINT_LINK.findall(last) == everything[(N_POINTS - 1) // PAGE_SIZE * PAGE_SIZE :]
    mobile = every_page(admin, {"kind": "mobile"})
    assert mobile == [pid for pid in everything if pid in {p.id for p in points if p.kind.value == "mobile"}]


@pytest.mark.parametrize("page", ["-3", "0", "abc", "1e9", "٣"])
def test_a_bad_page_number_shows_the_first_page(admin, points, page):
    response = admin.get("/operator/", query_string={"page": page})
    assert response.status_code == 200
    assert POINT_LINK.findall(response.get_data(as_text=True)) == every_page(admin, {})[:PAGE_SIZE]


def test_an_operator_searches_only_her_own_points(client, make_user, points):
    region = points[0].region
    make_user("petro", "operator", regions=(region,))
    assert login(client, "petro").status_code == 302
    query = points[0].name[:6]
    expected = {p.id for p in points if p.region == region and oracle_matches(p, query)}
    assert points[0].id in expected
    assert set(every_page(client, {"q": query})) == expected
