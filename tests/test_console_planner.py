"""The console's planner (issue 19): access, scope, CSRF, a suggestion made a stop, outage
lists and planner files, and hostile input."""

from __future__ import annotations

import re

import pytest
from helpers import csrf_token, login, make_point

KYIV, LVIV = "Київська область", "Львівська область"


@pytest.fixture
def world(store):
    store.import_points(
        [
            make_point("brovary", lat=50.511, lon=30.79, opening_hours="24/7"),
            make_point("lviv", lat=49.84, lon=24.03, opening_hours="24/7"),
            make_point(
                "tent", name="Намет", kind="mobile", lat=50.52, lon=30.25, region=KYIV, opening_hours="24/7"
            ),
            make_point("lviv-tent", name="Намет Львів", kind="mobile", lat=49.84, lon=24.03),
        ]
    )


@pytest.fixture
def olena(client, world, make_user):
    make_user("olena", "operator", regions=[KYIV])
    login(client, "olena")
    return client


def page(client, query: str = "") -> str:
    response = client.get(f"/operator/planner{query}")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_data(as_text=True)


def test_a_stranger_is_sent_to_log_in(client, world):
    for path in ("/operator/planner", "/operator/planner/coverage.csv", "/operator/planner/outages"):
        response = client.get(path)
        assert response.status_code == 302 and "/operator/login" in response.headers["Location"]
    assert client.post("/operator/planner/stop", data={}).status_code in (302, 400)


def test_an_operator_sees_only_their_scope(olena):
    html = page(olena, "?status=any")
    assert KYIV in html and LVIV not in html.split('id="uncovered-heading"')[1].split("</ol>")[0]
    assert olena.get(f"/operator/planner?region={LVIV}").status_code == 403
    rows = olena.get("/operator/planner/coverage.csv?status=any").get_data(as_text=True).splitlines()
    assert rows[0].startswith("name,") and all(LVIV not in row for row in rows)
    assert olena.get("/operator/planner/coverage.csv").headers["Cache-Control"] == "no-store"
    geo = olena.get("/operator/planner/coverage.geojson").get_json()
    assert geo["features"] and all(f["properties"]["region"] == KYIV for f in geo["features"])
    assert olena.get("/operator/planner/coverage.gpkg").data[:16] == b"SQLite format 3\x00"
    assert olena.get("/operator/planner/coverage.exe").status_code == 404


def test_an_admin_sees_every_region(client, world, make_user):
    make_user("root", "admin")
    login(client, "root")
    html = page(client, f"?region={LVIV}&distance_km=10")
    assert LVIV in html


def test_a_suggestion_becomes_a_stop_of_the_chosen_mobile_point(olena, store):
    html = page(olena, f"?region={KYIV}&plan=1&n=2&status=any")
    assert "plan-answer" in html, re.findall(r"<option value=\"[^\"]*@[^\"]*\"", html)
    assert 'value="tent@1"' in html and "lviv-tent" not in html  # only the scope's mobile points
    place = re.search(r'name="place" type="text" maxlength="200" value="([^"]+)"', html).group(1)
    form = {
        "csrf_token": csrf_token(olena, "/operator/planner"),
        "point": "tent@1",
        "place": place,
        "lat": "50.6",
        "lon": "30.9",
        "starts_at": "2030-01-01T10:00",
        "ends_at": "2030-01-01T14:00",
        "back": "region=x&plan=1",
    }
    without_csrf = {k: v for k, v in form.items() if k != "csrf_token"}
    assert olena.post("/operator/planner/stop", data=without_csrf).status_code == 400
    response = olena.post("/operator/planner/stop", data=form)
    assert response.status_code == 302 and "/operator/points/tent" in response.headers["Location"]
    assert [s.place for s in store.get("tent").stops] == [place]
    schedule = olena.get("/operator/points/tent").get_data(as_text=True)
    assert place in schedule.split('id="schedule"')[1]
    again = olena.post("/operator/planner/stop", data=form, follow_redirects=True)  # version 1 is old now
    assert "Хтось щойно змінив цей пункт" in again.get_data(as_text=True)
    assert len(store.get("tent").stops) == 1


def test_forged_stop_fields_are_refused(olena, store):
    token = csrf_token(olena, "/operator/planner")
    base = {"csrf_token": token, "place": "X", "lat": "49.8", "lon": "24.0", "back": ""}
    base |= {"starts_at": "2030-01-01T10:00", "ends_at": "2030-01-01T12:00"}
    assert olena.post("/operator/planner/stop", data=base | {"point": "lviv-tent@1"}).status_code == 403
    assert olena.post("/operator/planner/stop", data=base | {"point": "nope@1"}).status_code == 404
    odd = base | {"point": "tent@1", "lat": "50.5", "lon": "30.5", "place": "a\x00b"}
    response = olena.post("/operator/planner/stop", data=odd, follow_redirects=True)
    assert response.status_code == 200 and store.get("tent").stops == ()
    late = base | {"point": "tent@1", "lat": "50.5", "lon": "30.5", "ends_at": "2029-01-01T10:00"}
    olena.post("/operator/planner/stop", data=late)
    assert store.get("tent").stops == ()
    assert olena.post("/operator/planner/stop", data=base | {"point": "tent@x"}).status_code == 302


