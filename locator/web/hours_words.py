"""Opening hours in the reader's words (issue 17): the plain preview of an opening_hours value
("Пн–Пт 09:00–18:00" / "Mon–Fri 09:00–18:00") and the "open now" line of a point ("closed by
schedule, opens at 09:00"). Pages use these; map.js gets the same words (for_script) and
static/js/hours.js builds the same line from them.
"""

from __future__ import annotations

from datetime import datetime

from babel.dates import get_day_names, get_month_names
from flask import Flask
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from locator.domain.hours import DAYS, KYIV, MONTHS, OpenNow, describe, open_now
from locator.domain.point import Point

# opening_hours' words (domain/hours.describe's tokens) as the reader reads them; day and month
# names come from the locale's own data (CLDR, through Babel), the rest from the catalogue.
TOKENS = {
    "off": _l("зачинено"),
    "closed": _l("зачинено"),
    "open": _l("відчинено"),
    "unknown": _l("невідомо"),
    "PH": _l("святкові дні"),
    "SH": _l("шкільні канікули"),
    "sunrise": _l("схід сонця"),
    "sunset": _l("захід сонця"),
    "dawn": _l("світанок"),
    "dusk": _l("сутінки"),
}
# "opens <day> at 09:00": the day as the sentence needs it, Monday first (datetime.weekday())
OPENS_ON = (
    _l("у понеділок"),
    _l("у вівторок"),
    _l("у середу"),
    _l("у четвер"),
    _l("у пʼятницю"),
    _l("у суботу"),
    _l("у неділю"),
)
# {time} and {day} are filled in by line() here and by static/js/hours.js
TEXT = {
    "hours_not_given": _l("Графік не вказано"),
    "always": _l("Цілодобово (24/7)"),
    "open_until": _l("Відчинено за графіком до {time}"),
    "open_until_day": _l("Відчинено за графіком, зачиниться {day} о {time}"),
    "open": _l("Відчинено за графіком"),
    "closed_opens": _l("Зачинено за графіком, відчиниться о {time}"),
    "closed_opens_day": _l("Зачинено за графіком, відчиниться {day} о {time}"),
    "closed": _l("Зачинено за графіком"),
    "hours": _l("Графік"),
}


def words() -> dict[str, str]:
    """Every token describe() replaces, in the reader's language: "Mo" -> "Пн" / "Mon"."""
    locale = get_locale()
    days = get_day_names("abbreviated", locale=locale)
    months = get_month_names("abbreviated", locale=locale, context="stand-alone")
    found = {token: days[i][:1].upper() + days[i][1:] for i, token in enumerate(DAYS)}
    found |= {token: months[i + 1].rstrip(".") for i, token in enumerate(MONTHS)}
    return found | {token: str(word) for token, word in TOKENS.items()}


def preview(opening_hours: str) -> str:
    """The value in the reader's words ("" for none)."""
    if opening_hours.strip() == "24/7":
        return "24/7"
    return describe(opening_hours, words())


def line(point: Point, now: datetime) -> str:
    """The point's "open now" line by its hours: "hours not given", "24/7", "closed by schedule,
    opens at 09:00" / "opens on Monday at 09:00"; "" when its status already says closed."""
    return sentence(open_now(point, now), point.opening_hours, now)


def sentence(found: OpenNow, opening_hours: str, now: datetime) -> str:
    if found.state == "closed_by_status":
        return ""
    if found.state == "open_unknown":
        return str(TEXT["hours_not_given"])
    if opening_hours.strip() == "24/7":
        return str(TEXT["always"])
    if found.next_change is None:
        return str(TEXT["open" if found.open_now else "closed"])
    change = found.next_change.astimezone(KYIV)
    today = change.date() == now.astimezone(KYIV).date()
    key = ("open_until" if found.open_now else "closed_opens") + ("" if today else "_day")
    day = str(OPENS_ON[change.weekday()])
    return str(TEXT[key]).replace("{time}", change.strftime("%H:%M")).replace("{day}", day)


def for_script() -> dict:
    """The words static/js/hours.js needs, in the reader's language."""
    return {
        "tokens": words(),
        "opens_on": [str(day) for day in OPENS_ON],
        "text": {key: str(text) for key, text in TEXT.items()},
    }


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(hours_preview=preview, hours_line=line)
