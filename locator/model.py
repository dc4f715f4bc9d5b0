"""The domain: what a Point of Invincibility is, and what makes one valid.

Pure Python: no Flask, no SQL, no I/O. Everything that enters the app (a file, an API call,
a form) passes through ``parse_point`` once; inside the app a ``Point`` is always valid.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

STALE_AFTER = timedelta(hours=12)  # default; LOCATOR_STALE_HOURS overrides
MAX_TEXT = 200  # name, address, settlement, region, hours
MAX_NOTE = 1000
MAX_COUNT = 1_000_000  # capacity and occupancy, in people
MAX_ID = 64
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
# Unicode category Cc (C0, DEL, C1) except tab and newline, which free text may carry.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
PHONE_PATTERN = re.compile(r"^\+?[0-9 ()\-]{3,30}$")


class Kind(StrEnum):
    FIXED = "fixed"
    MOBILE = "mobile"


class Category(StrEnum):
    STATE = "state"
    BUSINESS = "business"


class Status(StrEnum):
    OPEN = "open"
    FULL = "full"
    STANDBY = "standby"
    CLOSED = "closed"
    # Never set by an operator: shown instead of "open"/"full" once enough citizens report the
    # point closed, until an operator acts (see Point.public_status).
    UNCONFIRMED = "unconfirmed"


OPERATOR_STATUSES: tuple[Status, ...] = (Status.OPEN, Status.FULL, Status.STANDBY, Status.CLOSED)
MAX_STOPS = 50
MAX_STOP_LENGTH = timedelta(days=7)


# The order is part of the API: a point's services travel as a bit mask in the compact map
# format (bit i = SERVICES[i]). Append new services at the end only.
SERVICES: tuple[str, ...] = (
    "power",
    "heat",
    "internet",
    "mobile_signal",
    "water",
    "hot_drinks",
    "food",
    "first_aid",
    "toilet",
    "child_room",
    "pets",
    "wheelchair",
    "sleeping",
)
SERVICE_BIT = {name: 1 << i for i, name in enumerate(SERVICES)}

# Fields a caller may set; version, updated_at and the change bookkeeping belong to the store.
EDITABLE_FIELDS = (
    "name",
    "kind",
    "category",
    "base",
    "status",
    "services",
    "address",
    "settlement",
    "region",
    "lat",
    "lon",
    "capacity",
    "occupancy",
    "phone",
    "hours",
    "open_24_7",
    "note",
    "archived",
    "stops",
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one field of one input."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ValidationError(ValueError):
    """Input that cannot become a Point; carries every problem found, not just the first."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class Stop:
    """One planned stop of a mobile point: where it stands from one moment to another."""

    place: str
    lat: float
    lon: float
    starts_at: datetime
    ends_at: datetime

    def to_record(self) -> dict[str, Any]:
        return {
            "place": self.place,
            "lat": self.lat,
            "lon": self.lon,
            "starts_at": format_time(self.starts_at),
            "ends_at": format_time(self.ends_at),
        }


