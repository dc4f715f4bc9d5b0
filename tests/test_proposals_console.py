"""The review queue and business accounts (issue 20): who sees and decides which proposal, what an
approval makes, the one-time sign-in link, and what a business may do with its session."""

from __future__ import annotations

import re

import pytest
from helpers import csrf_token, db_state, login

from locator.domain.proposals import parse_proposal
from locator.services import proposals as commands

pytestmark = pytest.mark.backends  # SQLite and PostgreSQL (conftest.py)

KYIV = "Київська обл."
LVIV = "Львівська обл."
LINK = re.compile(r'id="signin-link"[^>]*value="([^"]+)"')


def propose(app, name="Аптека «Здоров'я»", lat=50.1, lon=30.1, email="") -> int:
    form = {
        "contact": "Ірина",
        "phone": "+380501234567",
        "email": email,
        "point-0-name": name,
        "point-0-business_type": "pharmacy",
        "point-0-address": "вул. Центральна, 5",
        "point-0-lat": str(lat),
        "point-0-lon": str(lon),
        "point-0-opening_hours": "Mo-Su 09:00-21:00",
    }
    territory = app.extensions["locator.territory"]
    return commands.submit(
        app.extensions["locator.proposals"], territory, parse_proposal(form), "test-source"
    )


@pytest.fixture
def team(seeded, make_user):
    make_user("admin", "admin")
    make_user("rita", "reviewer", regions=(KYIV,))
    make_user("lev", "reviewer", regions=(LVIV,))
    make_user("olena", "operator", regions=(KYIV,))
    make_user("vika", "viewer")


def approve(client, proposal_id: int):
    return client.post(
        f"/operator/proposals/{proposal_id}/approve",
        data={"csrf_token": csrf_token(client, "/operator/proposals")},
    )


def test_a_reviewer_sees_its_regions_proposals_only(app, client, team):
    kyiv = propose(app)
    lviv = propose(app, name="Львівська аптека", lat=49.84, lon=24.03)
    login(client, "rita")
    page = client.get("/operator/proposals").get_data(as_text=True)
    assert f'id="proposal-{kyiv}"' in page and f'id="proposal-{lviv}"' not in page
    client.post("/operator/logout", data={"csrf_token": csrf_token(client, "/operator/proposals")})
    login(client, "admin")
    page = client.get("/operator/proposals").get_data(as_text=True)
    assert f'id="proposal-{kyiv}"' in page and f'id="proposal-{lviv}"' in page


@pytest.mark.parametrize("who", ["olena", "vika"])
def test_operators_and_viewers_decide_no_proposal(app, client, store, team, who):
    proposal_id = propose(app)
    login(client, who)
    assert client.get("/operator/proposals").status_code == 403
    before = db_state(store)
    token = csrf_token(client, "/operator/")
    assert (
        client.post(f"/operator/proposals/{proposal_id}/approve", data={"csrf_token": token}).status_code
        == 403
    )
    assert db_state(store) == before


def test_a_reviewer_of_another_region_cannot_approve_or_reject(app, client, store, team):
    proposal_id = propose(app)
    login(client, "lev")
    before = db_state(store)
    assert approve(client, proposal_id).status_code == 404
    token = csrf_token(client, "/operator/proposals")
    reject = client.post(
        f"/operator/proposals/{proposal_id}/reject", data={"csrf_token": token, "reason": "no"}
    )
    assert reject.status_code == 404
    assert db_state(store) == before
    assert app.extensions["locator.proposals"].get(proposal_id).state == "pending"


def test_a_stranger_is_sent_to_log_in(app, client, team):
    proposal_id = propose(app)
    assert client.get("/operator/proposals").status_code == 302
    assert client.post(f"/operator/proposals/{proposal_id}/approve").status_code in (302, 400)
    assert app.extensions["locator.proposals"].get(proposal_id).state == "pending"


def test_duplicates_are_hinted(app, client, store, team):
    near = store.get("kyiv-01")
    proposal_id = propose(app, name=store.get("lviv-01").name.upper(), lat=near.lat + 0.0005, lon=near.lon)
    login(client, "admin")
    page = client.get("/operator/proposals").get_data(as_text=True)
    hint = page.split(f'id="proposal-{proposal_id}"')[1]
    assert "kyiv-01" in hint and "lviv-01" in hint


