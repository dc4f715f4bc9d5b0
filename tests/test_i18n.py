"""Languages: every interface string is translated, pages come in the reader's language, the switch
is remembered, dates and distances follow the language, and map.js speaks it too."""

from __future__ import annotations

import ast
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from browser_support import BROVARY, Site, Tab, open_guarded_tab, serve
from helpers import login
from playwright.sync_api import Browser, expect

from locator.web import i18n

PROJECT = Path(__file__).resolve().parent.parent
CATALOGUES = PROJECT / "locator" / "translations"
CYRILLIC = re.compile(r"[\u0400-\u04FF]")
BRACES = re.compile(r"\{\w+\}")
# Cyrillic in Python that is not interface text to translate, and why.
NOT_INTERFACE = {
    ("auth.py", "усі регіони"): "CLI output (users list); the console page translates it itself",
    **{("i18n.py", name): "a language's name in that language" for name in i18n.LANGUAGE_NAMES.values()},
    **{("i18n.py", name): "a language's name in that language" for name in i18n.LANGUAGE_TITLES.values()},
}

# Whole modules whose Cyrillic is data, never shown as interface words.
DATA_MODULES = {
    "settlements.py": "oblast names as GeoNames and the points spell them (issue 7)",
    "regions.py": "the regions' public names: data points carry, not interface words (issue 16)",
    "transliteration.py": "the KMU 2010 transliteration table (issue 7)",
    "hours_text.py": "the words free-text hours are written with, read by migrate-hours (issue 17)",
}


def _catalogue(lang: str):
    with open(CATALOGUES / lang / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=lang)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> dict:
    """Every marked string, extracted by scripts/i18n.sh into a temp POT: {msgid: message}."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    env = {**os.environ, "PYBABEL": str(Path(sys.executable).with_name("pybabel"))}
    subprocess.run(["bash", "scripts/i18n.sh", "extract", str(pot)], cwd=PROJECT, env=env, check=True)
    with open(pot, "rb") as handle:
        template = read_po(handle)
    found = {message.id: message for message in template if message.id}
    assert len(found) > 200, "extraction found too little: is babel.cfg right?"
    return found


def _msgids(extracted: dict) -> set[str]:
    """Singular and plural msgids alike."""
    return {part for key in extracted for part in (key if isinstance(key, tuple) else (key,))}


# -- (a) the catalogues are complete and compiled -----------------------------------------------------


def test_every_marked_string_has_an_english_translation(extracted):
    english = _catalogue("en")
    missing, fuzzy = [], []
    for msgid in extracted:
        message = english.get(msgid)
        strings = (
            message.string
            if message and isinstance(message.string, tuple)
            else (message and (message.string,))
        )
        if not message or not all(strings):
            missing.append(msgid)
        elif message.fuzzy:
            fuzzy.append(msgid)
    assert not missing, f"not translated to English (run scripts/i18n.sh update, then translate): {missing}"
    assert not fuzzy, f"fuzzy English translations (review them, drop the fuzzy flag): {fuzzy}"


@pytest.mark.parametrize("lang", ["en", "uk"])
def test_translations_keep_every_placeholder(lang):
    catalogue = _catalogue(lang)
    problems = [(message.id, [str(e) for e in errors]) for message, errors in catalogue.check() if errors]
    assert not problems, problems  # %(name)s placeholders, checked by Babel
    for message in catalogue:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(BRACES.findall(ids[-1]))
        for string in strings:
            assert not string or set(BRACES.findall(string)) == wanted, (message.id, string)  # map.js' {n}


def test_ukrainian_plurals_have_all_three_forms(extracted):
    plurals = [key for key in extracted if isinstance(key, tuple)]
    assert plurals, "no plural message: the test would prove nothing"
    ukrainian = _catalogue("uk")
    for key in plurals:
        message = ukrainian.get(key)
        assert message and len(message.string) == 3 and all(message.string), f"uk plural forms for {key}"
        assert not message.fuzzy


@pytest.mark.parametrize("lang", ["en", "uk"])
def test_compiled_catalogues_match_their_po_files(lang):
    """A .po edited without scripts/i18n.sh compile leaves a stale .mo: the site would not show it."""
    compiled = io.BytesIO()
    write_mo(compiled, _catalogue(lang))
    committed = (CATALOGUES / lang / "LC_MESSAGES" / "messages.mo").read_bytes()
    assert committed == compiled.getvalue(), f"{lang}/messages.mo is stale: run scripts/i18n.sh compile"


class _Lexed:
    """Cyrillic in a template's raw text, and its string literals (which must be msgids)."""

    def __init__(self, source: str, env) -> None:
        self.text, self.strings = [], []
        for lineno, kind, value in env.lex(source):
            if kind == "data" and CYRILLIC.search(value):
                self.text.append(
                    (lineno, re.search(r"[^<>]*[\u0400-\u04FF][^<>]*", value).group(0).strip()[:80])
                )
            elif kind == "string" and CYRILLIC.search(value):
                self.strings.append((lineno, ast.literal_eval(value)))  # raw token: quotes and escapes


