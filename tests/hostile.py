"""Hostile values by class, for any field the app declares, and the checks every door's answer
must pass (issue 16, part 5: "no input gets a 500").

The fields come from the declarations, never from a hand list: the Point's from
domain/fields.py (POINT_DECLARATION: each Field with a parser is input), a stop's from the Stop
dataclass, a report's from the Report dataclass. A field's kind (text, number, time, ...) is read
from its type, so a new field is fuzzed by every test that uses this module, and a field of a
type this module does not know fails ``kind_of`` until it is taught.

Each Case says what a door must do with the value: REFUSE (a 4xx naming the field, nothing
written) or EITHER (the value may be taken, say a number where text is expected, but never a 500,
and what is stored stays clean). A Case's ``level`` says who refuses it: the field's own parser,
the JSON body reader ("body": nesting, lone surrogates, NaN), or the route's body limit ("size").
"""

from __future__ import annotations

import json
import re
import typing
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from locator.domain.fields import POINT_DECLARATION
from locator.domain.point import Point, format_time, utcnow
from locator.domain.reports import Report
from locator.domain.values import MAX_STOPS, SERVICES, Stop

REFUSE, EITHER = "refuse", "either"
DEEP = 1_100  # levels of JSON nesting: Python's json raises RecursionError past ~1,000
HUGE = 200_000  # characters: under the write routes' body limit (256 KB), far over any field's
TOO_BIG = 1_000_000  # characters: over every body limit but the import's (413)
# C0, DEL, C1 (some), the line and paragraph separators, bidi embeddings, overrides and isolates.
CONTROLS = (
    *map(chr, range(0x20)),
    *"\x7f\x85\x9f\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
)
# What every door gets (each door hands its fields to the same parsers, which get all of CONTROLS
# in tests/test_hostile_fields_import.py: parse_point is the import's own validation).
DOOR_CONTROLS = tuple("\x00\x08\t\n\r\x1b\x1f\x7f\x85\u2028\u202e\u2066")
FORM_CONTROLS = tuple("\x00\r\x1f\x7f\x85\u2028\u202e")
FREE_TEXT_ALLOWS = ("\t", "\n")  # free text may hold tabs and line breaks
# Not control characters to the parsers (Unicode Zl, Zp, Cf): text may hold them, and every page
# shows them as text (tests/test_hostile_browser.py stores a right-to-left override on purpose).
FORMAT_CHARACTERS = tuple("\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
JSON_WHITESPACE = ("\t", "\n", "\r")
MULTILINE = ("text", "stops")  # kinds a CRLF may be inside of: text (a newline), JSON (whitespace)
NOT_NUMBERS = ("time", "enum", "set", "stops")  # kinds no number may stand for
NOT_FRACTIONS = (*NOT_NUMBERS, "bool", "count")
# Never in anything stored: control characters but tab and newline, and lone surrogates.
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
OUT_OF_RANGE = (
    "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:00:00-23:59",
    "10000-01-01T00:00:00Z",
    "+275760-09-13T00:00:00Z",
    "-000001-01-01T00:00:00Z",
    "1999-12-31T23:59:59Z",
    "2100-01-01T00:00:00Z",
    "2026-02-30T10:00:00Z",
    "2026-01-01T24:00:01Z",
    "2026-01-01T10:00:00+24:00",
    "9999-12-31",
    "0001-01-01T00:00",
    "now",
)
# Invalid UTF-8, as a form or a file carries it (werkzeug reads a form's as U+FFFD).
BAD_UTF8 = (b"\xed\xa0\x80", b"\xff\xfe", b"\xc0\xaf", b"\x80")


@dataclass(frozen=True)
class Raw:
    """JSON text put in a value's place as it is: what json.dumps cannot write."""

    text: str


@dataclass(frozen=True)
class Case:
    label: str
    value: Any  # a JSON value, a Raw, or (forms, files) bytes
    verdict: str  # REFUSE or EITHER
    level: str = "field"  # "field", "body" (the JSON reader) or "size" (the body limit)


def kind_of(annotation: Any) -> str:
    """text, bool, number, count, enum, time, set or stops: which hostile values a type gets."""
    args = typing.get_args(annotation)
    if annotation is str:
        return "text"
    if annotation is bool:
        return "bool"
    if annotation is float:
        return "number"
    if isinstance(annotation, type) and issubclass(annotation, StrEnum):
        return "enum"
    if datetime in (annotation, *args):
        return "time"
    if int in (annotation, *args):
        return "count"
    if typing.get_origin(annotation) is frozenset:
        return "set"
    if typing.get_origin(annotation) is tuple and Stop in args:
        return "stops"
    raise AssertionError(f"tests/hostile.py has no hostile values for {annotation!r}: add its kind")


# What input can carry, from the declarations.
POINT_KINDS = {f.name: kind_of(f.annotation) for f in POINT_DECLARATION if f.parse is not None}
STOP_KINDS = {name: kind_of(t) for name, t in typing.get_type_hints(Stop).items()}
REPORT_TYPES = {name: t for name, t in typing.get_type_hints(Report).items() if name != "point_id"}
REPORT_KINDS = {name: kind_of(t) for name, t in REPORT_TYPES.items()}
TIME_FIELDS = sorted(name for name, kind in POINT_KINDS.items() if kind == "time")
STOP_TIME_FIELDS = sorted(name for name, kind in STOP_KINDS.items() if kind == "time")


def valid_stop(hours_from_now: int = 24) -> dict[str, Any]:
    starts = utcnow() + timedelta(hours=hours_from_now)
    return {
        "place": "Площа Ринок",
        "lat": 50.45,
        "lon": 30.52,
        "starts_at": format_time(starts),
        "ends_at": format_time(starts + timedelta(hours=2)),
    }


def sample(kind: str, annotation: Any = None) -> Any:
    """A valid-looking value of the kind: the carrier of a control character."""
    if kind == "enum":  # (a member that is a word: BusinessType's first is "")
        return next(member.value for member in annotation if member.value)
    return {
        "text": "Пункт",
        "bool": "true",
        "number": "50.45",
        "count": "12",
        "time": "2026-01-15T10:00:00Z",
        "set": SERVICES[0],
        "stops": json.dumps([valid_stop()]),
        "enum": "",
    }[kind]


def json_cases(kind: str, annotation: Any = None, *, huge: int = HUGE) -> list[Case]:
    """Every class of hostile value a JSON body can carry in a field of this kind."""
    return [*text_cases(kind, annotation, huge=huge), *_json_only(kind)]


def control_cases(kind: str, annotation: Any = None, controls: tuple[str, ...] = DOOR_CONTROLS) -> list[Case]:
    """Each control character inside a value of the kind (a stop list's JSON text: between items)."""
    carrier = str(sample(kind, annotation))
    return [
        Case(
            f"U+{ord(c):04X} inside",
            carrier[:1] + c + carrier[1:],
            EITHER
            if (kind == "text" and c in FREE_TEXT_ALLOWS + FORMAT_CHARACTERS)
            or (kind == "stops" and c in JSON_WHITESPACE)
            else REFUSE,
        )
        for c in controls
    ]


def text_cases(
    kind: str, annotation: Any = None, *, huge: int = HUGE, controls: tuple[str, ...] = DOOR_CONTROLS
) -> list[Case]:
    """The hostile values that are text (what a form field or a CSV cell can carry)."""
    carrier = str(sample(kind, annotation))
    cases = control_cases(kind, annotation, controls)
    cases += [
        Case("NUL first", "\x00" + carrier, REFUSE),
        Case("bidi override first", "\u202e" + carrier, EITHER if kind == "text" else REFUSE),
        Case("whitespace-like controls at the ends", "\x1f" + carrier + "\x85", EITHER),
        Case("CRLF inside", carrier[:1] + "\r\n" + carrier[1:], EITHER if kind in MULTILINE else REFUSE),
        Case("deep array as text", "[" * DEEP + "]" * DEEP, REFUSE),
        Case("huge", "x" * huge, REFUSE),
        Case("blank", "", EITHER),
        Case("spaces", "   ", EITHER),
        Case("JSON words", "null", REFUSE if kind in ("number", "count", "time", "set", "stops") else EITHER),
        Case("an object as text", '{"a": 1}', EITHER if kind == "text" else REFUSE),
    ]
    if kind in ("number", "count"):
        refused = ("NaN", "nan", "Infinity", "-inf", "1e309", "0x10", "²")
        cases += [Case(f"{text!r}", text, REFUSE) for text in refused]
        cases += [Case(f"{text!r}", text, EITHER) for text in ("-0.0", "-0", "1e-320", " 12 ", "1_2", "١٢")]
        cases += [Case("5,000 digits", "9" * 5_000, REFUSE)]
    if kind == "time":
        cases += [Case(text, text, REFUSE) for text in OUT_OF_RANGE]
    if kind == "stops":
        lone = json.dumps([valid_stop()], ensure_ascii=False).replace("Площа Ринок", "\\ud800")
        cases += [
            Case("JSON text with a lone surrogate", lone, REFUSE),
            Case("JSON text with NaN", json.dumps([valid_stop() | {"lat": float("nan")}]), REFUSE),
            Case("JSON text nested deep", "[" * DEEP + "]" * DEEP, REFUSE),
        ]
    return cases


def _json_only(kind: str) -> list[Case]:
    collection = kind in ("set", "stops")
    cases = [
        Case("lone high surrogate", Raw('"\\ud800"'), REFUSE, "body"),
        Case("lone low surrogate", Raw('"a\\udfffb"'), REFUSE, "body"),
        Case("deep array", Raw("[" * DEEP + "]" * DEEP), REFUSE, "body"),
        Case("deep object", Raw('{"a":' * DEEP + "1" + "}" * DEEP), REFUSE, "body"),
        Case("NaN", Raw("NaN"), REFUSE, "body"),
        Case("Infinity", Raw("-Infinity"), REFUSE, "body"),
        Case("1e309", Raw("1e309"), REFUSE, "body"),
        Case("400 digits", Raw("1" + "0" * 400), REFUSE, "body"),
        Case("object", {"a": 1}, REFUSE),
        Case("empty object", {}, REFUSE),
        Case("empty list", [], EITHER if collection else REFUSE),
        Case("list of text", ["x"], REFUSE),
        Case("list of lists", [[]], REFUSE),
        Case("list of objects", [{}], REFUSE),
        Case("true", True, EITHER if kind == "bool" else REFUSE),
        Case("false", False, EITHER if kind == "bool" else REFUSE),
        Case("null", None, EITHER),
        Case("-0.0", -0.0, REFUSE if kind in NOT_NUMBERS else EITHER),
        Case("1.5", 1.5, REFUSE if kind in NOT_FRACTIONS else EITHER),
        Case("10**30", 10**30, REFUSE if kind in NOT_FRACTIONS else EITHER),
        Case("-1", -1, REFUSE if kind in NOT_FRACTIONS else EITHER),
    ]
    if kind == "stops":
        cases.append(Case("too many stops", [valid_stop()] * (MAX_STOPS + 1), REFUSE))
    return cases


def form_cases(kind: str, annotation: Any = None, *, huge: int = HUGE) -> list[Case]:
    """What a form field can carry: text, and bytes that are not UTF-8. (Fewer control characters
    than the API gets: a refused form is drawn again, which costs; the parsers are the same.)"""
    return [*text_cases(kind, annotation, huge=huge, controls=FORM_CONTROLS)] + [
        Case(f"invalid UTF-8 {raw!r}", raw, EITHER) for raw in BAD_UTF8[:2]
    ]


def loose_cases(*, huge: int = HUGE) -> list[Case]:
    """What a form field no declaration types (a version, an index, a flag) gets: odd whole
    numbers, control characters, size and bad encoding. The view may take any of them."""
    texts = ("²", "١", "9" * 5_000, "-1", "1.5", "", "\x00", "1\r\n", "\u202e1", "x" * huge)
    return [Case(repr(text)[:24], text, EITHER) for text in texts] + [
        Case(f"invalid UTF-8 {raw!r}", raw, EITHER) for raw in BAD_UTF8[:2]
    ]


def dumps(document: Any) -> str:
    """JSON text of the document, each Raw in it written as it is."""
    raws: dict[str, str] = {}

    def swap(value: Any) -> Any:
        if isinstance(value, Raw):
            key = f"@@raw{len(raws)}@@"
            raws[key] = value.text
            return key
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    text = json.dumps(swap(document), ensure_ascii=False)
    for key, raw in raws.items():
        text = text.replace(f'"{key}"', raw)
    return text


def assert_clean(point: Point) -> None:
    """Nothing stored in the point's text carries a control character or a lone surrogate."""
    texts = [value for value in vars(point).values() if isinstance(value, str)]
    texts += [stop.place for stop in point.stops]
    for text in texts:
        assert not FORBIDDEN.search(text), f"{point.id}: stored {text[:80]!r}"


# Who used which credential when: any request with a token or a login writes it, refused or not.
BOOKKEEPING = ("api_tokens", "login_failures")


def database_dump(store) -> dict[str, list]:
    """Every row of every table (but credentials' bookkeeping), and the change counter: what a
    refused input must not touch."""
    tables = [table for table in store.db.table_names() if table not in BOOKKEEPING]
    return {table: list(store.db[table].rows) for table in tables} | {"change_seq": [store.change_seq()]}


class Unchanged:
    """The database as it was at the last ``take()``: ``holds()`` says whether it still is.

    The judge is the full dump; a cheap mark (the change counter, and how many rows the store's
    connection has changed, rolled back or not: SQLite's total_changes) stands in for it while the
    mark holds, as no row is changed through that connection without moving it. The test client
    runs each request in this thread, so on this thread's connection."""

    def __init__(self, store):
        self.store = store
        self.take()

    def take(self) -> None:
        self.mark, self.dump = self._mark(), database_dump(self.store)

    def holds(self) -> bool:
        if self._mark() == self.mark:
            return True
        if database_dump(self.store) != self.dump:
            return False
        self.mark = self._mark()
        return True

    def _mark(self) -> tuple[int, int]:
        return self.store.change_seq(), self.store.db.conn.total_changes
