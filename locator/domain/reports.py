"""What a citizen may report about a point, and how a report is read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from locator.domain.point import SERVICE_BIT, SERVICES
from locator.domain.validation import Problem, ValidationError, clean_text, parse_enum


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
    raw_service = "" if data.get("service") is None else data["service"]
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
    # ({} or [] is refused, not taken as no comment)
    raw_comment = "" if data.get("comment") is None else data["comment"]
    try:
        if not isinstance(raw_comment, str):
            raise ValueError("expected text")
        comment = clean_text(raw_comment, MAX_COMMENT)
    except ValueError as error:
        problems.append(Problem("comment", str(error)))
    if problems:
        raise ValidationError(problems)
    return Report(point_id=point_id, kind=kind, service=service, comment=comment)