def test_rejecting_needs_a_reason_and_is_in_the_history(app, client, store, team):
    proposal_id = propose(app)
    login(client, "rita")
    token = csrf_token(client, "/operator/proposals")
    client.post(f"/operator/proposals/{proposal_id}/reject", data={"csrf_token": token, "reason": ""})
    proposals = app.extensions["locator.proposals"]
    assert proposals.get(proposal_id).state == "pending"
    before = db_state(store)
    client.post(f"/operator/proposals/{proposal_id}/reject", data={"csrf_token": token, "reason": "Дубль"})
    stored = proposals.get(proposal_id)
    assert (stored.state, stored.reason, stored.decided_by) == ("rejected", "Дубль", "rita")
    assert [row["action"] for row in proposals.history(proposal_id)] == ["proposed", "rejected"]
    assert db_state(store) == before


def approved(app, client, email="") -> tuple[int, str]:
    proposal_id = propose(app, email=email)
    login(client, "rita")
    response = approve(client, proposal_id)
    assert response.status_code == 200, response.get_data(as_text=True)
    link = LINK.search(response.get_data(as_text=True)).group(1)
    client.post("/operator/logout", data={"csrf_token": csrf_token(client, "/operator/proposals")})
    return proposal_id, link


def test_approval_makes_business_points_an_account_and_history(app, client, store, users, team):
    proposal_id, link = approved(app, client)
    point = store.get(f"join-{proposal_id}-1")
    assert (point.category.value, point.name, point.business_type) == (
        "business",
        "Аптека «Здоров'я»",
        "pharmacy",
    )
    assert point.opening_hours == "Mo-Su 09:00-21:00"
    assert {row["by"] for row in store.history(point.id)} == {f"rita (proposal {proposal_id})"}
    account = users.get_by_name(f"business-{proposal_id}")
    assert (account.role.value, account.points) == ("business", (point.id,))
    proposals = app.extensions["locator.proposals"]
    actions = [row["action"] for row in proposals.history(proposal_id)]
    assert actions == ["proposed", "points created", "approved", "sign-in link issued"]
    assert "/operator/signin/join_" in link
    # the link is not stored: only its digest
    assert link.rsplit("/", 1)[1] not in str(store.db.execute("SELECT * FROM signin_links").fetchall())
    assert point.id in client.get("/api/v1/points").get_data(as_text=True)


def test_approving_twice_makes_nothing_twice(app, client, store, team):
    proposal_id, _link = approved(app, client)
    login(client, "admin")
    before = db_state(store)
    response = approve(client, proposal_id)
    assert response.status_code == 302
    assert db_state(store) == before


