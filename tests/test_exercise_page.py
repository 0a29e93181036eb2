"""On exercise pages the graded (locked) cells are folded and marked, the learner's cells marked:
tools/make_exercises.py tags them (hide-input + graded-cell; learner-cell), custom.css styles the
tags, and tests/browser/test_interaction.py looks at the result in the browser."""

from __future__ import annotations

import nbformat
import pytest

from tests.helpers import ROOT
from tools.make_exercises import LEARNER_MARK, is_graded

EXERCISES = sorted((ROOT / "exercises").glob("*.ipynb"))


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.name)
def test_graded_cells_are_folded_and_learner_cells_marked(path):
    cells = [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]
    graded = [cell for cell in cells if is_graded(cell)]
    learner = [cell for cell in cells if LEARNER_MARK in cell.source and not is_graded(cell)]
    assert graded and learner, f"{path.name}: {len(graded)} graded and {len(learner)} learner cells"
    for cell in graded:
        tags = cell.metadata.get("tags", [])
        assert {"hide-input", "graded-cell"} <= set(tags), f"{path.name}: graded cell with tags {tags}"
    for cell in learner:
        tags = cell.metadata.get("tags", [])
        assert "learner-cell" in tags and "hide-input" not in tags, f"{path.name}: learner cell tags {tags}"
