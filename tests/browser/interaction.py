"""Checks that *use* the site as a reader does: click and press keys, then look at the result.

Like checks.py, each function takes a Playwright page (already on the page to test) and returns
a list of problems; an empty list means it passes. test_interaction.py runs them on the built
site; test_checks_catch_breakage.py proves on small broken pages that they can fail.
"""

from __future__ import annotations

from playwright.sync_api import Page as PlaywrightPage

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


def _visible_toggle(page: PlaywrightPage, cls: str):
    """The toggle of class ``cls`` that a reader sees (the theme has a hidden one too)."""
    for toggle in page.locator(f"button.{cls}").all():
        if toggle.is_visible():
            return toggle
    return None


def _dialog_open(page: PlaywrightPage, dialog_id: str) -> bool:
    return page.evaluate(f"() => !!document.getElementById('{dialog_id}')?.open")


def _sidebar_shown(page: PlaywrightPage, sidebar_id: str) -> bool:
    return page.evaluate(
        f"""() => {{
            const sidebar = document.getElementById('{sidebar_id}');
            if (!sidebar) return false;
            const style = getComputedStyle(sidebar), box = sidebar.getBoundingClientRect();
            return style.display !== 'none' && style.visibility !== 'hidden' && box.width > 50
                   && box.right > 0 && box.left < window.innerWidth && parseFloat(style.opacity) > 0.5;
        }}"""
    )


def _settle(page: PlaywrightPage, ms: int = 350) -> None:
    page.wait_for_timeout(ms)  # the theme animates the sidebars (0.2 s)


SIDEBARS = {
    "primary": ("primary-toggle", "pst-primary-sidebar", "pst-primary-sidebar-modal"),
    "secondary": ("secondary-toggle", "pst-secondary-sidebar", "pst-secondary-sidebar-modal"),
}


def check_sidebar_on_phone(page: PlaywrightPage, which: str) -> list[str]:
    """At phone width the toggle opens the sidebar as a dialog, by click and by Enter; the
    Close button and Escape close it, and focus returns to the toggle."""
    cls, _, dialog_id = SIDEBARS[which]
    toggle = _visible_toggle(page, cls)
    if toggle is None:
        return [f"no visible {which} sidebar toggle (button.{cls}) at phone width"]
    problems = []
    toggle.click()
    _settle(page)
    if not _dialog_open(page, dialog_id):
        return [f"clicking the {which} sidebar toggle does not open the sidebar (#{dialog_id} stays closed)"]
    links = page.locator(f"#{dialog_id} a[href]")
    if links.count() == 0 or not links.first.is_visible():
        problems.append(f"the open {which} sidebar shows no links")
    if toggle.get_attribute("aria-expanded") != "true":
        problems.append(f"the {which} toggle does not say it is expanded (aria-expanded)")
    close = page.locator(f"#{dialog_id} .site-dialog-close")
    if close.count() == 0 or not close.first.is_visible():
        problems.append(f"the open {which} sidebar has no visible Close button")
        page.keyboard.press("Escape")
    else:
        close.first.click()
    _settle(page)
    if _dialog_open(page, dialog_id):
        return problems + [f"the {which} sidebar does not close"]
    if not page.evaluate("el => document.activeElement === el", toggle.element_handle()):
        problems.append(f"focus does not return to the {which} toggle when its sidebar closes")
    toggle.focus()
    page.keyboard.press("Enter")
    _settle(page)
    if not _dialog_open(page, dialog_id):
        problems.append(f"Enter on the {which} sidebar toggle does not open the sidebar")
    else:
        page.keyboard.press("Escape")
        _settle(page)
        if _dialog_open(page, dialog_id):
            problems.append(f"Escape does not close the {which} sidebar")
    return problems


def check_sidebar_on_desktop(page: PlaywrightPage, which: str) -> list[str]:
    """On a wide screen the sidebar is shown; its toggle folds it and shows it again, by click
    and by Enter."""
    cls, sidebar_id, dialog_id = SIDEBARS[which]
    toggle = _visible_toggle(page, cls)
    if toggle is None:
        return [f"no visible {which} sidebar toggle (button.{cls}) on a wide screen"]
    if not _sidebar_shown(page, sidebar_id):
        return [f"the {which} sidebar is not shown on a wide screen to begin with"]
    problems = []
    for how in ("click", "Enter"):
        for expect_shown in (False, True):
            if how == "click":
                toggle.click()
            else:
                toggle.focus()
                page.keyboard.press("Enter")
            _settle(page)
            if _dialog_open(page, dialog_id):
                problems.append(f"{how} on the {which} toggle opens a modal dialog on a wide screen")
                page.keyboard.press("Escape")
                _settle(page)
                return problems
            if _sidebar_shown(page, sidebar_id) != expect_shown:
                state = "show" if expect_shown else "fold"
                problems.append(f"{how} on the {which} toggle does not {state} the sidebar")
                return problems
            expanded = toggle.get_attribute("aria-expanded")
            if expanded != str(expect_shown).lower():
                problems.append(f"after {how}, the {which} toggle says aria-expanded={expanded!r}")
    return problems