def test_templates_have_no_ukrainian_outside_translation_calls(app, extracted):
    msgids = _msgids(extracted)
    problems = []
    for path in sorted((PROJECT / "templates").rglob("*.html")):
        lexed = _Lexed(path.read_text(encoding="utf-8"), app.jinja_env)  # comments are not tokens
        name = path.relative_to(PROJECT)
        problems += [f"{name}:{line}: text {text!r}" for line, text in lexed.text]
        problems += [
            f"{name}:{line}: string {s!r} not in _()" for line, s in lexed.strings if s not in msgids
        ]
    assert not problems, 'wrap these in {{ _("...") }}:\n' + "\n".join(problems)


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def test_python_has_no_ukrainian_outside_translation_calls(extracted):
    msgids = _msgids(extracted)
    problems = []
    for path in sorted((PROJECT / "locator").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            if id(node) in docstrings or not CYRILLIC.search(node.value) or node.value in msgids:
                continue
            if (path.name, node.value) not in NOT_INTERFACE and path.name not in DATA_MODULES:
                problems.append(f"{path.relative_to(PROJECT)}:{node.lineno}: {node.value[:80]!r}")
    assert not problems, "wrap these in gettext() / _l() (f-strings too):\n" + "\n".join(problems)


def test_scripts_carry_no_interface_text():
    """map.js, console.js, builder.js get every word from the page (data attributes)."""
    problems = [
        f"{path.name}:{number}: {line.strip()[:80]}"
        for path in sorted((PROJECT / "static" / "js").glob("*.js"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if CYRILLIC.search(line)
    ]
    assert not problems, "pass these from the template instead:\n" + "\n".join(problems)


# -- (b) the same pages in both languages ------------------------------------------------------------

PUBLIC_PAGES = {  # path: (a Ukrainian phrase, its English translation) the page must show
    "/": ("Найближчі відкриті до мене", "Nearest open to me"),
    "/list?place=Київ": ("Статус підтверджено", "Status confirmed"),
    "/points/kyiv-01": ("Маршрут", "Directions"),
    "/embed": ("Лише ті, що працюють зараз", "Only those open now"),
    "/embed/builder": ("Код для вставки", "Code to paste"),
    "/api": ("Консоль операторів", "Operator console"),
    "/operator/login": ("Вхід до консолі операторів", "Log in to the operator console"),
    "/no/such/page": ("Сторінку не знайдено", "Page not found"),
}
CONSOLE_PAGES = {
    "/operator/": ("Мої пункти", "My points"),
    "/operator/points/kyiv-01": ("Все ще актуально", "Still true"),
    "/operator/points/kyiv-01/edit": ("Хто облаштував", "Run by"),
    "/operator/points/kyiv-01/history": ("Історія змін", "History of changes"),
    "/operator/points/new": ("Новий пункт", "New point"),
    "/operator/import": ("Імпорт пунктів", "Import points"),
}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Interface(HTMLParser):
    """Every text and attribute value of a page, except parts marked as in another language
    (the switch names each language in its own)."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []  # per open element: inside lang="uk"?
        self.found: list[str] = []
        self.html_lang = None

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "html":
            self.html_lang = values.get("lang")
        other_language = tag != "html" and values.get("lang", self.html_lang) != self.html_lang
        ukrainian = other_language or (bool(self.stack) and self.stack[-1])
        if not ukrainian:
            self.found += [value for value in values.values() if value]
        if tag not in VOID:
            self.stack.append(ukrainian)

    def handle_endtag(self, tag):
        if tag not in VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]):
            self.found.append(data)


def interface_text(page: str) -> tuple[str | None, str]:
    parser = _Interface()
    parser.feed(page)
    return parser.html_lang, "\n".join(parser.found)


@pytest.fixture
def point_data(seeded, users) -> list[str]:
    """What people typed (names, addresses, places...): shown as it is, in any language."""
    values = {
        str(value)
        for point in seeded
        for value in (point.name, point.address, point.settlement, point.region, point.note, point.hours)
        if value
    }
    return sorted(values, key=len, reverse=True)


@pytest.fixture
def admin(client, seeded, make_user):
    make_user("admin", "admin")
    assert login(client, "admin").status_code == 302
    return client


def _get(client, path: str, lang: str):
    return client.get(path, headers={"Accept-Language": lang})


def _assert_in_language(response, lang: str, phrases: tuple[str, str], point_data: list[str]) -> None:
    page = response.get_data(as_text=True)
    html_lang, text = interface_text(page)
    assert html_lang == lang
    assert response.headers["Content-Language"] == lang
    if lang == "uk":
        assert phrases[0] in text and phrases[1] not in text
        return
    assert phrases[1] in text
    for value in point_data:
        text = text.replace(value, "")
    left = sorted({match.group(0) for match in re.finditer(r"\S*[\u0400-\u04FF]\S*", text)})
    assert not left, f"Ukrainian left on an English page: {left}"


@pytest.mark.parametrize("lang", ["uk", "en"])
@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_in_both_languages(client, point_data, path, lang):
    response = _get(client, path, lang)
    assert response.status_code == (404 if "no/such" in path else 200)
    _assert_in_language(response, lang, PUBLIC_PAGES[path], point_data)


@pytest.mark.parametrize("lang", ["uk", "en"])
def test_console_pages_in_both_languages(admin, point_data, lang):
    for path, phrases in CONSOLE_PAGES.items():
        response = _get(admin, path, lang)
        assert response.status_code == 200, path
        _assert_in_language(response, lang, phrases, point_data + ["admin"])


def test_map_script_words_are_in_the_page_language(client, seeded):
    labels = {}
    for lang in ("uk", "en"):
        page = _get(client, "/", lang).get_data(as_text=True)
        raw = re.search(r'data-labels="([^"]*)"', page).group(1)
        labels[lang] = json.loads(raw.replace("&#34;", '"').replace("&quot;", '"').replace("&amp;", "&"))
    assert labels["uk"]["status"]["open"] == "Працює" and labels["en"]["status"]["open"] == "Open"
    assert labels["en"]["text"]["unit_km"] == "{n} km" and labels["uk"]["text"]["unit_km"] == "{n} км"
    assert labels["uk"]["locale"] == "uk-UA" and labels["en"]["locale"] == "en-GB"
    # Ukrainian counts take three forms; map.js picks one with Intl.PluralRules
    assert labels["uk"]["plural"]["loaded"]["one"].startswith("{n} пункт на мапі")
    assert labels["uk"]["plural"]["loaded"]["few"].startswith("{n} пункти на мапі")
    assert labels["uk"]["plural"]["loaded"]["many"].startswith("{n} пунктів на мапі")
    assert labels["en"]["plural"]["loaded"]["one"].startswith("{n} point on the map")
    assert labels["en"]["plural"]["loaded"]["other"].startswith("{n} points on the map")


def test_flash_messages_and_form_errors_follow_the_language(admin, seeded):
    token = re.search(r'name="csrf_token" value="([^"]+)"', admin.get("/operator/").get_data(as_text=True))
    form = {"csrf_token": token.group(1), "version": "1"}
    admin.post("/operator/points/kyiv-01/verify", data=form, headers={"Accept-Language": "en"})
    page = _get(admin, "/operator/points/kyiv-01", "en").get_data(as_text=True)
    assert "Status confirmed." in page and "Статус підтверджено." not in page
    error = admin.post("/operator/login", data={"csrf_token": token.group(1), "name": "x", "password": "y"})
    assert "Неправильне ім&#39;я або пароль." in error.get_data(as_text=True)


# -- (c) choosing the language ------------------------------------------------------------------------


def test_the_switch_is_remembered_across_requests(client, seeded):
    assert 'lang="uk"' in client.get("/list").get_data(as_text=True)[:200]
    chosen = client.get("/lang/en?next=/list%3Fplace%3D%D0%9A%D0%B8%D1%97%D0%B2")
    assert chosen.status_code == 303
    assert chosen.headers["Location"] == "/list?place=%D0%9A%D0%B8%D1%97%D0%B2"
    cookie = chosen.headers["Set-Cookie"]
    assert cookie.startswith("lang=en;") and "SameSite=Lax" in cookie and "Max-Age=31536000" in cookie
    for path in ("/list", "/", "/points/kyiv-01", "/operator/login"):
        assert '<html lang="en">' in client.get(path).get_data(as_text=True), path
    client.get("/lang/uk?next=/")
    assert '<html lang="uk">' in client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)


@pytest.mark.parametrize(
    ("accept", "cookie", "query", "expected"),
    [
        (None, None, None, "uk"),
        ("en", None, None, "en"),
        ("en-US,en;q=0.9", None, None, "en"),
        ("de-DE,de;q=0.9", None, None, "uk"),
        ("ru,en;q=0.5", None, None, "en"),
        ("uk,en;q=0.8", None, None, "uk"),
        ("en", "uk", None, "uk"),  # the remembered choice beats the browser
        (None, "en", "uk", "uk"),  # a ?lang= link beats both
        ("uk", "xx", None, "uk"),  # a bad cookie is ignored
    ],
)
def test_language_order_query_cookie_browser_ukrainian(client, accept, cookie, query, expected):
    if cookie:
        client.set_cookie("lang", cookie)
    headers = {"Accept-Language": accept} if accept else {}
    page = client.get("/", headers=headers, query_string={"lang": query} if query else None)
    assert f'<html lang="{expected}">' in page.get_data(as_text=True)


def test_pages_set_no_cookie_unless_the_switch_is_clicked(client, seeded):
    for path in ("/", "/?lang=en", "/list", "/embed?lang=en", "/points/kyiv-01"):
        assert "Set-Cookie" not in client.get(path).headers, path


def test_the_switch_links_come_back_to_this_page(client, seeded):
    page = client.get("/list?place=Київ&lang=uk").get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)" lang="en"', page).group(1).replace("&amp;", "&")
    assert link.startswith("/lang/en?next=")
    back = client.get(link)
    assert back.headers["Location"] == "/list?place=%D0%9A%D0%B8%D1%97%D0%B2"  # without lang=uk
    widget = client.get("/embed?lang=en&services=power").get_data(as_text=True)
    assert "/lang/" not in widget  # the widget sets no cookie: its switch only changes ?lang=
    assert re.search(r'href="/embed\?[^"]*lang=uk[^"]*" lang="uk"', widget)


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:x"]
)
def test_the_switch_never_leaves_the_site(client, target):
    assert client.get("/lang/en", query_string={"next": target}).headers["Location"] == "/"


def test_pages_vary_on_what_chose_their_language_and_the_api_does_not(client, seeded):
    for path in ("/", "/list", "/points/kyiv-01", "/embed", "/operator/login", "/no/such/page"):
        vary = {part.strip() for part in client.get(path).headers.get("Vary", "").split(",")}
        assert {"Accept-Language", "Cookie"} <= vary, path
    api = client.get("/api/v1/points?format=compact")
    assert "Accept-Language" not in api.headers.get("Vary", "")


# -- dates, times, distances, ages ---------------------------------------------------------------------


def _in(app, lang: str, call: Callable[[], Any]) -> Any:
    with app.test_request_context("/", headers={"Accept-Language": lang}):
        return call()


def test_dates_and_times_are_kyiv_time_in_the_reader_language(app):
    this_year = datetime(datetime.now(UTC).year, 11, 23, 12, 5, tzinfo=UTC)  # 14:05 in Kyiv (UTC+2)
    assert _in(app, "uk", lambda: i18n.local_time(this_year)) == "23 листопада, 14:05"
    assert _in(app, "en", lambda: i18n.local_time(this_year)) == "23 Nov, 14:05"
    summer = "2020-07-01T21:30:00Z"  # another year shows it; summer time is UTC+3
    assert _in(app, "uk", lambda: i18n.local_time(summer)) == "2 липня 2020, 00:30"
    assert _in(app, "en", lambda: i18n.local_time(summer)) == "2 Jul 2020, 00:30"


@pytest.mark.parametrize(
    ("metres", "uk", "en"),
    [(850.4, "850 м", "850 m"), (1234, "1,2 км", "1.2 km"), (20_349, "20,3 км", "20.3 km")],
)
def test_distances_follow_the_language(app, metres, uk, en):
    assert _in(app, "uk", lambda: i18n.distance(metres)) == uk
    assert _in(app, "en", lambda: i18n.distance(metres)) == en


@pytest.mark.parametrize(
    ("delta", "uk", "en"),
    [
        (timedelta(seconds=20), "щойно", "just now"),
        (timedelta(minutes=5), "5 хв тому", "5 min ago"),
        (timedelta(hours=3), "3 год тому", "3 h ago"),
        (timedelta(days=4), "4 дн тому", "4 days ago"),
    ],
)
def test_status_ages_follow_the_language(app, delta, uk, en):
    assert _in(app, "uk", lambda: i18n.age(delta)) == uk
    assert _in(app, "en", lambda: i18n.age(delta)) == en


def test_counts_of_people_take_the_ukrainian_plural_forms(client, store, seeded):
    for capacity, words in ((1, "1 особа"), (3, "3 особи"), (25, "25 осіб"), (21, "21 особа")):
        store.update("kyiv-01", {"capacity": capacity, "occupancy": ""}, by="test")
        assert words in client.get("/points/kyiv-01").get_data(as_text=True)
        english = _get(client, "/points/kyiv-01", "en").get_data(as_text=True)
        assert f"{capacity} {'person' if capacity == 1 else 'people'}" in english


# -- (d) map.js in English, in a real browser -----------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve(tmp_path_factory.mktemp("i18n-site")) as site:
        yield site


def test_map_in_english_shows_english_words(browser: Browser, site: Site):
    context, tab = open_guarded_tab(
        browser,
        site,
        geolocation={"latitude": BROVARY[0], "longitude": BROVARY[1]},
        permissions=["geolocation"],
    )
    try:
        _check_english_map(tab, site)
    finally:
        context.close()


def _check_english_map(tab: Tab, site: Site) -> None:
    page = tab.page
    tab.goto("/?lang=en")
    expect(page.locator("#point-count")).to_contain_text(
        re.compile(rf"^{len(site.points)} points on the map · data as of \d\d:\d\d$")
    )
    expect(page.locator(".legend summary")).to_have_text("Legend")
    expect(page.locator("#filters summary")).to_have_text("Filters")
    expect(page.locator(".legend")).to_contain_text("Open")
    page.click("#near-me")
    expect(page.locator("#status-line")).to_have_text(
        "Nearest open points to you:Freshly confirmed first; an older status comes first only if much closer"
    )
    first = page.locator("#results li.result").first
    expect(first.locator(".result-distance")).to_have_text(
        re.compile(r"^\d+(\.\d)? k?m · (N|NE|E|SE|S|SW|W|NW) · Open")
    )
    expect(first.locator(".age")).to_have_text(
        re.compile(r"^Status confirmed (just now|\d+ (min|h|days) ago)$")
    )
    expect(first.locator("a", has_text="Directions")).to_be_visible()
    first.locator("button", has_text="On the map").click()
    popup = page.locator(".leaflet-popup-content")
    expect(popup).to_contain_text("Details")
    expect(popup).to_contain_text("Status confirmed")
    names = [p[key] for p in site.points for key in ("name", "address", "settlement", "region") if p.get(key)]
    panel = page.locator("#map-app").inner_text() + popup.inner_text()
    for value in sorted(names, key=len, reverse=True):
        panel = panel.replace(value, "")
    panel = panel.replace("УКР", "")  # the switch names Ukrainian in Ukrainian
    assert not CYRILLIC.search(panel), re.findall(r"\S*[\u0400-\u04FF]\S*", panel)
    tab.guard.assert_clean(page)
