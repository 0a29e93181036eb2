"""Each chapter states its reading time as tools/reading_time.py measures it, and its main
line (the prose outside folded material) stays an argument of about 3,000 words."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.reading_time import measure, stated_minutes

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
MAIN_LINE_WORDS = 3200  # "at most ~3,000": a little slack for a sentence added later


@pytest.mark.parametrize("path", CHAPTERS, ids=[path.stem for path in CHAPTERS])
def test_stated_reading_time_is_the_measured_one(path):
    load = measure(path)
    stated = stated_minutes(path)
    assert stated is not None, f"{path.name} states no '**Reading time:** about N minutes'"
    assert stated == load.minutes, (
        f"{path.name} says about {stated} minutes; tools/reading_time.py measures {load.minutes} "
        f"({load.prose_words} prose words, {load.code_lines} code lines): update the sentence"
    )


@pytest.mark.parametrize("path", CHAPTERS, ids=[path.stem for path in CHAPTERS])
def test_main_line_is_short_enough_to_read_as_an_argument(path):
    words = measure(path).main_line_words
    assert words <= MAIN_LINE_WORDS, (
        f"{path.name}: {words} words in the main line; fold proofs and long checks into dropdowns"
    )
