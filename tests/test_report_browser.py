"""The report in a real browser: Debian's Chromium driven by Playwright (never a downloaded one).

Checks what a reader meets: every image loads and has alt text, no console error, no request
leaves the page, the place search finds a village and shows its profile, both languages
render, a name made of markup stays text, and the page fits a phone's width. Screenshots are
saved into the test's temporary folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from report_data import EVIL, report

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="Debian's chromium is not installed "
                                "(apt-get install chromium; .ci/run does it)")


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """Danish report with a place called like markup, English report of the plain data."""
    base = tmp_path_factory.getbasetemp()
    return {"da": report(base, "da", evil=True).path, "en": report(base, "en").path,
            "dir": tmp_path_factory.mktemp("browser")}


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Visit:
    """A page opened on a report, recording requests, console errors and dialogs."""

    def __init__(self, browser, path: Path, **context) -> None:
        self.context = browser.new_context(**context)
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []

        def route(r):
            self.requests.append(r.request.url)
            if r.request.url.startswith(("file:", "data:")):
                r.continue_()
            else:
                r.abort()

        self.context.route("**/*", route)
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.goto(path.as_uri(), wait_until="load")

    def close(self) -> None:
        self.context.close()


IMAGES_JS = """() => Array.from(document.images).map(i => ({
    alt: i.getAttribute('alt') || '', w: i.naturalWidth, h: i.naturalHeight,
    done: i.complete}))"""


@pytest.mark.parametrize("lang", ["da", "en"])
def test_images_load_with_alt_text_no_errors_no_requests(browser, reports, lang):
    """Rule: every image loads (non-zero natural size) and has alt text; nothing is logged as
    an error; every request the page makes is to the file itself or a data: URI."""
    v = Visit(browser, reports[lang])
    imgs = v.page.evaluate(IMAGES_JS)
    assert len(imgs) >= 8
    for img in imgs:
        assert img["done"] and img["w"] > 100 and img["h"] > 100
        assert len(img["alt"].strip()) > 40
    assert v.errors == []
    assert v.requests and all(u.startswith(("file:", "data:")) for u in v.requests), \
        [u[:80] for u in v.requests if not u.startswith(("file:", "data:"))]
    v.close()


def test_both_languages_render(browser, reports):
    """Rule: the Danish file reads in Danish and the English one in English, headings and the
    place profile alike."""
    for lang, title, label in (("da", "Landsbyernes fremtid i Region Midtjylland", "Kommune"),
                               ("en", "The future of villages in Region Midtjylland",
                                "Municipality")):
        v = Visit(browser, reports[lang])
        assert v.page.locator("html").get_attribute("lang") == lang
        assert v.page.locator("h1").inner_text() == title
        v.page.fill("#place-search", "Lemvig")
        v.page.locator("#search-results a").first.click()
        expect(v.page.locator("#profile dl")).to_contain_text(label)
        assert v.errors == []
        v.close()


def test_search_finds_a_village_and_shows_its_profile(browser, reports):
    """Rule: typing a village's name lists it; choosing it shows its profile (figures,
    trajectory chart with alt text, services, similar places); a similar place's link opens
    that place's profile. Screenshots of the page are saved."""
    v = Visit(browser, reports["en"], viewport={"width": 1000, "height": 1300})
    page = v.page
    page.screenshot(path=str(reports["dir"] / "overview.png"))
    page.locator("#scenario-0").scroll_into_view_if_needed()
    page.screenshot(path=str(reports["dir"] / "initiative.png"))
    page.fill("#place-search", "Thyborøn")
    first = page.locator("#search-results a").first
    assert first.inner_text().startswith("Thyborøn")
    first.click()
    profile = page.locator("#profile")
    expect(profile.locator("h3")).to_have_text("Thyborøn")
    chart = profile.locator("svg.chart")
    assert chart.get_attribute("role") == "img"
    assert "Thyborøn" in chart.get_attribute("aria-label")
    box = chart.bounding_box()
    assert box["width"] > 200 and box["height"] > 80
    assert profile.locator("ol li a").count() == 5
    other = profile.locator("ol li a").first
    name = other.inner_text().split(" (")[0]
    other.click()
    expect(page.locator("#profile h3")).to_have_text(name)
    profile.screenshot(path=str(reports["dir"] / "profile.png"))
    assert v.errors == []
    for f in ("overview.png", "initiative.png", "profile.png"):
        assert (reports["dir"] / f).stat().st_size > 10_000
    v.close()


def test_a_name_made_of_markup_stays_text(browser, reports):
    """Rule: a place called '<script>alert(...)</script>' is found by the search and shown as
    its literal name; no script runs (no dialog), no error."""
    v = Visit(browser, reports["da"])
    v.page.fill("#place-search", "<script>")
    hit = v.page.locator("#search-results a").first
    assert hit.inner_text().startswith(EVIL)
    hit.click()
    expect(v.page.locator("#profile h3")).to_have_text(EVIL)
    assert EVIL in v.page.locator("#scenario-0 h3.scenario-name").inner_text()
    assert v.dialogs == [] and v.errors == []
    v.close()


def test_page_fits_a_phone(browser, reports):
    """Rule: on a 390 px wide phone screen nothing is wider than the screen (tables scroll in
    their own box), body text stays at least 16 px, and images shrink to fit."""
    v = Visit(browser, reports["da"], viewport={"width": 390, "height": 844},
              device_scale_factor=2, is_mobile=True, has_touch=True)
    page = v.page
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390
    size = page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)")
    assert size >= 16
    widest = page.evaluate("() => Math.max(...Array.from(document.images).map("
                           "i => i.getBoundingClientRect().width))")
    assert widest <= 390
    page.screenshot(path=str(reports["dir"] / "phone.png"))
    v.close()
