"""The operator console (/operator): login, the list, one-tap changes, create/edit, import, export."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from helpers import PASSWORD, csrf_token, db_state, login, make_point, write_geojson

from locator import create_app
from locator.console import session as console_session
from locator.domain.point import EDITABLE_FIELDS, format_time, utcnow
from locator.io.features import CSV_COLUMNS

KYIV_CITY = "Київ"  # with KYIV, olena's regions in the seeded data (kyiv-* in the city)
KYIV = "Київська обл."  # brov-*, irp-*
LVIV = "Львівська обл."
OTHER_ADDRESS = "198.51.100.7"
CONFLICT = "Хтось щойно змінив цей пункт"
POINT_LINK = re.compile(r'<li class="point-row[^"]*">\s*<a href="/operator/points/([^"/]+)"')


@pytest.fixture
def people(seeded, make_user):
    """An admin, an operator for Kyiv region, one for Lviv region and a viewer, on the seeded points."""
    make_user("admin", "admin")
    make_user("olena", "operator", regions=(KYIV_CITY, KYIV))
    make_user("taras", "operator", regions=(LVIV,))
    make_user("vika", "viewer")


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """The login slowdown, recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr(console_session, "time", SimpleNamespace(sleep=slept.append))
    return slept


@pytest.fixture
def olena(client, people):
    """The client, logged in as olena."""
    assert login(client, "olena").status_code == 302
    return client


def post(client, path: str, data: dict | None = None, **kwargs):
    """A console form POST with the session's CSRF token."""
    token = csrf_token(client, "/operator/")
    return client.post(path, data={"csrf_token": token, **(data or {})}, **kwargs)


def text(response) -> str:
    return response.get_data(as_text=True)


def logged_in(client) -> bool:
    return client.get("/operator/").status_code == 200


def tag(html: str, element_id: str) -> str:
    """The opening tag of the element with this id."""
    match = re.search(rf'<(?:input|select|textarea)\b[^>]*\bid="{element_id}"[^>]*>', html)
    assert match, f"no element #{element_id}"
    return match.group(0)


# -- log in and out --------------------------------------------------------------------------------


def test_login_page_carries_a_csrf_token(client):
    response = client.get("/operator/login")
    assert response.status_code == 200
    assert 'name="csrf_token"' in text(response)


@pytest.mark.parametrize("token", [None, "", "forged.token.value"])
def test_login_without_a_valid_csrf_token_is_refused_and_nothing_happens(client, users, people, token):
    client.get("/operator/login")  # the session has a CSRF token; the form does not send it
    data = {"name": "olena", "password": PASSWORD} | ({} if token is None else {"csrf_token": token})
    response = client.post("/operator/login", data=data)
    assert response.status_code == 400
    assert not logged_in(client)
    assert users.login_failures("user:olena", utcnow() - timedelta(hours=1)) == 0


def test_wrong_password_and_unknown_user_get_the_same_401(client, people, sleeps):
    wrong = login(client, "olena", "not the password")
    unknown = login(client, "nobody", "not the password")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "Неправильне ім'я або пароль." in html.unescape(text(response))
    assert not logged_in(client)


def test_disabled_user_cannot_log_in(client, people, users, sleeps):
    users.set_disabled("olena", True)
    assert login(client, "olena").status_code == 401


def test_login_sets_an_http_only_same_site_cookie_not_secure_in_development(client, people):
    response = login(client, "olena")
    assert response.status_code == 302 and response.headers["Location"] == "/operator/"
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("poi_session=")]
    flags = [part.strip() for part in cookie.split(";")]
    assert "HttpOnly" in flags and "SameSite=Lax" in flags
    assert "Secure" not in flags
    assert any(flag.startswith("Expires=") for flag in flags)  # a permanent session, 12 h