@dataclass(frozen=True)
class Point:
    id: str
    name: str
    kind: Kind
    category: Category
    base: bool
    status: Status
    services: frozenset[str]
    lat: float
    lon: float
    address: str = ""
    settlement: str = ""
    region: str = ""
    capacity: int | None = None
    occupancy: int | None = None
    phone: str = ""
    hours: str = ""
    open_24_7: bool = False
    note: str = ""
    updated_at: datetime = field(default_factory=lambda: utcnow())
    verified_at: datetime = field(default_factory=lambda: utcnow())
    version: int = 1
    archived: bool = False  # off the public map and API lists, history kept
    stops: tuple[Stop, ...] = ()  # a mobile point's schedule, ordered by start
    moved_at: datetime | None = None  # when the point was last put at lat/lon (set by the store)
    unconfirmed: bool = False  # enough citizens reported it closed; set by the store, never by input

    @property
    def services_mask(self) -> int:
        return services_mask(self.services)

    def is_stale(self, now: datetime, stale_after: timedelta = STALE_AFTER) -> bool:
        """A status nobody has confirmed for longer than stale_after cannot be trusted."""
        return now - self.verified_at > stale_after

    def status_age(self, now: datetime) -> timedelta:
        return max(now - self.verified_at, timedelta(0))

    @property
    def public_status(self) -> Status:
        """The status citizens see: citizens' closed reports outweigh an unconfirmed open/full."""
        return Status.UNCONFIRMED if self.unconfirmed else self.status

    def active_stop(self, now: datetime) -> Stop | None:
        """The scheduled stop under way now (the latest started, if stops overlap)."""
        current = None
        for stop in self.stops:
            if stop.starts_at <= now < stop.ends_at and (
                current is None or stop.starts_at >= current.starts_at
            ):
                current = stop
        return current

    def upcoming_stops(self, now: datetime) -> list[Stop]:
        """Stops not yet ended: ended ones are history, never a place to send anyone."""
        return [stop for stop in self.stops if stop.ends_at > now]

    def current_stop(self, now: datetime) -> Stop | None:
        """The stop the point stands at now: the one under way, unless the operator moved the
        point after it began (the newest news wins: a manual move overrides the plan)."""
        stop = self.active_stop(now)
        if stop is None or (self.moved_at is not None and self.moved_at > stop.starts_at):
            return None
        return stop

    def at(self, now: datetime) -> Point:
        """The point where it is now: at its current stop (since the stop began), else as placed."""
        stop = self.current_stop(now)
        if stop is None:
            return self
        return replace(self, lat=stop.lat, lon=stop.lon, moved_at=stop.starts_at)

    def to_record(self) -> dict[str, Any]:
        """Plain values (enums as strings, times as ISO 8601 UTC, services sorted) for storage."""
        record = {name: getattr(self, name) for name in POINT_FIELDS}  # asdict() deep-copies: slow
        record.update(
            kind=self.kind.value,
            category=self.category.value,
            status=self.status.value,
            services=sorted_services(self.services),
            updated_at=format_time(self.updated_at),
            verified_at=format_time(self.verified_at),
            stops=[stop.to_record() for stop in self.stops],
            moved_at=format_time(self.moved_at) if self.moved_at else None,
        )
        return record

    def with_changes(self, **changes: Any) -> Point:
        return replace(self, **changes)


POINT_FIELDS = tuple(f.name for f in fields(Point))


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class PerPoint:
    """Values made once per Point object, up to ``limit`` of them (past that it starts over).
    Points are frozen and a change makes a new one, so a value stays true for its object: kept
    by id(), with the point itself alongside so the id cannot be reused while the entry lives."""

    def __init__(self, limit: int):
        self.limit = limit
        self._kept: dict[int, tuple[Point, Any]] = {}

    def get(self, point: Point, make: Callable[[Point], Any]) -> Any:
        kept = self._kept.get(id(point))
        if kept is not None and kept[0] is point:
            return kept[1]
        value = make(point)
        if len(self._kept) >= self.limit:
            self._kept.clear()
        self._kept[id(point)] = (point, value)
        return value


def format_time(moment: datetime) -> str:
    """ISO 8601 in UTC to the second ("2026-11-23T15:04:05Z"). isoformat, not strftime: the
    API formats several times per point and answer, and isoformat is several times faster."""
    if moment.tzinfo is UTC:  # how every stored time is held: one call, "+00:00" made "Z"
        return moment.isoformat(timespec="seconds")[:-6] + "Z"
    return moment.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def sorted_services(services: Iterable[str]) -> list[str]:
    """Services in their canonical order (the order of SERVICES)."""
    chosen = set(services)
    return [name for name in SERVICES if name in chosen]


def services_mask(services: Iterable[str]) -> int:
    mask = 0
    for name in services:
        mask |= SERVICE_BIT[name]
    return mask


def parse_time(value: Any) -> datetime:
    """An ISO 8601 moment as an aware UTC datetime; a time without zone is taken as UTC."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        moment = datetime.fromisoformat(text)
    else:
        raise ValueError("expected an ISO 8601 date and time")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


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
    raise ValueError("expected true or false")


def parse_enum(enum: type[StrEnum], value: Any) -> Any:
    text = str(value).strip().lower() if value is not None else ""
    member = _members(enum).get(text)  # enum(text), in a fifth of the time
    if member is None:
        allowed = ", ".join(member.value for member in enum)
        raise ValueError(f"{value!r} is not one of: {allowed}")
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
        raise ValueError("expected a list of services or a comma-separated string")
    items = [item for item in items if item]
    unknown = [item for item in items if item not in SERVICE_BIT]
    if unknown:
        raise ValueError(f"unknown service {', '.join(map(repr, unknown))}; known: {', '.join(SERVICES)}")
    return frozenset(items)


def parse_coordinate(value: Any, low: float, high: float) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a number")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int too large for a float
        raise ValueError("expected a number") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise ValueError(f"must be between {low:g} and {high:g}")
    return number


def parse_count(value: Any) -> int | None:
    """A number of people: empty means unknown, otherwise a whole number 0 or more."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, bool):
        raise ValueError("expected a whole number")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int too large for a float
        raise ValueError("expected a whole number") from None
    if not number.is_integer() or number < 0 or number > MAX_COUNT:
        raise ValueError(f"expected a whole number from 0 to {MAX_COUNT}")
    return int(number)


