"""The partner widget, embedded by a page on another origin, in a real headless browser."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

import pytest
from browser_support import (
    BROVARY,
    REGION,
    Site,
    brute_force_nearest,
    open_guarded_tab,
    serve,
)
from playwright.sync_api import expect

from locator.web.embed import SANDBOX

EMBED_BUDGET_BYTES = 120_000  # HTML, scripts, styles and the region's data, compressed, tiles excluded


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    with serve(tmp_path_factory.mktemp("embed-site")) as site:
        yield site


@pytest.fixture(scope="module")
def partner(tmp_path_factory, site) -> Iterator[callable]:
    """A second local server (another origin: another port) whose pages embed the widget."""
    folder: Path = tmp_path_factory.mktemp("partner")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def page_embedding(query: dict, name: str = "index.html") -> str:
        src = site.url("/embed?" + urlencode(query))
        (folder / name).write_text(
            "<!doctype html><html><head><meta charset='utf-8'><title>Громада</title></head><body>"
            "<h1>Новини громади</h1>"
            f'<iframe id="poi" src="{src}" title="Пункти незламності" width="100%" height="600"'
            f' sandbox="{SANDBOX}" allow="geolocation"></iframe></body></html>',
            encoding="utf-8",
        )
        return f"http://127.0.0.1:{server.server_port}/{name}"

    yield page_embedding
    server.shutdown()
    server.server_close()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_widget_renders_filters_and_lists_nearest_inside_a_sandboxed_cross_origin_frame(
    browser, site, partner
):
    context, tab = open_guarded_tab(
        browser,
        site,
        geolocation={"latitude": BROVARY[0], "longitude": BROVARY[1]},
        permissions=["geolocation"],
    )
    try:
        page = tab.page
        sizes: list[int] = []
        page.on("requestfinished", lambda request: sizes.append(_transfer(request, site)))
        page.goto(partner({"region": REGION, "services": "power"}))
        frame = page.frame_locator("#poi")
        expect(frame.locator("#map-app")).to_have_attribute("data-loaded", "true")
        in_region = [p for p in site.points if p["region"] == REGION and "power" in p["services"]]
        expect(frame.locator("#map-app")).to_have_attribute("data-shown", str(len(in_region)))
        expect(frame.locator(".marker-cluster, .poi").first).to_be_visible()
        # filters work inside the frame
        frame.locator("#filters summary").click()
        frame.locator('input[name="open"]').check()
        open_ones = [p for p in in_region if p["status"] == "open"]
        expect(frame.locator("#map-app")).to_have_attribute("data-shown", str(len(open_ones)))
        # the nearest list, restricted to the widget's region and services
        frame.locator("#near-me").click()
        expect(frame.locator("#results li.result")).to_have_count(5)
        expected = brute_force_nearest(in_region, *BROVARY)[:5]
        assert frame.locator("#results li.result h3").all_inner_texts() == [p["name"] for p in expected]
        links = frame.locator("#results li.result h3 a")
        assert links.first.get_attribute("target") == "_blank"  # points open on our site, in a new tab
        assert context.cookies() == []  # the widget sets no cookie, first- or third-party
        print(f"embed transfer: {sum(sizes)} bytes in {sum(1 for s in sizes if s)} responses")
        assert sum(sizes) < EMBED_BUDGET_BYTES, f"embed transferred {sum(sizes)} bytes"
        tab.guard.assert_clean(page)
    finally:
        context.close()


def test_a_point_opened_from_the_widget_takes_a_report_and_the_widgets_search_works(browser, site, partner):
    """The whole flow from a partner page on another origin, in the snippet's sandbox: the point
    opens on our site in a new tab that has left the sandbox, so its report form can be sent; the
    widget's own place search (a form) works inside it."""
    context, tab = open_guarded_tab(
        browser,
        site,
        geolocation={"latitude": BROVARY[0], "longitude": BROVARY[1]},
        permissions=["geolocation"],
    )
    try:
        page = tab.page
        page.goto(partner({"region": REGION}, name="flow.html"))
        frame = page.frame_locator("#poi")
        expect(frame.locator("#map-app")).to_have_attribute("data-loaded", "true")
        frame.locator("#search-input").fill("Бровари")
        frame.locator("#search-form button[type=submit]").click()
        expect(frame.locator("#results li.result").first).to_be_visible()
        with context.expect_page() as opened:
            frame.locator("#results li.result h3 a").first.click()
        point_page = opened.value
        point_page.wait_for_load_state()
        form = point_page.locator("#report form")
        form.locator('input[name="kind"][value="full"]').check()
        with (
            point_page.expect_navigation(),
            point_page.expect_response(lambda r: r.request.method == "POST") as sent,
        ):
            form.locator('button[type="submit"]').click()
        assert sent.value.status == 303, sent.value.status
        expect(point_page.locator("#report [role=status]")).to_be_visible()
    finally:
        context.close()


