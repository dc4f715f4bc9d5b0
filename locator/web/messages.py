"""Validation messages in the reader's language.

domain/, search/ and io/ say what is wrong in English (the CLI's and the API's words) and keep
the sentence's template and values (domain/parsers.Invalid, validation.Problem). A page renders a
problem through ``say``: the template's Ukrainian msgid here, its values put in, a value that is
itself a problem said the same way ("stop 2: {problem}"). A template missing here is shown in
English; tests/test_import_report.py holds this table to every template in the code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l

from locator.domain.validation import Invalid, Problem

# English template (the code's) -> the Ukrainian msgid; {name} becomes %(name)s.
MESSAGES = {
    # domain/parsers.py
    "expected an ISO 8601 date and time": _l("очікується дата й час у форматі ISO 8601"),
    "must be a moment between {earliest} and {latest}": _l(
        "має бути моментом між %(earliest)s і %(latest)s роками"
    ),
    "expected true or false": _l("очікується true або false"),
    "{value} is not one of: {allowed}": _l("%(value)s — не одне з: %(allowed)s"),
    "expected a list of services or a comma-separated string": _l(
        "очікується список послуг або назви через кому"
    ),
    "unknown service {shown}; known: {known}": _l("невідома послуга %(shown)s; відомі: %(known)s"),
    "expected a number": _l("очікується число"),
    "must be between {low} and {high}": _l("має бути від %(low)s до %(high)s"),
    "expected a whole number": _l("очікується ціле число"),
    # domain/proposals.py (/join)
    "is not an e-mail address": _l("це не адреса електронної пошти"),
    "at most {limit} points at once": _l("щонайбільше %(limit)s пунктів за раз"),
    "is more than the beds ({beds})": _l("більше, ніж ліжок (%(beds)s)"),
    # io/planner_files.py
    "expected a whole number of people": _l("очікується ціле число людей"),
    "must be a whole number between 0 and {high}": _l("має бути цілим числом від 0 до %(high)s"),
    "expected a whole number from 0 to {most}": _l("очікується ціле число від 0 до %(most)s"),
    "expected text": _l("очікується текст"),
    "longer than {limit} characters": _l("довше за %(limit)s символів"),
    "contains control characters": _l("містить керівні символи"),
    "expected a JSON list of stops": _l("очікується список зупинок у JSON"),
    "expected a list of stops": _l("очікується список зупинок"),
    "at most {most} stops": _l("щонайбільше %(most)s зупинок"),
    "stop {number}: expected an object with place, lat, lon, starts_at, ends_at": _l(
        "зупинка %(number)s: очікується об’єкт із place, lat, lon, starts_at, ends_at"
    ),
    "place is required": _l("place — обов’язкове поле"),
    "stop {number}: {problem}": _l("зупинка %(number)s: %(problem)s"),
    "stop {number}: ends_at must be after starts_at": _l(
        "зупинка %(number)s: ends_at має бути пізніше за starts_at"
    ),
    "stop {number}: longer than {days} days": _l("зупинка %(number)s: довша за %(days)s дн."),
    "use letters, digits and . _ : - only, starting with a letter or digit": _l(
        "лише латинські літери, цифри та . _ : -, на початку літера або цифра"
    ),
    "expected digits, spaces, + ( ) and - only": _l("лише цифри, пробіли, + ( ) і -"),
    # domain/validation.py
    "is required": _l("обов’язкове поле"),
    "'unconfirmed' comes from citizens' reports; an operator sets one of: {statuses}": _l(
        "«unconfirmed» ставлять повідомлення громадян; оператор задає один із: %(statuses)s"
    ),
    "only a mobile point has a schedule of stops": _l("розклад зупинок буває лише в мобільного пункту"),
    "is in the future": _l("у майбутньому"),
    # search/regions.py
    "lat {lat}, lon {lon} is outside the allowed area (lat {min_lat}..{max_lat},"
    " lon {min_lon}..{max_lon}; LOCATOR_BOUNDS)": _l(
        "lat %(lat)s, lon %(lon)s — поза дозволеною територією (lat %(min_lat)s..%(max_lat)s,"
        " lon %(min_lon)s..%(max_lon)s; LOCATOR_BOUNDS)"
    ),
    "unknown region {region}; one of: {known}": _l("невідома область %(region)s; одна з: %(known)s"),
    "lat {lat}, lon {lon} lies in {located}, not in {region}": _l(
        "lat %(lat)s, lon %(lon)s лежить у регіоні «%(located)s», а не «%(region)s»"
    ),
    # io/batch.py, io/files.py, io/sheet.py
    "{name} holds {count} features, more than the limit of {limit} (LOCATOR_IMPORT_MAX_FEATURES)": _l(
        "у %(name)s %(count)s записів, більше за межу %(limit)s (LOCATOR_IMPORT_MAX_FEATURES)"
    ),
    "expected a Point, got a {kind}": _l("очікується Point, а не %(kind)s"),
    "duplicate id, first used in row {number}": _l("повторений id, уперше — у рядку %(number)s"),
    "duplicate id, first used in feature {number}": _l("повторений id, уперше — в об’єкті №%(number)s"),
    "{name} is not a file": _l("%(name)s — не файл"),
    "{name} is {size} bytes, more than the limit of {limit} (LOCATOR_IMPORT_MAX_BYTES)": _l(
        "%(name)s має %(size)s байтів, більше за межу %(limit)s (LOCATOR_IMPORT_MAX_BYTES)"
    ),
    "cannot read {name}: {error}": _l("не вдається прочитати %(name)s: %(error)s"),
    "{name} is not UTF-8 text (it looks like UTF-16): save the file as UTF-8": _l(
        "%(name)s — не текст UTF-8 (схоже на UTF-16): збережіть файл як UTF-8"
    ),
    "text that is not UTF-8 (Windows-1251 or Latin-1?): save the file as UTF-8": _l(
        "текст не в UTF-8 (Windows-1251 чи Latin-1?): збережіть файл як UTF-8"
    ),
    "{name} holds text that is not UTF-8 (Windows-1251 or Latin-1?): save the file as UTF-8"
    " (byte 0x{byte} on line {line})": _l(
        "у %(name)s текст не в UTF-8 (Windows-1251 чи Latin-1?): збережіть файл як UTF-8"
        " (байт 0x%(byte)s у рядку тексту %(line)s)"
    ),
    "{cells} cells in this row, {columns} in the header": _l(
        "у цьому рядку %(cells)s клітинок, а в заголовку %(columns)s"
    ),
    "the file is empty": _l("файл порожній"),
    "the header names a column more than once: {names}": _l(
        "заголовок називає колонку більше ніж раз: %(names)s"
    ),
}
# What a problem's number counts (io/batch.py ROW, FEATURE), as a page's column heads it.
UNIT = {"row": _l("Рядок"), "feature": _l("Об’єкт №"), "file": _l("Файл")}


def say(problem: Problem | Invalid) -> str:
    """The problem's message in the page's language (English when its template is unknown)."""
    template = problem.template
    params: Mapping[str, Any] = problem.params
    msgid = MESSAGES.get(template) if template else None
    if msgid is None:
        return problem.message if isinstance(problem, Problem) else str(problem)
    values = {
        name: say(value) if isinstance(value, (Problem, Invalid)) else value for name, value in params.items()
    }
    return str(msgid) % values  # (the translation, placeholders kept, filled in here)
