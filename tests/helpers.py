"""Shared helpers for the tests of the grading pipeline."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from tools.make_exercises import BEGIN, END, generate

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
FIXTURES = ROOT / "tests" / "fixtures"
# The learner's per-cell time limit: pyproject.toml's --nbval-cell-timeout.
LEARNER_CELL_TIMEOUT = int(re.search(r"--nbval-cell-timeout=(\d+)",
                                     (ROOT / "pyproject.toml").read_text()).group(1))


@dataclass
class Grade:
    """What one grader run produced: the JSON report and the terminal output."""

    report: dict
    output: str
    returncode: int

    def notebook(self, name: str) -> dict:
        for result in self.report["notebooks"]:
            if Path(result["notebook"]).name == name:
                return result
        raise AssertionError(f"{name} was not graded; report: {json.dumps(self.report)[:2000]}")

    def cells(self, name: str) -> dict[str, dict]:
        return {row["grade_id"]: row for row in self.notebook(name)["cells"]}


def run_grader(notebooks: list[Path], workdir: Path, manifest: Path | None = None, *extra: str,
               timeout: float = 300, report: Path | None = None) -> Grade:
    """Grade ``notebooks`` the way a learner does, in a fresh pytest process: with the cell
    time limit the learner's run gets from pyproject.toml (``extra`` may set another)."""
    report = report or workdir / "grading-report.json"
    command = [
        sys.executable, "-m", "pytest", "-p", "tools.nbgrade", "--nbval-lax", "--nbval-current-env",
        f"--nbval-cell-timeout={LEARNER_CELL_TIMEOUT}",
        "-p", "no:cacheprovider", "-q", f"--rootdir={workdir}", "-c", os.devnull,
        f"--grade-report={report}", f"--grade-manifest={manifest or EXERCISES / 'grading_manifest.json'}",
        *extra, *[str(path) for path in notebooks],
    ]
    environment = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    environment.pop("PYTEST_ADDOPTS", None)
    done = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=timeout, env=environment, check=False)
    output = done.stdout + done.stderr
    if not report.exists():
        raise AssertionError(f"the grader wrote no report (exit {done.returncode}):\n{output[-4000:]}")
    return Grade(json.loads(report.read_text()), output, done.returncode)


def toy_setup(tmp_path: Path) -> tuple[Path, Path]:
    """Copy the toy solution into ``tmp_path`` and write its manifest; return both paths."""
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    shutil.copy(FIXTURES / "00_toy.ipynb", solutions / "00_toy.ipynb")
    files = generate(solutions)
    manifest = tmp_path / "grading_manifest.json"
    manifest.write_text(files["grading_manifest.json"])
    exercise = tmp_path / "exercise" / "00_toy.ipynb"
    exercise.parent.mkdir()
    exercise.write_text(files["00_toy.ipynb"])
    return solutions / "00_toy.ipynb", manifest


def solution_regions(source: str) -> list[str]:
    """The texts between BEGIN and END SOLUTION markers in one cell's source."""
    regions, current = [], None
    for line in source.split("\n"):
        if line.strip() == BEGIN:
            current = []
        elif line.strip() == END:
            regions.append("\n".join(current))
            current = None
        elif current is not None:
            current.append(line)
    return regions


def edit_notebook(path: Path, edit) -> None:
    """Apply ``edit(notebook)`` to the notebook at ``path`` in place."""
    notebook = nbformat.read(path, as_version=4)
    edit(notebook)
    nbformat.write(notebook, path)


def solution_names() -> list[str]:
    return sorted(path.name for path in SOLUTIONS.glob("*.ipynb"))