def _transfer(request, site: Site) -> int:
    """Bytes on the wire for one request to our site (tiles and the partner page not counted)."""
    if not request.url.startswith(site.base_url):
        return 0
    sizes = request.sizes()
    return sizes["responseBodySize"] + sizes["responseHeadersSize"]


def test_a_bad_option_is_a_400_page_naming_it(browser, site):
    context, tab = open_guarded_tab(browser, site)
    try:
        response = tab.page.goto(site.url("/embed?status=bogus"))
        assert response.status == 400
        assert "status" in tab.page.locator("main").inner_text()
    finally:
        context.close()


def test_builder_makes_a_snippet_and_previews_it(browser, site):
    context, tab = open_guarded_tab(browser, site)
    try:
        page = tab.page
        page.goto(site.url("/embed/builder"))
        page.select_option("#b-region", REGION)
        page.check('input[name="services"][value="water"]')
        snippet = page.input_value("#snippet")
        assert (
            snippet.startswith("<iframe ")
            and 'title="' in snippet
            and f'sandbox="{SANDBOX}"' in snippet
            and "status=open%2Cfull" in snippet.replace(",", "%2C")  # the working statuses, by default
        )
        assert page.get_attribute("#preview", "sandbox") == SANDBOX
        assert "services=water" in snippet and "region=" in snippet
        assert f'src="{site.url("/embed?")}' in snippet  # the site's own address (LOCATOR_PUBLIC_URL)
        preview = page.get_attribute("#preview", "src")
        assert preview.startswith("/embed?") and "services=water" in preview  # from wherever it was opened
        frame = page.frame_locator("#preview")
        expect(frame.locator("#map-app")).to_have_attribute("data-loaded", "true")
        tab.guard.assert_clean(page)
    finally:
        context.close()


def test_builder_place_picker_takes_latin_names_and_never_previews_an_error(browser, site):
    """Typing shows places from the place search; only a picked place reaches the snippet and
    the preview, so a half-typed name never loads an error page in the preview."""
    context, tab = open_guarded_tab(browser, site)
    try:
        page = tab.page
        page.goto(site.url("/embed/builder"))
        first_src = page.get_attribute("#preview", "src")
        field = page.locator("#b-settlement")
        field.press_sequentially("Brov")  # each key an input event, as a person types
        option = page.locator("#b-places button", has_text="Бровари")
        expect(option.first).to_be_visible()
        assert page.get_attribute("#preview", "src") == first_src  # typing changed nothing yet
        box = option.first.bounding_box()
        assert box["height"] >= 48
        option.first.click()
        expect(field).to_have_value(f"Бровари ({REGION})")
        snippet = page.input_value("#snippet")
        assert (
            "center=50.5" in snippet.replace("%2C", ",")
            and "zoom=12" in snippet
            and "settlement" not in snippet
        )
        frame = page.frame_locator("#preview")
        expect(frame.locator("#map-app")).to_have_attribute("data-loaded", "true")
        # hostile or unknown text: no options, a plain message, the preview unchanged
        picked_src = page.get_attribute("#preview", "src")
        field.fill("")
        field.press_sequentially("<img src=x onerror=alert(1)>")
        expect(page.locator("#b-place-hint")).to_have_text("Такого населеного пункту не знайдено")
        assert page.locator("#b-places button").count() == 0
        assert page.get_attribute("#preview", "src") != picked_src  # the pick was undone: no centre
        assert "center=" not in page.input_value("#snippet")
        tab.guard.assert_clean(page)
    finally:
        context.close()
