"""Opening hours and "open now" (issue 17), against brute-force oracles on random data.

domain/hours.py answers "do the hours allow this moment" and "when do they change next, to what"
from a cache per (hours, minute). The oracle is the library itself asked minute by minute, with
no cache and no look-ahead logic: at random moments and at ±1 minute of every change, both must
agree. The nearest "open now" lookup is held to a brute-force scan of every point.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from helpers import assert_problem, haversine, make_point, random_points
from opening_hours import OpeningHours, State

from locator.domain.filters import PointFilter
from locator.domain.hours import KYIV, describe, is_open_now, open_now, parse_opening_hours, verdict
from locator.domain.point import Status
from locator.search.nearest import Snapshot

SEED = 17
STRINGS = 60
MINUTE = timedelta(minutes=1)
WINDOW = timedelta(days=8)  # the oracle scans this far for the next change
DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
# Starting days: ordinary weeks, both DST switches in Kyiv, and a public holiday (Aug 24).
STARTS = (
    datetime(2026, 12, 6, 21, 33, tzinfo=KYIV),  # the Sunday evening
    datetime(2026, 3, 28, 12, 0, tzinfo=KYIV),  # the night clocks go forward
    datetime(2026, 10, 24, 12, 0, tzinfo=KYIV),  # and back
    datetime(2026, 8, 22, 12, 0, tzinfo=KYIV),
)


def random_hours(rng: random.Random) -> str:
    """Ranges, weekday lists and ranges, overnight ranges, several ranges a day, 24/7, off, PH."""
    shape = rng.random()
    if shape < 0.08:
        return "24/7"
    if shape < 0.12:
        return "off"
    rules = []
    for _ in range(rng.randrange(1, 4)):
        first = rng.randrange(7)
        last = rng.randrange(first, 7)
        days = DAYS[first] if first == last else f"{DAYS[first]}-{DAYS[last]}"
        if rng.random() < 0.2:
            days = ",".join(sorted(rng.sample(DAYS, 2), key=DAYS.index))
        spans = []
        for _ in range(rng.randrange(1, 3)):
            start = rng.randrange(0, 24 * 60, 15)
            length = rng.randrange(15, 16 * 60, 15)
            end = (start + length) % (24 * 60)  # past midnight: an overnight range
            spans.append(f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}")
        rule = f"{days} {','.join(spans)}"
        if rng.random() < 0.15:
            rule = f"{days} off"
        rules.append(rule)
    if rng.random() < 0.2:
        rules.append(rng.choice(["PH off", "PH 10:00-14:00"]))
    return "; ".join(rules)


def oracle_allows(hours: OpeningHours, moment: datetime) -> bool:
    """The library at the moment's Kyiv wall-clock time."""
    return hours.state(moment.astimezone(KYIV).replace(tzinfo=None))[0] is not State.CLOSED


def oracle_next_change(hours: OpeningHours, moment: datetime) -> datetime | None:
    """The first whole minute after ``moment`` whose answer differs, scanning minute by minute."""
    now = oracle_allows(hours, moment)
    minute = moment.replace(second=0, microsecond=0) + MINUTE
    end = moment + WINDOW
    while minute <= end:
        if oracle_allows(hours, minute) != now:
            return minute
        minute += MINUTE
    return None


def changes_near(hours: OpeningHours, start: datetime) -> list[datetime]:
    """Every change in the two days after start (minute by minute)."""
    found, minute = [], start
    before = oracle_allows(hours, minute)
    for _ in range(2 * 24 * 60):
        minute += MINUTE
        now = oracle_allows(hours, minute)
        if now != before:
            found.append(minute)
        before = now
    return found


def test_random_hours_agree_with_a_minute_by_minute_oracle():
    rng = random.Random(SEED)
    boundaries = overnight = 0
    for _ in range(STRINGS):
        text = parse_opening_hours(random_hours(rng))
        hours = OpeningHours(text, country="UA")
        start = rng.choice(STARTS).astimezone(UTC)
        moments = [start + timedelta(minutes=rng.randrange(0, 2 * 24 * 60)) for _ in range(3)]
        for change in changes_near(hours, start):
            moments += [change - MINUTE, change, change + MINUTE]
            boundaries += 1
        overnight += any(
            int(a[:2]) * 60 + int(a[3:5]) > int(b[:2]) * 60 + int(b[3:5]) for a, b in _spans(text)
        )
        for moment in moments:
            said = verdict(text, moment)
            assert said.allows == oracle_allows(hours, moment), (text, moment)
            expected = oracle_next_change(hours, moment)
            if expected is None:
                assert said.next_change is None or said.next_change > moment + WINDOW, (text, moment)
            else:
                assert said.next_change == expected, (text, moment)
                assert said.opens_next == oracle_allows(hours, expected), (text, moment)
    assert boundaries > 100 and overnight > 5  # the random data has changes, overnight ones too


