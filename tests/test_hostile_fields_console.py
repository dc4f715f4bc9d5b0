"""Every field of every form the console and the point page show gets every class of hostile value
a form can carry (issue 16, part 5): control characters, invalid UTF-8, huge values, text where
a number or a moment is due, moments out of range, odd whole numbers. Never a 500: a refusal is
the form's own error (the form again with 400, or a redirect with an error flash) and leaves the
database as it was; a value taken is stored clean. And a redirect target (login's and the
language switch's ``next``) never leaves the site.

The forms are read from the pages themselves (their fields and the values a browser would send),
and each field's hostile values from the declaration its form writes (a point's, a stop's, a
report's; tests/hostile.py), so a new field in a form is fuzzed here without a line changed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode, urlsplit

import pytest
from conftest import seed_points
from helpers import login
from hostile import (
    EITHER,
    POINT_KINDS,
    REFUSE,
    REPORT_KINDS,
    STOP_KINDS,
    Case,
    Unchanged,
    assert_clean,
    form_cases,
    loose_cases,
    valid_stop,
)

from locator import create_app
from locator.domain.fields import EDITABLE_FIELDS, FIELD
from locator.domain.reports import Report, ReportKind
from locator.services import accounts

FIXED, MOBILE, REPORTED = "kyiv-01", "kyiv-03", "kyiv-02"  # from conftest's seed
PAGES = (
    "/operator/points/new",
    f"/operator/points/{FIXED}/edit",
    f"/operator/points/{FIXED}",
    f"/operator/points/{MOBILE}",  # its schedule's forms
    f"/points/{REPORTED}",  # a citizen's report form
    "/operator/login",
    "/operator/import",  # its upload form (the files themselves: tests/test_hostile_fields_import.py)
)
# What a point's forms write: the fields a caller may set (a form's "version" is the one it read).
POINT_FORM_KINDS = {
    name: kind for name, kind in POINT_KINDS.items() if FIELD[name].editable or FIELD[name].required
}
SMALL_BODY = 16 * 1024  # bytes: the report form's and login's limit (http/admission.py)
SMALL_FORMS = ("/report", "/operator/login")
LOOSE_HUGE = 20_000  # characters: a version or an index that long is as wrong as a longer one
NOT_FUZZED = ("/operator/logout",)  # takes nothing but its CSRF token; would end the session
ERROR_MARKS = ('aria-invalid="true"', 'class="field-error"', 'class="form-error"')
senders = itertools.count(1)  # each request from its own network: no login or report limit is met


@dataclass
class Form:
    action: str
    defaults: dict[str, list[str]] = field(default_factory=dict)
    page: str = ""


class FormReader(HTMLParser):
    """Every POST form of a page, with the values a browser would send from it unchanged."""

    def __init__(self, page: str):
        super().__init__()
        self.page, self.forms, self.form = page, [], None
        self.select: str | None = None
        self.options: list[tuple[str, bool]] = []
        self.textarea: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        name = a.get("name", "")
        if tag == "form":
            self.form = Form(a.get("action") or self.page) if a.get("method", "").lower() == "post" else None
            if self.form:
                self.forms.append(self.form)
        elif self.form is None or not name and tag != "option":
            return
        elif tag == "input" and a.get("type", "text") not in ("file", "submit", "reset", "image"):
            values, choice = self.form.defaults.setdefault(name, []), a.get("type") in ("checkbox", "radio")
            if not choice or "checked" in a or (a.get("type") == "radio" and not values):  # a radio: first
                values.append(a.get("value", "on" if a.get("type") == "checkbox" else ""))
        elif tag == "button" and name:
            self.form.defaults.setdefault(name, [a.get("value", "")])
        elif tag == "select":
            self.select, self.options = name, []
        elif tag == "option" and self.select:
            self.options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea":
            self.textarea, self.text = name, []

    def handle_data(self, data):
        if self.textarea:
            self.text.append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self.form = None
        elif tag == "select" and self.select and self.form is not None:
            chosen = [v for v, selected in self.options if selected] or [v for v, _ in self.options[:1]]
            self.form.defaults[self.select] = chosen
            self.select = None
        elif tag == "textarea" and self.textarea and self.form is not None:
            self.form.defaults[self.textarea] = ["".join(self.text)]
            self.textarea = None


@pytest.fixture(scope="module")
def console(tmp_path_factory, password_hash):
    """One app per module (per worker): the seed, a schedule, an open report, an admin logged in.
    A login by an unknown name checks the password against a hash as cheap as the test users'
    (the production one takes 0.3 s a try; tests/test_users.py holds the timing)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "_DUMMY_HASH", password_hash, raising=False)
        yield from _console(tmp_path_factory, password_hash)