def path_of(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def sign_in(client, link: str):
    path = path_of(link)
    page = client.get(path)
    assert page.status_code == 200
    return client.post(path, data={"csrf_token": csrf_token(client, path)})


def test_the_link_signs_in_once(app, client, team):
    proposal_id, link = approved(app, client)
    assert client.get(path_of(link)).status_code == 200  # a messenger's preview uses nothing up
    response = sign_in(client, link)
    assert response.status_code == 303 and response.headers["Location"].endswith("/operator/mine")
    assert f"join-{proposal_id}-1" in client.get("/operator/mine").get_data(as_text=True)
    other = app.test_client()
    assert sign_in(other, link).status_code == 410  # replayed
    assert other.get("/operator/mine").status_code == 302


def test_a_made_up_or_expired_link_signs_in_nobody(app, client, team):
    approved(app, client)
    fresh = app.test_client()
    assert sign_in(fresh, "http://x/operator/signin/join_" + "A" * 43).status_code == 410
    assert sign_in(fresh, "http://x/operator/signin/poi_" + "A" * 43).status_code == 410
    from datetime import timedelta

    from locator.domain.point import utcnow
    from locator.services.accounts import token_digest

    proposals = app.extensions["locator.proposals"]
    proposals.add_link(1, token_digest("join_old"), timedelta(hours=1), now=utcnow() - timedelta(hours=2))
    assert sign_in(fresh, "http://x/operator/signin/join_old").status_code == 410


def business_client(app, client):
    proposal_id, link = approved(app, client)
    sign_in(client, link)
    return proposal_id


def test_a_business_marks_its_point_closed_and_the_api_follows(app, client, store, team):
    proposal_id = business_client(app, client)
    point_id = f"join-{proposal_id}-1"
    token = csrf_token(client, "/operator/mine")
    response = client.post(
        f"/operator/mine/{point_id}",
        data={
            "csrf_token": token,
            "version": "1",
            "status": "closed",
            "occupancy": "",
            "opening_hours": "24/7",
        },
    )
    assert response.status_code == 302
    point = store.get(point_id)
    assert (point.status.value, point.opening_hours) == ("closed", "24/7")
    feature = client.get(f"/api/v1/points/{point_id}").get_json()
    assert feature["properties"]["status"] == "closed"


@pytest.mark.parametrize(
    "target, extra",
    [
        ("kyiv-01", {}),  # another point
        ("own", {"name": "Renamed"}),  # a field it may not change: ignored by the form, never written
        ("own", {"lat": "49.84", "lon": "24.03"}),
    ],
)
def test_a_business_touches_nothing_else(app, client, store, team, target, extra):
    proposal_id = business_client(app, client)
    point_id = f"join-{proposal_id}-1" if target == "own" else target
    before = store.get(point_id)
    token = csrf_token(client, "/operator/mine")
    data = {"csrf_token": token, "version": str(before.version), "status": "closed"} | extra
    response = client.post(f"/operator/mine/{point_id}", data=data)
    after = store.get(point_id)
    if target == "own":
        assert (after.name, after.lat, after.lon) == (before.name, before.lat, before.lon)
    else:
        assert response.status_code == 403 and after == before


def test_a_business_through_the_api_changes_only_its_fields(app, client, store, team):
    proposal_id = business_client(app, client)
    token = csrf_token(client, "/operator/mine")
    headers = {"X-CSRFToken": token, "If-Match": "v1"}
    own = f"/api/v1/points/join-{proposal_id}-1"
    assert client.patch(own, json={"name": "Renamed"}, headers=headers).status_code == 403
    assert (
        client.patch("/api/v1/points/kyiv-01", json={"status": "closed"}, headers=headers).status_code == 403
    )
    assert client.patch(own, json={"status": "full"}, headers=headers).status_code == 200


@pytest.mark.parametrize("page", ["/operator/", "/operator/points/kyiv-01", "/operator/proposals"])
def test_a_business_reads_no_other_console_page(app, client, team, page):
    business_client(app, client)
    response = client.get(page)
    assert response.status_code == 302 and response.headers["Location"].endswith("/operator/mine")


def test_a_disabled_business_is_signed_out(app, client, users, team):
    proposal_id = business_client(app, client)
    users.set_disabled(f"business-{proposal_id}", True)
    assert client.get("/operator/mine").status_code == 302


# A real failure between the approval's steps: the database refuses new accounts for a while.
REFUSE_ACCOUNTS = {
    "sqlite": "CREATE TRIGGER no_new_accounts BEFORE INSERT ON users"
    " BEGIN SELECT RAISE(ABORT, 'no_new_accounts'); END",
    "postgres": "ALTER TABLE users ADD CONSTRAINT no_new_accounts CHECK (name NOT LIKE 'business-%')",
}
ALLOW_ACCOUNTS = {
    "sqlite": "DROP TRIGGER no_new_accounts",
    "postgres": "ALTER TABLE users DROP CONSTRAINT no_new_accounts",
}


def test_an_approval_that_fails_halfway_is_finished_by_a_retry(app, store, users, team, backend):
    """Points made, then the account refused: the proposal stays pending, and approving again
    makes the account and decides it without making any point twice."""
    proposals, territory = app.extensions["locator.proposals"], app.extensions["locator.territory"]
    proposal_id = propose(app)
    rita = users.get_by_name("rita")
    with store.transaction() as conn:
        conn.execute(REFUSE_ACCOUNTS[backend])
    with pytest.raises(Exception, match="no_new_accounts"):
        commands.approve(store, territory, users, proposals, rita, proposal_id)
    point_id = f"join-{proposal_id}-1"
    assert store.get(point_id).name == "Аптека «Здоров'я»"  # the first step was done...
    assert proposals.get(proposal_id).state == "pending"  # ...and the proposal is still open
    before = store.all()
    with store.transaction() as conn:
        conn.execute(ALLOW_ACCOUNTS[backend])
    approval = commands.approve(store, territory, users, proposals, rita, proposal_id)
    assert store.all() == before  # no point made twice
    assert (approval.account.name, approval.account.points) == (f"business-{proposal_id}", (point_id,))
    assert proposals.get(proposal_id).state == "approved"
    actions = [row["action"] for row in proposals.history(proposal_id)]
    assert actions == ["proposed", "points created", "approved", "sign-in link issued"]
    with pytest.raises(ValueError, match="approved already"):
        commands.approve(store, territory, users, proposals, rita, proposal_id)
