"""Each raw input value made a valid value, or a ValueError saying why; and, beside each parser
that has rules JSON Schema can state, the schema the OpenAPI document states them with."""

from __future__ import annotations

import functools
import json
import math
import re
import reprlib
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from locator.domain.values import (
    MAX_STOP_LENGTH,
    MAX_STOPS,
    SERVICE_BIT,
    SERVICES,
    BusinessType,
    Category,
    Kind,
    Status,
    Stop,
    Visibility,
)

MAX_TEXT = 200  # name, address, settlement, region, hours
MAX_NOTE = 1000
MAX_COUNT = 1_000_000  # capacity and occupancy, in people
MAX_ID = 64
MAX_PHONE = 40
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
# Unicode category Cc (C0, DEL, C1) except tab and newline, which free text may carry; and lone
# surrogates, which no database or page can hold (a JSON body cannot carry them, but a stop's JSON
# text or a file could: the write then failed with a 500; issue 16).
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
PHONE_PATTERN = re.compile(r"^\+?[0-9 ()\-]{3,30}$")

# The same rules as JSON Schema (ECMA-262) patterns; tests/test_fuzz_api.py holds the API to them.
# Free text has no control characters but tab and newline (CONTROL_CHARACTERS; lone surrogates
# are left out, as a JSON body cannot carry them); required text has at least one visible character.
TEXT_CHAR = "[^\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f]"
VISIBLE_CHAR = "[^\\s\\u0000-\\u001f\\u007f-\\u009f]"
# PHONE_PATTERN once surrounding spaces are stripped; empty means none
PHONE_SCHEMA = {"type": "string", "pattern": "^$|^\\+?[0-9()\\-][0-9 ()\\-]{1,28}[0-9()\\-]$"}
ID_SCHEMA = {"type": "string", "maxLength": MAX_ID, "pattern": ID_PATTERN.pattern}
COUNT_SCHEMA = {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_COUNT}
LAT_SCHEMA = {"type": "number", "minimum": -90, "maximum": 90}
LON_SCHEMA = {"type": "number", "minimum": -180, "maximum": 180}
TIME_SCHEMA = {"type": "string", "format": "date-time"}


class Invalid(ValueError):
    """A value refused, with its message as a template and its parameters, so a page can say
    it in its reader's language (web/messages.py); str() is the English sentence."""

    def __init__(self, template: str, **params: Any):
        self.template, self.params = template, params
        super().__init__(template.format(**params))


def text_schema(max_length: int, *, required: bool = False) -> dict[str, Any]:
    """What clean_text accepts (required: and not blank), as JSON Schema."""
    pattern = f"^{TEXT_CHAR}*{VISIBLE_CHAR}{TEXT_CHAR}*$" if required else f"^{TEXT_CHAR}*$"
    return {"type": "string", "maxLength": max_length, "pattern": pattern}


# Every moment a point carries lies in these years: outside them a time is a mistake or an attack
# (year 1 or 9999 with an offset overflowed into a 500; issue 16).
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(2100, 1, 1, tzinfo=UTC)
TIME_RANGE_PROBLEM = "must be a moment between {earliest} and {latest}"


def parse_time(value: Any) -> datetime:
    """An ISO 8601 moment as an aware UTC datetime; a time without zone is taken as UTC."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:  # (its message repeats the text, which may be a megabyte)
            raise Invalid("expected an ISO 8601 date and time") from None
    else:
        raise Invalid("expected an ISO 8601 date and time")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+05:00 is before the first moment Python holds
        raise Invalid(TIME_RANGE_PROBLEM, earliest=EARLIEST_TIME.year, latest=LATEST_TIME.year) from None
    if not EARLIEST_TIME <= moment < LATEST_TIME:
        raise Invalid(TIME_RANGE_PROBLEM, earliest=EARLIEST_TIME.year, latest=LATEST_TIME.year)
    return moment.replace(microsecond=0)


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "1", "yes", "y", "t"):
            return True
        if text in ("false", "0", "no", "n", "f", ""):
            return False
    raise Invalid("expected true or false")


def parse_enum(enum: type[StrEnum], value: Any) -> Any:
    text = str(value).strip().lower() if value is not None else ""
    member = _members(enum).get(text)  # enum(text), in a fifth of the time
    if member is None:
        allowed = ", ".join(member.value for member in enum)
        raise Invalid(
            "{value} is not one of: {allowed}", value=reprlib.repr(value), allowed=allowed
        )  # (shortened)
    return member


@functools.cache
def _members(enum: type[StrEnum]) -> dict[str, Any]:
    return {member.value: member for member in enum}


def parse_services(value: Any) -> frozenset[str]:
    """A set of services from a list or a comma-separated string; unknown names are errors."""
    if value is None:
        return frozenset()
    if type(value) is list and all(type(item) is str and item in SERVICE_BIT for item in value):
        return frozenset(value)  # known names as they are (most input): what the loop below gives
    if isinstance(value, str):
        value = [value]
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [part.strip().lower() for item in value for part in str(item).split(",")]
    else:
        raise Invalid("expected a list of services or a comma-separated string")
    items = [item for item in items if item]
    unknown = [item for item in items if item not in SERVICE_BIT]
    if unknown:
        shown = ", ".join(map(reprlib.repr, unknown))  # (shortened: a value may be a megabyte)
        raise Invalid("unknown service {shown}; known: {known}", shown=shown, known=", ".join(SERVICES))
    return frozenset(items)


def parse_coordinate(value: Any, low: float, high: float) -> float:
    if isinstance(value, bool):
        raise Invalid("expected a number")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int too large for a float
        raise Invalid("expected a number") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise Invalid("must be between {low} and {high}", low=f"{low:g}", high=f"{high:g}")
    return number


def parse_count(value: Any) -> int | None:
    """A number of people: empty means unknown, otherwise a whole number 0 or more."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, bool):
        raise Invalid("expected a whole number")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int too large for a float
        raise Invalid("expected a whole number") from None
    if not number.is_integer() or number < 0 or number > MAX_COUNT:
        raise Invalid("expected a whole number from 0 to {most}", most=MAX_COUNT)
    return int(number)


