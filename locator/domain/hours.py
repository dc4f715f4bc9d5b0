"""Opening hours (OpenStreetMap's `opening_hours` syntax) and the one "open now" rule (issue 17).

A point is open now when its operator's status is open or full AND its opening hours allow this
moment. No opening hours means unknown hours: the status alone decides (the point says "hours not
given"); a rule the hours leave unknown ("unknown", a comment-only rule) does not close it either.
Hours are read in Europe/Kyiv time, with Ukraine's public holidays for PH. The library is
opening-hours-py (requirements.txt); static/js/hours.js is the browser's copy of this rule, with
the npm opening_hours package, pinned to this one by tests/test_hours_equivalence_browser.py.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo

from opening_hours import OpeningHours, ParserError, State

from locator.domain.parsers import clean_text
from locator.domain.values import Status

if TYPE_CHECKING:  # (point.py imports fields.py, which imports this module)
    from locator.domain.point import Point

KYIV = ZoneInfo("Europe/Kyiv")
COUNTRY = "UA"  # PH: Ukraine's public holidays
MAX_OPENING_HOURS = 255  # OpenStreetMap's limit for a tag's value
WORKING_STATUSES = frozenset({Status.OPEN, Status.FULL})  # open by status
# How far ahead a next change is looked for: a point closed for longer says "no opening soon".
LOOKAHEAD_DAYS = 366
LOOKAHEAD = timedelta(days=LOOKAHEAD_DAYS)
MAX_STEPS = 64  # changes looked past (to unknown and back, DST switches) before giving up
MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)
COMPILED_KEPT = 4096  # distinct hours strings kept compiled (a network shares a few hundred)
VERDICTS_KEPT = 65_536  # (hours, minute) verdicts kept: the "per point per minute" cache


class Verdict(NamedTuple):
    """What a point's hours say at a moment. ``allows``: they do not exclude it (open or
    unknown); ``known``: the point has hours at all; ``next_change`` (UTC) and ``opens_next``:
    when the hours change next and whether that change opens the point (None: no change ahead)."""

    allows: bool
    known: bool
    next_change: datetime | None
    opens_next: bool | None


UNKNOWN = Verdict(True, False, None, None)


def parse_opening_hours(raw: Any) -> str:
    """An opening_hours value as written (trimmed), "" for none; ValueError naming the problem."""
    text = clean_text(raw, MAX_OPENING_HOURS)
    if "\n" in text or "\t" in text:
        raise ValueError("expected one line in OpenStreetMap opening_hours syntax")
    if text:
        try:
            _compiled(text)
        except (ParserError, ValueError) as error:
            where = re.search(r"--> \d+:(\d+)", str(error))
            at = f" at character {where.group(1)}" if where else ""
            raise ValueError(
                f'not valid OpenStreetMap opening_hours syntax{at} (e.g. "Mo-Fr 09:00-18:00", "24/7")'
            ) from None
    return text


OPENING_HOURS_SCHEMA = {
    "type": "string",
    "maxLength": MAX_OPENING_HOURS,
    "description": "OpenStreetMap opening_hours syntax, read in Europe/Kyiv time with Ukraine's public"
    ' holidays for PH, e.g. "Mo-Fr 09:00-18:00", "24/7", "Mo-Su 20:00-08:00"; "" when not given',
}


@functools.lru_cache(maxsize=COMPILED_KEPT)
def _compiled(text: str) -> OpeningHours:
    # Asked with Kyiv wall-clock times, not aware ones: opening-hours-py 2.1.4 calls "24/7" closed
    # in the last minute before the autumn DST switch when given aware times (tests/test_hours.py).
    return OpeningHours(text, country=COUNTRY, max_interval_days=LOOKAHEAD_DAYS)


def _wall(moment: datetime) -> datetime:
    """The Kyiv wall-clock time of a moment, as the naive time the hours are read at."""
    return moment.astimezone(KYIV).replace(tzinfo=None)


def _allows(hours: OpeningHours, moment: datetime) -> bool:
    return hours.state(_wall(moment))[0] is not State.CLOSED


def _next_offset_change(after: datetime, until: datetime) -> datetime | None:
    """The first whole minute in (after, until] with another UTC offset (a DST switch), if any."""
    offset = after.astimezone(KYIV).utcoffset()
    if until.astimezone(KYIV).utcoffset() == offset:
        return None  # (switches are months apart: never two in one step)
    low, high = after, until  # low has the old offset, high the new
    while high - low > MINUTE:
        middle = low + (high - low) / 2
        middle = middle.replace(second=0, microsecond=0)
        if middle <= low:
            middle = low + MINUTE
        low, high = (middle, high) if middle.astimezone(KYIV).utcoffset() == offset else (low, middle)
    return high


def _utc_after(wall: datetime, after: datetime) -> datetime:
    """The first moment after ``after`` whose Kyiv wall time is ``wall`` (either side of an autumn
    repeat); in a spring gap, the end of the gap."""
    for fold in (0, 1):
        moment = wall.replace(tzinfo=KYIV, fold=fold).astimezone(UTC)
        if moment > after and _wall(moment) == wall:
            return moment
    return _next_offset_change(after, wall.replace(tzinfo=KYIV).astimezone(UTC) + 2 * HOUR) or after + MINUTE


def _next_step(hours: OpeningHours, moment: datetime) -> datetime | None:
    """The next moment the hours' answer may change: their own next change or a DST switch."""
    change = hours.next_change(_wall(moment))
    candidate = _utc_after(change, moment) if change is not None else None
    switch = _next_offset_change(moment, candidate or moment + LOOKAHEAD)
    return switch if switch is not None and (candidate is None or switch < candidate) else candidate