def check_in_page_contents(page: PlaywrightPage, phone: bool) -> list[str]:
    """Following a link of "On this page" lands on its section (and closes the phone dialog)."""
    if phone:
        toggle = _visible_toggle(page, "secondary-toggle")
        if toggle is None:
            return ["no visible 'On this page' toggle at phone width"]
        toggle.click()
        _settle(page)
        container = "#pst-secondary-sidebar-modal"
    else:
        container = "#pst-secondary-sidebar"
    links = page.locator(f"{container} nav a[href^='#']")
    if links.count() < 2:
        return [f"'On this page' offers {links.count()} link(s) to sections"]
    link = links.nth(links.count() // 2)
    target = link.get_attribute("href")[1:]
    link.click()
    _settle(page, 600)
    problems = []
    if page.evaluate("() => decodeURIComponent(location.hash.slice(1))") != target:
        problems.append(f"following 'On this page' link #{target} does not change the address")
    top = page.evaluate(f"() => document.getElementById({target!r})?.getBoundingClientRect().top")
    height = page.viewport_size["height"]
    if top is None:
        problems.append(f"'On this page' links to #{target}, which is not on the page")
    elif not -5 <= top <= height / 3:
        problems.append(f"after following #{target}, its section is at {top:.0f}px, not at the top of "
                        f"the {height}px window")
    if phone and _dialog_open(page, "pst-secondary-sidebar-modal"):
        problems.append("the 'On this page' dialog stays open over the section it led to")
        page.keyboard.press("Escape")
    return problems


_FOCUS_JS = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el), box = el.getBoundingClientRect();
  const label = (el.getAttribute('aria-label') || el.innerText || el.getAttribute('title') || '')
                .trim().replace(/\\s+/g, ' ').slice(0, 50);
  return {
    what: `<${el.tagName.toLowerCase()}${el.className ? ' class="' + String(el.className).slice(0, 40) + '"' : ''}> "${label}"`,
    // A formula wider than its box scrolls, and a keyboard can only scroll what it can focus.
    formula: !!el.closest('mjx-container, .math') && el.scrollWidth <= el.clientWidth + 1,
    outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2
             && !/rgba\\([^)]*,\\s*0\\)$/.test(style.outlineColor) && style.outlineColor !== 'transparent',
    shadow: style.boxShadow !== 'none',
    visible: box.width > 0 && box.height > 0,
  };
}
"""


def check_focus_ring(page: PlaywrightPage, presses: int = 45) -> list[str]:
    """Tab through the page: every control that takes the focus shows a ring, and no formula
    is a tab stop (except one too wide for its box, which must be focusable to be scrolled). The header's Launch, Repository and Download buttons are among them."""
    problems = []
    tabbable_formulas = page.evaluate(
        "() => [...document.querySelectorAll('mjx-container')].filter(m => m.tabIndex >= 0"
        " && m.getAttribute('tabindex') !== null && m.scrollWidth <= m.clientWidth + 1).length")
    if tabbable_formulas:
        problems.append(f"{tabbable_formulas} formula(s) are tab stops")
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    seen = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        focus = page.evaluate(_FOCUS_JS)
        if focus is None:
            continue
        seen.append(focus["what"])
        if focus["formula"]:
            problems.append(f"a formula takes the focus: {focus['what']}")
        elif focus["visible"] and not (focus["outline"] or focus["shadow"]):
            problems.append(f"no visible focus ring on {focus['what']}")
    if len(set(seen)) < min(5, presses // 2):
        problems.append(f"tabbing {presses} times reached only {len(set(seen))} control(s): {seen[:5]}")
    for name, selector in (("Launch", ".dropdown-launch-buttons button"),
                           ("Repository", (".bd-header-article a[href*='github.com'], "
                                          ".bd-header-article .dropdown-source-buttons button")),
                           ("Download", ".dropdown-download-buttons button")):
        control = page.locator(selector).first
        if control.count() == 0:
            continue
        control.focus()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")  # focused by the keyboard, so :focus-visible applies
        focus = page.evaluate(_FOCUS_JS)
        if focus is None or not (focus["outline"] or focus["shadow"]):
            problems.append(f"the {name} button shows no focus ring when tabbed to")
    return list(dict.fromkeys(problems))


_OVERFLOW_JS = """
() => {
  const found = [];
  const article = document.querySelector('article.bd-article') || document.body;
  const boxes = article.querySelectorAll('div.cell_input pre, div.highlight pre, mjx-container[display="true"], '
                                         + 'div.math');
  for (const el of boxes) {
    if (!el.checkVisibility()) continue;
    const style = getComputedStyle(el);
    const over = el.scrollWidth - el.clientWidth;
    if (over <= 1) continue;
    // For code, the longest line (and its length) is what the author must shorten.
    const longest = el.textContent.split('\\n').sort((a, b) => b.length - a.length)[0] || '';
    const text = el.tagName === 'PRE' ? `line of ${longest.length} characters: ${longest.trim().slice(0, 70)}`
                                      : el.textContent.replace(/\\s+/g, ' ').trim().slice(0, 70);
    found.push({tag: el.tagName.toLowerCase(), over, text,
                cue: el.classList.contains('scroll-cue') && style.boxShadow !== 'none',
                wraps: style.whiteSpace.startsWith('pre-wrap') || style.whiteSpace === 'normal'});
  }
  return found;
}
"""


def check_fits(page: PlaywrightPage) -> list[str]:
    """No code cell and no display equation is wider than its box (desktop width)."""
    page.evaluate("() => window.siteRelayout && window.siteRelayout()")
    return [f"<{item['tag']}> overflows its box by {item['over']}px: {item['text']}"
            for item in page.evaluate(_OVERFLOW_JS)]


def check_overflow_is_deliberate(page: PlaywrightPage) -> list[str]:
    """At phone width whatever is wider than its box wraps or shows a scroll cue."""
    page.evaluate("() => window.siteRelayout && window.siteRelayout()")
    return [f"<{item['tag']}> overflows by {item['over']}px with neither wrapping nor a scroll cue: "
            f"{item['text']}" for item in page.evaluate(_OVERFLOW_JS) if not (item["cue"] or item["wraps"])]


def check_tables_stay_whole(page: PlaywrightPage) -> list[str]:
    """At phone width printed output (tables above all) keeps its lines: wrapped, a table's rows
    fall apart, so it scrolls as a whole instead (with the cue that check_overflow_is_deliberate
    asks for)."""
    return [f"printed output wraps at phone width, so its rows fall apart: {text}"
            for text in page.evaluate(
                """() => [...document.querySelectorAll('article.bd-article .cell_output pre')]
                       .filter(pre => pre.checkVisibility()
                                      && getComputedStyle(pre).whiteSpace !== 'pre')
                       .map(pre => pre.textContent.trim().split('\\n')[0].slice(0, 70))""")]


def check_print(page: PlaywrightPage) -> list[str]:
    """Printed (to PDF), no code line is cut: every code block wraps inside the printed page."""
    page.emulate_media(media="print")
    try:
        overflowing = page.evaluate(
            """() => [...document.querySelectorAll('article.bd-article pre')]
                   .filter(pre => pre.checkVisibility() && pre.scrollWidth > pre.clientWidth + 1)
                   .map(pre => pre.textContent.trim().split('\\n').sort((a, b) => b.length - a.length)[0]
                                  .slice(0, 70))""")
        pdf = page.pdf(format="A4", print_background=True)
    finally:
        page.emulate_media(media="screen")
    problems = [f"printed, a code line is cut at the margin: {line}" for line in overflowing]
    if not pdf.startswith(b"%PDF") or len(pdf) < 10_000:
        problems.append(f"printing to PDF gave {len(pdf)} bytes, not a document")
    return problems


def check_lightbox(page: PlaywrightPage) -> list[str]:
    """A figure opens at full size by click and by Enter; Escape closes it, focus returns."""
    figure = page.locator("article.bd-article img.site-zoomable").first
    if figure.count() == 0:
        return ["no figure of the article offers a larger view (img.site-zoomable)"]
    problems = []
    figure.scroll_into_view_if_needed()
    figure.click()
    _settle(page, 200)
    if not page.evaluate("() => !!document.querySelector('dialog.site-lightbox')?.open"):
        return ["clicking a figure does not open its larger view"]
    width = page.evaluate("() => document.querySelector('dialog.site-lightbox img').getBoundingClientRect().width")
    shown = figure.bounding_box()["width"]
    if width < shown:
        problems.append(f"the larger view ({width:.0f}px) is smaller than the figure in the page ({shown:.0f}px)")
    page.keyboard.press("Escape")
    _settle(page, 200)
    if page.evaluate("() => !!document.querySelector('dialog.site-lightbox')?.open"):
        problems.append("Escape does not close the larger view")
    # The control is the figure itself, or the link Sphinx wraps a scaled figure in.
    trigger = figure.element_handle().evaluate_handle("img => img.closest('a.image-reference') || img")
    if not page.evaluate("el => document.activeElement === el", trigger):
        problems.append("focus does not return to the figure when its larger view closes")
    page.evaluate("el => el.focus()", trigger)
    page.keyboard.press("Enter")
    _settle(page, 200)
    if not page.evaluate("() => !!document.querySelector('dialog.site-lightbox')?.open"):
        problems.append("Enter on a figure does not open its larger view")
    page.keyboard.press("Escape")
    return problems


# --------------------------------------------------------------------------- figures and inline math

_FIGURES_JS = """
() => [...document.querySelectorAll('article.bd-article img')].filter(img => img.checkVisibility()).map(img => {
  const box = img.getBoundingClientRect();
  const scroller = img.closest('.site-figure-scroll');
  const outer = scroller || img.parentElement;
  return {src: new URL(img.currentSrc || img.src).pathname, natural: img.naturalWidth, shown: box.width,
          classes: img.className, alt: (img.alt || '').slice(0, 60),
          overflows: box.right > outer.getBoundingClientRect().right + 1,
          cue: !!scroller && scroller.classList.contains('scroll-cue')
               && getComputedStyle(scroller).boxShadow !== 'none'};
})
"""


def figure_text_px(figure: dict, site) -> float:
    """The smallest text of one figure as shown, in CSS px (tests/browser/figures.py says how)."""
    import re
    from urllib.parse import unquote

    from . import figures

    path = site / unquote(figure["src"]).lstrip("/")
    if path.suffix.lower() == ".svg":
        smallest, view_box = figures.svg_smallest_text(path)
        return smallest * figure["shown"] / view_box
    stated = re.search(r"\bsite-smallest-text-(\d+)pt\b", figure["classes"])
    if not stated:
        raise ValueError("states no smallest text size (class site-smallest-text-<N>pt, set from "
                         "the figure cell's metadata mystnb.image.classes)")
    return int(stated[1]) * figures.png_dpi(path) / 72 * figure["shown"] / figure["natural"]


def check_figures_legible(page: PlaywrightPage, site) -> list[str]:
    """Every figure's smallest text is at least LEGIBLE_PX CSS px as shown; a figure wider than
    its box scrolls inside it with the scroll cue."""
    page.evaluate("() => window.siteRelayout && window.siteRelayout()")
    return figure_problems(page.evaluate(_FIGURES_JS), site)


def figure_problems(shown: list[dict], site) -> list[str]:
    """check_figures_legible's verdict on the figures as measured in the page."""
    from .figures import LEGIBLE_PX

    problems = []
    for figure in shown:
        label = f"figure {figure['src'].rsplit('/', 1)[-1]} ({figure['alt']}...)"
        try:
            size = figure_text_px(figure, site)
        except ValueError as error:
            problems.append(f"{label} {error}")
            continue
        if size < LEGIBLE_PX - 0.05:
            problems.append(f"{label}: its smallest text is {size:.1f} px as shown "
                            f"({figure['shown']:.0f} px wide of {figure['natural']} px), under {LEGIBLE_PX} px")
        if figure["overflows"] and not figure["cue"]:
            problems.append(f"{label} is wider than its box and shows no scroll cue")
    return problems


_INLINE_MATH_JS = """
() => {
  const article = document.querySelector('article.bd-article');
  const right = article.getBoundingClientRect().right - parseFloat(getComputedStyle(article).paddingRight);
  const found = [];
  for (const math of article.querySelectorAll('mjx-container:not([display="true"])')) {
    if (!math.checkVisibility() || math.closest('pre, table, .cell_output')) continue;
    const formula = (math.firstElementChild || math).getBoundingClientRect();
    if (formula.right <= right + 1) continue;
    // Past the column: fine only inside a box that scrolls and shows the cue.
    let box = math;
    while (box && box !== article && !['auto', 'scroll'].includes(getComputedStyle(box).overflowX)) {
      box = box.parentElement;
    }
    const scrolls = box && box !== article && box.scrollWidth > box.clientWidth
                    && box.classList.contains('scroll-cue');
    if (!scrolls) found.push(`${math.textContent.slice(0, 60)} (ends at ${Math.round(formula.right)}px, `
                             + `the column at ${Math.round(right)}px)`);
  }
  return found;
}
"""


def check_inline_math_fits(page: PlaywrightPage) -> list[str]:
    """No inline formula runs past the column unless it scrolls in a box with the cue (MathJax
    cannot break an inline formula, and a parent's overflow would cut it off unseen)."""
    page.evaluate("() => window.siteRelayout && window.siteRelayout()")
    return [f"an inline formula is cut off: {text}" for text in page.evaluate(_INLINE_MATH_JS)]