def _spans(text: str) -> list[tuple[str, str]]:
    import re

    return re.findall(r"(\d\d:\d\d)-(\d\d:\d\d)", text)


def test_the_open_now_rule_is_status_and_hours():
    sunday_evening = datetime(2026, 12, 6, 19, 33, tzinfo=UTC)  # 21:33 in Kyiv
    weekdays = "Mo-Fr 09:00-18:00"
    cases = [
        (Status.OPEN, "", True, "open_unknown"),
        (Status.FULL, "", True, "open_unknown"),
        (Status.OPEN, "24/7", True, "open"),
        (Status.OPEN, weekdays, False, "closed_by_hours"),
        (Status.FULL, "Mo-Su 20:00-08:00", True, "open"),
        (Status.CLOSED, "24/7", False, "closed_by_status"),
        (Status.STANDBY, "", False, "closed_by_status"),
    ]
    for status, hours, expected, state in cases:
        point = _point(status=status.value, opening_hours=hours)
        assert is_open_now(point, sunday_evening) is expected
        assert open_now(point, sunday_evening)[:2] == (expected, state)
    closed = open_now(_point(opening_hours=weekdays), sunday_evening)
    assert closed.next_change == datetime(2026, 12, 7, 7, 0, tzinfo=UTC) and closed.opens_next is True


def _point(point_id: str = "p1", **overrides):
    return make_point(point_id, **overrides)


@pytest.mark.parametrize(
    "raw",
    ["garbage", "Mo-Fr 25:00-26:00", "Mo-Fr 09:00-18:00\nSa 10:00-12:00", "x" * 300, 42.5, ["24/7"]],
)
def test_invalid_hours_are_refused(raw):
    with pytest.raises(ValueError):
        parse_opening_hours(raw)


def test_the_preview_is_in_the_readers_words():
    uk = {"Mo": "Пн", "Fr": "Пт", "Sa": "Сб", "off": "зачинено", "PH": "свята"}
    en = {"Mo": "Mon", "Fr": "Fri", "Sa": "Sat", "off": "closed", "PH": "public holidays"}
    text = "Mo-Fr 09:00-18:00; Sa 10:00-14:00; PH off"
    assert describe(text, uk) == "Пн–Пт 09:00–18:00\nСб 10:00–14:00\nсвята зачинено"
    assert describe(text, en) == "Mon–Fri 09:00–18:00\nSat 10:00–14:00\npublic holidays closed"
    assert describe("24/7", en) == "24/7"


def test_nearest_open_now_never_returns_a_point_closed_by_its_hours():
    """Against a brute-force scan: every point judged by the library directly, sorted by haversine."""
    rng = random.Random(SEED + 1)
    points = [
        p.with_changes(opening_hours=random_hours(rng) if rng.random() < 0.8 else "")
        for p in random_points(rng, 600, prefix="h")
    ]
    snapshot = Snapshot(1, points)
    checked = excluded = 0
    for _ in range(150):
        now = rng.choice(STARTS).astimezone(UTC) + timedelta(minutes=rng.randrange(0, 7 * 24 * 60))
        lat, lon = rng.uniform(44.4, 52.4), rng.uniform(22.1, 40.2)
        k = rng.choice([1, 5, 20])
        wanted = PointFilter(statuses=frozenset({Status.OPEN}), open_now=True)
        found = [hit.point.id for hit in snapshot.nearest(lat, lon, k, wanted, now)]

        def brute_open(p, now=now):
            if p.status is not Status.OPEN:
                return False
            if not p.opening_hours:
                return True
            return oracle_allows(OpeningHours(p.opening_hours, country="UA"), now)

        open_points = [p for p in points if brute_open(p)]
        excluded += sum(p.status is Status.OPEN for p in points) - len(open_points)
        ranked = sorted(open_points, key=lambda p: (haversine(lat, lon, p.lat, p.lon), p.id))
        assert found == [p.id for p in ranked[:k]], (now, lat, lon, k)
        checked += 1
    assert checked == 150 and excluded > 150  # hours really closed points


