"""Interface words for domain values (Ukrainian), shared by templates and map.js."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Flask

from .model import SERVICES

LOCAL_TIME = ZoneInfo("Europe/Kyiv")

STATUS = {
    "open": "Працює",
    "full": "Переповнений",
    "standby": "У резерві",
    "closed": "Зачинено",
    "unconfirmed": "Не підтверджено",
}
REPORT = {
    "closed": "Зачинено, хоча показано, що працює",
    "wrong_place": "Пункту немає за цією адресою",
    "full": "Переповнений, місць немає",
    "missing_service": "Немає послуги (світла, тепла…)",
}
KIND = {"fixed": "Стаціонарний", "mobile": "Мобільний"}
CATEGORY = {"state": "ДСНС / місцева влада", "business": "Відповідальний бізнес"}
SERVICE = {
    "power": "Електрика, зарядка",
    "heat": "Тепло",
    "internet": "Інтернет (Wi‑Fi)",
    "mobile_signal": "Мобільний зв'язок",
    "water": "Вода",
    "hot_drinks": "Гарячі напої",
    "food": "Їжа",
    "first_aid": "Перша допомога",
    "toilet": "Туалет",
    "child_room": "Дитяча кімната",
    "pets": "Можна з тваринами",
    "wheelchair": "Доступно для візків",
    "sleeping": "Місця для сну",
}
COMPASS = {
    "N": "Пн",
    "NE": "ПнСх",
    "E": "Сх",
    "SE": "ПдСх",
    "S": "Пд",
    "SW": "ПдЗх",
    "W": "Зх",
    "NW": "ПнЗх",
}
FIELD = {
    "name": "Назва",
    "kind": "Тип",
    "category": "Хто облаштував",
    "base": "Базовий пункт",
    "services": "Послуги",
    "address": "Адреса",
    "settlement": "Населений пункт",
    "region": "Регіон",
    "lat": "Широта",
    "lon": "Довгота",
    "capacity": "Місткість",
    "occupancy": "Людей зараз",
    "phone": "Телефон",
    "hours": "Графік",
    "open_24_7": "Цілодобово",
    "note": "Примітка",
    "archived": "Архів",
    "status": "Статус",
    "created": "Додано",
    "deleted": "Видалено",
    "verified_at": "Підтверджено",
    "unconfirmed": "Повідомлення громадян",
    "stops": "Графік зупинок",
}


def age(delta: timedelta) -> str:
    """How long ago, in words: 'щойно', '5 хв тому', '3 год тому', '2 дн тому'."""
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 60:
        return "щойно"
    if seconds < 3600:
        return f"{seconds // 60} хв тому"
    if seconds < 86400 * 2:
        return f"{seconds // 3600} год тому"
    return f"{seconds // 86400} дн тому"


def local_time(moment: datetime | str) -> str:
    """A UTC moment as Kyiv wall-clock time, e.g. '23.11.2026 14:05'."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return moment.astimezone(LOCAL_TIME).strftime("%d.%m.%Y %H:%M")


# Sentences map.js shows; {n}, {name}, {time} are filled in by the script.
SCRIPT_TEXT = {
    "ago_now": "щойно",
    "ago_min": "{n} хв тому",
    "ago_hour": "{n} год тому",
    "ago_day": "{n} дн тому",
    "verified": "Статус підтверджено {age}",
    "stale": "Статус давно не підтверджено: може бути неточним",
    "loading": "Завантажую пункти…",
    "loaded": "{n} пунктів на мапі · дані на {time}",
    "load_failed": "Не вдалося завантажити пункти. Перевірте зв'язок і оновіть сторінку.",
    "locating": "Визначаю ваше місцезнаходження…",
    "geo_denied": "Немає доступу до геолокації. Введіть назву населеного пункту.",
    "geo_unavailable": "Не вдалося визначити місцезнаходження. Введіть назву населеного пункту.",
    "searching": "Шукаю…",
    "place_not_found": "Населений пункт «{name}» не знайдено серед пунктів.",
    "nearest_to_you": "Найближчі відкриті пункти до вас:",
    "nearest_to_place": "Найближчі відкриті пункти до: {name}",
    "none_found": "Відкритих пунктів з такими послугами не знайдено.",
    "request_failed": "Запит не вдався. Перевірте зв'язок і спробуйте ще раз.",
    "details": "Докладніше",
    "directions": "Маршрут",
    "show_on_map": "На мапі",
    "you_are_here": "Ви тут",
    "mobile": "Мобільний пункт",
    "base": "Базовий пункт",
    "capacity": "Місткість",
    "here_since": "Тут з {time}",
    "report": "Повідомити про проблему",
    "unconfirmed": "Кілька людей повідомили, що пункт зачинено; оператор ще не перевірив",
}


def for_script() -> dict:
    """The same words, for map.js (passed through the page's data-labels attribute)."""
    return {
        "status": STATUS,
        "kind": KIND,
        "category": CATEGORY,
        "service": SERVICE,
        "compass": COMPASS,
        "text": SCRIPT_TEXT,
    }


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        STATUS_LABEL=STATUS,
        KIND_LABEL=KIND,
        CATEGORY_LABEL=CATEGORY,
        SERVICE_LABEL=SERVICE,
        FIELD_LABEL=FIELD,
        REPORT_LABEL=REPORT,
        services_order=SERVICES,
    )
    app.jinja_env.filters["age"] = age
    app.jinja_env.filters["local_time"] = local_time