def test_production_session_cookie_is_secure(tmp_path, password_hash):
    app = create_app(
        {
            "ENV": "production",
            "SECRET_KEY": "x" * 40,
            "DATABASE": str(tmp_path / "prod.db"),
            "SEED_FILE": "",
            "TESTING": True,
        }
    )
    app.extensions["locator.users"].create("olena", password_hash, "admin")
    client = app.test_client()
    site = "https://poi.example"
    token = csrf_token(client, site + "/operator/login")
    response = client.post(
        "/operator/login",
        base_url=site,
        headers={"Referer": site + "/operator/login"},  # CSRF checks the referrer over HTTPS
        data={"csrf_token": token, "name": "olena", "password": PASSWORD},
    )
    assert response.status_code == 302
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("poi_session=")]
    flags = [part.strip() for part in cookie.split(";")]
    assert {"Secure", "HttpOnly", "SameSite=Lax"} <= set(flags)
    app.extensions["locator.store"].close()


def test_five_failures_lock_the_account_even_with_the_right_password(client, people, sleeps):
    for _ in range(console_session.MAX_FAILURES_PER_ACCOUNT):
        assert login(client, "olena", "wrong password!").status_code == 401
    # Each failure slows the next answer down a little more.
    assert sleeps == pytest.approx([0, 0.2, 0.4, 0.6, 0.8])

    response = login(client, "olena")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == str(15 * 60)
    assert "Забагато невдалих спроб входу. Спробуйте знову за 15 хв." in text(response)
    assert not logged_in(client)
    # The lock is on that name from that network (issue 16): the same name typed in another case
    # is locked too, from any address of the network...
    assert login(client, "OLENA", environ_base={"REMOTE_ADDR": "127.0.0.200"}).status_code == 429
    # ...but not the operator of that name elsewhere, and not another account.
    assert login(client, "olena", environ_base={"REMOTE_ADDR": OTHER_ADDRESS}).status_code == 302
    assert login(client, "taras").status_code == 302


def test_a_stranger_cannot_lock_out_a_named_operator(client, people, sleeps):
    """Five wrong passwords from an IPv6 /64 (a free supply of addresses) lock out that network
    only; the operator logging in from their own network gets in at once."""
    for i in range(console_session.MAX_FAILURES_PER_ACCOUNT * 2):
        stranger = {"REMOTE_ADDR": f"2001:db8:1:{i}::{i + 1}"}  # one /48, many /64s
        assert login(client, "Olena", "wrong password!", environ_base=stranger).status_code in (401, 429)
    assert login(client, "olena", environ_base={"REMOTE_ADDR": "2001:db8:2::1"}).status_code == 302


@pytest.mark.parametrize("who", ["nobody-at-all", "disabled-user", "olena"])
def test_every_login_verifies_a_hash_whatever_the_account(client, people, make_user, users, who, monkeypatch):
    """Unknown, disabled and real accounts cost the same Argon2 work, so timing reveals nothing."""
    from locator.services import accounts

    make_user("disabled-user", "viewer")
    users.set_disabled("disabled-user", True)
    verified = []

    class Counting:  # argon2's own hasher, every call counted (its slots forbid patching a method)
        def __init__(self, real):
            self.real = real

        def verify(self, *args):
            verified.append(args[0])
            return self.real.verify(*args)

    monkeypatch.setattr(accounts, "_hasher", Counting(accounts._hasher))
    assert login(client, who, "wrong password!").status_code == 401
    assert len(verified) == 1 and verified[0].startswith("$argon2id$")


def test_twenty_failures_from_one_address_lock_it_for_every_account(client, people, make_user, sleeps):
    here = {"environ_base": {"REMOTE_ADDR": "203.0.113.9"}}
    for i in range(4):
        make_user(f"user{i}", "viewer")
        for _ in range(console_session.MAX_FAILURES_PER_ACCOUNT):
            assert login(client, f"user{i}", "wrong password!", **here).status_code == 401
    assert max(sleeps) == console_session.MAX_SLOWDOWN_S  # the slowdown is capped

    response = login(client, "vika", **here)  # never failed, right password
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "900"
    assert "Забагато невдалих спроб входу" in text(response)
    assert login(client, "vika", environ_base={"REMOTE_ADDR": OTHER_ADDRESS}).status_code == 302


