"""The site used, not only looked at: sidebars opened and closed, the in-page contents followed,
the page tabbed through, figures enlarged, a chapter printed to PDF, code and formulas measured
against their boxes. On a phone (390 px) and a desktop (1366 px), in light and dark mode.

Each test opens its page in a fresh tab of the session's Chromium (so state such as a folded
sidebar never leaks from one test into the next).
"""

from __future__ import annotations

import pytest

from . import interaction
from .book import toc_pages
from .checks import enable_dark_mode, wait_until_ready

pytestmark = pytest.mark.browser

PAGES = toc_pages()
CHAPTERS = [page for page in PAGES if page.docname.startswith("chapters/")]
FIRST_CHAPTER = CHAPTERS[0] if CHAPTERS else PAGES[0]
FIGURE_PAGE = next((page for page in PAGES if page.docname == "notation"), FIRST_CHAPTER)
NAVIGATION_PAGE = next((page for page in PAGES if page.docname == "learners"), FIRST_CHAPTER)
THEMES = ["light", "dark"]
DEVICES = {"phone": interaction.PHONE, "desktop": interaction.DESKTOP}


@pytest.fixture
def open_page(browser, server, site):
    """``open_page(page, device, theme)``: a fresh tab on ``page``, ready to be used."""
    contexts = []

    def opener(page, device="desktop", theme="light"):
        if not (site / page.html).is_file():
            pytest.fail(f"{page.html} is not in the built site: rebuild it (`make book`)")
        options = {"viewport": DEVICES[device], "color_scheme": theme}
        if device == "phone":
            options.update(is_mobile=True, has_touch=True)
        context = browser.new_context(**options)
        context.set_default_timeout(45_000)  # a shared CI machine can be slow
        if theme == "dark":
            enable_dark_mode(context)
        contexts.append(context)
        tab = context.new_page()
        tab.goto(server.url(page.html), wait_until="load")
        wait_until_ready(tab)
        tab.wait_for_timeout(200)  # site.js lays out equations once MathJax is done
        return tab

    yield opener
    for context in contexts:
        context.close()


def _assert_clean(what: str, problems: list[str]) -> None:
    assert not problems, f"{what}:\n  - " + "\n  - ".join(problems)


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("device", list(DEVICES))
def test_sidebars_open_and_close_and_contents_lead_to_sections(open_page, device, theme):
    """Both sidebar toggles, by click and by Enter, then a link of 'On this page'. The toggles
    are the same on every page: a page with few formulas keeps the test fast."""
    tab = open_page(NAVIGATION_PAGE, device, theme)
    check = interaction.check_sidebar_on_phone if device == "phone" else interaction.check_sidebar_on_desktop
    problems = []
    for which in ("primary", "secondary"):
        problems += check(tab, which)
    problems += interaction.check_in_page_contents(tab, phone=device == "phone")
    _assert_clean(f"{NAVIGATION_PAGE.html} on a {device} ({DEVICES[device]['width']} px), {theme} mode", problems)


@pytest.mark.parametrize("theme", THEMES)
def test_every_control_shows_its_focus(open_page, theme):
    """Chapter 1 (formulas, code, launch buttons) in light mode; the notation page in dark."""
    page = FIRST_CHAPTER if theme == "light" else FIGURE_PAGE
    tab = open_page(page, "desktop", theme)
    _assert_clean(f"{page.html}, {theme}: tabbing through the page", interaction.check_focus_ring(tab))


@pytest.mark.parametrize("page", CHAPTERS, ids=str)
def test_code_and_equations_fit(open_page, page):
    """At 1366 px nothing overflows its box; at 390 px what does wraps or shows a scroll cue."""
    tab = open_page(page, "desktop", "dark")
    problems = [f"at 1366 px: {problem}" for problem in interaction.check_fits(tab)]
    tab.set_viewport_size(interaction.PHONE)
    tab.wait_for_timeout(300)
    problems += [f"at 390 px: {problem}" for problem in interaction.check_overflow_is_deliberate(tab)]
    problems += [f"at 390 px: {problem}" for problem in interaction.check_tables_stay_whole(tab)]
    problems += [f"at 390 px: {problem}" for problem in interaction.check_inline_math_fits(tab)]
    _assert_clean(f"{page.html} (notebook code lines: at most 84 characters)", problems)


FIGURE_PAGES = [page for page in PAGES if page.docname.startswith("chapters/") or page.docname == "notation"]


@pytest.mark.parametrize("device", list(DEVICES))
@pytest.mark.parametrize("page", FIGURE_PAGES, ids=str)
def test_figure_text_is_legible(open_page, site, page, device):
    """Every figure's smallest text, as shown, is at least 7 CSS px: on a phone (390 px, where a
    wide figure scrolls in its box with the cue) and on a desktop (1366 px)."""
    tab = open_page(page, device, "light")
    problems = interaction.check_figures_legible(tab, site)
    _assert_clean(f"{page.html} at {DEVICES[device]['width']} px", problems)


def test_a_printed_chapter_cuts_no_code_line(open_page):
    tab = open_page(FIRST_CHAPTER, "desktop")
    _assert_clean(f"{FIRST_CHAPTER.html} printed to PDF", interaction.check_print(tab))


@pytest.mark.parametrize("device", list(DEVICES))
def test_figures_open_larger(open_page, device):
    tab = open_page(FIGURE_PAGE, device)
    _assert_clean(f"{FIGURE_PAGE.html} on a {device}: the larger view of a figure", interaction.check_lightbox(tab))
