"""The trusted side: an official exercise notebook, read from the instructor's checkout.

Every cell the sandbox runs, except the learner's answer cells, comes from here; so do the
graded cells the judge executes, the setup cell, the `grading-helper` cells and the points.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from tools.conventions import ANSWER_MARK, run_check_id


class NotInGradedCellFormat(ValueError):
    """An exercise that breaks docs/graded-cells.md: a graded cell without its one
    ``run_check("<its grade_id>", ...)``, or no setup cell. Never skipped: it stops the run."""


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
    # What the judge derives from this exercise alone, once per run (tools/grade/rules.py).
    derived: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def possible(self) -> float:
        return sum(cell.points for cell in self.graded)

    def of_kind(self, *kinds: str) -> list[Cell]:
        return [cell for cell in self.cells if cell.kind in kinds]


def _text(source) -> str:
    return "".join(source) if isinstance(source, list) else str(source)


def read_official(path: Path) -> Official:
    """Parse the official exercise at ``path``; raise NotInGradedCellFormat where it breaks
    the graded-cell format."""
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
    if not official.graded:
        raise NotInGradedCellFormat(f"{path.name}: no graded cell")
    for cell in official.graded:
        found, problem = run_check_id(cell.source)
        if problem or found != cell.grade_id:
            raise NotInGradedCellFormat(
                f"{path.name}: graded cell {cell.grade_id!r} "
                + (problem or f"calls run_check({found!r}, ...); it must name its own grade_id")
            )
    for kind in ("setup", "harness"):
        if not official.of_kind(kind):
            raise NotInGradedCellFormat(f"{path.name}: no code cell is tagged '{kind}'")
    return official


def official_exercises(course: Path, only: list[str] | None = None) -> list[Official]:
    """The official exercises under ``course/exercises`` (those named in ``only``, if given).

    Every one must be in the graded-cell format: one that is not raises NotInGradedCellFormat,
    so that a class is never graded with a notebook silently left out.
    """
    return [read_official(path) for path in sorted((course / "exercises").glob("*.ipynb"))
            if not only or path.name in only]