def _console(tmp_path_factory, password_hash):
    database = tmp_path_factory.mktemp("console") / "c.db"
    app = create_app({"DATABASE": str(database), "SEED_FILE": "", "TESTING": True})
    store = app.extensions["locator.store"]
    store.import_points(seed_points())
    store.update(MOBILE, {"stops": [valid_stop()]}, by="test", verify=False)
    store.reports.add(Report(FIXED, ReportKind.CLOSED), source="someone")
    app.extensions["locator.users"].create("admin", password_hash, "admin", [], [])
    client = app.test_client()
    assert login(client, "admin").status_code == 302
    yield SimpleNamespace(client=client, store=store, forms=forms(client))
    store.close()


def forms(client) -> list[Form]:
    """Every POST form of the pages (but logout's), as a browser finds them."""
    found = []
    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 200, page
        reader = FormReader(page)
        reader.feed(response.get_data(as_text=True))
        for form in reader.forms:
            if not form.action.endswith(NOT_FUZZED):
                form.page = page
                found.append(form)
    if "name" in found[-1].defaults:  # login: a real name, so a password is checked for real
        found[-1].defaults["name"] = ["admin"]
    return found


def declaration(form: Form) -> dict[str, str]:
    """The fields this form writes, and their kinds: a stop's, a report's or a point's."""
    path = urlsplit(form.action).path
    if path.endswith("/stops"):
        return STOP_KINDS
    if path.endswith("/report"):
        return REPORT_KINDS
    return {} if path.startswith("/operator/login") else POINT_FORM_KINDS


def cases_for(form: Form, name: str) -> list[Case]:
    huge = SMALL_BODY // 2 if urlsplit(form.action).path.endswith(SMALL_FORMS) else 200_000
    kind = declaration(form).get(name)
    if kind is None or name == "csrf_token":
        return loose_cases(huge=min(huge, LOOSE_HUGE))
    if kind == "bool":  # a checkbox: the view asks whether it is "1"; no value is wrong
        return [Case(c.label, c.value, EITHER) for c in form_cases(kind, huge=huge)]
    annotation = FIELD[name].annotation if kind == "enum" and name in FIELD else None
    if kind == "enum" and annotation is None:
        annotation = ReportKind
    return form_cases(kind, annotation, huge=huge)


def post(client, form: Form, name: str, value) -> object:
    values = {k: list(v) for k, v in form.defaults.items() if k != "version"} | {name: [value]}
    if "version" in form.defaults and name != "version":
        values.pop("version", None)  # whatever version is stored: a refusal here is the value's
    if urlsplit(form.action).path == "/operator/points/new" and name != "id":
        values["id"] = [f"fz-{next(senders)}"]
    body = urlencode([(k, v) for k, vs in values.items() for v in vs])
    sender = next(senders)
    return client.post(
        urlsplit(form.action)._replace(fragment="").geturl(),  # a browser never sends the #fragment
        data=body,
        content_type="application/x-www-form-urlencoded",
        environ_base={"REMOTE_ADDR": f"10.{sender // 250 % 250}.{sender % 250}.9"},
    )


def flashed_error(client) -> bool:
    with client.session_transaction() as session:
        flashes = session.pop("_flashes", [])
    return any(category == "error" for category, _ in flashes)


