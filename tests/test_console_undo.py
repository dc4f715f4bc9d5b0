"""Undo of a status tap (issue 17, part 6): for 10 s (plus a little grace) the operator can take
a tap back; the undo goes through the services' write path (role, scope, version) and history
marks it. Time is controlled by the ticket's own timestamp, never by sleeping.

Attacker pass: another user's ticket, a point outside the operator's scope, forged, tampered and
foreign-key tokens, and a missing CSRF token are all refused and change nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from helpers import csrf_token, db_state, login
from itsdangerous import URLSafeSerializer

from locator.console import undo as console_undo
from locator.domain.point import format_time, utcnow
from locator.services import undo as undo_service
from locator.services.undo import UNDO_GRACE, UNDO_WINDOW, UndoExpired, UndoTicket
from locator.store import VersionConflict

UNDO_FIELD = re.compile(r'name="undo" value="([^"]+)"')
MINE = "brov-01"  # open, in Бровари (Київська обл.)
NOT_MINE = "lviv-01"


@pytest.fixture
def olena(client, seeded, make_user):
    make_user("olena", "operator", regions=("Київська обл.",))
    make_user("admin", "admin")
    assert login(client, "olena").status_code == 302
    return client


def post(client, path: str, data: dict, *, csrf: bool = True):
    token = {"csrf_token": csrf_token(client, "/operator/")} if csrf else {}
    return client.post(path, data=token | data)


def tap(client, store, point_id: str, status: str) -> str:
    """Tap a status on the point's page; return the undo token the page then offers."""
    version = store.get(point_id).version
    response = post(client, f"/operator/points/{point_id}/status", {"status": status, "version": version})
    assert response.status_code == 302
    page = client.get(f"/operator/points/{point_id}").get_data(as_text=True)
    found = UNDO_FIELD.search(page)
    assert found, "no Undo after a status tap"
    assert 'id="undo-form"' in page and "Скасувати зміну статусу" in page
    return found.group(1)


def resigned(app, token: str, **changes) -> str:
    """The token's ticket with some values changed, signed with the app's own secret (what a
    later moment, or a different tap, would have given)."""
    with app.test_request_context():
        ticket = console_undo.unsign(token)
        return console_undo.sign(UndoTicket.from_dict(ticket.as_dict() | changes))


def ticket(app, token: str) -> dict:
    with app.test_request_context():
        return console_undo.unsign(token).as_dict()


def undo(client, point_id: str, token: str, **kwargs):
    return post(client, f"/operator/points/{point_id}/undo", {"undo": token}, **kwargs)


def test_undo_within_the_window_restores_the_status_and_its_confirmation(olena, store):
    before = store.get(MINE)
    token = tap(olena, store, MINE, "closed")
    tapped = store.get(MINE)
    assert tapped.status.value == "closed" and tapped.verified_at > before.verified_at

    response = undo(olena, MINE, token)
    assert response.status_code == 302
    after = store.get(MINE)
    assert after.status == before.status
    assert after.verified_at == before.verified_at  # an undo confirms nothing
    assert after.version == tapped.version + 1
    page = olena.get(f"/operator/points/{MINE}").get_data(as_text=True)
    assert "Скасовано: статус знову" in page
    assert 'id="undo-form"' not in page  # one undo per tap

    rows = store.history(MINE, limit=10)
    marks = [row for row in rows if row["field"] == "undo"]
    assert len(marks) == 1 and (marks[0]["old"], marks[0]["new"]) == ("closed", "open")
    assert marks[0]["by"] == "olena"
    assert any(row["field"] == "status" and row["old"] == "closed" and row["new"] == "open" for row in rows)
    history_page = olena.get(f"/operator/points/{MINE}/history").get_data(as_text=True)
    assert "скасування" in history_page
    feed_fields = [row["field"] for row in store.changes(0, 10_000)]
    assert "undo" not in feed_fields and "status" in feed_fields  # the public feed keeps its fields


