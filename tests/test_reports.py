"""Citizens' reports: every door accepts every kind, bad input and abuse store nothing, the
address never lands on disk, and enough "closed" reports make a working point "unconfirmed"
everywhere the public looks, until an operator acts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import assert_problem, database_files, db_state, make_point

from locator import create_app
from locator.domain.point import Status, format_time, utcnow
from locator.domain.reports import Report, ReportKind
from locator.store.reports import ReportLimited, ReportRules

pytestmark = pytest.mark.backends  # SQLite and PostgreSQL (conftest.py)

HERE = {"lat": 50.4501, "lon": 30.5234}  # Kyiv: where the working test points stand
NEAR = "/api/v1/nearest?lat=50.4501&lon=30.5234&k=100"
ADDRESSES = [f"10.{i}.0.1" for i in range(1, 40)]  # one per sender network (/24): each counts


def points(now=None):
    """A few points around Kyiv, one per status, all confirmed an hour ago."""
    now = now or utcnow()
    verified = format_time(now - timedelta(hours=1))
    return [
        make_point(
            point_id,
            now=now,
            status=status,
            lat=HERE["lat"] + i * 0.001,
            lon=HERE["lon"],
            updated_at=verified,
            verified_at=verified,
        )
        for i, (point_id, status) in enumerate(
            [("open-1", "open"), ("full-1", "full"), ("standby-1", "standby"), ("closed-1", "closed")]
        )
    ] + [make_point("open-2", now=now, lat=50.46, lon=30.53, updated_at=verified, verified_at=verified)]


@pytest.fixture
def make_app(database_settings):
    """An app on the test's database with these report settings, the points above imported."""
    made = []

    def make(**settings):
        app = create_app({**database_settings, "SEED_FILE": ""} | settings)
        store = app.extensions["locator.store"]
        if store.count() == 0:
            store.import_points(points())
        made.append(store)
        return app, app.test_client(), store

    yield make
    for store in made:
        store.dispose()


@pytest.fixture
def world(make_app):
    return make_app()


def reports_table(store) -> list[tuple]:
    return list(store.db.execute("SELECT * FROM reports ORDER BY id"))


def report(client, point_id="open-1", address="198.51.100.1", door="json", headers=None, **data):
    """Send one report through one door: the JSON API, the API as a form, or the page's form."""
    data = {"kind": "closed"} | data
    environ = {"REMOTE_ADDR": address}
    if door == "json":
        return client.post(
            f"/api/v1/points/{point_id}/reports", json=data, environ_base=environ, headers=headers
        )
    path = f"/api/v1/points/{point_id}/reports" if door == "form" else f"/points/{point_id}/report"
    return client.post(path, data=data, environ_base=environ, headers=headers)


# -- every kind, every door ----------------------------------------------------------------------


@pytest.mark.parametrize("door", ["json", "form", "page"])
@pytest.mark.parametrize("kind", list(ReportKind))
def test_every_kind_is_accepted_through_every_door(world, kind, door):
    _, client, store = world
    service = "heat" if kind is ReportKind.MISSING_SERVICE else ""
    comment = "Двері зачинені, <b>нікого</b> & нема"
    before = utcnow()
    response = report(client, kind=kind.value, service=service or "power", comment=comment, door=door)
    if door == "page":
        assert response.status_code == 303
        assert response.headers["Location"].endswith("/points/open-1?reported=1#report")
        assert "Дякуємо" in client.get(response.headers["Location"]).get_data(as_text=True)
    else:
        assert response.status_code == 201, response.get_data(as_text=True)
        assert response.get_json() == {"point_id": "open-1", "accepted": True, "made_unconfirmed": False}
        assert response.headers["Cache-Control"] == "no-store"
    [row] = store.reports.open_for("open-1")
    # "service" belongs to "missing service" only: a leftover choice on another kind is dropped.
    assert (row["kind"], row["service"], row["comment"]) == (kind.value, service, comment)
    assert format_time(before) <= row["at"] <= format_time(utcnow())
    assert store.get("open-1").unconfirmed is False


