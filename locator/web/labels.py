"""Interface words for domain values, shared by templates and map.js.

Each is a lazy string: the msgid is the Ukrainian word, translated when a page is rendered in
the reader's language (locator/i18n.py).
"""

from __future__ import annotations

from flask import Flask
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from locator.domain.point import SERVICES
from locator.web import directions, hours_words, i18n

STATUS = {
    "open": _l("Працює"),
    "full": _l("Переповнений"),
    "standby": _l("У резерві"),
    "closed": _l("Зачинено"),
    "unconfirmed": _l("Не підтверджено"),
}
REPORT = {
    "closed": _l("Зачинено, хоча показано, що працює"),
    "wrong_place": _l("Пункту немає за цією адресою"),
    "full": _l("Переповнений, місць немає"),
    "missing_service": _l("Немає послуги (світла, тепла…)"),
}
KIND = {"fixed": _l("Стаціонарний"), "mobile": _l("Мобільний")}
# Why a point stands where it does in "near me" (domain/trust.py): each result carries its mark.
TRUST = {
    "fresh": _l("Свіжий статус"),
    "stale": _l("Статус давній: нижче за свіжі"),
    "never_confirmed": _l("Оператор ще не підтвердив: нижче за свіжі"),
    "reported_closed": _l("Громадяни повідомили, що зачинено: нижче за інші"),
}
ROLE = {
    "admin": _l("адміністратор"),
    "operator": _l("оператор"),
    "viewer": _l("спостерігач"),
    "reviewer": _l("рецензент заявок"),
    "business": _l("бізнес"),
}
# A history row's author without a name (domain/users.author_kind): the public page, and the
# console for a point outside the reader's scope.
AUTHOR = {
    "citizens": _l("громадяни (повідомлення)"),
    "import": _l("імпорт даних"),
    "operator": _l("оператор"),
}
CATEGORY = {
    "state": _l("ДСНС / місцева влада"),
    "business": _l("Відповідальний бізнес"),
    "working_business": _l("Бізнес, що працює під час відключень"),
}
BUSINESS_TYPE = {  # issue 20: the official map's business types ("" for a state point)
    "": _l("Не бізнес"),
    "fuel_station": _l("АЗС"),
    "pharmacy": _l("Аптека"),
    "supermarket": _l("Супермаркет"),
    "bank": _l("Банк"),
    "cafe": _l("Кафе"),
    "other": _l("Інше"),
}
# issue 20: "each category and business type has an icon". Unicode glyphs: no image to fetch,
# no third-party host, a few bytes each; always shown beside their text label (aria-hidden), never
# alone, so neither colour nor glyph carries the meaning.
ICON = {
    "category": {"state": "\U0001f3db", "business": "\U0001f91d", "working_business": "\U0001f3ea"},
    "business_type": {
        "": "",
        "fuel_station": "\u26fd",
        "pharmacy": "\U0001f48a",
        "supermarket": "\U0001f6d2",
        "bank": "\U0001f3e6",
        "cafe": "\u2615",
        "other": "\U0001f4cd",
    },
}
# What a business proposing itself on /join says it is (domain/proposals.BUSINESS_TYPES).
PROPOSAL_TYPE = {key: label for key, label in BUSINESS_TYPE.items() if key}
VISIBILITY = {
    "public": _l("Публічний"),
    "approximate": _l("Приблизно (лише населений пункт)"),
    "hidden": _l("Прихований (лише оператори)"),
}
SERVICE = {
    "power": _l("Електрика, зарядка"),
    "heat": _l("Тепло"),
    "internet": _l("Інтернет (Wi‑Fi)"),
    "mobile_signal": _l("Мобільний зв'язок"),
    "water": _l("Вода"),
    "hot_drinks": _l("Гарячі напої"),
    "food": _l("Їжа"),
    "first_aid": _l("Перша допомога"),
    "toilet": _l("Туалет"),
    "child_room": _l("Дитяча кімната"),
    "pets": _l("Можна з тваринами"),
    "wheelchair": _l("Доступно для візків"),
    "sleeping": _l("Місця для сну"),
}
COMPASS = {
    "N": _l("Пн"),
    "NE": _l("ПнСх"),
    "E": _l("Сх"),
    "SE": _l("ПдСх"),
    "S": _l("Пд"),
    "SW": _l("ПдЗх"),
    "W": _l("Зх"),
    "NW": _l("ПнЗх"),
}
FIELD = {
    "name": _l("Назва"),
    "kind": _l("Тип"),
    "category": _l("Хто облаштував"),
    "base": _l("Базовий пункт"),
    "services": _l("Послуги"),
    "address": _l("Адреса"),
    "settlement": _l("Населений пункт"),
    "region": _l("Регіон"),
    "lat": _l("Широта"),
    "lon": _l("Довгота"),
    "capacity": _l("Місткість"),
    "occupancy": _l("Людей зараз"),
    "phone": _l("Телефон"),
    "hours": _l("Графік"),
    "open_24_7": _l("Цілодобово"),
    "note": _l("Примітка"),
    "archived": _l("Архів"),
    "status": _l("Статус"),
    "created": _l("Додано"),
    "deleted": _l("Видалено"),
    "verified_at": _l("Підтверджено"),
    "unconfirmed": _l("Повідомлення громадян"),
    "stops": _l("Графік зупинок"),
    "opening_hours": _l("Години роботи (opening_hours)"),
    "business_type": _l("Тип бізнесу"),
    "visibility": _l("Видимість"),
    "support": _l("Опорний пункт"),
    "beds": _l("Ліжок"),
    "beds_free": _l("Вільних ліжок сьогодні"),
}