def clean_text(value: Any, limit: int) -> str:
    """Free text: stripped, control characters refused, length bounded. Never HTML."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = str(value).strip()
    if len(text) > limit:
        raise ValueError(f"longer than {limit} characters")
    if CONTROL_CHARACTERS.search(text):
        raise ValueError("contains control characters")
    return text


def parse_point(data: Mapping[str, Any], *, now: datetime | None = None) -> Point:
    """Validate one input record and build a Point, reporting every problem at once."""
    now = now or utcnow()
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    if data.get("operator_status"):  # our own exports: "status" there is what citizens saw
        data = {**data, "status": data["operator_status"]}
    for name, parse, required, default in POINT_INPUT:  # defined below parse_stops, which it uses
        raw = data.get(name)
        if (
            raw is None
            or (isinstance(raw, str) and (not raw or raw.isspace()))  # blank, without a copy
            or (isinstance(raw, float) and math.isnan(raw))
        ):
            if required:
                problems.append(Problem(name, "is required"))
                continue
            if default is NOW_DEFAULT:
                default = now
            elif default is UPDATED_AT_DEFAULT:
                default = values.get("updated_at", now)
            if default is not None:
                values[name] = default
                continue
        try:
            values[name] = parse(raw)
        except ValueError as error:
            problems.append(Problem(name, str(error)))
    if values.get("status") is Status.UNCONFIRMED:
        problems.append(
            Problem(
                "status",
                "'unconfirmed' comes from citizens' reports; an operator sets "
                "one of: " + ", ".join(OPERATOR_STATUSES),
            )
        )
    if values.get("stops") and values.get("kind", Kind.FIXED) is not Kind.MOBILE:
        problems.append(Problem("stops", "only a mobile point has a schedule of stops"))

    for moment in ("updated_at", "verified_at", "moved_at"):
        if values.get(moment) is not None and values[moment] > now + timedelta(minutes=5):
            problems.append(Problem(moment, "is in the future"))
    if problems:
        raise ValidationError(problems)
    return Point(**values)


class ReportKind(StrEnum):
    CLOSED = "closed"  # closed although shown as working
    WRONG_PLACE = "wrong_place"  # not at this address
    FULL = "full"
    MISSING_SERVICE = "missing_service"  # a service it lists is not there (no power, no heat...)


MAX_COMMENT = 300


@dataclass(frozen=True)
class Report:
    """What a citizen found at a point; plain text, never HTML."""

    point_id: str
    kind: ReportKind
    service: str = ""  # for missing_service: which one
    comment: str = ""


def parse_report(point_id: str, data: Mapping[str, Any]) -> Report:
    """A citizen's report from a form or JSON; every problem names its field."""
    problems: list[Problem] = []
    kind = service = comment = None
    try:
        kind = parse_enum(ReportKind, data.get("kind"))
    except ValueError as error:
        problems.append(Problem("kind", str(error)))
    raw_service = data.get("service") or ""
    if not isinstance(raw_service, str):
        problems.append(Problem("service", "expected a service name"))
    elif raw_service.strip() and raw_service.strip().lower() not in SERVICE_BIT:
        problems.append(Problem("service", f"unknown service; known: {', '.join(SERVICES)}"))
    else:
        service = raw_service.strip().lower()
    if kind is ReportKind.MISSING_SERVICE and service == "":
        problems.append(Problem("service", "say which service is missing"))
    if kind is not None and kind is not ReportKind.MISSING_SERVICE and service:
        service = ""  # a leftover choice in the form; only "missing service" names one
    raw_comment = data.get("comment") or ""
    try:
        if not isinstance(raw_comment, str):
            raise ValueError("expected text")
        comment = clean_text(raw_comment.replace("\r\n", "\n"), MAX_COMMENT)
    except ValueError as error:
        problems.append(Problem("comment", str(error)))
    if problems:
        raise ValidationError(problems)
    return Report(point_id=point_id, kind=kind, service=service, comment=comment)


