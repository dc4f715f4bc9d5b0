"""A business's proposal to join the network (issue 20): one contact, one or more points.

Pure: it reads the form's fields by the names it knows (any other field is ignored, so a forged
"category" or "status" changes nothing) and gives back a Proposal or every problem at once. Each
point is checked as a Point would be (domain/validation.parse_point: control characters, lengths,
hours in opening_hours syntax); where it stands is the territory's job (services/proposals.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from locator.domain.parsers import MAX_TEXT, Invalid, clean_text, parse_phone
from locator.domain.validation import Problem, ValidationError, parse_point
from locator.domain.values import BusinessType, Category, Status

BUSINESS_TYPES = tuple(kind.value for kind in BusinessType if kind.value)  # the point field's values
MAX_POINTS = 5  # one proposal; a chain with more sends more, each reviewed on its own
MAX_CONTACT = 100
MAX_EMAIL = 254
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s.]{2,}$")
POINT_FIELD = re.compile(r"^point-([0-9]{1,3})-[a-z_]+$")
# What each point's form fields are called: point-0-name, point-0-lat, ... (the form's order)
POINT_INPUTS = ("name", "business_type", "address", "lat", "lon", "opening_hours", "services")
CHECK_ID = "proposed"  # a proposal's point has no id until it is approved


@dataclass(frozen=True)
class ProposedPoint:
    name: str
    business_type: str
    address: str
    lat: float
    lon: float
    opening_hours: str
    services: tuple[str, ...]

    def record(self, point_id: str = CHECK_ID) -> dict[str, Any]:
        """The point this proposes, as a write's record: a business point, open, not yet verified."""
        return {
            "id": point_id,
            "name": self.name,
            "category": Category.BUSINESS.value,
            "status": Status.OPEN.value,
            "services": list(self.services),
            "lat": self.lat,
            "lon": self.lon,
            "address": self.address,
            "opening_hours": self.opening_hours,
            "business_type": self.business_type,
        }


@dataclass(frozen=True)
class Proposal:
    contact: str
    phone: str
    email: str
    points: tuple[ProposedPoint, ...]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Proposal:
        points = tuple(ProposedPoint(**{**p, "services": tuple(p["services"])}) for p in data["points"])
        return cls(data["contact"], data["phone"], data["email"], points)


def point_count(form: Mapping[str, Any]) -> int:
    """How many points the form carries: one more than the highest point-N- field's N."""
    numbers = [int(m[1]) for key in form if (m := POINT_FIELD.match(key))]
    return max(numbers, default=0) + 1


def parse_proposal(form: Any) -> Proposal:
    """The proposal a /join form describes, or ValidationError naming each field that is wrong
    (point-N-FIELD for a point's). form is a MultiDict (services repeat) or a plain mapping."""
    problems: list[Problem] = []

    def text(name: str, limit: int, required: bool = True) -> str:
        try:
            value = clean_text(form.get(name), limit)
        except Invalid as error:
            problems.append(Problem.from_error(name, error))
            return ""
        if required and not value:
            problems.append(Problem.of(name, "is required"))
        return value

    contact = text("contact", MAX_CONTACT)
    phone = ""
    try:
        phone = parse_phone(form.get("phone"))
    except ValueError as error:
        problems.append(Problem.from_error("phone", error))
    if not phone and not any(p.field == "phone" for p in problems):
        problems.append(Problem.of("phone", "is required"))
    email = text("email", MAX_EMAIL, required=False)
    if email and not EMAIL.match(email):
        problems.append(Problem.of("email", "is not an e-mail address"))
    count = point_count(form)
    if count > MAX_POINTS:
        raise ValidationError([Problem.of("points", "at most {limit} points at once", limit=MAX_POINTS)])
    points = []
    for index in range(count):
        point = _point(form, index, problems)
        if point is not None:
            points.append(point)
    if problems:
        raise ValidationError(problems)
    return Proposal(contact, phone, email, tuple(points))


def _point(form: Any, index: int, problems: list[Problem]) -> ProposedPoint | None:
    prefix = f"point-{index}-"
    services = (
        form.getlist(prefix + "services") if hasattr(form, "getlist") else form.get(prefix + "services")
    )
    kind = form.get(prefix + "business_type", "")
    found = []
    if kind not in BUSINESS_TYPES:
        found.append(Problem.of(prefix + "business_type", "one of: {types}", types=", ".join(BUSINESS_TYPES)))
    record = {
        "id": CHECK_ID,
        "name": form.get(prefix + "name"),
        "category": Category.BUSINESS.value,
        "status": Status.OPEN.value,
        "services": services or [],
        "lat": form.get(prefix + "lat"),
        "lon": form.get(prefix + "lon"),
        "address": form.get(prefix + "address"),
        "opening_hours": form.get(prefix + "opening_hours"),
    }
    try:
        address = clean_text(record["address"], MAX_TEXT)
        if not address:
            found.append(Problem.of(prefix + "address", "is required"))
    except Invalid as error:
        found.append(Problem.from_error(prefix + "address", error))
    try:
        parsed = parse_point(record)
    except ValidationError as error:
        found += [Problem(prefix + p.field, p.message, p.template, p.params) for p in error.problems]
        parsed = None
    problems.extend(found)
    if found or parsed is None:
        return None
    return ProposedPoint(
        parsed.name,
        kind,
        parsed.address,
        parsed.lat,
        parsed.lon,
        parsed.opening_hours,
        tuple(sorted(parsed.services)),
    )