def clean_text(value: Any, limit: int) -> str:
    """Free text: stripped, control characters refused, length bounded. Never HTML.

    A number is taken as its text (files and forms carry house numbers so); any other type is
    refused, not written as its Python form ({'a': 1}, True). A browser sends a textarea's line
    breaks as CRLF: they become newlines."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool) or value in (math.inf, -math.inf):
        raise Invalid("expected text")
    text = str(value).replace("\r\n", "\n").strip()
    if len(text) > limit:
        raise Invalid("longer than {limit} characters", limit=limit)
    if CONTROL_CHARACTERS.search(text):
        raise Invalid("contains control characters")
    return text


def parse_stops(value: Any) -> tuple[Stop, ...]:
    """A schedule from a list of {place, lat, lon, starts_at, ends_at} (or its JSON text)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):  # RecursionError: nested past ~1,000 levels (issue 16)
            raise Invalid("expected a JSON list of stops") from None
    if not isinstance(value, (list, tuple)):
        raise Invalid("expected a list of stops")
    if len(value) > MAX_STOPS:
        raise Invalid("at most {most} stops", most=MAX_STOPS)
    stops = []
    for number, item in enumerate(value, 1):
        if isinstance(item, Stop):
            stops.append(item)
            continue
        if not isinstance(item, Mapping):
            raise Invalid(
                "stop {number}: expected an object with place, lat, lon, starts_at, ends_at", number=number
            )
        try:
            place = clean_text(item.get("place"), MAX_TEXT)
            if not place:
                raise Invalid("place is required")
            stop = Stop(
                place=place,
                lat=parse_coordinate(item.get("lat"), -90, 90),
                lon=parse_coordinate(item.get("lon"), -180, 180),
                starts_at=parse_time(item.get("starts_at")),
                ends_at=parse_time(item.get("ends_at")),
            )
        except ValueError as error:
            raise Invalid("stop {number}: {problem}", number=number, problem=error) from None
        if stop.ends_at <= stop.starts_at:
            raise Invalid("stop {number}: ends_at must be after starts_at", number=number)
        if stop.ends_at - stop.starts_at > MAX_STOP_LENGTH:
            raise Invalid("stop {number}: longer than {days} days", number=number, days=MAX_STOP_LENGTH.days)
        stops.append(stop)
    return tuple(sorted(stops, key=lambda stop: (stop.starts_at, stop.ends_at, stop.place)))


def parse_id(raw: Any) -> str:
    text = clean_text(raw, MAX_ID) if not isinstance(raw, float) else clean_text(f"{raw:g}", MAX_ID)
    if not ID_PATTERN.match(text):
        raise Invalid("use letters, digits and . _ : - only, starting with a letter or digit")
    return text


def parse_phone(raw: Any) -> str:
    text = clean_text(raw, MAX_PHONE)
    if text and not PHONE_PATTERN.match(text):
        raise Invalid("expected digits, spaces, + ( ) and - only")
    return text


def parse_text(raw: Any) -> str:
    return clean_text(raw, MAX_TEXT)


def parse_note(raw: Any) -> str:
    return clean_text(raw, MAX_NOTE)


def parse_kind(raw: Any) -> Kind:
    return parse_enum(Kind, raw)


def parse_category(raw: Any) -> Category:
    return parse_enum(Category, raw)


def parse_business_type(raw: Any) -> BusinessType:
    return parse_enum(BusinessType, raw)


def parse_visibility(raw: Any) -> Visibility:
    return parse_enum(Visibility, raw)


def parse_status(raw: Any) -> Status:
    return parse_enum(Status, raw)


def parse_lat(raw: Any) -> float:
    return parse_coordinate(raw, -90, 90)


def parse_lon(raw: Any) -> float:
    return parse_coordinate(raw, -180, 180)


def parse_version(raw: Any) -> int:
    return max(1, int(parse_count(raw) or 1))


def parse_moved_at(raw: Any) -> datetime | None:
    """A moment, or None when blank; anything else is refused like any other time, not ignored."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, float) and math.isnan(raw):
        return None
    return parse_time(raw)


MAX_WHOLE_DIGITS = 18  # a version, an index, a page size: int() refuses 4,300 digits, a 500


def whole_number(text: str) -> int | None:
    """A whole number 0 or more written in ASCII digits, else None. str.isdigit() and
    isdecimal() pass "²" and "١", and int() refuses the one and a 5,000-digit number, each a
    500 (issue 16): a form's version, a stop's index, an API's page size read through this."""
    text = text.strip()
    if text.isascii() and text.isdigit() and len(text) <= MAX_WHOLE_DIGITS:
        return int(text)
    return None
