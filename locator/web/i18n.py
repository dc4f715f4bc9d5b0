"""Languages: Ukrainian (the default, the msgids themselves) and English, through Flask-Babel.

The reader's language is ?lang=, else the `lang` cookie (set only when they click the switch),
else the browser's Accept-Language, else Ukrainian. Pages vary on all three, so a cache never
serves one reader's language to another. Catalogues live in locator/translations
(docs/development.md, "Languages": scripts/i18n.sh extracts, updates and compiles them).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime
from babel.numbers import format_decimal
from flask import Blueprint, Flask, Response, current_app, g, has_request_context, redirect, request
from flask_babel import Babel, get_locale, gettext, ngettext

LANGUAGES = ("uk", "en")
DEFAULT_LANGUAGE = "uk"
# Each in its own language, whatever the page's: the switch and the widget builder show them.
LANGUAGE_NAMES = {"uk": "УКР", "en": "EN"}
LANGUAGE_TITLES = {"uk": "Українська", "en": "English"}
COOKIE = "lang"
COOKIE_MAX_AGE = timedelta(days=365)
LOCAL_TIME = ZoneInfo("Europe/Kyiv")
# "23 листопада, 14:05" / "23 Nov, 14:05"; a moment from another year also shows the year.
MOMENT_PATTERN = {"uk": "d MMMM, HH:mm", "en": "d MMM, HH:mm"}
MOMENT_PATTERN_WITH_YEAR = {"uk": "d MMMM y, HH:mm", "en": "d MMM y, HH:mm"}
# What map.js hands to Intl (numbers, times, plural rules): 24-hour clock in both.
SCRIPT_LOCALE = {"uk": "uk-UA", "en": "en-GB"}

bp = Blueprint("i18n", __name__)


def select_language() -> str:
    """?lang= (links, the embed's option), then the remembered switch, then the browser."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    if "lang" not in g:
        chosen = request.args.get("lang")
        if chosen not in LANGUAGES:
            chosen = request.cookies.get(COOKIE)
        if chosen not in LANGUAGES:
            chosen = request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE
        g.lang = chosen
    return g.lang


def current_language() -> str:
    locale = get_locale() if has_request_context() else None
    return locale.language if locale and locale.language in LANGUAGES else DEFAULT_LANGUAGE


def local_time(moment: datetime | str) -> str:
    """A UTC moment as Kyiv wall-clock time in the reader's language: '23 листопада, 14:05'."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    lang = current_language()
    local = moment.astimezone(LOCAL_TIME)
    same_year = local.year == datetime.now(LOCAL_TIME).year
    pattern = (MOMENT_PATTERN if same_year else MOMENT_PATTERN_WITH_YEAR)[lang]
    return format_datetime(moment, pattern, tzinfo=LOCAL_TIME, locale=lang)


def distance(metres: float) -> str:
    """'850 м' / '1,2 км' in Ukrainian, '850 m' / '1.2 km' in English."""
    lang = current_language()
    if metres < 1000:
        return gettext("%(n)s м", n=format_decimal(round(metres), "#,##0", locale=lang))
    return gettext("%(n)s км", n=format_decimal(metres / 1000, "#,##0.0", locale=lang))


def age(delta: timedelta) -> str:
    """How long ago, in words: 'щойно', '5 хв тому', '3 год тому', '2 дн тому'."""
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 60:
        return gettext("щойно")
    if seconds < 3600:
        return gettext("%(n)d хв тому", n=seconds // 60)
    if seconds < 86400 * 2:
        return gettext("%(n)d год тому", n=seconds // 3600)
    return gettext("%(n)d дн тому", n=seconds // 86400)


def plural_forms(singular: str, plural: str) -> dict[str, str]:
    """One message in every plural category of the reader's language (CLDR names: one, few,
    many, other), for the script to pick with Intl.PluralRules."""
    rule = Locale(current_language()).plural_form
    forms: dict[str, str] = {}
    for n in range(0, 200):
        category = rule(n)
        if category not in forms:
            forms[category] = ngettext(singular, plural, n)
    forms.setdefault("other", forms.get("many", ngettext(singular, plural, 5)))
    return forms


def switch_links() -> list[dict]:
    """The УКР / EN links: each remembers the choice and comes back to this page."""
    here = _this_page()
    return [
        {
            "code": code,
            "name": LANGUAGE_NAMES[code],
            "url": f"/lang/{code}?" + urlencode({"next": here}),
            "current": code == current_language(),
        }
        for code in LANGUAGES
    ]


def _this_page() -> str:
    """Where the switch returns to: this page without ?lang= (after a form POST: the referring
    page of this site, else the map)."""
    if request.method == "GET":
        path, query = request.path, [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    else:
        referrer = urlsplit(request.referrer or "")
        if referrer.netloc != request.host or not referrer.path.startswith("/"):
            return "/"
        path, query = referrer.path, []
    return path + ("?" + urlencode(query) if query else "")


def _safe_next(target: str) -> str:
    """Only a path on this site (no //host, no backslash tricks), and without ?lang=."""
    parts = urlsplit(target)
    unsafe = parts.scheme or parts.netloc or not target.isprintable()  # (CR, LF: a 500 in redirect)
    if unsafe or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    query = [pair for pair in (p.split("=", 1) for p in parts.query.split("&") if p) if pair[0] != "lang"]
    return parts.path + ("?" + "&".join("=".join(pair) for pair in query) if query else "")


@bp.get("/lang/<code>")
def choose(code: str):
    """Remember the reader's language for a year (a cookie, SameSite=Lax) and go back."""
    if code not in LANGUAGES:
        code = DEFAULT_LANGUAGE
    response = redirect(_safe_next(request.args.get("next", "/")), 303)
    response.set_cookie(
        COOKIE,
        code,
        max_age=int(COOKIE_MAX_AGE.total_seconds()),
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _vary_by_language(response: Response) -> Response:
    """Every page is in the reader's language: caches key it on what chose that language."""
    if response.mimetype == "text/html":
        response.vary.update(("Accept-Language", "Cookie"))
        response.headers["Content-Language"] = current_language()
    return response


def _template_context() -> dict:
    return {"current_lang": current_language(), "lang_switch": switch_links}


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Europe/Kyiv")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")  # locator/translations
    Babel(app, locale_selector=select_language)
    app.register_blueprint(bp)
    app.after_request(_vary_by_language)
    app.context_processor(_template_context)
    app.jinja_env.globals.update(LANGUAGE_NAMES=LANGUAGE_NAMES, LANGUAGE_TITLES=LANGUAGE_TITLES)
    app.jinja_env.filters["age"] = age
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["distance"] = distance