def test_a_successful_login_clears_the_accounts_failures(client, people, sleeps):
    for _ in range(2):
        for _ in range(console_session.MAX_FAILURES_PER_ACCOUNT - 1):
            assert login(client, "olena", "wrong password!").status_code == 401
        assert login(client, "olena").status_code == 302
        assert post(client, "/operator/logout").status_code == 302


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/operator/points/kyiv-01", "/operator/points/kyiv-01"),
        ("https://evil.example/", "/operator/"),
        ("//evil.example/operator", "/operator/"),
        ("/api/v1/points", "/operator/"),
    ],
)
def test_login_returns_only_to_console_pages(client, people, target, expected):
    token = csrf_token(client)
    response = client.post(
        "/operator/login",
        query_string={"next": target},
        data={"csrf_token": token, "name": "olena", "password": PASSWORD},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_console_pages_send_a_stranger_to_login(client, people):
    response = client.get("/operator/points/kyiv-01")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/operator/login?next=")


def test_logout_needs_the_csrf_token_and_ends_the_session(olena):
    assert olena.post("/operator/logout").status_code == 400
    assert logged_in(olena)
    response = post(olena, "/operator/logout", follow_redirects=True)
    assert "Ви вийшли з консолі." in text(response)
    assert not logged_in(olena)


# -- my points -------------------------------------------------------------------------------------


def listed_ids(response) -> list[str]:
    return POINT_LINK.findall(text(response))


def test_list_shows_only_my_points_stale_and_problem_points_first(client, store, make_user):
    now = utcnow()
    fresh, stale = format_time(now - timedelta(hours=1)), format_time(now - timedelta(hours=30))
    region = {"region": "Полтавська область", "settlement": "Полтава"}
    mine = [  # (id, status, verified_at), in the order the list must show them
        ("s-closed", "closed", stale),
        ("s-full", "full", stale),
        ("s-standby", "standby", stale),
        ("s-open", "open", stale),
        ("f-closed", "closed", fresh),
        ("f-full", "full", fresh),
        ("f-standby", "standby", fresh),
        ("f-open", "open", fresh),
    ]
    points = [
        make_point(pid, status=status, verified_at=at, updated_at=at, now=now, **region)
        for pid, status, at in reversed(mine)
    ]
    points.append(make_point("elsewhere", status="closed", verified_at=stale, updated_at=stale, now=now))
    store.import_points(points)
    make_user("petro", "operator", regions=("полтавська ОБЛАСТЬ",))  # scope matches ignoring case

    assert login(client, "petro").status_code == 302
    response = client.get("/operator/")
    assert listed_ids(response) == [pid for pid, _, _ in mine]
    assert text(response).count('class="point-row is-stale"') == 4

    stale_only = client.get("/operator/", query_string={"stale": "1"})
    assert listed_ids(stale_only) == ["s-closed", "s-full", "s-standby", "s-open"]
    closed = client.get("/operator/", query_string={"status": "closed"})
    assert listed_ids(closed) == ["s-closed", "f-closed"]


def test_operator_sees_own_region_admin_and_viewer_see_all(app, people, store):
    everything = {p.id for p in store.all()}
    kyiv = {p.id for p in store.all() if p.id.startswith(("kyiv-", "brov-", "irp-"))}  # city and oblast
    assert kyiv == {"kyiv-01", "kyiv-02", "kyiv-03", "kyiv-04", "kyiv-05", "brov-01", "brov-02", "irp-01"}
    for name, expected in (("olena", kyiv), ("admin", everything), ("vika", everything)):
        client = app.test_client()
        assert login(client, name).status_code == 302
        ids = listed_ids(client.get("/operator/"))
        assert len(ids) == len(set(ids))
        assert set(ids) == expected, name


# -- one point -------------------------------------------------------------------------------------


def test_one_tap_status_change_is_saved_verified_and_logged(olena, store):
    before = store.get("kyiv-01")
    page = text(olena.get("/operator/points/kyiv-01"))
    for label in ("Працює", "Переповнений", "У резерві", "Зачинено"):
        assert f">{label}</button>" in page
    started = utcnow()
    response = post(olena, "/operator/points/kyiv-01/status", {"status": "closed", "version": before.version})
    assert response.status_code == 302
    assert response.headers["Location"] == "/operator/points/kyiv-01"

    after = store.get("kyiv-01")
    assert after.status.value == "closed"
    assert started <= after.verified_at <= utcnow()
    assert after.version == before.version + 1
    rows = {row["field"]: row for row in store.history("kyiv-01") if row["seq"] == store.change_seq()}
    assert rows["status"]["old"] == "open" and rows["status"]["new"] == "closed"
    assert {row["by"] for row in rows.values()} == {"olena"}
    assert "Збережено: Зачинено" in text(olena.get("/operator/points/kyiv-01"))


def test_still_true_confirms_the_status_now(olena, store):
    before = store.get("kyiv-02")  # confirmed 30 hours ago: stale
    assert before.is_stale(utcnow())
    response = post(olena, "/operator/points/kyiv-02/verify", {"version": before.version})
    assert response.status_code == 302
    after = store.get("kyiv-02")
    assert after.status == before.status
    assert utcnow() - after.verified_at < timedelta(seconds=5)
    assert after.version == before.version + 1
    latest = store.history("kyiv-02")[0]
    assert (latest["field"], latest["by"], latest["old"]) == (
        "verified_at",
        "olena",
        format_time(before.verified_at),
    )
    assert "Статус підтверджено." in text(olena.get("/operator/points/kyiv-02"))


def test_details_form_sets_services_occupancy_and_note(olena, store):
    before = store.get("kyiv-01")
    data = {
        "details": "1",
        "status": "full",
        "services": ["heat", "power", "water"],
        "occupancy": "42",
        "note": "Генератор працює до 22:00",
        "version": before.version,
    }
    assert post(olena, "/operator/points/kyiv-01/status", data).status_code == 302
    after = store.get("kyiv-01")
    assert after.status.value == "full"
    assert after.services == {"heat", "power", "water"}
    assert (after.occupancy, after.note) == (42, "Генератор працює до 22:00")
    assert after.version == before.version + 1
    changed = {row["field"] for row in store.history("kyiv-01") if row["seq"] == store.change_seq()}
    assert {"status", "services", "occupancy", "note"} <= changed


@pytest.mark.parametrize("occupancy", ["-3", "many", "2.5"])
def test_details_form_refuses_a_bad_occupancy_and_writes_nothing(olena, store, occupancy):
    before = db_state(store)
    data = {"details": "1", "status": "open", "occupancy": occupancy, "version": "1"}
    response = post(olena, "/operator/points/kyiv-01/status", data, follow_redirects=True)
    assert response.status_code == 200
    assert "Людей зараз: expected a whole number" in text(response)
    assert 'class="flash flash-error"' in text(response)
    assert db_state(store) == before


def test_move_sets_the_location(olena, store):
    before = store.get("kyiv-05")
    data = {"lat": "50.471234", "lon": "30.601234", "address": "біля АТБ", "version": before.version}
    assert post(olena, "/operator/points/kyiv-05/move", data).status_code == 302
    after = store.get("kyiv-05")
    assert (after.lat, after.lon, after.address) == (50.471234, 30.601234, "біля АТБ")
    assert after.version == before.version + 1
    assert {row["by"] for row in store.history("kyiv-05") if row["seq"] == store.change_seq()} == {"olena"}


@pytest.mark.parametrize("lat, lon", [("91", "30.6"), ("north", "30.6"), ("", "")])
def test_move_to_an_invalid_place_writes_nothing(olena, store, lat, lon):
    before = db_state(store)
    response = post(olena, "/operator/points/kyiv-05/move", {"lat": lat, "lon": lon, "version": "1"})
    assert response.status_code == 302
    assert "Широта:" in text(olena.get("/operator/points/kyiv-05"))
    assert db_state(store) == before


@pytest.mark.parametrize(
    "action, data",
    [
        ("status", {"status": "closed"}),
        ("status", {"status": "open", "details": "1", "note": "нове"}),
        ("verify", {}),
        ("move", {"lat": "50.1", "lon": "30.1"}),
        ("archive", {"archived": "1"}),
    ],
)
def test_a_stale_version_in_the_form_writes_nothing_and_says_so(olena, store, action, data):
    store.update("kyiv-01", {"note": "змінено в іншому вікні"}, by="someone")  # now at version 2
    before = db_state(store)
    response = post(
        olena, f"/operator/points/kyiv-01/{action}", data | {"version": "1"}, follow_redirects=True
    )
    assert CONFLICT in text(response)
    assert db_state(store) == before


def test_operator_and_viewer_cannot_change_points_outside_their_scope(app, people, store):
    before = db_state(store)
    for name, point_id in (("olena", "lviv-01"), ("vika", "kyiv-01")):
        client = app.test_client()
        assert login(client, name).status_code == 302
        page = text(client.get(f"/operator/points/{point_id}"))
        assert "status-button" not in page and "move-form" not in page
        for action, data in (
            ("status", {"status": "closed"}),
            ("verify", {}),
            ("archive", {"archived": "1"}),
        ):
            response = post(client, f"/operator/points/{point_id}/{action}", data)
            assert response.status_code == 403, (name, action)
        assert client.get(f"/operator/points/{point_id}/edit").status_code == 403
    assert db_state(store) == before


# -- archive ---------------------------------------------------------------------------------------


def public_ids(client, at) -> tuple[set, set, set]:
    """Ids in the GeoJSON list, the map's compact rows, and the 5 nearest to `at`."""
    listed = {f["id"] for f in client.get("/api/v1/points").get_json()["features"]}
    compact = {row[0] for row in client.get("/api/v1/points?format=compact").get_json()["rows"]}
    near = client.get("/api/v1/nearest", query_string={"lat": at.lat, "lon": at.lon, "status": "open"})
    return listed, compact, {f["id"] for f in near.get_json()["features"]}


def test_archive_hides_a_point_from_the_public_but_keeps_its_history(olena, app, store):
    public = app.test_client()
    point = store.get("kyiv-01")
    assert all("kyiv-01" in ids for ids in public_ids(public, point))

    response = post(olena, "/operator/points/kyiv-01/archive", {"archived": "1", "version": point.version})
    assert response.status_code == 302
    archived = store.get("kyiv-01")
    assert archived.archived and archived.verified_at == point.verified_at  # archiving confirms nothing
    assert not any("kyiv-01" in ids for ids in public_ids(public, point))

    history = olena.get("/operator/points/kyiv-01/history")
    assert history.status_code == 200
    assert "<td>olena</td><td>archived</td><td>false</td><td>true</td>" in text(history)
    assert "created" in text(history)  # the whole history, from the import on
    assert "kyiv-01" not in listed_ids(olena.get("/operator/"))
    assert "kyiv-01" in listed_ids(olena.get("/operator/?archived=1"))
    assert "в архіві" in text(public.get("/points/kyiv-01"))

    back = {"archived": "0", "version": archived.version}
    assert post(olena, "/operator/points/kyiv-01/archive", back).status_code == 302
    assert all("kyiv-01" in ids for ids in public_ids(public, point))


def test_editing_an_archived_point_keeps_it_archived(olena, store):
    store.update("kyiv-01", {"archived": True}, by="olena", verify=False)
    record = store.get("kyiv-01").to_record()
    form = {k: v for k, v in record.items() if k in EDITABLE_FIELDS and k != "archived"}
    form.update(
        name="Нова назва",
        base="1" if record["base"] else "",
        open_24_7="1" if record["open_24_7"] else "",
        capacity="",
        occupancy="",
        version=record["version"],
    )
    assert post(olena, "/operator/points/kyiv-01/edit", form).status_code == 302
    after = store.get("kyiv-01")
    assert after.name == "Нова назва"
    assert after.archived


# -- create and edit -------------------------------------------------------------------------------


def new_point_form(**overrides) -> dict:
    form = {
        "id": "kyiv-new",
        "name": "Школа №5",
        "status": "open",
        "kind": "fixed",
        "category": "state",
        "services": ["power", "heat"],
        "address": "вул. Липова, 5",
        "settlement": "Київ",
        "region": KYIV_CITY,
        "lat": "50.44",
        "lon": "30.51",
        "capacity": "80",
        "occupancy": "",
        "phone": "+380 44 123 45 67",
        "hours": "08:00–22:00",
        "note": "",
    }
    return form | overrides


def test_create_a_point_in_my_region(olena, store):
    response = post(olena, "/operator/points/new", new_point_form())
    assert response.status_code == 302
    assert response.headers["Location"] == "/operator/points/kyiv-new"
    created = store.get("kyiv-new")
    assert (created.name, created.capacity, created.services) == ("Школа №5", 80, {"power", "heat"})
    assert store.history("kyiv-new")[0] | {"at": None, "seq": None} == {
        "at": None,
        "seq": None,
        "by": "olena",
        "field": "created",
        "old": None,
        "new": "open",
    }


def test_create_with_invalid_fields_shows_each_message_beside_its_field(olena, store):
    before = db_state(store)
    bad = {"id": "bad id!", "name": "", "lat": "91", "lon": "east", "occupancy": "-3", "phone": "call me"}
    response = post(olena, "/operator/points/new", new_point_form(**bad))
    assert response.status_code == 400
    page = text(response)
    assert "Перевірте позначені поля." in page
    for field in bad:
        assert 'aria-invalid="true"' in tag(page, f"f-{field}"), field
        assert f'aria-describedby="e-{field}"' in tag(page, f"f-{field}")
        assert re.search(rf'<p class="field-error" id="e-{field}">[^<]+</p>', page), field
    for field in ("settlement", "capacity", "hours"):
        assert "aria-invalid" not in tag(page, f"f-{field}")
    assert 'value="call me"' in tag(page, "f-phone")  # what was typed stays in the form
    assert 'value="80"' in tag(page, "f-capacity")
    assert db_state(store) == before


def test_invalid_choices_and_note_are_marked_like_the_other_fields(olena, store):
    """A tampered form (status not offered, a control character pasted into the note)."""
    before = db_state(store)
    bad = {"status": "melted", "kind": "boat", "note": "дзвінок\x07", "services": ["jacuzzi"]}
    response = post(olena, "/operator/points/new", new_point_form(**bad))
    assert response.status_code == 400
    page = text(response)
    for field in ("status", "kind", "note"):
        assert 'aria-invalid="true"' in tag(page, f"f-{field}"), field
        assert re.search(rf'<p class="field-error" id="e-{field}">[^<]+</p>', page), field
    assert '<p class="field-error" id="e-services">' in page
    assert db_state(store) == before


def test_create_outside_my_region_is_refused_beside_the_region(olena, store):
    before = db_state(store)
    response = post(olena, "/operator/points/new", new_point_form(region=LVIV, settlement="Львів"))
    assert response.status_code == 400
    assert 'aria-invalid="true"' in tag(text(response), "f-region")
    assert db_state(store) == before


def test_create_with_a_taken_id_is_refused_beside_the_id(olena, store):
    before = db_state(store)
    response = post(olena, "/operator/points/new", new_point_form(id="kyiv-01"))
    assert response.status_code == 400
    assert 'aria-invalid="true"' in tag(text(response), "f-id")
    assert "exists already" in text(response)
    assert db_state(store) == before


def edit_form(store, point_id: str, **overrides) -> dict:
    record = store.get(point_id).to_record()
    form = {k: ("" if v is None else v) for k, v in record.items() if k in EDITABLE_FIELDS}
    form.update(base="1" if record["base"] else "", open_24_7="1" if record["open_24_7"] else "")
    form.pop("archived")
    return form | {"version": record["version"]} | overrides


def test_edit_saves_every_field(olena, store):
    form = edit_form(store, "kyiv-03", name="Намет на площі", kind="fixed", capacity="30", hours="цілодобово")
    assert post(olena, "/operator/points/kyiv-03/edit", form).status_code == 302
    after = store.get("kyiv-03")
    assert (after.name, after.kind.value, after.capacity, after.hours) == (
        "Намет на площі",
        "fixed",
        30,
        "цілодобово",
    )
    assert after.version == 2


def test_edit_with_invalid_fields_rerenders_with_messages_and_writes_nothing(olena, store):
    before = db_state(store)
    form = edit_form(store, "kyiv-03", lat="200", capacity="many", name="x" * 201)
    response = post(olena, "/operator/points/kyiv-03/edit", form)
    assert response.status_code == 400
    page = text(response)
    for field in ("lat", "capacity", "name"):
        assert 'aria-invalid="true"' in tag(page, f"f-{field}"), field
    assert 'value="200"' in tag(page, "f-lat")
    assert db_state(store) == before


def test_edit_with_a_stale_version_writes_nothing_and_says_so(olena, store):
    form = edit_form(store, "kyiv-03", name="Моя назва")
    store.update("kyiv-03", {"note": "хтось інший"}, by="someone")
    before = db_state(store)
    response = post(olena, "/operator/points/kyiv-03/edit", form, follow_redirects=True)
    assert CONFLICT in text(response)
    assert db_state(store) == before


def test_edit_moving_a_point_out_of_my_region_is_refused(olena, store):
    before = db_state(store)
    response = post(olena, "/operator/points/kyiv-03/edit", edit_form(store, "kyiv-03", region=LVIV))
    assert response.status_code == 400
    assert 'aria-invalid="true"' in tag(text(response), "f-region")
    assert db_state(store) == before


# -- import and export (admins) --------------------------------------------------------------------


@pytest.fixture
def admin(client, people):
    assert login(client, "admin").status_code == 302
    return client


def upload(client, path, **form):
    with open(path, "rb") as handle:
        return post(client, "/operator/import", {"file": (io.BytesIO(handle.read()), path.name), **form})


def staged_name(page: str) -> str:
    return re.search(r'name="staged" value="([^"]+)"', page).group(1)


def import_file(tmp_path, store):
    """One new point and one changed point (kyiv-01 renamed)."""
    changed = store.get("kyiv-01").with_changes(name="Перейменовано")
    new = make_point("new-1", region=KYIV_CITY, verified_at=format_time(utcnow()), updated_at=None, now=None)
    return write_geojson(tmp_path / "update.geojson", [changed, new])


def test_import_dry_run_shows_the_plan_and_writes_nothing_then_apply_writes(admin, store, tmp_path):
    path = import_file(tmp_path, store)
    before = db_state(store)
    response = upload(admin, path)
    assert response.status_code == 200
    page = text(response)
    assert "буде додано 1, змінено 1, без змін 0, видалено 0" in page
    assert '<summary>Додано: 1</summary><p class="ids">new-1</p>' in page
    assert "<summary>Змінено: 1</summary>" in page
    changed = r'colspan="3">kyiv-01</th></tr><tr><td>name</td><td>[^<]+</td><td>Перейменовано</td></tr>'
    assert re.search(changed, page)  # each changed field, from what, to what
    assert db_state(store) == before

    applied = post(admin, "/operator/import", {"apply": "1", "staged": staged_name(page), "replace": "0"})
    assert applied.status_code == 302
    assert "Імпортовано: додано 1, змінено 1" in text(admin.get("/operator/"))
    assert store.get("kyiv-01").name == "Перейменовано"
    assert store.get("new-1").region == KYIV_CITY
    assert store.count() == len(before[0]) + 1
    assert store.history("new-1")[0]["by"] == "admin"
    assert store.history("kyiv-01")[0]["by"] == "admin"
    # The staged file is used once.
    again = post(
        admin, "/operator/import", {"apply": "1", "staged": staged_name(page)}, follow_redirects=True
    )
    assert "Файл для імпорту не знайдено" in text(again)


def test_import_dry_run_with_replace_lists_what_would_be_removed(admin, store, tmp_path):
    before = db_state(store)
    response = upload(admin, import_file(tmp_path, store), replace="1")
    assert "видалено 29" in text(response)
    assert db_state(store) == before


def test_rejected_import_lists_problems_per_feature_and_writes_nothing(admin, store, tmp_path):
    good = make_point("ok-1", region=KYIV).to_record()
    records = [
        good,
        good | {"id": "bad-1", "name": "", "lat": 95},
        good | {"id": "bad-2", "status": "melted"},
        good,  # the same id again
    ]
    path = tmp_path / "bad.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
                        "properties": {k: v for k, v in r.items() if k not in ("lat", "lon")},
                    }
                    for r in records
                ],
            },
            ensure_ascii=False,
        )
    )
    before = db_state(store)
    response = upload(admin, path)
    assert response.status_code == 200
    page = text(response)
    assert "відхилено: 4 проблем(и). Нічого не записано." in page
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", page)
    assert [row[:3] for row in rows] == [
        ("2", "bad-1", "name"),
        ("2", "bad-1", "lat"),
        ("3", "bad-2", "status"),
        ("4", "ok-1", "id"),
    ]
    assert rows[3][3] == "повторений id, уперше — в об’єкті №1"  # in the console's language
    assert 'name="staged"' not in page  # nothing to apply
    assert db_state(store) == before
    assert not list((tmp_path / "uploads").glob("*"))  # the rejected upload is not kept