def test_undo_also_puts_back_services_occupancy_and_note(olena, store):
    before = store.get(MINE)
    version = before.version
    data = {
        "status": "full",
        "details": "1",
        "services": ["power"],
        "occupancy": "7",
        "note": "Черга",
        "version": version,
    }
    assert post(olena, f"/operator/points/{MINE}/status", data).status_code == 302
    token = UNDO_FIELD.search(olena.get(f"/operator/points/{MINE}").get_data(as_text=True)).group(1)
    assert undo(olena, MINE, token).status_code == 302
    after = store.get(MINE)
    assert (after.status, after.services, after.occupancy, after.note) == (
        before.status,
        before.services,
        before.occupancy,
        before.note,
    )


def test_undo_just_inside_the_grace_is_taken(olena, store, app):
    before = store.get(MINE)
    token = tap(olena, store, MINE, "closed")
    almost = utcnow() - UNDO_WINDOW - UNDO_GRACE + timedelta(seconds=1)
    assert undo(olena, MINE, resigned(app, token, issued_at=format_time(almost))).status_code == 302
    assert store.get(MINE).status == before.status


def test_undo_after_the_window_is_refused_and_changes_nothing(olena, store, app):
    token = tap(olena, store, MINE, "closed")
    late = resigned(
        app, token, issued_at=format_time(utcnow() - UNDO_WINDOW - UNDO_GRACE - timedelta(seconds=1))
    )
    before = db_state(store)
    response = undo(olena, MINE, late)
    assert response.status_code == 302
    assert db_state(store) == before
    page = olena.get(f"/operator/points/{MINE}").get_data(as_text=True)
    assert "Скасувати вже не можна" in page
    assert 'id="undo-form"' not in page


def test_the_page_stops_offering_undo_when_the_window_closes(olena, store, app):
    token = tap(olena, store, MINE, "closed")
    with olena.session_transaction() as session:
        session["undo"] = resigned(app, token, issued_at=format_time(utcnow() - UNDO_WINDOW))
    assert 'id="undo-form"' not in olena.get(f"/operator/points/{MINE}").get_data(as_text=True)


def test_undo_after_someone_else_wrote_is_refused_with_a_clear_message(olena, store, app):
    token = tap(olena, store, MINE, "closed")
    admin = app.test_client()
    assert login(admin, "admin").status_code == 302
    version = store.get(MINE).version
    assert (
        post(admin, f"/operator/points/{MINE}/status", {"status": "full", "version": version}).status_code
        == 302
    )
    before = db_state(store)
    assert undo(olena, MINE, token).status_code == 302
    assert db_state(store) == before
    assert store.get(MINE).status.value == "full"
    assert "після вас пункт уже змінив хтось інший" in olena.get(f"/operator/points/{MINE}").get_data(
        as_text=True
    )


def test_another_users_ticket_is_refused(olena, store, app):
    token = tap(olena, store, MINE, "closed")
    admin = app.test_client()
    assert login(admin, "admin").status_code == 302
    before = db_state(store)
    assert undo(admin, MINE, token).status_code == 403
    assert db_state(store) == before


def test_a_ticket_for_a_point_outside_my_scope_is_refused(olena, store, app, users):
    token = tap(olena, store, MINE, "closed")
    point = store.get(NOT_MINE)
    # A ticket the server itself signed, naming a point olena may not write (as if her scope
    # had shrunk since the tap): the services' scope check refuses it.
    outside = resigned(app, token, point_id=NOT_MINE, version=point.version, restore={"status": "closed"})
    before = db_state(store)
    assert undo(olena, NOT_MINE, outside).status_code == 403
    assert db_state(store) == before
    # The right point's URL with another point's ticket is refused before anything is read.
    assert undo(olena, MINE, outside).status_code == 400
    assert db_state(store) == before


