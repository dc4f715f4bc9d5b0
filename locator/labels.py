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
FIELD = {
    "status": "Статус",
    "created": "Додано",
    "deleted": "Видалено",
    "verified_at": "Підтверджено",
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


def for_script() -> dict:
    """The same words, for map.js (passed through the page's data-settings attribute)."""
    return {"status": STATUS, "kind": KIND, "category": CATEGORY, "service": SERVICE}


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        STATUS_LABEL=STATUS, KIND_LABEL=KIND, CATEGORY_LABEL=CATEGORY, SERVICE_LABEL=SERVICE, FIELD_LABEL=FIELD,
        services_order=SERVICES,
    )
    app.jinja_env.filters["age"] = age
    app.jinja_env.filters["local_time"] = local_time