def check(console, response, case: Case, before: Unchanged, what: str) -> None:
    status = response.status_code
    assert status < 500, f"{what}: {status}"
    shown = (status == 400 and any(mark in response.get_data(as_text=True) for mark in ERROR_MARKS)) or (
        status in (302, 303) and flashed_error(console.client)
    )
    if case.verdict == REFUSE:
        assert shown, f"{what}: {status}, and no error of the form's own"
        assert before.holds(), f"{what}: refused, yet the database changed"
    elif not before.holds():
        for point in console.store.all():
            assert_clean(point)
        before.take()


FIELDS = sorted({*POINT_FORM_KINDS, *STOP_KINDS, *REPORT_KINDS} - {"stops"})


@pytest.mark.parametrize("name", FIELDS)
def test_every_declared_field_of_every_form(console, name):
    before = Unchanged(console.store)
    for form in console.forms:
        if name not in form.defaults or name not in declaration(form):
            continue
        for case in cases_for(form, name):
            response = post(console.client, form, name, case.value)
            check(console, response, case, before, f"{form.action} {name}={case.label}")


@pytest.mark.parametrize("page", PAGES)
def test_every_other_field_of_every_form(console, page):
    before = Unchanged(console.store)
    for form in (form for form in console.forms if form.page == page):
        for name in form.defaults:
            if name in declaration(form) and name != "csrf_token":
                continue
            for case in cases_for(form, name):
                response = post(console.client, form, name, case.value)
                check(console, response, case, before, f"{form.action} {name}={case.label}")


def test_the_forms_reach_every_field_an_operator_may_set(console):
    found = console.forms
    names = {name for form in found if declaration(form) is POINT_FORM_KINDS for name in form.defaults}
    assert set(EDITABLE_FIELDS) - {"stops"} <= names
    stop_forms = [form for form in found if declaration(form) is STOP_KINDS]
    assert stop_forms and all(set(STOP_KINDS) <= set(form.defaults) for form in stop_forms)
    assert any(set(REPORT_KINDS) <= set(form.defaults) for form in found)


@pytest.mark.parametrize(
    "staged", ["../c.db", "..", "/etc/passwd", "\x00", "c.db\x00.csv", "%2e%2e%2fc.db", "x" * 10_000, "²"]
)
def test_applying_an_import_staged_under_any_name_reads_no_other_file(console, staged):
    """The apply form names the file its dry run staged: any other name is "not found"."""
    before = Unchanged(console.store)
    token = console.forms[0].defaults["csrf_token"][0]
    form = {"csrf_token": token, "apply": "1", "staged": staged, "replace": "1"}
    response = console.client.post("/operator/import", data=form)
    assert response.status_code == 302 and flashed_error(console.client)
    assert before.holds() and Path(console.store.path).is_file()


HOSTILE_TARGETS = (
    "//evil.example",
    "///evil.example",
    "\\\\evil.example",
    "/\\evil.example",
    "/\\/evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "https://evil.example/operator",
    "/operator/\r\nSet-Cookie: a=b",
    "/operator/\nLocation: //evil.example",
    "/operator/\x00",
    "/\t/evil.example",
    " //evil.example",
    "/operator/\u2028",
    "/operator@evil.example",
    "%2F%2Fevil.example",
    "/operator/" + "x" * 10_000,
)


def assert_on_this_site(location: str) -> None:
    parts = urlsplit(location)
    assert parts.netloc in ("", "localhost"), location
    assert location.isprintable() and parts.path.startswith("/"), location
    assert not parts.path.startswith(("//", "/\\")) and "\\" not in parts.path[:2], location


@pytest.mark.parametrize("target", HOSTILE_TARGETS, ids=lambda t: repr(t)[:24])
def test_a_login_redirect_target_never_leaves_the_site(client, make_user, target):
    make_user("olena", "operator", regions=("Київська обл.",))
    response = login(client, "olena", query_string={"next": target})
    assert response.status_code == 302
    assert_on_this_site(response.headers["Location"])


@pytest.mark.parametrize("target", HOSTILE_TARGETS, ids=lambda t: repr(t)[:24])
def test_the_language_switch_never_leaves_the_site(client, target):
    response = client.get("/lang/en", query_string={"next": target})
    assert response.status_code == 303
    assert_on_this_site(response.headers["Location"])