@pytest.mark.parametrize("kind", ["garbage", "empty", "tampered", "foreign key", "other salt", "bad shape"])
def test_forged_tokens_are_refused_and_change_nothing(olena, store, app, kind):
    token = tap(olena, store, MINE, "closed")
    payload, _, signature = token.rpartition(".")
    secret = app.secret_key
    forged = {
        "garbage": "eyJub3QiOiJhIHRpY2tldCJ9.AAAA",
        "empty": "",
        "tampered": resigned(app, token, version=1).rpartition(".")[0] + "." + signature,
        "foreign key": URLSafeSerializer("not the secret", salt=console_undo.UNDO_SALT).dumps(
            ticket(app, token)
        ),
        "other salt": URLSafeSerializer(secret, salt="something else").dumps({"point_id": MINE}),
        "bad shape": URLSafeSerializer(secret, salt=console_undo.UNDO_SALT).dumps(
            {"point_id": MINE, "version": "x"}
        ),
    }[kind]
    assert payload
    before = db_state(store)
    assert undo(olena, MINE, forged).status_code == 400
    assert db_state(store) == before
    assert store.get(MINE).status.value == "closed"


def test_undo_without_a_csrf_token_is_refused(olena, store):
    token = tap(olena, store, MINE, "closed")
    before = db_state(store)
    response = undo(olena, MINE, token, csrf=False)
    assert response.status_code == 400
    assert db_state(store) == before


def test_the_service_refuses_by_the_clock_it_is_given(app, seeded, make_user, store):
    user = make_user("olena", "operator", regions=("Київська обл.",))
    territory = app.extensions["locator.territory"]
    now = utcnow()
    saved, ticket = undo_service.set_status(store, territory, user, MINE, None, now=now, status="closed")
    assert saved.status.value == "closed" and ticket is not None
    with pytest.raises(UndoExpired):
        undo_service.undo(
            store, territory, user, ticket, now=now + UNDO_WINDOW + UNDO_GRACE + timedelta(microseconds=1)
        )
    assert store.get(MINE).status.value == "closed"
    restored = undo_service.undo(store, territory, user, ticket, now=now + UNDO_WINDOW + UNDO_GRACE)
    assert restored.status.value == "open"
    with pytest.raises(VersionConflict):  # the same ticket twice: the undo was itself a write
        undo_service.undo(store, territory, user, ticket, now=now)


def test_undoing_a_tap_of_the_same_status_puts_back_only_the_confirmation_time(app, seeded, make_user, store):
    user = make_user("olena", "operator", regions=("Київська обл.",))
    territory = app.extensions["locator.territory"]
    now = utcnow()
    first, _ = undo_service.set_status(store, territory, user, MINE, None, now=now, status="closed")
    store.update(MINE, {}, by="test", undo=True, undo_to=first.verified_at - timedelta(hours=5))  # 5 h ago
    earlier = store.get(MINE)
    again, ticket = undo_service.set_status(store, territory, user, MINE, None, now=now, status="closed")
    assert ticket is not None and ticket.restore == {} and again.verified_at > earlier.verified_at
    restored = undo_service.undo(store, territory, user, ticket, now=now)
    assert (restored.status, restored.verified_at) == (earlier.status, earlier.verified_at)


def test_undoing_the_first_confirmation_of_a_never_confirmed_point_leaves_it_never_confirmed(
    app, seeded, make_user, store
):
    """An import is not a confirmation: a tap confirms; its undo takes that back entirely."""
    user = make_user("olena", "operator", regions=("Київська обл.",))
    territory = app.extensions["locator.territory"]
    now = utcnow()
    store.update(MINE, {}, by="test", undo=True, undo_to=None)  # as an import without verified_at
    assert store.get(MINE).verified_at is None
    tapped, ticket = undo_service.set_status(store, territory, user, MINE, None, now=now, status="closed")
    assert tapped.verified_at is not None and ticket is not None
    ticket = undo_service.UndoTicket.from_dict(ticket.as_dict())  # as the console signs and reads it
    restored = undo_service.undo(store, territory, user, ticket, now=now)
    assert restored.verified_at is None and restored.is_stale(now)