def test_the_api_carries_open_now_and_filters_by_it(client, store):
    """The nearest lookup's default leaves out a point closed by its hours; answers say why."""
    hour = datetime.now(KYIV).hour
    later = f"{(hour + 2) % 24:02d}:00-{(hour + 3) % 24:02d}:00"  # excludes this hour, whatever it is
    store.import_points(
        [
            _point("later", lat=50.45, lon=30.52, opening_hours=later),
            _point("always", lat=50.46, lon=30.53, opening_hours="24/7"),
            _point("unknown", lat=50.47, lon=30.54),
        ]
    )
    features = client.get("/api/v1/nearest?lat=50.45&lon=30.52&k=5").get_json()["features"]
    by_id = {f["id"]: f["properties"] for f in features}
    assert set(by_id) == {"always", "unknown"}
    assert by_id["unknown"]["hours_state"] == "open_unknown" and by_id["always"]["hours_state"] == "open"
    closed = client.get("/api/v1/points/later").get_json()["properties"]
    assert closed["open_now"] is False and closed["hours_state"] == "closed_by_hours"
    assert closed["next_change_to"] == "open" and closed["opening_hours"] == later
    opens = datetime.fromisoformat(closed["next_change_at"]).astimezone(KYIV)
    assert (opens.hour, opens.minute) == ((hour + 2) % 24, 0)
    every = client.get("/api/v1/nearest?lat=50.45&lon=30.52&k=5&open_now=false").get_json()["features"]
    assert {f["id"] for f in every} == {"later", "always", "unknown"}  # open_now=false: by status
    listed = client.get("/api/v1/points?open_now=true&format=compact").get_json()["rows"]
    assert {row[0] for row in listed} == {"always", "unknown"}
    assert_problem(client.get("/api/v1/points?open_now=maybe"), 400, "open_now")
    assert_problem(client.get("/api/v1/nearest?lat=50&lon=30&open_now=2"), 400, "open_now")


def test_a_write_with_invalid_hours_is_refused_and_changes_nothing(client, store, make_user, make_token):
    store.import_points([_point("p1")])
    make_user("admin", "admin")
    headers = {"Authorization": f"Bearer {make_token('admin')}", "If-Match": "v1"}
    before = store.get("p1")
    response = client.patch("/api/v1/points/p1", json={"opening_hours": "Пн-Пт 9-18"}, headers=headers)
    problem = assert_problem(response, 400, "opening_hours")
    assert "opening_hours" in str(problem)
    assert store.get("p1") == before
    good = client.patch("/api/v1/points/p1", json={"opening_hours": "Mo-Fr 09:00-18:00"}, headers=headers)
    assert good.status_code == 200, good.get_json()
    assert store.get("p1").opening_hours == "Mo-Fr 09:00-18:00"
    assert "opening_hours" in {row["field"] for row in store.history("p1")}  # a history row


def test_the_list_page_and_point_page_honour_the_hours(client, store):
    hour = datetime.now(KYIV).hour
    later = f"{(hour + 2) % 24:02d}:00-{(hour + 3) % 24:02d}:00"
    store.import_points(
        [
            _point("later", name="Пізній пункт", lat=50.45, lon=30.52, opening_hours=later),
            _point("always", name="Цілодобовий", lat=50.46, lon=30.53, opening_hours="24/7"),
            _point("unknown", name="Без графіка", lat=50.47, lon=30.54),
        ]
    )
    page = client.get("/list?lat=50.45&lon=30.52").get_data(as_text=True)
    assert "Цілодобовий" in page and "Без графіка" in page and "Пізній пункт" not in page
    assert "Цілодобово (24/7)" in page and "Графік не вказано" in page
    point = client.get("/points/later").get_data(as_text=True)
    opens = f"{(hour + 2) % 24:02d}:00"
    if hour + 2 < 24:
        assert f"Зачинено за графіком, відчиниться о {opens}" in point
    else:  # tomorrow
        assert "Зачинено за графіком, відчиниться у" in point and f"о {opens}" in point
    assert f"{later.replace('-', '–')}" in point  # the hours in the reader's words


def test_nearest_is_open_now_when_only_working_statuses_are_asked(client, store):
    hour = datetime.now(KYIV).hour
    later = f"{(hour + 2) % 24:02d}:00-{(hour + 3) % 24:02d}:00"
    store.import_points([_point("later", opening_hours=later), _point("plain", lat=50.46)])

    def found(query: str) -> set[str]:
        answer = client.get(f"/api/v1/nearest?lat=50.45&lon=30.52&{query}").get_json()
        return {f["id"] for f in answer["features"]}

    assert found("") == found("status=open,full") == found("status=full,open&open_now=true") == {"plain"}
    assert found("status=open,full&open_now=false") == {"later", "plain"}
    assert found("status=open,closed") == {"later", "plain"}  # other statuses: only what is sent
