"""Which points a reader wants: the filter's one definition, and its parsing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from locator.domain.hours import is_open_now
from locator.domain.point import Category, Kind, Point, Status, utcnow
from locator.domain.validation import (
    MAX_TEXT,
    Problem,
    ValidationError,
    clean_text,
    parse_bool,
    parse_coordinate,
    parse_enum,
    parse_services,
)
from locator.domain.values import BusinessType


def fold(text: str) -> str:
    """Text for tolerant matching: case-folded, with the many apostrophes of Ukrainian as one."""
    text = text.casefold()
    for apostrophe in APOSTROPHES:  # replace, not translate: 3-8 times faster on Cyrillic (issue 5)
        if apostrophe in text:
            text = text.replace(apostrophe, "'")
    return text


APOSTROPHES = ("’", "ʼ", "`", "´", "‘")  # each folded to "'"
NO_BUSINESS_TYPE = "none"  # ?business_type=none,pharmacy: state points and pharmacies


@dataclass(frozen=True)
class PointFilter:
    """Which points a reader wants; empty means no restriction on that field."""

    statuses: frozenset[Status] = frozenset()
    kinds: frozenset[Kind] = frozenset()
    categories: frozenset[Category] = frozenset()
    base: bool | None = None
    business_types: frozenset[BusinessType] = frozenset()  # issue 20
    bed: bool = False  # "a bed tonight": a support point with beds_free > 0
    services: frozenset[str] = frozenset()
    region: str = ""
    q: str = ""
    bbox: tuple[float, float, float, float] | None = None  # min_lon, min_lat, max_lon, max_lat
    include_archived: bool = False  # only the console looks at archived points
    open_now: bool = False  # only points open now (domain/hours.py): the one part that needs a clock

    def matches(self, point: Point, now: datetime | None = None) -> bool:
        """The filter's meaning, stated once; the store's SQL and the index must agree with it.
        ``now`` (default: the clock) matters only for open_now."""
        if point.archived and not self.include_archived:
            return False
        if self.statuses and not point.has_status_in(self.statuses):
            return False
        if self.kinds and point.kind not in self.kinds:
            return False
        if self.categories and point.category not in self.categories:
            return False
        if self.base is not None and point.base != self.base:
            return False
        if self.business_types and point.business_type not in self.business_types:
            return False
        if self.bed and not (point.beds_free or 0) > 0:
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
        if self.open_now and not is_open_now(point, now or utcnow()):
            return False
        return True


def search_text(point: Point) -> str:
    """What the q= filter searches: name, address and settlement, folded."""
    return fold("\n".join((point.name, point.address, point.settlement)))


def parse_filter(args: Mapping[str, str], *, default_statuses: Iterable[Status] = ()) -> PointFilter:
    """Build a PointFilter from query parameters; a problem names the parameter."""
    problems: list[Problem] = []
    values: dict[str, Any] = {}

    def enum_set(
        param: str, enum: type[StrEnum], key: str, default: Iterable = (), aliases: Mapping[str, str] = {}
    ) -> None:
        raw = args.get(param)
        if raw is None or not raw.strip():
            values[key] = frozenset(default)
            return
        parts = (aliases.get(part.strip().lower(), part) for part in raw.split(",") if part.strip())
        try:
            values[key] = frozenset(parse_enum(enum, part) for part in parts)
        except ValueError as error:
            problems.append(Problem(param, str(error)))

    enum_set("status", Status, "statuses", default_statuses)
    enum_set("kind", Kind, "kinds")
    enum_set("category", Category, "categories")
    # "none": the points of no business type (state points), which a list cannot name otherwise
    enum_set("business_type", BusinessType, "business_types", aliases={NO_BUSINESS_TYPE: BusinessType.NONE})
    if args.get("bed", "").strip():
        try:
            values["bed"] = parse_bool(args["bed"])
        except ValueError as error:
            problems.append(Problem("bed", str(error)))
    if args.get("base", "").strip():
        try:
            values["base"] = parse_bool(args["base"])
        except ValueError as error:
            problems.append(Problem("base", str(error)))
    if args.get("open_now", "").strip():
        try:
            values["open_now"] = parse_bool(args["open_now"])
        except ValueError as error:
            problems.append(Problem("open_now", str(error)))
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
