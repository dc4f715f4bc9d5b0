"""Everything that enters the app becomes a valid Point here, or a ValidationError naming each field.

The parsers of single values live in domain/parsers.py and the table of what a Point is read
from in domain/fields.py; both are importable from here too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from locator.domain.fields import NOW_DEFAULT, POINT_INPUT, UPDATED_AT_DEFAULT
from locator.domain.parsers import (
    CONTROL_CHARACTERS,
    ID_PATTERN,
    MAX_COUNT,
    MAX_ID,
    MAX_NOTE,
    MAX_TEXT,
    PHONE_PATTERN,
    Invalid,
    clean_text,
    parse_bool,
    parse_coordinate,
    parse_count,
    parse_enum,
    parse_services,
    parse_stops,
    parse_time,
)
from locator.domain.point import EDITABLE_FIELDS, OPERATOR_STATUSES, Kind, Point, Status, utcnow

__all__ = [
    "CONTROL_CHARACTERS",
    "ID_PATTERN",
    "Invalid",
    "MAX_COUNT",
    "MAX_ID",
    "MAX_NOTE",
    "MAX_TEXT",
    "PHONE_PATTERN",
    "POINT_INPUT",
    "Problem",
    "ValidationError",
    "clean_text",
    "merged_record",
    "parse_bool",
    "parse_coordinate",
    "parse_count",
    "parse_enum",
    "parse_point",
    "parse_services",
    "parse_stops",
    "parse_time",
]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one field of one input. The message is English; template and params
    (when known) let a page say it in its reader's language (web/messages.py)."""

    field: str
    message: str
    template: str | None = field(default=None, compare=False)
    params: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def of(cls, field_name: str, template: str, **params: Any) -> Problem:
        """The problem from an English template ("longer than {limit} characters") and its values."""
        return cls(field_name, template.format(**params), template, params)

    @classmethod
    def from_error(cls, field_name: str, error: ValueError) -> Problem:
        """The problem a parser's ValueError describes (an Invalid keeps its template)."""
        if isinstance(error, Invalid):
            return cls(field_name, str(error), error.template, error.params)
        return cls(field_name, str(error))

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ValidationError(ValueError):
    """Input that cannot become a Point; carries every problem found, not just the first."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


def merged_record(old: Point, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The point's record with the editable fields among the changes put in (others ignored)."""
    return old.to_record() | {key: changes[key] for key in changes if key in EDITABLE_FIELDS}


def parse_point(data: Mapping[str, Any], *, now: datetime | None = None) -> Point:
    """Validate one input record and build a Point, reporting every problem at once."""
    now = now or utcnow()
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    if data.get("operator_status"):  # our own exports: "status" there is what citizens saw
        data = {**data, "status": data["operator_status"]}
    for name, parse, required, default in POINT_INPUT:  # from the declaration (fields.py)
        raw = data.get(name)
        if (
            raw is None
            or (isinstance(raw, str) and (not raw or raw.isspace()))  # blank, without a copy
            or (isinstance(raw, float) and math.isnan(raw))
        ):
            if required:
                problems.append(Problem.of(name, "is required"))
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
            problems.append(Problem.from_error(name, error))
    if values.get("status") is Status.UNCONFIRMED:
        problems.append(
            Problem.of(
                "status",
                "'unconfirmed' comes from citizens' reports; an operator sets one of: {statuses}",
                statuses=", ".join(OPERATOR_STATUSES),
            )
        )
    if values.get("stops") and values.get("kind", Kind.FIXED) is not Kind.MOBILE:
        problems.append(Problem.of("stops", "only a mobile point has a schedule of stops"))

    beds, beds_free = values.get("beds"), values.get("beds_free")
    if beds_free is not None and (beds is None or beds_free > beds):
        problems.append(Problem.of("beds_free", "is more than the beds ({beds})", beds=beds or 0))
    for moment in ("updated_at", "verified_at", "moved_at"):
        if values.get(moment) is not None and values[moment] > now + timedelta(minutes=5):
            problems.append(Problem.of(moment, "is in the future"))
    if problems:
        raise ValidationError(problems)
    return Point(**values)