def test_import_of_a_layer_without_geometry_is_refused_not_a_500(admin, store, tmp_path):
    """A GeoPackage table GDAL reads as wkbNone (issue 16): the dry run names the problem."""
    import numpy as np
    import pyogrio.raw

    path = tmp_path / "table.gpkg"
    columns = {"id": ["t-1"], "name": ["Школа"], "status": ["open"], "lat": ["50.45"], "lon": ["30.52"]}
    data = [np.array(values, dtype=object) for values in columns.values()]
    pyogrio.raw.write(path, geometry=None, field_data=data, fields=list(columns), driver="GPKG", crs=None)
    before = [p.to_record() for p in store.all()]
    page = upload(admin, path)
    assert page.status_code == 200
    assert "has no geometry" in text(page)
    assert [p.to_record() for p in store.all()] == before


def test_import_of_an_unsupported_file_type_is_refused(admin, store, tmp_path):
    path = tmp_path / "points.xlsx"
    path.write_bytes(b"not really")
    before = db_state(store)
    response = upload(admin, path)
    assert response.status_code == 302
    assert "Оберіть файл GeoJSON, CSV або GeoPackage." in text(admin.get("/operator/import"))
    assert db_state(store) == before


@pytest.mark.parametrize("name", ["olena", "vika"])
def test_only_admins_may_import_and_export(app, people, store, tmp_path, name):
    client = app.test_client()
    assert login(client, name).status_code == 302
    before = db_state(store)
    assert client.get("/operator/import").status_code == 403
    assert upload(client, import_file(tmp_path, store)).status_code == 403
    assert post(client, "/operator/import", {"apply": "1", "staged": "x.geojson"}).status_code == 403
    for fmt in ("csv", "geojson"):
        assert client.get(f"/operator/export.{fmt}").status_code == 403
    assert db_state(store) == before
    assert "Імпорт</a>" not in text(client.get("/operator/"))