@functools.lru_cache(maxsize=VERDICTS_KEPT)
def _verdict(text: str, minute: datetime) -> Verdict:
    hours = _compiled(text)
    allows = _allows(hours, minute)
    step = minute
    for _ in range(MAX_STEPS):  # past changes a reader does not see (open -> unknown, a DST switch)
        step = _next_step(hours, step)
        if step is None or step - minute > LOOKAHEAD:
            break
        if _allows(hours, step) != allows:
            return Verdict(allows, True, step, not allows)
    return Verdict(allows, True, None, None)


def verdict(opening_hours: str, now: datetime) -> Verdict:
    """What these hours say at ``now`` (aware), judged per whole minute (hours change on minutes)
    and kept per (hours, minute): the nearest lookup asks again and again."""
    if not opening_hours:
        return UNKNOWN
    return _verdict(opening_hours, now.astimezone(UTC).replace(second=0, microsecond=0))


def allows(opening_hours: str, now: datetime) -> bool:
    """Whether these hours leave ``now`` open (or unknown): verdict(...).allows without looking
    for the next change, kept per (hours, minute) apart. Filters ask only this (the nearest
    lookup, of each candidate), answers ask verdict."""
    if not opening_hours:
        return True
    return _allows_at(opening_hours, now.astimezone(UTC).replace(second=0, microsecond=0))


@functools.lru_cache(maxsize=VERDICTS_KEPT)
def _allows_at(text: str, minute: datetime) -> bool:
    return _allows(_compiled(text), minute)


def is_open_now(point: Point, now: datetime) -> bool:
    """THE rule: open (or full) by its operator's status, and its hours allow this moment."""
    return point.status in WORKING_STATUSES and allows(point.opening_hours, now)


def open_now_test(now: datetime) -> Callable[[Point], bool]:
    """is_open_now at ``now`` for many points: the minute worked out once (the nearest lookup
    asks it of every candidate)."""
    minute = now.astimezone(UTC).replace(second=0, microsecond=0)

    def test(point: Point) -> bool:
        hours = point.opening_hours
        return point.status in WORKING_STATUSES and (not hours or _allows_at(hours, minute))

    return test


class OpenNow(NamedTuple):
    """A point's "open now" with the why: ``state`` is "open" (hours allow), "open_unknown" (open
    by status, hours not given), "closed_by_hours" or "closed_by_status"; ``next_change`` (UTC)
    and ``opens_next`` are its hours' next change, when it has hours."""

    open_now: bool
    state: str
    next_change: datetime | None
    opens_next: bool | None


def open_now(point: Point, now: datetime) -> OpenNow:
    """is_open_now with its reason and the next change of the point's hours."""
    said = verdict(point.opening_hours, now)
    if point.status not in WORKING_STATUSES:
        return OpenNow(False, "closed_by_status", said.next_change, said.opens_next)
    if not said.known:
        return OpenNow(True, "open_unknown", None, None)
    state = "open" if said.allows else "closed_by_hours"
    return OpenNow(said.allows, state, said.next_change, said.opens_next)


def open_now_fields(point: Point, now: datetime) -> dict[str, Any]:
    """The derived fields of a point's answers: open_now, hours_state, next_change_at (RFC 3339)
    and next_change_to ("open"/"closed")."""
    found = open_now(point, now)
    return {
        "open_now": found.open_now,
        "hours_state": found.state,
        "next_change_at": _rfc3339(found.next_change) if found.next_change else None,
        "next_change_to": None if found.opens_next is None else ("open" if found.opens_next else "closed"),
    }


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- a plain-language preview ---------------------------------------------------------------------

DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WORDS = ("off", "closed", "open", "unknown", "PH", "SH", "sunrise", "sunset", "dawn", "dusk")
_TOKEN = re.compile(r'"[^"]*"|24/7|\b(?:' + "|".join(DAYS + MONTHS + WORDS) + r")\b|(?<=\d)-(?=\d)|-|;|,")


def describe(opening_hours: str, names: Mapping[str, str]) -> str:
    """The hours in the reader's words: every day, month and keyword replaced by ``names``' word
    for it (given by the page, in its language), ranges with an en dash, rules one per line.
    "Mo-Fr 09:00-18:00" -> "Пн–Пт 09:00–18:00" (uk) / "Mon–Fri 09:00–18:00" (en)."""

    def word(match: re.Match[str]) -> str:
        token = match.group(0)
        if token.startswith('"'):
            return token[1:-1]
        if token == "-":
            return "–"
        if token == ";":
            return "\n"
        if token == ",":
            return ", "
        return names.get(token, token)

    lines = (re.sub(r"\s*,\s*", ",", rule.strip()) for rule in opening_hours.split(";"))
    return "\n".join(_TOKEN.sub(word, line) for line in lines if line)