BAD_REPORTS = [
    pytest.param({"kind": ""}, "kind", id="kind-missing"),
    pytest.param({"kind": "haunted"}, "kind", id="kind-unknown"),
    pytest.param({"kind": "missing_service", "service": ""}, "service", id="service-missing"),
    pytest.param({"kind": "missing_service", "service": "unicorns"}, "service", id="service-unknown"),
    pytest.param({"comment": "ж" * 301}, "comment", id="comment-too-long"),
    pytest.param({"comment": "зачинено\x00"}, "comment", id="comment-nul"),
    pytest.param({"comment": "зачинено\x1b[31m"}, "comment", id="comment-escape"),
    pytest.param({"comment": "а\x85б"}, "comment", id="comment-c1-control"),
]


@pytest.mark.parametrize("door", ["json", "form"])
@pytest.mark.parametrize("data, field", BAD_REPORTS)
def test_a_bad_report_names_its_field_and_stores_nothing(world, data, field, door):
    _, client, store = world
    before = reports_table(store), db_state(store)
    assert_problem(report(client, door=door, **data), 400, field)
    assert (reports_table(store), db_state(store)) == before


@pytest.mark.parametrize("data, field", BAD_REPORTS)
def test_the_page_form_shows_the_problem_at_its_field_and_stores_nothing(world, data, field):
    _, client, store = world
    response = report(client, door="page", **data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    marked = {"kind": "<fieldset aria-invalid", "service": 'id="report-service-error"'}
    assert marked.get(field, 'id="report-comment-error"') in page
    assert reports_table(store) == []


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "closed", "comment": 5},
        {"kind": "missing_service", "service": ["power"]},
        {"kind": ["closed"]},
    ],
)
def test_json_values_of_the_wrong_type_are_problems_not_errors(world, body):
    _, client, store = world
    response = client.post("/api/v1/points/open-1/reports", json=body)
    assert_problem(response, 400, next(iter(set(body) - {"kind"}), "kind"))
    assert reports_table(store) == []


def test_a_json_body_that_is_not_an_object_is_refused(world):
    _, client, store = world
    assert_problem(client.post("/api/v1/points/open-1/reports", json=["closed"]), 400, "body")
    assert reports_table(store) == []


@pytest.mark.parametrize("point_id", ["no-such-point", "x" * 65, "bad id!"])
def test_a_report_about_an_unknown_point_is_404_and_stores_nothing(world, point_id):
    _, client, store = world
    assert_problem(report(client, point_id=point_id), 404, "id")
    assert report(client, point_id=point_id, door="page").status_code == 404
    assert reports_table(store) == []


CROSS_SITE = [
    pytest.param({"Origin": "https://evil.example"}, id="other-origin"),
    pytest.param({"Origin": "http://localhost.evil.example"}, id="lookalike-origin"),
    pytest.param({"Origin": "null"}, id="opaque-origin"),
    pytest.param({"Sec-Fetch-Site": "cross-site"}, id="sec-fetch-site"),
    pytest.param({"Origin": "http://localhost", "Sec-Fetch-Site": "cross-site"}, id="both-disagree"),
]


@pytest.mark.parametrize("headers", CROSS_SITE)
def test_a_report_from_another_site_is_403_and_stores_nothing(world, headers):
    _, client, store = world
    for door in ("json", "form"):
        assert_problem(report(client, door=door, headers=headers), 403, "Origin")
    page = report(client, door="page", headers=headers)
    assert page.status_code == 403
    assert "не з цього сайту" in page.get_data(as_text=True)
    assert reports_table(store) == []


@pytest.mark.parametrize(
    "headers", [{}, {"Origin": "http://localhost"}, {"Sec-Fetch-Site": "same-origin"}], ids=str
)
def test_a_report_from_this_site_is_accepted(world, headers):
    _, client, store = world
    assert report(client, headers=headers).status_code == 201
    assert len(reports_table(store)) == 1


# -- limits --------------------------------------------------------------------------------------


def assert_limited(response, param: str = "point_id") -> int:
    """A 429 problem whose Retry-After is a whole number of seconds within the hour."""
    assert_problem(response, 429, param)
    retry = response.headers["Retry-After"]
    assert retry.isdigit(), retry
    assert 1 <= int(retry) <= 3600
    return int(retry)


