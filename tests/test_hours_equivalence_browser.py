"""The browser's "open now" (static/js/hours.js, with the npm opening_hours library) agrees with
locator/domain/hours.py (opening-hours-py) on random hours and random moments, in a real
Chromium in Kyiv's time zone: open or not, why, when the hours change next and to what.

The moments avoid the two DST nights: there the Python side is exact (tests/test_hours.py), and
the browser builds Kyiv wall-clock Dates in its own zone, which skips or repeats that hour. They
also avoid the days where the two libraries' calendars of Ukraine's public holidays (PH) differ:
opening_hours.js moves a holiday on a weekend to a weekday and counts Jan 2 and May 9,
opening-hours-py does neither (docs/operators.md says so; the server's answer is the API's).
And they leave out hours where an overnight range runs into a day another rule names ("Mo
05:45-07:30; Su 22:15-08:00" on Monday at 07:30): opening_hours.js lets the later rule's night
run on, opening-hours-py lets the day's own rule win; likewise when a later rule overrides the
days of one with an overnight range. Both are in docs/operators.md.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from browser_support import Site, open_guarded_tab, serve
from helpers import make_point, make_record
from playwright.sync_api import Browser
from test_hours import random_hours

from locator.domain.hours import KYIV, open_now

SEED = 1717
STRINGS = 150
MOMENTS = 8
# Weeks far from a DST switch, two with a public holiday both calendars hold (Aug 24, Dec 25)
WEEKS = (
    datetime(2026, 12, 3, tzinfo=KYIV),
    datetime(2026, 12, 21, tzinfo=KYIV),
    datetime(2026, 6, 10, tzinfo=KYIV),
    datetime(2026, 8, 20, tzinfo=KYIV),
)
JUDGE = """async (cases) => {
  const hours = await import('/static/js/hours.js');
  await hours.loadHours();
  return cases.map(([text, status, ms]) => {
    const found = hours.openNow({openingHours: text, setStatus: status}, ms);
    return [found.openNow, found.state, found.nextChange, found.opensNext];
  });
}"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve(tmp_path_factory.mktemp("hours-equivalence"), [make_record("p1")]) as site:
        yield site


DAY_NAMES = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")


def _days(selector: str) -> set[int]:
    found: set[int] = set()
    for part in selector.split(","):
        first, _, last = part.partition("-")
        a, b = DAY_NAMES.index(first), DAY_NAMES.index(last or first)
        found |= set(range(a, b + 1))
    return found


def night_runs_into_another_rule(text: str) -> bool:
    """Whether a rule with an overnight range shares a day with another rule, or runs into one."""
    rules = [rule.strip().split(" ", 1) for rule in text.split(";") if rule.strip()[:2] in DAY_NAMES]
    for i, (days, spans) in enumerate(rules):
        overnight = any(a > b for a, b in (span.split("-") for span in spans.split(",") if "-" in span))
        if not overnight:
            continue
        mine = _days(days)
        touched = mine | {(day + 1) % 7 for day in mine}  # its days (overridden?) and the mornings after
        if any(touched & _days(other) for j, (other, _) in enumerate(rules) if j != i):
            return True
    return False


def test_the_browser_judges_hours_as_python_does(browser: Browser, site: Site) -> None:
    rng = random.Random(SEED)
    cases, expected = [], []
    skipped = 0
    for _ in range(STRINGS):
        text = random_hours(rng) if rng.random() < 0.9 else ""
        if night_runs_into_another_rule(text):
            skipped += 1
            continue
        status = rng.choice(["open", "open", "full", "closed", "standby"])
        point = make_point(status=status, opening_hours=text)
        start = rng.choice(WEEKS)
        for _ in range(MOMENTS):
            moment = (start + timedelta(minutes=rng.randrange(0, 6 * 24 * 60))).astimezone(UTC)
            said = open_now(point, moment)
            if said.next_change is not None and rng.random() < 0.5:  # ±1 minute of the change
                moment = said.next_change + timedelta(minutes=rng.choice([-1, 0, 1]))
                said = open_now(point, moment)
            cases.append([text, status, int(moment.timestamp() * 1000)])
            change = int(said.next_change.timestamp() * 1000) if said.next_change else None
            expected.append([said.open_now, said.state, change, said.opens_next])
    context, tab = open_guarded_tab(browser, site)
    try:
        tab.goto("/")
        found = tab.page.evaluate(JUDGE, cases)
        tab.guard.assert_clean(tab.page)
    finally:
        context.close()
    for case, mine, theirs in zip(cases, found, expected, strict=True):
        assert mine == theirs, case
    states = {row[1] for row in expected}
    assert states == {"open", "open_unknown", "closed_by_hours", "closed_by_status"}
    assert sum(row[2] is not None for row in expected) > len(expected) / 2
    assert skipped < STRINGS / 3
    assert night_runs_into_another_rule("Mo,Th 18:15-21:30,05:45-07:30; Fr-Su 22:15-08:00")
    assert not night_runs_into_another_rule("Mo-Su 20:00-08:00; PH off")