# Sentences map.js shows; {n}, {name}, {time} are filled in by the script.
SCRIPT_TEXT = {
    "ago_now": _l("щойно"),
    "ago_min": _l("{n} хв тому"),
    "ago_hour": _l("{n} год тому"),
    "ago_day": _l("{n} дн тому"),
    "verified": _l("Статус підтверджено {age}"),
    "never_confirmed": _l("Статус ще не підтверджено оператором"),
    "stale": _l("Статус давно не підтверджено: може бути неточним"),
    "loading": _l("Завантажую пункти…"),
    "load_failed": _l("Не вдалося завантажити пункти. Перевірте зв'язок і оновіть сторінку."),
    "locating": _l("Визначаю ваше місцезнаходження…"),
    "geo_denied": _l("Немає доступу до геолокації. Введіть назву населеного пункту."),
    "geo_unavailable": _l("Не вдалося визначити місцезнаходження. Введіть назву населеного пункту."),
    "searching": _l("Шукаю…"),
    "place_not_found": _l("Населений пункт «{name}» не знайдено. Спробуйте інше написання."),
    "nearest_to_you": _l("Найближчі відкриті пункти до вас:"),
    "nearest_to_place": _l("Найближчі відкриті пункти до: {name}"),
    "none_found": _l("Відкритих пунктів з такими послугами не знайдено."),
    "request_failed": _l("Запит не вдався. Перевірте зв'язок і спробуйте ще раз."),
    "details": _l("Докладніше"),
    "directions": _l("Маршрут"),
    "call": _l("Подзвонити"),
    # a phone's answer: the list fills the screen, this button shows the map, and back
    "show_map": _l("Мапа"),
    "show_list": _l("Список"),
    "show_on_map": _l("На мапі"),
    "you_are_here": _l("Ви тут"),
    "mobile": _l("Мобільний пункт"),
    "base": _l("Базовий пункт"),
    "capacity": _l("Місткість"),
    "here_since": _l("Прибув на це місце {time}"),
    "report": _l("Повідомити про проблему"),
    # Above "near me" results: the order is not plain distance (domain/trust.py).
    "ranked": _l("Спершу свіжо підтверджені; давніший пункт вище, лише якщо значно ближчий"),
    "unconfirmed": _l("Кілька людей повідомили, що пункт зачинено; оператор ще не перевірив"),
    # Offline (service worker): {time} is when the server last confirmed the kept snapshot.
    "offline": _l("Офлайн: дані станом на {time}"),
    # Leaflet's own controls, which it names in English (issue 7, accessibility).
    "zoom_in": _l("Наблизити"),
    "zoom_out": _l("Віддалити"),
    "close_popup": _l("Закрити"),
}


def for_script() -> dict:
    """The same words in the reader's language, for map.js (through the data-labels attribute)."""
    words = {
        "status": STATUS,
        "kind": KIND,
        "category": CATEGORY,
        "business_type": BUSINESS_TYPE,
        "visibility": VISIBILITY,
        "service": SERVICE,
        "compass": COMPASS,
        "trust": TRUST,
    }
    found = {group: {key: str(text) for key, text in table.items()} for group, table in words.items()}
    found["text"] = {key: str(text) for key, text in SCRIPT_TEXT.items()}
    found["text"]["unit_m"] = gettext("%(n)s м", n="{n}")
    found["text"]["unit_km"] = gettext("%(n)s км", n="{n}")
    # Sentences with a count: every plural form of the language; map.js picks with Intl.PluralRules.
    found["plural"] = {
        "loaded": i18n.plural_forms(
            "{n} пункт на мапі · дані на {time}", "{n} пунктів на мапі · дані на {time}"
        ),
        # the filters hide some: {shown} of {n} (the plural follows {n}, the total)
        "loaded_filtered": i18n.plural_forms(
            "За фільтрами: {shown} з {n} пункту на мапі · дані на {time}",
            "За фільтрами: {shown} з {n} пунктів на мапі · дані на {time}",
        ),
        # a cluster's name for screen readers: it is a button that zooms in
        "cluster": i18n.plural_forms("{n} пункт тут: наблизити", "{n} пунктів тут: наблизити"),
    }
    found["icon"] = ICON
    found["locale"] = i18n.SCRIPT_LOCALE[i18n.current_language()]
    found["hours"] = hours_words.for_script()  # static/js/hours.js (issue 17)
    return found


def init_app(app: Flask) -> None:
    hours_words.init_app(app)
    app.jinja_env.globals.update(
        STATUS_LABEL=STATUS,
        KIND_LABEL=KIND,
        TRUST_LABEL=TRUST,
        CATEGORY_LABEL=CATEGORY,
        PROPOSAL_TYPE_LABEL=PROPOSAL_TYPE,
        BUSINESS_TYPE_LABEL=BUSINESS_TYPE,
        ICON=ICON,
        VISIBILITY_LABEL=VISIBILITY,
        SERVICE_LABEL=SERVICE,
        FIELD_LABEL=FIELD,
        REPORT_LABEL=REPORT,
        ROLE_LABEL=ROLE,
        AUTHOR_LABEL=AUTHOR,
        services_order=SERVICES,
        ROUTE_LINKS=directions.route_links,
        TEL_HREF=directions.tel_href,
    )