@pytest.mark.parametrize("door", ["json", "form"])
def test_the_per_sender_limit_is_429_with_retry_after_and_stores_nothing(make_app, door):
    _, client, store = make_app(REPORTS_PER_SENDER_HOUR=2)
    started = utcnow()
    for point_id in ("open-1", "open-2"):  # two points: only the address limit applies
        assert report(client, point_id=point_id, door=door).status_code == 201
    before = reports_table(store), db_state(store)
    for point_id in ("open-1", "open-2", "full-1"):
        retry = assert_limited(report(client, point_id=point_id, door=door))
        # The first of the two reports frees its slot an hour after it was sent.
        elapsed = (utcnow() - started).total_seconds()
        assert 3600 - elapsed - 1 <= retry <= 3600
    assert (reports_table(store), db_state(store)) == before
    # Another address is counted on its own.
    assert report(client, point_id="open-1", address="203.0.113.9", door=door).status_code == 201
    assert len(reports_table(store)) == 3


def test_the_per_point_limit_is_per_sender_network_and_locks_out_no_one_else(make_app):
    """Issue 16: the point's quota is counted per sender network, so a flood from one network
    (any address in its /24) cannot use up a point's reports for everyone else."""
    _, client, store = make_app(REPORTS_PER_POINT_HOUR=3, REPORTS_PER_SENDER_HOUR=50, REPORTS_TO_UNCONFIRM=50)
    for i in range(3):
        assert report(client, address=f"203.0.113.{i + 1}").status_code == 201
    before = reports_table(store), db_state(store)
    for i in range(3, 6):
        assert_limited(report(client, address=f"203.0.113.{i + 1}"))
    page = report(client, address="203.0.113.99", door="page")
    assert page.status_code == 429 and 1 <= int(page.headers["Retry-After"]) <= 3600
    assert (reports_table(store), db_state(store)) == before
    assert report(client, address=ADDRESSES[0]).status_code == 201  # a citizen of another network
    assert report(client, point_id="open-2", address="203.0.113.7").status_code == 201  # other point


def test_retry_after_is_when_the_oldest_report_of_the_hour_leaves_it(world):
    """Exact, with the store's clock: 2 of 2 used at t and t+10 min; at t+20 min the first
    slot frees at t+60 min, so retry after 40 min; past t+60 min a report is accepted again."""
    _, _, store = world
    store.reports.rules = ReportRules(per_sender_per_hour=2, threshold=99)
    t = utcnow() - timedelta(hours=3)
    closed = Report("open-1", ReportKind.CLOSED)
    store.reports.add(closed, source="s", now=t)
    store.reports.add(closed, source="s", now=t + timedelta(minutes=10))
    with pytest.raises(ReportLimited) as limited:
        store.reports.add(closed, source="s", now=t + timedelta(minutes=20))
    assert limited.value.retry_after_s == 40 * 60
    with pytest.raises(ReportLimited) as limited:
        store.reports.add(closed, source="s", now=t + timedelta(minutes=59, seconds=59, microseconds=1))
    assert limited.value.retry_after_s == 1
    store.reports.add(closed, source="s", now=t + timedelta(minutes=60))
    assert len(reports_table(store)) == 3


@pytest.mark.parametrize("address", ["203.0.113.77", "2001:db8::7:1"])
def test_the_senders_address_is_never_stored_in_clear(world, db_path, address):
    app, client, store = world
    assert report(client, address=address).status_code == 201
    assert report(client, point_id="open-2", address=address, door="page").status_code == 303
    [source] = {row[0] for row in store.db.execute("SELECT source FROM reports")}
    assert source and address not in source
    store.close()  # and let go of the WAL, so the bytes below are everything SQLite wrote
    files = database_files(db_path)
    assert files
    for path in files:
        data = path.read_bytes()
        for encoding in ("ascii", "utf-16-le", "utf-16-be"):
            assert address.encode(encoding) not in data, (path, encoding)


# -- "unconfirmed" -------------------------------------------------------------------------------