@pytest.mark.parametrize(
    "query",
    [
        "?distance_km=1e308",
        "?distance_km=nan",
        "?status=%00",
        "?region=Atlantis",
        "?at=9999-01-01T00:00",
        "?kinds=<script>",
        "?services=nuclear",
        "?plan=1&n=100000",
        "?plan=1&n=-1",
        "?page=99999999999999",
    ],
)
def test_hostile_parameters_answer_a_page_not_an_error(olena, query):
    response = olena.get(f"/operator/planner{query}")
    assert response.status_code in (200, 400)
    assert "<script>" not in response.get_data(as_text=True).split("<main")[1].replace("<script nonce", "")


def test_outages_restrict_coverage_and_stay_in_scope(olena, store):
    token = csrf_token(olena, "/operator/planner/outages")
    response = olena.post(
        "/operator/planner/outages",
        data={"csrf_token": token, "version": "0", "shown": KYIV, "settlements": [f"{KYIV}|Бровари"]},
    )
    assert response.status_code == 302
    current = store.planner.current_outages()
    assert current.author == "olena" and [(e.region, e.settlement) for e in current.entries] == [
        (KYIV, "Бровари")
    ]
    html = page(olena, "?outage=1&status=any")
    assert "Бровари" in html and "Біла Церква" not in html
    forged = {"csrf_token": token, "version": str(current.id), "regions": [LVIV]}
    assert olena.post("/operator/planner/outages", data=forged).status_code == 403
    stale = {"csrf_token": token, "version": "0", "regions": [KYIV]}
    olena.post("/operator/planner/outages", data=stale)
    assert store.planner.current_outages() == current  # a stale version writes nothing


def test_an_operator_cannot_import_outages_elsewhere(olena, store, tmp_path):
    token = csrf_token(olena, "/operator/planner/outages")
    form = {"csrf_token": token, "version": "0"}
    bad = tmp_path / "outages.csv"
    bad.write_text(f"region,settlement\n{LVIV},Львів\n", encoding="utf-8")
    with bad.open("rb") as handle:
        olena.post("/operator/planner/outages/import", data=form | {"file": handle})
    assert store.planner.current_outages().id == 0
    good = tmp_path / "good.csv"
    good.write_text(f"region,settlement\n{KYIV},Бровари\n{KYIV},\n", encoding="utf-8")
    with good.open("rb") as handle:
        olena.post("/operator/planner/outages/import", data=form | {"file": handle})
    assert len(store.planner.current_outages().entries) == 2


def test_planner_files_are_guarded_and_kept_per_user(olena, app, store, tmp_path):
    app.config["MAX_CONTENT_LENGTH"] = 1_000_000  # (LOCATOR_IMPORT_MAX_BYTES)
    token = csrf_token(olena, "/operator/planner")

    def send(name: str, body: bytes, kind: str = "settlements"):
        path = tmp_path / name
        path.write_bytes(body)
        with path.open("rb") as handle:
            return olena.post(
                "/operator/planner/files",
                data={"csrf_token": token, "kind": kind, "file": (handle, name)},
                follow_redirects=True,
            )

    vrt = (
        b'<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>/etc/passwd</SrcDataSource>'
        b"</OGRVRTLayer></OGRVRTDataSource>"
    )
    for name, body in [
        ("evil.json", vrt),
        ("evil.gpkg", b"not a geopackage"),
        ("bad.csv", b"name,population,lat,lon\n=cmd|x,-5,95,30\n"),
        ("ctl.csv", b"name,population,lat,lon\nA\x07B,10,50.4,30.5\n"),
        ("evil.exe", b"MZ"),
    ]:
        response = send(name, body)
        assert response.status_code == 200
        assert store.planner.planner_file(1, "settlements") is None, name
    big = send("big.csv", b"name,lat,lon\n" + b"x" * 2_000_000)
    assert big.status_code == 413
    ok = send("mine.csv", f"name,population,lat,lon,region\nСело,1234,50.6,30.9,{KYIV}\n".encode())
    assert "Файл прийнято" in ok.get_data(as_text=True)
    user_id = store.db.execute("SELECT id FROM users WHERE name = 'olena'").fetchone()[0]
    assert store.planner.planner_file(user_id, "settlements").rows[0]["population"] == 1234
    html = page(olena, "?data=file&status=any")
    assert "Село" in html and "Бровари" not in html.split('id="uncovered-heading"')[1]
    forged = olena.post("/operator/planner/files", data={"csrf_token": token, "kind": "../x"})
    assert forged.status_code == 400