def test_strangers_are_sent_to_login_from_import_and_export(client, people):
    for path in ("/operator/import", "/operator/export.csv"):
        response = client.get(path)
        assert response.status_code == 302 and "/operator/login" in response.headers["Location"]


def test_export_csv_and_geojson_as_attachments_with_archived_points(admin, store):
    store.update("kyiv-01", {"archived": True}, by="admin", verify=False)
    response = admin.get("/operator/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert re.fullmatch(r'attachment; filename="points-\d{8}-\d{4}\.csv"', disposition)
    rows = list(csv.DictReader(io.StringIO(text(response))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert sorted(row["id"] for row in rows) == sorted(p.id for p in store.all())
    assert {row["id"]: row["archived"] for row in rows}["kyiv-01"] == "True"

    response = admin.get("/operator/export.geojson")
    assert response.status_code == 200 and response.mimetype == "application/geo+json"
    assert re.fullmatch(
        r'attachment; filename="points-\d{8}-\d{4}\.geojson"', response.headers["Content-Disposition"]
    )
    features = json.loads(text(response))["features"]
    assert len(features) == store.count()
    assert admin.get("/operator/export.xlsx").status_code == 404


def test_logout_ends_the_session_on_every_device(app, olena):
    other_device = app.test_client()
    assert login(other_device, "olena").status_code == 302
    assert logged_in(other_device)
    post(olena, "/operator/logout")
    assert not logged_in(other_device)


def test_a_session_ends_session_hours_after_login_even_when_active(app, olena):
    assert logged_in(olena)
    with olena.session_transaction() as session:
        session["at"] -= int(app.config["SESSION_HOURS"] * 3600) + 1
    assert not logged_in(olena)
