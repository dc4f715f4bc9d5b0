"""The domain: parse_point validates every field once, reports every problem, and round-trips."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from helpers import FIXED_NOW, make_point, make_record
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from locator.domain.filters import PointFilter, fold, parse_filter
from locator.domain.point import (
    OPERATOR_STATUSES,
    SERVICES,
    STALE_AFTER,
    Category,
    Kind,
    Point,
    Status,
    format_time,
    services_mask,
    sorted_services,
)
from locator.domain.validation import MAX_ID, MAX_NOTE, MAX_TEXT, ValidationError, parse_point
from locator.io.memo import PerPoint


def problems_of(record: dict) -> dict[str, str]:
    """{field: message} for a record that must be rejected."""
    with pytest.raises(ValidationError) as caught:
        parse_point(record, now=FIXED_NOW)
    return {problem.field: problem.message for problem in caught.value.problems}


def test_a_valid_record_becomes_a_point_with_every_field():
    point = parse_point(
        make_record(
            "kyiv-1",
            kind="Mobile",
            category="BUSINESS",
            base="yes",
            status=" Full ",
            services="heat, power",
            capacity="120",
            occupancy=30,
            phone="+380 (44) 123-45-67",
            hours="08:00–20:00",
            open_24_7="false",
            note="Вхід з двору.\nЄ пандус.",
        ),
        now=FIXED_NOW,
    )
    assert point == Point(
        id="kyiv-1",
        name="Пункт kyiv-1",
        kind=Kind.MOBILE,
        category=Category.BUSINESS,
        base=True,
        status=Status.FULL,
        services=frozenset({"heat", "power"}),
        lat=50.4501,
        lon=30.5234,
        address="вул. Хрещатик, 1",
        settlement="Київ",
        region="Київ",
        capacity=120,
        occupancy=30,
        phone="+380 (44) 123-45-67",
        hours="08:00–20:00",
        open_24_7=False,
        note="Вхід з двору.\nЄ пандус.",
        updated_at=datetime(2025, 1, 15, 10, 0, tzinfo=UTC),
        verified_at=datetime(2025, 1, 15, 11, 0, tzinfo=UTC),
        version=1,
    )


def test_optional_fields_take_their_defaults():
    point = parse_point({"id": "a", "name": "A", "status": "open", "lat": 50, "lon": 30}, now=FIXED_NOW)
    assert (point.kind, point.category, point.base, point.open_24_7) == (
        Kind.FIXED,
        Category.STATE,
        False,
        False,
    )
    assert point.services == frozenset()
    assert (point.address, point.settlement, point.region, point.phone, point.hours, point.note) == ("",) * 6
    assert (point.capacity, point.occupancy, point.version) == (None, None, 1)
    assert point.updated_at == point.verified_at == FIXED_NOW


def test_verified_at_defaults_to_updated_at():
    point = parse_point(make_record(verified_at=None, updated_at="2025-01-14T09:30:00Z"), now=FIXED_NOW)
    assert point.verified_at == point.updated_at == datetime(2025, 1, 14, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize("field", ["id", "name", "status", "lat", "lon"])
@pytest.mark.parametrize("missing", [None, "", "   ", float("nan")], ids=["none", "empty", "blank", "nan"])
def test_required_field_missing_is_a_problem(field, missing):
    assert problems_of(make_record(**{field: missing})) == {field: "is required"}


@pytest.mark.parametrize("field", ["id", "name", "status", "lat", "lon"])
def test_required_field_absent_is_a_problem(field):
    record = make_record()
    del record[field]
    assert problems_of(record) == {field: "is required"}


@pytest.mark.parametrize(
    ("field", "value", "message_part"),
    [
        ("id", "-starts-with-dash", "letters, digits"),
        ("id", "has space", "letters, digits"),
        ("id", "slash/inside", "letters, digits"),
        ("id", "кирилиця", "letters, digits"),
        ("id", "x" * (MAX_ID + 1), f"longer than {MAX_ID}"),
        ("kind", "tent", "not one of: fixed, mobile"),
        ("category", "ngo", "not one of: state, business"),
        ("status", "bogus", "not one of: open, full, standby, closed"),
        ("status", "opened", "not one of"),
        ("base", "maybe", "true or false"),
        ("base", 2, "true or false"),
        ("open_24_7", "sometimes", "true or false"),
        ("services", "power,teleport", "unknown service 'teleport'"),
        ("services", ["heat", "Wifi"], "unknown service 'wifi'"),
        ("services", 42, "expected a list"),
        ("capacity", -1, "whole number"),
        ("capacity", 2.5, "whole number"),
        ("capacity", "many", "whole number"),
        ("capacity", True, "whole number"),
        ("capacity", 1_000_001, "whole number"),
        ("occupancy", "1e9", "whole number"),
        ("occupancy", "inf", "whole number"),
        pytest.param("occupancy", 10**400, "whole number", id="occupancy-10**400"),
        ("phone", "call me", "digits"),
        ("phone", "+380<script>", "digits"),
        ("updated_at", "yesterday", "ISO 8601"),
        ("verified_at", 1700000000, "ISO 8601"),
        ("version", -3, "whole number"),
    ],
)
def test_invalid_value_is_a_problem_of_that_field(field, value, message_part):
    problems = problems_of(make_record(**{field: value}))
    assert list(problems) == [field]
    assert message_part.lower() in problems[field].lower()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("lat", 90.0001),
        ("lat", -90.5),
        ("lat", 91),
        ("lon", 180.01),
        ("lon", -181),
        ("lat", float("inf")),
        ("lon", float("-inf")),
        ("lat", "inf"),
        ("lat", "nan"),
        ("lon", "1e400"),
    ],
)
def test_coordinate_out_of_range_or_not_finite_is_a_problem(field, value):
    problems = problems_of(make_record(**{field: value}))
    assert list(problems) == [field]
    assert "between" in problems[field]


@pytest.mark.parametrize("field", ["lat", "lon"])
def test_an_integer_too_large_for_a_float_is_a_problem_not_a_crash(field):
    assert list(problems_of(make_record(**{field: 10**400}))) == [field]


@pytest.mark.parametrize("field", ["lat", "lon"])
@pytest.mark.parametrize("value", ["abc", "50,45", [50], {"x": 1}, True, False], ids=repr)
def test_coordinate_that_is_not_a_number_is_a_problem(field, value):
    assert problems_of(make_record(**{field: value})) == {field: "expected a number"}


@pytest.mark.parametrize(
    ("lat", "lon"), [(90, 180), (-90, -180), (0, 0), ("50.5", " 30.25 "), (1e-300, -1e-300)]
)
def test_coordinates_at_the_limits_and_as_text_are_accepted(lat, lon):
    point = parse_point(make_record(lat=lat, lon=lon), now=FIXED_NOW)
    assert (point.lat, point.lon) == (float(lat), float(lon))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        ("0", 0),
        ("120", 120),
        (120.0, 120),
        ("120.0", 120),
        (1_000_000, 1_000_000),
        ("", None),
        (None, None),
    ],
)
def test_counts_accept_whole_numbers_and_empty(value, expected):
    point = parse_point(make_record(capacity=value, occupancy=value), now=FIXED_NOW)
    assert point.capacity == point.occupancy == expected


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("name", MAX_TEXT),
        ("address", MAX_TEXT),
        ("settlement", MAX_TEXT),
        ("region", MAX_TEXT),
        ("hours", MAX_TEXT),
        ("note", MAX_NOTE),
    ],
)
def test_text_longer_than_its_limit_is_a_problem(field, limit):
    assert parse_point(make_record(**{field: "ї" * limit}), now=FIXED_NOW) is not None
    problems = problems_of(make_record(**{field: "ї" * (limit + 1)}))
    assert problems == {field: f"longer than {limit} characters"}


def test_text_is_stripped_and_never_interpreted():
    point = parse_point(make_record(name="  <b>Школа</b> & «Ліцей»  "), now=FIXED_NOW)
    assert point.name == "<b>Школа</b> & «Ліцей»"


@pytest.mark.parametrize("field", ["name", "address", "settlement", "region", "hours", "note"])
@pytest.mark.parametrize(
    "control", ["\x00", "\x07", "\x1b", "\r", "\x7f", "\x85", "\x9b"], ids=lambda c: f"U+{ord(c):04X}"
)
def test_control_characters_in_text_are_a_problem(field, control):
    assert problems_of(make_record(**{field: f"Школа{control}№1"})) == {field: "contains control characters"}


def test_tab_and_newline_are_allowed_in_text():
    point = parse_point(make_record(note="перший рядок\n\tдругий"), now=FIXED_NOW)
    assert point.note == "перший рядок\n\tдругий"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01-15T10:00:00Z", datetime(2025, 1, 15, 10, 0, tzinfo=UTC)),
        ("2025-01-15T10:00:00z", datetime(2025, 1, 15, 10, 0, tzinfo=UTC)),
        ("2025-01-15T10:00:00", datetime(2025, 1, 15, 10, 0, tzinfo=UTC)),  # no zone: UTC
        ("2025-01-15T12:00:00+02:00", datetime(2025, 1, 15, 10, 0, tzinfo=UTC)),
        ("2025-01-15T05:00:00-05:00", datetime(2025, 1, 15, 10, 0, tzinfo=UTC)),
        ("2025-01-15 10:00:00.987654+00:00", datetime(2025, 1, 15, 10, 0, tzinfo=UTC)),  # whole seconds
        ("2025-01-15", datetime(2025, 1, 15, 0, 0, tzinfo=UTC)),
        (datetime(2025, 1, 15, 10, 0), datetime(2025, 1, 15, 10, 0, tzinfo=UTC)),
    ],
)
def test_times_with_and_without_zone_become_utc(text, expected):
    point = parse_point(make_record(updated_at=text, verified_at=text), now=FIXED_NOW)
    assert point.updated_at == point.verified_at == expected
    assert point.verified_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize("field", ["updated_at", "verified_at"])
def test_times_in_the_future_are_a_problem_beyond_five_minutes_of_skew(field):
    allowed = FIXED_NOW + timedelta(minutes=5)
    assert getattr(parse_point(make_record(**{field: allowed.isoformat()}), now=FIXED_NOW), field) == allowed
    too_late = allowed + timedelta(seconds=1)
    assert problems_of(make_record(**{field: too_late.isoformat()})) == {field: "is in the future"}


def test_every_problem_is_reported_at_once():
    record = {
        "id": "bad id",
        "name": "",
        "kind": "tent",
        "category": "ngo",
        "base": "maybe",
        "status": "bogus",
        "services": "power,teleport",
        "lat": 123,
        "lon": "east",
        "capacity": -5,
        "phone": "call me",
        "note": "x" * (MAX_NOTE + 1),
        "updated_at": "2099-01-01T00:00:00Z",
        "verified_at": "2025-01-01T00:00:00Z",
    }
    problems = problems_of(record)
    assert set(problems) == {
        "id",
        "name",
        "kind",
        "category",
        "base",
        "status",
        "services",
        "lat",
        "lon",
        "capacity",
        "phone",
        "note",
        "updated_at",
    }
    with pytest.raises(ValidationError) as caught:
        parse_point(record, now=FIXED_NOW)
    assert "id:" in str(caught.value) and "updated_at: is in the future" in str(caught.value)


@pytest.mark.parametrize(
    ("age", "stale"),
    [
        (timedelta(0), False),
        (STALE_AFTER - timedelta(seconds=1), False),
        (STALE_AFTER, False),
        (STALE_AFTER + timedelta(seconds=1), True),
        (timedelta(days=3), True),
    ],
)
def test_status_is_stale_only_after_stale_after(age, stale):
    point = make_point(verified_at=(FIXED_NOW - age).isoformat(), updated_at=None)
    assert point.is_stale(FIXED_NOW) is stale
    assert point.status_age(FIXED_NOW) == age


def test_stale_after_can_be_configured_and_age_is_never_negative():
    point = make_point(verified_at=(FIXED_NOW - timedelta(hours=2)).isoformat(), updated_at=None)
    assert point.is_stale(FIXED_NOW, timedelta(hours=1)) is True
    assert point.is_stale(FIXED_NOW, timedelta(hours=3)) is False
    assert point.status_age(FIXED_NOW - timedelta(hours=5)) == timedelta(0)


def test_services_travel_in_canonical_order_and_as_a_bit_mask():
    point = make_point(services="sleeping,power,water")
    assert point.to_record()["services"] == ["power", "water", "sleeping"]
    assert sorted_services(["sleeping", "power", "water"]) == ["power", "water", "sleeping"]
    assert point.services_mask == (1 << 0) | (1 << 4) | (1 << 12)
    assert [name for i, name in enumerate(SERVICES) if services_mask(SERVICES) >> i & 1] == list(SERVICES)


# -- parse_filter ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "param"),
    [
        ({"status": "bogus"}, "status"),
        ({"status": "open,bogus"}, "status"),
        ({"kind": "tent"}, "kind"),
        ({"category": "ngo"}, "category"),
        ({"base": "maybe"}, "base"),
        ({"services": "power,teleport"}, "services"),
        ({"region": "x" * (MAX_TEXT + 1)}, "region"),
        ({"q": "a\x00b"}, "q"),
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "1,2,3,4,5"}, "bbox"),
        ({"bbox": "a,b,c,d"}, "bbox"),
        ({"bbox": "30,50,29,51"}, "bbox"),
        ({"bbox": "30,51,31,50"}, "bbox"),
        ({"bbox": "30,-91,31,50"}, "bbox"),
        ({"bbox": "-181,50,31,51"}, "bbox"),
        ({"bbox": "30,50,nan,51"}, "bbox"),
    ],
)
def test_filter_problems_name_the_parameter(args, param):
    with pytest.raises(ValidationError) as caught:
        parse_filter(args)
    assert [problem.field for problem in caught.value.problems] == [param]


def test_filter_reports_every_bad_parameter():
    with pytest.raises(ValidationError) as caught:
        parse_filter({"status": "x", "kind": "y", "base": "z", "bbox": "1"})
    assert [problem.field for problem in caught.value.problems] == ["status", "kind", "base", "bbox"]


def test_filter_parses_every_parameter():
    wanted = parse_filter(
        {
            "status": "open, FULL",
            "kind": "mobile",
            "category": "state,business",
            "base": "true",
            "services": "heat,power",
            "region": " Київська область ",
            "q": "Школа",
            "bbox": "30.2,50.3,30.8,50.6",
        }
    )
    assert wanted == PointFilter(
        statuses=frozenset({Status.OPEN, Status.FULL}),
        kinds=frozenset({Kind.MOBILE}),
        categories=frozenset({Category.STATE, Category.BUSINESS}),
        base=True,
        services=frozenset({"heat", "power"}),
        region="Київська область",
        q="Школа",
        bbox=(30.2, 50.3, 30.8, 50.6),
    )


def test_filter_default_statuses_apply_only_when_status_is_absent():
    assert parse_filter({}, default_statuses=[Status.OPEN]).statuses == {Status.OPEN}
    assert parse_filter({"status": " "}, default_statuses=[Status.OPEN]).statuses == {Status.OPEN}
    assert parse_filter({"status": "closed"}, default_statuses=[Status.OPEN]).statuses == {Status.CLOSED}
    assert parse_filter({}) == PointFilter()


@pytest.mark.parametrize(
    ("wanted", "matches"),
    [
        (PointFilter(), True),
        (PointFilter(region="КИЇВСЬКА ОБЛАСТЬ"), True),
        (PointFilter(region="Київська"), False),  # region is equality, not substring
        (PointFilter(q="кам'янець"), True),  # ' matches ’
        (PointFilter(q="КАМʼЯНЕЦЬ"), True),  # ʼ matches ’
        (PointFilter(q="шевченка"), True),  # address
        (PointFilter(q="зоряна"), False),
        (PointFilter(services=frozenset({"power"})), True),
        (PointFilter(services=frozenset({"power", "water"})), False),  # all of, not any of
        (PointFilter(bbox=(26.5, 48.6, 26.6, 48.7)), True),
        (PointFilter(bbox=(26.5853, 48.6845, 26.5853, 48.6845)), True),  # edges are inside
        (PointFilter(bbox=(26.6, 48.6, 26.7, 48.7)), False),
        (PointFilter(base=False), True),
        (PointFilter(base=True), False),
        (PointFilter(statuses=frozenset({Status.CLOSED})), False),
        (PointFilter(kinds=frozenset({Kind.FIXED})), True),
        (PointFilter(categories=frozenset({Category.BUSINESS})), False),
    ],
)
def test_filter_meaning(wanted, matches):
    point = make_point(
        name="Ліцей «Кам’янець»",
        address="вул. Шевченка, 5",
        region="Київська область",
        services="power,heat",
        lat=48.6845,
        lon=26.5853,
    )
    assert wanted.matches(point) is matches


def test_fold_ignores_case_and_apostrophe_style():
    assert fold("Кам’янець") == fold("КАМ'ЯНЕЦЬ") == fold("камʼянець") == fold("Кам`янець") == "кам'янець"


# -- properties ------------------------------------------------------------------------------------

text = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=40).map(str.strip)
moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2025, 1, 15, 12, 0), timezones=st.just(UTC)
)
records = st.fixed_dictionaries(
    {
        "id": st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.:-]{0,20}\Z"),
        "name": text.filter(bool),
        "kind": st.sampled_from(Kind),
        "category": st.sampled_from(Category),
        "base": st.booleans(),
        "status": st.sampled_from(OPERATOR_STATUSES),
        "services": st.lists(st.sampled_from(SERVICES), unique=True),
        "lat": st.floats(-90, 90),
        "lon": st.floats(-180, 180),
        "address": text,
        "settlement": text,
        "region": text,
        "capacity": st.none() | st.integers(0, 1_000_000),
        "occupancy": st.none() | st.integers(0, 1_000_000),
        "phone": st.sampled_from(["", "+380 44 123 45 67", "(067) 000-00-00"]),
        "hours": text,
        "open_24_7": st.booleans(),
        "note": text,
        "updated_at": moments,
        "verified_at": moments,
        "version": st.integers(1, 10_000),
    }
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records)
def test_to_record_then_parse_point_gives_the_same_point(record):
    point = parse_point(record, now=FIXED_NOW)
    assert parse_point(point.to_record(), now=FIXED_NOW) == point


@settings(max_examples=150, deadline=None)
@given(records)
def test_a_parsed_point_keeps_its_values(record):
    point = parse_point(record, now=FIXED_NOW)
    assert (point.lat, point.lon) == (record["lat"], record["lon"])
    assert point.services == frozenset(record["services"])
    assert point.verified_at == record["verified_at"].replace(microsecond=0)
    assert math.isfinite(point.lat) and math.isfinite(point.lon)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["id", "name", "status", "lat", "lon", "kind", "services"]),
        st.none() | st.text(max_size=5) | st.floats() | st.integers() | st.booleans(),
    )
)
def test_parse_point_either_builds_a_point_or_raises_validation_error(record):
    try:
        point = parse_point(record, now=FIXED_NOW)
    except ValidationError as error:
        assert error.problems
        assert {problem.field for problem in error.problems} <= set(record) | {
            "id",
            "name",
            "status",
            "lat",
            "lon",
        }
    else:
        assert -90 <= point.lat <= 90 and -180 <= point.lon <= 180 and point.name


def test_format_time_is_iso_8601_utc_to_the_second_for_any_offset():
    rng = random.Random(5)
    for _ in range(2000):
        offset = timezone(timedelta(minutes=rng.randint(-12 * 60, 14 * 60)))
        moment = datetime(2000, 1, 1, tzinfo=offset) + timedelta(seconds=rng.uniform(0, 2e9))
        assert format_time(moment) == moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for _ in range(2000):  # UTC itself, as stored times are held (format_time's short path)
        moment = datetime(2000, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.uniform(0, 2e9))
        assert moment.tzinfo is UTC and moment.microsecond
        assert format_time(moment) == moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_per_point_values_are_made_once_per_point_object_and_bounded():
    made = []
    memo = PerPoint(limit=3)
    points = [make_point(f"p{i}") for i in range(5)]
    for _ in range(2):
        assert [memo.get(p, lambda p: made.append(p.id) or p.id.upper()) for p in points[:3]] == [
            "P0",
            "P1",
            "P2",
        ]
    assert made == ["p0", "p1", "p2"]  # the second round came from the memo
    changed = points[0].with_changes(name="Інша назва")  # equal id, a new object: made again
    assert memo.get(changed, lambda p: p.name) == "Інша назва"
    assert len(memo._kept) == 1  # past the limit it started over
