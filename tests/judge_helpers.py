"""Helpers for the judge's tests: a trusted course folder, a class of learners, one run."""

from __future__ import annotations

import csv
import functools
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from tests.helpers import FIXTURES, ROOT, SOLUTIONS
from tools.grade.official import NotInGradedCellFormat, read_official
from tools.grade.safe import file_stem  # a learner's files are named by file_stem
from tools.make_exercises import ExerciseError, generate, make_exercise, serialise

ANSWER_MARK = "# YOUR CODE HERE"


def make_course(folder: Path, solutions: dict[str, Path]) -> Path:
    """A trusted checkout in ``folder``: the given solutions, and exercises/ (with its
    manifest) generated from them by tools/make_exercises.py."""
    (folder / "exercises").mkdir(parents=True, exist_ok=True)
    (folder / "solutions").mkdir(exist_ok=True)
    for name, path in solutions.items():
        (folder / "solutions" / name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    for name, text in generate(folder / "solutions").items():
        (folder / "exercises" / name).write_text(text, encoding="utf-8")
    return folder


def toy_course(folder: Path) -> Path:
    return make_course(folder, {"00_toy.ipynb": FIXTURES / "00_toy.ipynb"})


def converted_solutions(folder: Path = SOLUTIONS) -> tuple[list[str], dict[str, str]]:
    """The solution notebooks in the graded-cell format, and why each other one is not."""
    ready, waiting = _converted_solutions(folder.resolve())
    return list(ready), dict(waiting)


@functools.cache  # three test modules ask at collection, in each pytest worker
def _converted_solutions(folder: Path) -> tuple[tuple[str, ...], dict[str, str]]:
    ready, waiting = [], {}
    for path in sorted(folder.glob("*.ipynb")):
        try:
            exercise, _ = make_exercise(nbformat.read(path, as_version=4), path.name)
        except ExerciseError as error:
            waiting[path.name] = f"make_exercises rejects it: {error}"
            continue
        probe = Path(os.environ.get("TMPDIR", "/tmp")) / f"judge-format-probe-{os.getpid()}.ipynb"
        probe.write_text(serialise(exercise), encoding="utf-8")
        try:
            read_official(probe)
            ready.append(path.name)
        except NotInGradedCellFormat as error:
            waiting[path.name] = f"not in the graded-cell format yet ({error})"
        finally:
            probe.unlink(missing_ok=True)
    return tuple(ready), waiting


def exercise_text(course: Path, name: str) -> str:
    return (course / "exercises" / name).read_text(encoding="utf-8")


@dataclass
class Results:
    out: Path
    rows: dict[tuple[str, str], dict]
    output: str
    returncode: int

    def row(self, learner: str, notebook: str) -> dict:
        return self.rows[(learner, notebook)]

    def earned(self, learner: str, notebook: str) -> float:
        return float(self.row(learner, notebook)["earned"])

    def flags(self, learner: str, notebook: str) -> set[str]:
        return set(filter(None, self.row(learner, notebook)["flags"].split(";")))

    def entry(self, learner: str, notebook: str) -> dict:
        """The learner's feedback document's entry for ``notebook``."""
        document = json.loads((self.out / "learners" / f"{file_stem(learner)}.json").read_text())
        for entry in document["notebooks"]:
            if entry["notebook"] == notebook:
                return entry
        raise AssertionError(f"{learner} has no {notebook}")

    def cells(self, learner: str, notebook: str) -> dict[str, dict]:
        return {cell["grade_id"]: cell for cell in self.entry(learner, notebook)["cells"]}

    def violations(self, learner: str, notebook: str) -> list[str]:
        """What the from-scratch rules found, as the learner's feedback lists it."""
        return self.entry(learner, notebook)["violations"]


def run_judge(submissions: Path, out: Path, course: Path, *extra: str, jobs: int = 2,
              seed: int = 12345, timeout: float = 1800, log: Path | None = None) -> Results:
    """Grade ``submissions`` with ``python -m tools.grade`` in a fresh process; its output goes
    to pipes, or to the file ``log`` (as in ``make grade-class > log``)."""
    command = [sys.executable, "-m", "tools.grade", str(submissions), "--out", str(out),
               "--course", str(course), "--jobs", str(jobs), "--seed", str(seed), *extra]
    if log is None:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                              timeout=timeout, check=False)
        output = done.stdout + done.stderr
    else:
        with log.open("w") as handle:
            done = subprocess.run(command, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT,
                                  timeout=timeout, check=False)
        output = log.read_text()
    if done.returncode == 3:  # no sandbox can run on this machine: say why, do not fail
        pytest.skip(f"the judge's sandbox cannot run here: {output.strip()[-600:]}")
    grades = out / "grades.csv"
    if not grades.exists():
        raise AssertionError(f"the judge wrote no grades (exit {done.returncode}):\n{output[-4000:]}")
    with grades.open(newline="") as handle:
        rows = {(row["learner"], row["notebook"]): row for row in csv.DictReader(handle)}
    return Results(out, rows, output, done.returncode)


def replace_solution_region(notebook, function: str, body: str) -> None:
    """Put ``body`` in place of the BEGIN/END SOLUTION region of ``function``'s cell."""
    for cell in notebook.cells:
        if cell.cell_type == "code" and f"def {function}(" in cell.source:
            head = cell.source.split("### BEGIN SOLUTION")[0]
            tail = cell.source.split("### END SOLUTION")[1]
            cell.source = head + "### BEGIN SOLUTION\n" + body + "\n    ### END SOLUTION" + tail
            return
    raise AssertionError(f"no solution cell defines {function}")


def write_notebook(notebook, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path

