"""The console's opening_hours field (issue 17): refused with the form's error, a preview in the
page's language on load and as the operator types (/operator/hours/preview, login required)."""

from __future__ import annotations

from helpers import db_state
from test_console import edit_form, olena, people, post, tag, text  # noqa: F401 (fixtures)


def test_edit_refuses_invalid_hours_beside_the_field_and_writes_nothing(olena, store):  # noqa: F811
    before = db_state(store)
    form = edit_form(store, "kyiv-03", opening_hours="Пн-Пт 9-18")
    response = post(olena, "/operator/points/kyiv-03/edit", form)
    assert response.status_code == 400
    page = text(response)
    assert 'aria-invalid="true"' in tag(page, "f-opening_hours")
    assert 'value="Пн-Пт 9-18"' in tag(page, "f-opening_hours")
    assert 'id="e-opening_hours"' in page and "Не вдається прочитати графік" in page
    assert db_state(store) == before


def test_edit_saves_hours_and_previews_them_in_the_pages_language(olena, store):  # noqa: F811
    form = edit_form(store, "kyiv-03", opening_hours="Mo-Fr 09:00-18:00; Sa 10:00-14:00")
    assert post(olena, "/operator/points/kyiv-03/edit", form).status_code == 302
    assert store.get("kyiv-03").opening_hours == "Mo-Fr 09:00-18:00; Sa 10:00-14:00"
    page = text(olena.get("/operator/points/kyiv-03/edit"))
    assert "Пн–Пт 09:00–18:00\nСб 10:00–14:00" in page
    olena.set_cookie("lang", "en")
    english = text(olena.get("/operator/points/kyiv-03/edit?lang=en"))
    assert "Mon–Fri 09:00–18:00\nSat 10:00–14:00" in english


def test_the_preview_endpoint_answers_the_value_or_its_problem(olena):  # noqa: F811
    good = olena.get("/operator/hours/preview", query_string={"value": "Mo-Fr 09:00-18:00"}).get_json()
    assert good == {"ok": True, "preview": "Пн–Пт 09:00–18:00"}
    assert olena.get("/operator/hours/preview?value=24/7").get_json() == {"ok": True, "preview": "24/7"}
    bad = olena.get("/operator/hours/preview", query_string={"value": "Mo-Fr 25:00"}).get_json()
    assert bad["ok"] is False and "символу" in bad["error"]


def test_the_preview_needs_a_login(client, people):  # noqa: F811
    response = client.get("/operator/hours/preview?value=24/7")
    assert response.status_code == 302 and "/operator/login" in response.headers["Location"]
