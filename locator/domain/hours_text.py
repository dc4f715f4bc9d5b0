"""Free-text hours ("Пн–Пт 09:00–18:00", "цілодобово", "daily 8-20") read as OpenStreetMap
opening_hours, for `flask points migrate-hours` (issue 17). Only forms read without doubt are
turned into hours; anything else gives None, and the text stays where it is, as a note.
"""

from __future__ import annotations

import re

from locator.domain.hours import DAYS, parse_opening_hours

ALWAYS = (
    *("цілодобово", "цілодобово без вихідних", "щодня цілодобово", "24/7", "24/7/365", "24 години"),
    *("24 год", "always", "24 hours", "open 24 hours", "нон-стоп", "non-stop", "0-24", "00:00-24:00"),
)
DAY_NAMES = {
    **dict.fromkeys(("пн", "пон", "понеділок", "mo", "mon", "monday"), "Mo"),
    **dict.fromkeys(("вт", "вів", "вівторок", "tu", "tue", "tuesday"), "Tu"),
    **dict.fromkeys(("ср", "сер", "середа", "we", "wed", "wednesday"), "We"),
    **dict.fromkeys(("чт", "чет", "четвер", "th", "thu", "thursday"), "Th"),
    **dict.fromkeys(("пт", "птн", "п'ятниця", "fr", "fri", "friday"), "Fr"),
    **dict.fromkeys(("сб", "суб", "субота", "sa", "sat", "saturday"), "Sa"),
    **dict.fromkeys(("нд", "нед", "неділя", "su", "sun", "sunday"), "Su"),
}
EVERY_DAY = ("щодня", "щоденно", "daily", "every day", "без вихідних", "пн-нд", "mo-su")
DAY_OFF = ("вихідний", "вихідні", "вихідний день", "зачинено", "closed", "off", "day off")
_DAY = "|".join(sorted(map(re.escape, DAY_NAMES), key=len, reverse=True))
_DAYS = re.compile(rf"^(?P<first>{_DAY})\.?(?:\s*-\s*(?P<last>{_DAY})\.?)?$")
_TIME = r"(\d{1,2})(?::(\d{2}))?"
# Rules part at ";" or a line break, and at a comma before days and their times ("Пн-Пт 9-18,
# Сб 10-14"); a comma before a time continues the rule ("9-13, 14-18"), one in a day list too.
_RULES = re.compile(
    rf"[;\n]|,\s*(?=(?:{_DAY}|{'|'.join(EVERY_DAY)})\.?(?:\s*-\s*(?:{_DAY})\.?)?\s*:?\s*(?:\d|з|from|вихід|зачин|closed|off|цілодоб))"
)
_RANGE = rf"(?:{_DAY})\.?(?:\s*-\s*(?:{_DAY})\.?)?"  # "пн", "Пн.-Пт."
_LEADING_DAYS = re.compile(rf"^({_RANGE}(?:\s*,\s*(?:{_DAY})\.?)*)\s*:?\s*(.*)$")
_SPAN = re.compile(rf"^(?:з\s*|from\s*)?{_TIME}\s*(?:-|до|to)\s*{_TIME}$")


def read_hours(text: str, open_24_7: bool = False) -> str | None:
    """The opening_hours these free-text hours (and the 24/7 flag) say, or None when unsure."""
    said = _normal(text)
    if not said:
        return "24/7" if open_24_7 else None
    if said in ALWAYS:
        return "24/7"
    if open_24_7:
        return None  # text and flag disagree: a person decides
    rules = []
    for part in _RULES.split(said):
        rule = _rule(part.strip(" .,"))
        if rule is None:
            return None
        rules.append(rule)
    found = "; ".join(rules)
    try:
        return parse_opening_hours(found) or None
    except ValueError:
        return None


def _normal(text: str) -> str:
    text = text.strip().casefold()
    text = re.sub(r"[–—−‒]", "-", text)
    text = re.sub(r"[’ʼ`´‘]", "'", text)
    text = re.sub(r"(\d)\.(\d\d)\b", r"\1:\2", text)  # 9.00 -> 9:00
    text = re.sub(r"\s*(?:год\.?|h)(?=\s|$|-)", "", text)
    return re.sub(r"\s+", " ", text)


def _rule(part: str) -> str | None:
    """One rule: [days] times (or a day off)."""
    for words in sorted(EVERY_DAY, key=len, reverse=True):
        if part.startswith(words):
            days, rest = "Mo-Su", part[len(words) :].strip(" :,")
            break
    else:
        match = _LEADING_DAYS.match(part)
        if match and match.group(1):
            days, rest = _days(match.group(1)), match.group(2).strip()
            if days is None:
                return None
        else:
            days, rest = "Mo-Su", part
    if rest in DAY_OFF:
        return f"{days} off" if days != "Mo-Su" else None
    if rest in ALWAYS:
        return f"{days} 00:00-24:00"
    spans = []
    for piece in re.split(r"\s*,\s*", rest):
        span = _SPAN.match(piece)
        if span is None:
            return None
        h1, m1, h2, m2 = (int(x) if x else 0 for x in span.groups())
        if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59 or (h1, m1) == (h2, m2):
            return None
        spans.append(f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}")
    return f"{days} {','.join(spans)}" if spans else None


def _days(text: str) -> str | None:
    out = []
    for piece in re.split(r"\s*,\s*", text):
        match = _DAYS.match(piece.strip())
        if match is None:
            return None
        first = DAY_NAMES[match.group("first")]
        last = DAY_NAMES[match.group("last")] if match.group("last") else None
        if last and DAYS.index(last) < DAYS.index(first):
            return None
        out.append(first if not last or last == first else f"{first}-{last}")
    return ",".join(out)