def parse_stops(value: Any) -> tuple[Stop, ...]:
    """A schedule from a list of {place, lat, lon, starts_at, ends_at} (or its JSON text)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError("expected a JSON list of stops") from None
    if not isinstance(value, (list, tuple)):
        raise ValueError("expected a list of stops")
    if len(value) > MAX_STOPS:
        raise ValueError(f"at most {MAX_STOPS} stops")
    stops = []
    for number, item in enumerate(value, 1):
        if isinstance(item, Stop):
            stops.append(item)
            continue
        if not isinstance(item, Mapping):
            raise ValueError(f"stop {number}: expected an object with place, lat, lon, starts_at, ends_at")
        try:
            place = clean_text(item.get("place"), MAX_TEXT)
            if not place:
                raise ValueError("place is required")
            stop = Stop(
                place=place,
                lat=parse_coordinate(item.get("lat"), -90, 90),
                lon=parse_coordinate(item.get("lon"), -180, 180),
                starts_at=parse_time(item.get("starts_at")),
                ends_at=parse_time(item.get("ends_at")),
            )
        except ValueError as error:
            raise ValueError(f"stop {number}: {error}") from None
        if stop.ends_at <= stop.starts_at:
            raise ValueError(f"stop {number}: ends_at must be after starts_at")
        if stop.ends_at - stop.starts_at > MAX_STOP_LENGTH:
            raise ValueError(f"stop {number}: longer than {MAX_STOP_LENGTH.days} days")
        stops.append(stop)
    return tuple(sorted(stops, key=lambda stop: (stop.starts_at, stop.ends_at, stop.place)))


def _point_id(raw: Any) -> str:
    text = clean_text(raw, MAX_ID) if not isinstance(raw, float) else clean_text(f"{raw:g}", MAX_ID)
    if not ID_PATTERN.match(text):
        raise ValueError("use letters, digits and . _ : - only, starting with a letter or digit")
    return text


def _phone(raw: Any) -> str:
    text = clean_text(raw, 40)
    if text and not PHONE_PATTERN.match(text):
        raise ValueError("expected digits, spaces, + ( ) and - only")
    return text


def _text(raw: Any) -> str:
    return clean_text(raw, MAX_TEXT)


def _note(raw: Any) -> str:
    return clean_text(raw, MAX_NOTE)


def _kind(raw: Any) -> Kind:
    return parse_enum(Kind, raw)


def _category(raw: Any) -> Category:
    return parse_enum(Category, raw)


def _status(raw: Any) -> Status:
    return parse_enum(Status, raw)


def _lat(raw: Any) -> float:
    return parse_coordinate(raw, -90, 90)


def _lon(raw: Any) -> float:
    return parse_coordinate(raw, -180, 180)


def _version(raw: Any) -> int:
    return max(1, int(parse_count(raw) or 1))


def _moved_at(raw: Any) -> datetime | None:
    return parse_time(raw) if isinstance(raw, (str, datetime)) and str(raw).strip() else None


NOW_DEFAULT, UPDATED_AT_DEFAULT = object(), object()  # parse_point's now; the updated_at it read
# What parse_point reads, in the order it lists problems: (field, parser, required, default when
# missing; None lets the parser decide). One table, not closures made at every call: validating
# an import of 100,000 points takes a quarter less time (issue 5).
POINT_INPUT: tuple[tuple[str, Any, bool, Any], ...] = (
    ("id", _point_id, True, None),
    ("name", _text, True, None),
    ("kind", _kind, False, Kind.FIXED),
    ("category", _category, False, Category.STATE),
    ("base", parse_bool, False, False),
    ("status", _status, True, None),
    ("services", parse_services, False, frozenset()),
    ("lat", _lat, True, None),
    ("lon", _lon, True, None),
    ("address", _text, False, ""),
    ("settlement", _text, False, ""),
    ("region", _text, False, ""),
    ("hours", _text, False, ""),
    ("note", _note, False, ""),
    ("phone", _phone, False, ""),
    ("capacity", parse_count, False, None),
    ("occupancy", parse_count, False, None),
    ("open_24_7", parse_bool, False, False),
    ("updated_at", parse_time, False, NOW_DEFAULT),
    ("verified_at", parse_time, False, UPDATED_AT_DEFAULT),
    ("version", _version, False, 1),
    ("archived", parse_bool, False, False),
    ("stops", parse_stops, False, ()),
    ("moved_at", _moved_at, False, None),
)


def fold(text: str) -> str:
    """Text for tolerant matching: case-folded, with the many apostrophes of Ukrainian as one."""
    text = text.casefold()
    for apostrophe in APOSTROPHES:  # replace, not translate: 3-8 times faster on Cyrillic (issue 5)
        if apostrophe in text:
            text = text.replace(apostrophe, "'")
    return text


APOSTROPHES = ("’", "ʼ", "`", "´", "‘")  # each folded to "'"


@dataclass(frozen=True)
class PointFilter:
    """Which points a reader wants; empty means no restriction on that field."""

    statuses: frozenset[Status] = frozenset()
    kinds: frozenset[Kind] = frozenset()
    categories: frozenset[Category] = frozenset()
    base: bool | None = None
    services: frozenset[str] = frozenset()
    region: str = ""
    q: str = ""
    bbox: tuple[float, float, float, float] | None = None  # min_lon, min_lat, max_lon, max_lat
    include_archived: bool = False  # only the console looks at archived points

    def matches(self, point: Point) -> bool:
        """The filter's meaning, stated once; the store's SQL and the index must agree with it."""
        if point.archived and not self.include_archived:
            return False
        if self.statuses and point.public_status not in self.statuses:
            return False
        if self.kinds and point.kind not in self.kinds:
            return False
        if self.categories and point.category not in self.categories:
            return False
        if self.base is not None and point.base != self.base:
            return False
        if not self.services <= point.services:
            return False
        if self.region and fold(point.region) != fold(self.region):
            return False
        if self.q and fold(self.q) not in search_text(point):
            return False
        if self.bbox is not None:
            min_lon, min_lat, max_lon, max_lat = self.bbox
            if not (min_lat <= point.lat <= max_lat and min_lon <= point.lon <= max_lon):
                return False
        return True


def search_text(point: Point) -> str:
    """What the q= filter searches: name, address and settlement, folded."""
    return fold("\n".join((point.name, point.address, point.settlement)))


def parse_filter(args: Mapping[str, str], *, default_statuses: Iterable[Status] = ()) -> PointFilter:
    """Build a PointFilter from query parameters; a problem names the parameter."""
    problems: list[Problem] = []
    values: dict[str, Any] = {}

    def enum_set(param: str, enum: type[StrEnum], key: str, default: Iterable = ()) -> None:
        raw = args.get(param)
        if raw is None or not raw.strip():
            values[key] = frozenset(default)
            return
        try:
            values[key] = frozenset(parse_enum(enum, part) for part in raw.split(",") if part.strip())
        except ValueError as error:
            problems.append(Problem(param, str(error)))

    enum_set("status", Status, "statuses", default_statuses)
    enum_set("kind", Kind, "kinds")
    enum_set("category", Category, "categories")
    if args.get("base", "").strip():
        try:
            values["base"] = parse_bool(args["base"])
        except ValueError as error:
            problems.append(Problem("base", str(error)))
    if args.get("services", "").strip():
        try:
            values["services"] = parse_services(args["services"])
        except ValueError as error:
            problems.append(Problem("services", str(error)))
    for param in ("region", "q"):
        try:
            values[param] = clean_text(args.get(param, ""), MAX_TEXT)
        except ValueError as error:
            problems.append(Problem(param, str(error)))
    if args.get("bbox", "").strip():
        try:
            values["bbox"] = parse_bbox(args["bbox"])
        except ValueError as error:
            problems.append(Problem("bbox", str(error)))
    if problems:
        raise ValidationError(problems)
    return PointFilter(**values)


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    parts = text.split(",")
    if len(parts) != 4:
        raise ValueError("expected minLon,minLat,maxLon,maxLat")
    min_lon, max_lon = (parse_coordinate(parts[i], -180, 180) for i in (0, 2))
    min_lat, max_lat = (parse_coordinate(parts[i], -90, 90) for i in (1, 3))
    if min_lon > max_lon or min_lat > max_lat:
        raise ValueError("minimum is greater than maximum")
    return min_lon, min_lat, max_lon, max_lat
