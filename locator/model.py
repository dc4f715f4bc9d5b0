"""The domain: what a Point of Invincibility is, and what makes one valid.

Pure Python: no Flask, no SQL, no I/O. Everything that enters the app (a file, an API call,
a form) passes through ``parse_point`` once; inside the app a ``Point`` is always valid.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

STALE_AFTER = timedelta(hours=12)  # default; LOCATOR_STALE_HOURS overrides
MAX_TEXT = 200  # name, address, settlement, region, hours
MAX_NOTE = 1000
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

    @property
    def services_mask(self) -> int:
        return services_mask(self.services)

    def is_stale(self, now: datetime, stale_after: timedelta = STALE_AFTER) -> bool:
        """A status nobody has confirmed for longer than stale_after cannot be trusted."""
        return now - self.verified_at > stale_after

    def status_age(self, now: datetime) -> timedelta:
        return max(now - self.verified_at, timedelta(0))

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
        )
        return record

    def with_changes(self, **changes: Any) -> Point:
        return replace(self, **changes)


POINT_FIELDS = tuple(f.name for f in fields(Point))


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    try:
        return enum(text)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise ValueError(f"{value!r} is not one of: {allowed}") from None


def parse_services(value: Any) -> frozenset[str]:
    """A set of services from a list or a comma-separated string; unknown names are errors."""
    if value is None:
        return frozenset()
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
    if not number.is_integer() or number < 0 or number > 1_000_000:
        raise ValueError("expected a whole number from 0 to 1000000")
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

    def check(name: str, parse, *, required: bool = False, default: Any = None) -> None:
        raw = data.get(name)
        missing = raw is None or (isinstance(raw, str) and not raw.strip())
        missing = missing or (isinstance(raw, float) and math.isnan(raw))
        if missing:
            if required:
                problems.append(Problem(name, "is required"))
                return
            if default is not None:
                values[name] = default
                return
        try:
            values[name] = parse(raw)
        except ValueError as error:
            problems.append(Problem(name, str(error)))

    def point_id(raw: Any) -> str:
        text = clean_text(raw, MAX_ID) if not isinstance(raw, float) else clean_text(f"{raw:g}", MAX_ID)
        if not ID_PATTERN.match(text):
            raise ValueError("use letters, digits and . _ : - only, starting with a letter or digit")
        return text

    def phone(raw: Any) -> str:
        text = clean_text(raw, 40)
        if text and not PHONE_PATTERN.match(text):
            raise ValueError("expected digits, spaces, + ( ) and - only")
        return text

    def name(raw: Any) -> str:
        return clean_text(raw, MAX_TEXT)

    check("id", point_id, required=True)
    check("name", name, required=True)
    check("kind", lambda v: parse_enum(Kind, v), default=Kind.FIXED)
    check("category", lambda v: parse_enum(Category, v), default=Category.STATE)
    check("base", parse_bool, default=False)
    check("status", lambda v: parse_enum(Status, v), required=True)
    check("services", parse_services, default=frozenset())
    check("lat", lambda v: parse_coordinate(v, -90, 90), required=True)
    check("lon", lambda v: parse_coordinate(v, -180, 180), required=True)
    for text_field in ("address", "settlement", "region", "hours"):
        check(text_field, lambda v: clean_text(v, MAX_TEXT), default="")
    check("note", lambda v: clean_text(v, MAX_NOTE), default="")
    check("phone", phone, default="")
    check("capacity", parse_count)
    check("occupancy", parse_count)
    check("open_24_7", parse_bool, default=False)
    check("updated_at", parse_time, default=now)
    check("verified_at", parse_time, default=values.get("updated_at", now))
    check("version", lambda v: max(1, int(parse_count(v) or 1)), default=1)
    check("archived", parse_bool, default=False)

    for moment in ("updated_at", "verified_at"):
        if moment in values and values[moment] > now + timedelta(minutes=5):
            problems.append(Problem(moment, "is in the future"))
    if problems:
        raise ValidationError(problems)
    return Point(**values)


def fold(text: str) -> str:
    """Text for tolerant matching: case-folded, with the many apostrophes of Ukrainian as one."""
    return text.casefold().translate(APOSTROPHES)


APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "`": "'", "´": "'", "‘": "'"})


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
        if self.statuses and point.status not in self.statuses:
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
