"""Every page of the table of contents, opened in Chromium as a reader sees it.

Each page is loaded once: the checks run on that load in light mode at desktop width, then with the
tab narrowed to phone width, then with the page switched to dark mode (``data-theme="dark"`` on
<html>, as the theme's switcher does). The results are cached, and each test below reports one check
of one page, so a failure names both.
"""

from __future__ import annotations

import pytest

from . import checks
from .book import Page, launch_settings, repository, toc_pages

pytestmark = pytest.mark.browser

PAGES = toc_pages()
NOTEBOOKS = [page for page in PAGES if page.is_notebook]


def _run(page_checks: dict, report: dict[str, list[str]]) -> None:
    for name, check in page_checks.items():
        try:
            report[name] = check()
        except Exception as error:  # noqa: BLE001 - a crashing check is a failing check
            report[name] = [f"the {name} check crashed: {type(error).__name__}: {error}"]


def inspect(site, server, tab: checks.Tab, axe_source: str, page: Page) -> dict[str, list[str]]:
    """Open ``page`` once and run every check on it; return the problems found, per check."""
    names = ["math", "images", "accessibility", "launch", "dark", "phone", "requests", "console"]
    if not (site / page.html).is_file():
        return {name: [f"{page.html} is not in the built site {site}: rebuild it (`make book`)"] for name in names}
    try:
        visit = tab.goto(server.url(page.html))
    except Exception as error:  # noqa: BLE001 - reported by every test of this page
        return {name: [f"{page.html} did not load: {error}"] for name in names}
    browser_page = tab.page

    def launch() -> list[str]:
        expected = checks.expected_launch_links(page, repository(), launch_settings())
        return checks.check_launch_links(browser_page, expected)

    def phone() -> list[str]:
        checks.set_viewport(browser_page, checks.PHONE)
        try:
            return checks.check_phone_width(browser_page)
        finally:
            checks.set_viewport(browser_page, checks.DESKTOP)

    def dark() -> list[str]:
        checks.set_theme(browser_page, "dark")
        return checks.check_dark_mode(browser_page)

    report: dict[str, list[str]] = {}
    _run({
        "math": lambda: checks.check_math(browser_page),
        "images": lambda: checks.check_images(browser_page),
        "accessibility": lambda: checks.check_accessibility(browser_page, axe_source),
        **({"launch": launch} if page.is_notebook else {}),
        "phone": phone,
        "dark": dark,
    }, report)
    # Last but two: to check colours fast it hides most of the page (the next page loads afresh).
    # The slowest check (about 5 s a page); a solution page is its exercise page with the answers
    # filled in, the same kinds of elements in the same colours, so the exercise page stands for it.
    contrast: dict[str, list[str]] = {"contrast": {"light": [], "dark": []}}
    if not page.docname.startswith("solutions/"):
        _run({"contrast": lambda: checks.check_contrast(browser_page, axe_source)}, contrast)
    if isinstance(contrast["contrast"], dict):
        report["accessibility"] += contrast["contrast"]["light"]
        report["dark"] += contrast["contrast"]["dark"]
    else:  # the check crashed: both reports say so
        report["accessibility"] += contrast["contrast"]
        report["dark"] += contrast["contrast"]
    # Last, so that they include whatever the other checks made the page load or log.
    _run({"requests": lambda: checks.check_requests(visit), "console": lambda: checks.check_console(visit)}, report)
    return report


@pytest.fixture(scope="session")
def reports(site, server, light_tab, axe_source):
    """``reports(page)``: the problems found on ``page``, per check (each page inspected once)."""
    cache: dict[str, dict[str, list[str]]] = {}

    def report(page: Page) -> dict[str, list[str]]:
        if page.docname not in cache:
            cache[page.docname] = inspect(site, server, light_tab, axe_source, page)
        return cache[page.docname]

    return report


def _assert_clean(page: Page, what: str, problems: list[str]) -> None:
    assert not problems, f"{page.html}: {what}:\n  - " + "\n  - ".join(problems)


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_math_is_typeset(page, reports):
    _assert_clean(page, "formulas not typeset or raw LaTeX in the prose", reports(page)["math"])


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_no_request_leaves_the_machine(page, reports):
    _assert_clean(page, "requests that leave 127.0.0.1 or fail", reports(page)["requests"])


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_no_console_errors(page, reports):
    _assert_clean(page, "console errors", reports(page)["console"])


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_images_load_with_alt_text(page, reports):
    _assert_clean(page, "images that fail to load or lack meaningful alt text", reports(page)["images"])


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_accessibility(page, reports):
    _assert_clean(page, "serious or critical WCAG 2 A/AA violations (axe-core)", reports(page)["accessibility"])


@pytest.mark.parametrize("page", NOTEBOOKS, ids=str)
def test_launch_links(page, reports):
    _assert_clean(page, "Binder/Colab links", reports(page)["launch"])


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_dark_mode(page, reports):
    _assert_clean(page, "dark mode", reports(page)["dark"])


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_phone_width(page, reports):
    _assert_clean(page, f"at {checks.PHONE['width']}px (phone) width", reports(page)["phone"])