def public_views(client, point_id: str) -> dict:
    """What the public sees of one point through every read, keyed by where it was seen."""
    collection = client.get("/api/v1/points").get_json()
    [feature] = [f for f in collection["features"] if f["id"] == point_id]
    one = client.get(f"/api/v1/points/{point_id}").get_json()
    compact = client.get("/api/v1/points?format=compact").get_json()
    [row] = [dict(zip(compact["fields"], r, strict=True)) for r in compact["rows"] if r[0] == point_id]
    return {
        "list": (feature["properties"]["status"], feature["properties"]["unconfirmed"]),
        "one": (one["properties"]["status"], one["properties"]["unconfirmed"]),
        "compact": (row["status"], row["unconfirmed"]),
        "operator_status": (feature["properties"]["operator_status"], one["properties"]["operator_status"]),
    }


def nearest_ids(client, query: str = "") -> list[str]:
    response = client.get(NEAR + query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return [f["id"] for f in response.get_json()["features"]]


def list_page(client) -> str:
    return client.get("/list?lat=50.4501&lon=30.5234").get_data(as_text=True)


READS = [
    "/api/v1/points",
    "/api/v1/points?format=compact",
    "/api/v1/points.csv",
    "/api/v1/points/{id}",
    NEAR,
    NEAR + "&status=unconfirmed",
]


@pytest.mark.parametrize("threshold", [1, 3])
@pytest.mark.parametrize("point_id, status", [("open-1", "open"), ("full-1", "full")])
def test_enough_closed_reports_make_a_working_point_unconfirmed_everywhere(
    make_app, threshold, point_id, status
):
    _, client, store = make_app(REPORTS_TO_UNCONFIRM=threshold)
    reads = [url.format(id=point_id) for url in READS]
    etags = {url: client.get(url).headers["ETag"] for url in reads}
    seq = store.change_seq()
    version = store.get(point_id).version
    assert public_views(client, point_id) == {
        "list": (status, False),
        "one": (status, False),
        "compact": (status, 0),
        "operator_status": (status, status),
    }
    if status == "open":
        assert point_id in nearest_ids(client) and f'/points/{point_id}"' in list_page(client)

    for i in range(threshold - 1):  # one short: nothing changes
        body = report(client, point_id=point_id, address=ADDRESSES[i]).get_json()
        assert body["made_unconfirmed"] is False
    assert store.get(point_id).unconfirmed is False and store.change_seq() == seq
    # Other kinds of report never count towards "closed".
    for kind in ("wrong_place", "full"):
        assert report(client, point_id=point_id, address=ADDRESSES[20], kind=kind).status_code == 201
    assert store.get(point_id).unconfirmed is False

    last = report(client, point_id=point_id, address=ADDRESSES[threshold])
    assert last.get_json()["made_unconfirmed"] is True
    assert public_views(client, point_id) == {
        "list": ("unconfirmed", True),
        "one": ("unconfirmed", True),
        "compact": (status, 1),
        "operator_status": (status, status),
    }
    one = client.get(f"/api/v1/points/{point_id}").get_json()["properties"]
    assert one["open_reports"] == {"closed": threshold, "wrong_place": 1, "full": 1}
    # Reports mark a point, they never hide it (issue 16): the lookups for the status its
    # operator set still find it, marked, and so does a lookup for "unconfirmed".
    marked = {"status": "unconfirmed", "unconfirmed": True, "operator_status": status}
    for query in ("", "&status=unconfirmed", "&status=open,full,unconfirmed", f"&status={status}"):
        if status == "full" and query == "":
            assert point_id not in nearest_ids(client), "the default is open only"
            continue
        [found] = [f for f in client.get(NEAR + query).get_json()["features"] if f["id"] == point_id]
        assert {key: found["properties"][key] for key in marked} == marked, query
    assert point_id not in nearest_ids(client, "&status=closed")
    if status == "open":
        listed = list_page(client)
        assert f'/points/{point_id}"' in listed and "badge-unconfirmed" in listed
    filtered = client.get("/api/v1/points?status=unconfirmed").get_json()
    assert [f["id"] for f in filtered["features"]] == [point_id]
    page = client.get(f"/points/{point_id}").get_data(as_text=True)
    assert "badge-unconfirmed" in page and 'class="unconfirmed-notice"' in page
    # A cached copy from before is not "still good": every read has a new ETag.
    for url in reads:
        again = client.get(url, headers={"If-None-Match": etags[url]})
        assert again.status_code == 200, url
        assert again.headers["ETag"] != etags[url], url
    # The flag moved the change counter but not the version (an operator's edit is no conflict),
    # and the history says who set it.
    assert store.change_seq() == seq + 1
    assert store.get(point_id).version == version
    [row] = [r for r in store.history(point_id) if r["field"] == "unconfirmed"]
    assert (row["by"], row["old"], row["new"]) == ("citizens", "false", "true")
    # More reports change nothing further.
    assert report(client, point_id=point_id, address=ADDRESSES[30]).get_json()["made_unconfirmed"] is False
    assert store.change_seq() == seq + 1


@pytest.mark.parametrize("point_id", ["standby-1", "closed-1"])
def test_a_point_not_shown_as_working_never_becomes_unconfirmed(make_app, point_id):
    _, client, store = make_app(REPORTS_TO_UNCONFIRM=1)
    seq = store.change_seq()
    for address in ADDRESSES[:3]:
        assert report(client, point_id=point_id, address=address).get_json()["made_unconfirmed"] is False
    assert store.get(point_id).unconfirmed is False and store.change_seq() == seq
    status = store.get(point_id).status.value
    assert public_views(client, point_id)["one"] == (status, False)


def test_reopening_a_reported_closed_point_answers_the_reports(make_app):
    """The reports said "closed" while it was; once an operator opens it they are history."""
    app, client, store = make_app(REPORTS_TO_UNCONFIRM=2)
    for address in ADDRESSES[:2]:
        report(client, point_id="closed-1", address=address)
    store.update("closed-1", {"status": "open"}, by="olena")
    assert store.reports.open_for("closed-1") == []
    report(client, point_id="closed-1", address=ADDRESSES[5])
    assert store.get("closed-1").public_status.value == "open"


def test_reports_older_than_the_window_do_not_count(make_app):
    _, client, store = make_app(REPORTS_TO_UNCONFIRM=3, REPORT_WINDOW_HOURS=0.5)
    now = utcnow()
    store.import_points([points(now - timedelta(hours=2))[0]])  # open-1, confirmed 3 hours ago
    for source in ("a", "b"):  # 31 minutes ago: just outside the half hour
        store.reports.add(Report("open-1", ReportKind.CLOSED), source=source, now=now - timedelta(minutes=31))
    assert store.get("open-1").unconfirmed is False
    made = [report(client, address=address).get_json()["made_unconfirmed"] for address in ADDRESSES[:3]]
    assert made == [False, False, True]


def test_reports_older_than_the_last_verification_do_not_count(make_app):
    _, client, store = make_app(REPORTS_TO_UNCONFIRM=3, REPORT_WINDOW_HOURS=6)
    now = utcnow()
    confirmed = now - timedelta(minutes=10)
    point = points(now)[0].with_changes(verified_at=confirmed, updated_at=confirmed)
    store.import_points([point])  # confirmed anew by an import: answers no report, but they predate it
    assert store.get("open-1").verified_at == confirmed
    for source in ("a", "b"):
        store.reports.add(
            Report("open-1", ReportKind.CLOSED), source=source, now=confirmed - timedelta(minutes=5)
        )
    made = [report(client, address=address).get_json()["made_unconfirmed"] for address in ADDRESSES[:3]]
    assert made == [False, False, True]
    assert len(store.reports.open_for("open-1")) == 5


@pytest.mark.parametrize("distinct", [True, False])
def test_with_distinct_senders_one_sender_counts_once(make_app, distinct):
    _, client, store = make_app(REPORTS_TO_UNCONFIRM=3, REPORT_DISTINCT_SENDERS=distinct)
    made = [report(client, address=ADDRESSES[0]).get_json()["made_unconfirmed"] for _ in range(3)]
    assert store.get("open-1").unconfirmed is (not distinct)
    assert made == [False, False, not distinct]
    if distinct:
        assert report(client, address=ADDRESSES[1]).get_json()["made_unconfirmed"] is False
        assert report(client, address=ADDRESSES[2]).get_json()["made_unconfirmed"] is True


# -- operators answer ------------------------------------------------------------------------------


def patch_status(client, token, status):
    return client.patch(
        "/api/v1/points/open-1",
        json={"status": status},
        headers={"Authorization": f"Bearer {token}", "If-Match": "v1"},
    )


ACTIONS = {
    # action -> (what the operator does, resulting operator status, resolution of the reports)
    "patch-same-status": (lambda client, store, token: patch_status(client, token, "open"), "open", "acted"),
    "patch-closed": (lambda client, store, token: patch_status(client, token, "closed"), "closed", "acted"),
    "confirm": (lambda client, store, token: store.confirm("open-1", by="admin"), "open", "acted"),
    "dismiss": (
        lambda client, store, token: store.reports.dismiss("open-1", by="admin"),
        "open",
        "dismissed",
    ),
}


@pytest.mark.parametrize("action", ACTIONS)
def test_an_operator_action_clears_unconfirmed_and_answers_the_reports(
    make_app, make_user, make_token, action
):
    _, client, store = make_app(REPORTS_TO_UNCONFIRM=2)
    make_user("admin", "admin")
    token = make_token("admin")
    for address in ADDRESSES[:2]:
        report(client, address=address)
    assert store.get("open-1").unconfirmed
    etag = client.get("/api/v1/points/open-1").headers["ETag"]
    seq = store.change_seq()

    do, status, resolution = ACTIONS[action]
    response = do(client, store, token)
    if action.startswith("patch"):
        assert response.status_code == 200, response.get_data(as_text=True)  # v1: the flag is no new version
        assert response.get_json()["properties"]["status"] == status

    point = store.get("open-1")
    assert (point.unconfirmed, point.status.value) == (False, status)
    assert public_views(client, "open-1")["one"] == (status, False)
    assert ("open-1" in nearest_ids(client)) is (status == "open")
    assert client.get("/api/v1/points/open-1", headers={"If-None-Match": etag}).status_code == 200
    assert store.change_seq() > seq
    assert store.reports.open_for("open-1") == []
    answered = store.reports.answered_for("open-1")
    assert len(answered) == 2
    assert {(r["resolution"], r["resolved_by"]) for r in answered} == {(resolution, "admin")}
    # The history (and so the public change feed) says the flag went, whichever way it went.
    rows = [(r["by"], r["old"], r["new"]) for r in store.history("open-1") if r["field"] == "unconfirmed"]
    assert rows == [("admin", "true", "false"), ("citizens", "false", "true")]
    feed = client.get("/api/v1/changes").get_json()["changes"]
    assert [(c["old"], c["new"]) for c in feed if c["field"] == "unconfirmed"] == [
        ("false", "true"),
        ("true", "false"),
    ]
    # New reports start counting afresh.
    report(client, address=ADDRESSES[10])
    assert store.get("open-1").unconfirmed is False


def test_a_change_that_does_not_verify_keeps_unconfirmed(make_app):
    _, client, store = make_app(REPORTS_TO_UNCONFIRM=1)
    report(client)
    store.update("open-1", {"note": "ключ у сторожа"}, by="olena", verify=False)
    assert store.get("open-1").unconfirmed and store.reports.open_for("open-1")


@pytest.mark.parametrize(
    "change, cleared",
    [
        pytest.param({"verified_at": "now"}, True, id="confirmed-anew"),
        pytest.param({"status": Status.CLOSED}, True, id="closed-same-time"),
        pytest.param({"status": Status.STANDBY}, True, id="standby-same-time"),
        pytest.param({"status": Status.FULL}, False, id="full-same-time"),
        pytest.param({"note": "зміна"}, False, id="note-same-time"),
    ],
)
def test_an_import_clears_unconfirmed_when_it_confirms_or_stops_showing_the_point_working(
    make_app, change, cleared
):
    """A closed point must never show "unconfirmed" (citizens would read it as maybe open)."""
    _, client, store = make_app(REPORTS_TO_UNCONFIRM=1)
    report(client)
    old = store.get("open-1")
    change = {"verified_at": utcnow()} if "verified_at" in change else change
    store.import_points([old.with_changes(**change)])
    point = store.get("open-1")
    assert point.unconfirmed is not cleared
    expected = point.status.value if cleared else "unconfirmed"
    assert public_views(client, "open-1")["one"] == (expected, not cleared)
    flags = [(r["old"], r["new"]) for r in store.history("open-1") if r["field"] == "unconfirmed"]
    assert flags == ([("true", "false")] if cleared else []) + [("false", "true")]


def test_another_app_on_the_same_file_sees_the_flag_in_its_nearest_index(make_app):
    _, first, first_store = make_app(REPORTS_TO_UNCONFIRM=2)
    _, second, _ = make_app(REPORTS_TO_UNCONFIRM=2)
    assert "open-1" in nearest_ids(first)  # the first app's index is warm
    seq = first_store.change_seq()
    for address in ADDRESSES[:2]:
        assert report(second, address=address).status_code == 201
    assert first_store.change_seq() == seq + 1
    assert shown_status(first, "open-1") == "unconfirmed"  # marked, still found
    assert "open-1" in nearest_ids(first, "&status=unconfirmed")
    assert shown_status(second, "open-1") == "unconfirmed"
    first_store.reports.dismiss("open-1", by="admin")
    assert shown_status(second, "open-1") == "open"


def shown_status(client, point_id: str) -> str:
    """The status the default nearest lookup shows for this point (it must be found)."""
    [found] = [f for f in client.get(NEAR).get_json()["features"] if f["id"] == point_id]
    return found["properties"]["status"]


# -- senders are networks (issue 16) -------------------------------------------------------------


@pytest.mark.parametrize(
    "flood",
    [[f"203.0.113.{i}" for i in range(1, 31)], [f"2001:db8:7:{i:x}::{i}" for i in range(1, 31)]],
    ids=["30 addresses of one IPv4 /24", "30 addresses of one IPv6 /48 (thirty /64s)"],
)
def test_a_flood_from_one_network_changes_no_status_and_locks_out_no_one(make_app, flood):
    _, client, store = make_app()  # the defaults: 3 distinct senders, 20 per point and sender
    answers = [report(client, address=address).status_code for address in flood]
    assert set(answers) <= {201, 429} and 429 in answers  # the network's own quotas run out
    assert not store.get("open-1").unconfirmed
    assert store.reports.open_senders("open-1") == 1  # one signal, however many reports
    assert report(client, address="198.51.100.20").status_code == 201  # a citizen elsewhere


def test_the_threshold_of_distinct_networks_marks_the_point(make_app):
    _, client, store = make_app(REPORTS_TO_UNCONFIRM=3)
    made = [report(client, address=address).get_json()["made_unconfirmed"] for address in ADDRESSES[:3]]
    assert made == [False, False, True]
    assert store.get("open-1").unconfirmed and store.reports.open_senders("open-1") == 3


@pytest.mark.parametrize(
    "address, group",
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("::ffff:203.0.113.77", "203.0.113.0/24"),  # IPv4 written as IPv6
        ("2001:db8:aa:bb::1", "2001:db8:aa::/48"),
        ("not an address", "unknown:not an address"),
    ],
)
def test_a_sender_is_its_network(address, group):
    from locator.domain.senders import sender_group

    assert sender_group(address) == group
    assert sender_group("203.0.113.77", v4_prefix=16) == "203.0.0.0/16"


def test_the_console_shows_how_many_networks_reported(make_app, password_hash):
    from helpers import login

    app, client, store = make_app(REPORTS_TO_UNCONFIRM=50)
    for address in ["203.0.113.1", "203.0.113.2", ADDRESSES[0]]:
        assert report(client, address=address).status_code == 201
    app.extensions["locator.users"].create("admin", password_hash, "admin")
    assert login(client, "admin").status_code == 302
    page = client.get("/operator/points/open-1").get_data(as_text=True)
    assert "Різних мереж, з яких надійшли повідомлення: 2" in page
