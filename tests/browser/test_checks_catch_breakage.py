"""Proof that the suite can fail: the same check functions that pass on the built site, run on a
deliberately broken page (``fixtures/broken/index.html``), must report each breakage planted in it.

The broken page is served from a temporary folder next to the built site's ``_static/`` (so it gets
the site's own MathJax), in the same browser, with the same offline set-up, as the real pages.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from . import checks
from .book import Page, Repository, SiteServer, book_dir, broken_internal_links

pytestmark = pytest.mark.browser

FIXTURE = Path(__file__).parent / "fixtures" / "broken"


def _has(problems: list[str], *fragments: str) -> bool:
    return any(all(fragment in problem for fragment in fragments) for problem in problems)


def _assert_reports(problems: list[str], *fragments: str) -> None:
    assert _has(problems, *fragments), f"expected a problem mentioning {fragments}, got:\n" + "\n".join(problems)


@pytest.fixture(scope="module")
def broken_site(site, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("broken-site")
    for path in FIXTURE.iterdir():
        shutil.copy(path, root / path.name)
    (root / "_static").symlink_to(site / "_static", target_is_directory=True)
    return root


@pytest.fixture(scope="module")
def broken_server(broken_site):
    with SiteServer(broken_site) as server:
        yield server


def _open_broken(browser, broken_server):
    context = browser.new_context(viewport=checks.DESKTOP, color_scheme="light")
    tab = checks.Tab(context.new_page(), broken_server.origin)
    return context, tab, tab.goto(broken_server.url("index.html"))


@pytest.fixture(scope="module")
def broken(browser, broken_server):
    """The broken page, loaded once in a fresh tab: (tab, what its load requested and logged)."""
    context, tab, visit = _open_broken(browser, broken_server)
    yield tab, visit
    context.close()


def test_math_check_catches_untypeset_and_raw_latex(broken):
    tab, _ = broken
    problems = checks.check_math(tab.page)
    _assert_reports(problems, "MathJax could not typeset", "\\frac")
    _assert_reports(problems, "raw $...$ math", "softmax")


def test_request_check_catches_requests_leaving_the_machine(broken):
    tab, visit = broken
    problems = checks.check_requests(visit)
    _assert_reports(problems, "leaves 127.0.0.1", "https://fonts.example.com/")
    _assert_reports(problems, "leaves 127.0.0.1", "https://images.example.com/chart.png")
    _assert_reports(problems, "HTTP 404", "missing-figure.png")
    # ... and the dead proxy kept them from reaching the internet: the external image never loaded.
    loaded = tab.page.evaluate("() => [...document.images].filter(i => i.naturalWidth > 0).map(i => i.src)")
    assert not [src for src in loaded if "example.com" in src], loaded


def test_console_check_catches_errors(broken):
    _, visit = broken
    _assert_reports(checks.check_console(visit), "deliberately broken: a script failed")


def test_image_check_catches_missing_images_and_alt_text(broken):
    tab, _ = broken
    problems = checks.check_images(tab.page)
    _assert_reports(problems, "does not load", "missing-figure.png")
    _assert_reports(problems, "chart.png", "file name for alt text")
    _assert_reports(problems, "transparent-figure.svg", "no alt attribute")


def test_accessibility_check_catches_wcag_violations(broken, axe_source):
    tab, _ = broken
    _assert_reports(checks.check_accessibility(tab.page, axe_source), "axe image-alt (critical)")


def test_contrast_check_catches_faint_text_in_both_themes(browser, broken_server, axe_source):
    context, tab, _ = _open_broken(browser, broken_server)  # its own tab: the check hides the page
    try:
        found = checks.check_contrast(tab.page, axe_source)
    finally:
        context.close()
    _assert_reports(found["light"], "axe color-contrast (serious) in light mode", ".faint")
    _assert_reports(found["dark"], "axe color-contrast (serious) in dark mode", ".faint")


def test_launch_check_catches_wrong_and_missing_links(broken):
    tab, _ = broken
    notebook = Page("chapters/03_causal_attention", book_dir() / "chapters" / "03_causal_attention.ipynb")
    expected = checks.expected_launch_links(notebook, Repository("owner", "course", "main", ""), {})
    # The launch buttons open the Colab/Binder-ready copy (tools/make_colab.py).
    assert expected["Binder"] == ("https://mybinder.org/v2/gh/owner/course/main"
                                  "?urlpath=tree/colab/chapters/03_causal_attention.ipynb")
    assert expected["Colab"] == ("https://colab.research.google.com/github/owner/course/blob/main/"
                                 "colab/chapters/03_causal_attention.ipynb")
    problems = checks.check_launch_links(tab.page, expected)
    _assert_reports(problems, "Binder link points at", "chapters/wrong.ipynb")
    _assert_reports(problems, "no Colab link")


def test_dark_mode_check_catches_transparent_figures(broken):
    tab, _ = broken
    checks.set_theme(tab.page, "dark")
    try:
        problems = checks.check_dark_mode(tab.page)
    finally:
        checks.set_theme(tab.page, "light")
    _assert_reports(problems, "transparent-figure.svg", "transparent background")
    assert not _has(problems, "stays light"), problems


def test_dark_mode_check_catches_a_page_that_stays_light(broken):
    tab, _ = broken  # in light mode: as a page whose styles ignore data-theme="dark" would look
    _assert_reports(checks.check_dark_mode(tab.page), "stays light in dark mode")


def test_phone_check_catches_sideways_scrolling(broken):
    tab, _ = broken
    checks.set_viewport(tab.page, checks.PHONE)
    try:
        problems = checks.check_phone_width(tab.page)
    finally:
        checks.set_viewport(tab.page, checks.DESKTOP)
    _assert_reports(problems, "the page scrolls sideways")
    _assert_reports(problems, "refuses to wrap", "sticks out of the 375px viewport")


def test_link_check_catches_missing_pages_and_anchors(broken_site):
    problems = broken_internal_links(broken_site, [broken_site / "index.html"])
    _assert_reports(problems, "no-such-page.html", "missing file")
    _assert_reports(problems, "#no-such-section", "missing anchor")


def test_search_check_catches_a_search_that_finds_nothing(server, light_tab):
    problems = checks.check_search(light_tab.page, server.url("search.html?q=zqxjkvw"), "intro.html")
    _assert_reports(problems, "found no link to intro.html")


@pytest.mark.parametrize("text", [r"the scores $QK^\top$ are", "a stray $$ here", r"use \frac{a}{b}",
                                  r"inline \(x\) math", "$x$"])
def test_raw_latex_patterns_flag_latex(text):
    assert any(pattern.search(text) for pattern, _ in checks.RAW_LATEX), text


@pytest.mark.parametrize("text", ["it costs $5 and $6", "US$ 10", "a path C:/data", "50% of $3.50"])
def test_raw_latex_patterns_leave_plain_prose_alone(text):
    assert not any(pattern.search(text) for pattern, _ in checks.RAW_LATEX), text


@pytest.mark.parametrize(("alt", "src", "bad"), [
    (None, "a.png", True), ("", "a.png", True), ("  ", "a.png", True),
    ("a.png", "../_images/a.png", True), ("../_images/3f2a.png", "../_images/3f2a.png", True),
    ("image", "x.png", True), ("Figure 2", "x.png", True), ("Heatmap", "x.png", True),
    ("Heatmap of the causal mask: ones on and below the diagonal", "x.png", False),
])
def test_alt_text_rules(alt, src, bad):
    assert (checks.alt_text_problem(alt, src, in_content=True) is not None) == bad
