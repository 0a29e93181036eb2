"""The trusted side: an official exercise notebook, read from the instructor's checkout.

Every cell the sandbox runs, except the learner's answer cells, comes from here; so do the
graded cells the judge executes, the setup cell, the `grading-helper` cells and the points.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

ANSWER_MARK = "# YOUR CODE HERE"
CHECK_CALL = re.compile(r"^run_check\(\s*[\"']([^\"']+)[\"']", re.MULTILINE)


class NotInGradedCellFormat(ValueError):
    """An exercise whose graded cells are not yet inputs / call / verdict + run_check."""


@dataclass
class Cell:
    index: int  # position among the notebook's code cells
    cell_id: str | None
    source: str
    kind: str  # "setup", "harness", "grading-helper", "answer", "graded", "given"
    tags: tuple[str, ...] = ()
    grade_id: str | None = None
    points: float = 0
    forbid: tuple[str, ...] = ()


@dataclass
class Official:
    name: str  # the file name, NN_topic.ipynb
    cells: list[Cell]
    graded: list[Cell] = field(default_factory=list)
    answers: list[Cell] = field(default_factory=list)

    @property
    def possible(self) -> float:
        return sum(cell.points for cell in self.graded)

    def of_kind(self, *kinds: str) -> list[Cell]:
        return [cell for cell in self.cells if cell.kind in kinds]


def _text(source) -> str:
    return "".join(source) if isinstance(source, list) else str(source)


def read_official(path: Path) -> Official:
    """Parse the official exercise at ``path``; raise NotInGradedCellFormat when it is old."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    cells: list[Cell] = []
    code_cells = [cell for cell in notebook["cells"] if cell.get("cell_type") == "code"]
    for index, raw in enumerate(code_cells):
        metadata = raw.get("metadata", {})
        tags = tuple(metadata.get("tags", []))
        nbgrader = metadata.get("nbgrader", {})
        source = _text(raw.get("source", ""))
        forbid = tuple(metadata.get("attention", {}).get("forbid", []))
        cell = Cell(index, raw.get("id"), source, "given", tags, forbid=forbid)
        if nbgrader.get("grade"):
            cell.kind, cell.grade_id, cell.points = "graded", nbgrader["grade_id"], nbgrader["points"]
        elif ANSWER_MARK in source:
            cell.kind = "answer"
        elif "setup" in tags:
            cell.kind = "setup"
        elif "harness" in tags:
            cell.kind = "harness"
        elif "grading-helper" in tags:
            cell.kind = "grading-helper"
        cells.append(cell)
    official = Official(path.name, cells)
    official.graded = [cell for cell in cells if cell.kind == "graded"]
    official.answers = [cell for cell in cells if cell.kind == "answer"]
    old = [cell.grade_id for cell in official.graded if CHECK_CALL.search(cell.source) is None]
    if old or not official.graded:
        raise NotInGradedCellFormat(
            f"{path.name}: graded cells without run_check(...): {', '.join(old) or 'none graded'}"
        )
    if not official.of_kind("setup"):
        raise NotInGradedCellFormat(f"{path.name}: no code cell is tagged 'setup'")
    return official


def official_exercises(course: Path, only: list[str] | None = None) -> tuple[list[Official], dict]:
    """The gradable official exercises under ``course/exercises`` and why others were skipped."""
    found, skipped = [], {}
    for path in sorted((course / "exercises").glob("*.ipynb")):
        if only and path.name not in only:
            continue
        try:
            found.append(read_official(path))
        except NotInGradedCellFormat as error:
            skipped[path.name] = str(error)
    return found, skipped
