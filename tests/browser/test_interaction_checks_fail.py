"""Proof that the interaction checks can fail: each runs on a small page built to break it (a
code line wider than its box, one that overflows without a cue, a control whose focus is
invisible, a formula in the tab order, an inline formula cut off by its line, figures whose text
is too small, a figure without a larger view, a page without working
sidebar toggles) and must report it. The pages are set with ``page.set_content``: no site needed."""

from __future__ import annotations

import pytest

from . import interaction

pytestmark = pytest.mark.browser

WIDE_CODE = "x = " + " + ".join(f"value_{i}" for i in range(40))
BROKEN = f"""<!doctype html><html><head><style>
  article {{ width: 400px; }}
  pre {{ overflow-x: auto; }}
  button.no-ring:focus, a:focus {{ outline: none; box-shadow: none; }}
</style></head><body>
<article class="bd-article">
  <button class="no-ring">A control</button>
  <a href="#x">a link</a>
  <mjx-container tabindex="0">x^2</mjx-container>
  <p style="overflow: hidden">A formula: <mjx-container><mjx-math style="display: inline-block;
     width: 700px">a very long inline formula</mjx-math></mjx-container></p>
  <div class="highlight"><pre>{WIDE_CODE}</pre></div>
  <div class="cell_output"><pre style="white-space: pre-wrap">  n   NumPy ms   PyTorch ms</pre></div>
  <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="a figure with no larger view">
  <button class="primary-toggle" style="display:none">hidden toggle</button>
  <button class="primary-toggle">visible toggle, wired to nothing</button>
  <dialog id="pst-primary-sidebar-modal"></dialog><div id="pst-primary-sidebar"></div>
</article></body></html>"""


@pytest.fixture
def broken(browser):
    context = browser.new_context(viewport=interaction.DESKTOP)
    page = context.new_page()
    page.set_content(BROKEN)
    yield page
    context.close()


def _assert_reports(problems, fragment):
    assert any(fragment in problem for problem in problems), f"expected {fragment!r} in {problems}"


def test_fits_catches_a_code_line_wider_than_its_box(broken):
    _assert_reports(interaction.check_fits(broken), "overflows its box")


def test_table_check_catches_printed_output_that_wraps(broken):
    _assert_reports(interaction.check_tables_stay_whole(broken), "rows fall apart")


def test_overflow_check_catches_a_scroll_without_a_cue(broken):
    _assert_reports(interaction.check_overflow_is_deliberate(broken), "neither wrapping nor a scroll cue")


def test_focus_check_catches_an_invisible_ring_and_a_formula_tab_stop(broken):
    problems = interaction.check_focus_ring(broken, presses=6)
    _assert_reports(problems, "no visible focus ring")
    _assert_reports(problems, "formula")


def test_lightbox_check_catches_a_figure_without_a_larger_view(broken):
    _assert_reports(interaction.check_lightbox(broken), "larger view")


def test_sidebar_check_catches_a_toggle_that_does_nothing(broken):
    broken.set_viewport_size(interaction.PHONE)
    _assert_reports(interaction.check_sidebar_on_phone(broken, "primary"), "does not open")


def test_print_check_catches_a_cut_code_line(broken):
    _assert_reports(interaction.check_print(broken), "code line is cut")


def test_inline_math_check_catches_a_formula_cut_off_by_its_line(broken):
    _assert_reports(interaction.check_inline_math_fits(broken), "an inline formula is cut off")


def test_figure_check_catches_small_text_an_unstated_size_and_no_cue(tmp_path):
    from PIL import Image

    Image.new("RGB", (750, 300), "white").save(tmp_path / "plot.png", dpi=(100, 100))
    (tmp_path / "diagram.svg").write_text('<svg viewBox="0 0 900 600"><text font-size="12">a'
                                          '<tspan font-size="75%">b</tspan></text></svg>')
    shown = [
        {"src": "/plot.png", "natural": 750, "shown": 358, "classes": "site-smallest-text-10pt",
         "alt": "ten-point text at 358 of 750 px", "overflows": False, "cue": False},
        {"src": "/plot.png", "natural": 750, "shown": 380, "classes": "site-smallest-text-10pt",
         "alt": "wide enough, but cut off", "overflows": True, "cue": False},
        {"src": "/plot.png", "natural": 750, "shown": 750, "classes": "",
         "alt": "no stated size", "overflows": False, "cue": False},
        {"src": "/diagram.svg", "natural": 900, "shown": 525, "classes": "",
         "alt": "a subscript of 9 units at 525 of 900", "overflows": False, "cue": False},
        {"src": "/diagram.svg", "natural": 900, "shown": 700, "classes": "",
         "alt": "legible", "overflows": True, "cue": True},
    ]
    problems = interaction.figure_problems(shown, tmp_path)
    _assert_reports(problems, "ten-point text at 358 of 750 px...): its smallest text is 6.6 px")
    _assert_reports(problems, "wide enough, but cut off...) is wider than its box and shows no scroll cue")
    _assert_reports(problems, "no stated size...) states no smallest text size")
    _assert_reports(problems, "a subscript of 9 units at 525 of 900...): its smallest text is 5.2 px")
    assert len(problems) == 4, problems
