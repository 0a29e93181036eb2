"""The judge's result types: what one graded cell and one learner's notebook came to. The
reports (tools/grade/report.py) write them; nothing here decides anything."""

from __future__ import annotations

from dataclasses import dataclass, field

from tools.grade.status import Status


@dataclass
class CellResult:
    grade_id: str
    points: float
    earned: float = 0
    status: str = Status.DID_NOT_RUN
    message: str = ""
    self_check: list | None = None  # [passed, message] reported from the sandbox (untrusted)
    visible: bool | None = None  # the judge's verdict on the notebook's seed
    fresh: bool | None = None  # the judge's verdict on the fresh seed


@dataclass
class NotebookResult:
    learner: str
    notebook: str
    possible: float
    cells: list[CellResult] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    seconds: float = 0.0  # wall time spent in the sandbox for this notebook
    received: int = 0  # bytes of frames the judge accepted for this notebook, all runs

    @property
    def earned(self) -> float:
        return sum(cell.earned for cell in self.cells)
