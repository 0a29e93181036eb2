"""nbgrader interoperability: the course's notebooks go through nbgrader itself
(generate_assignment, then autograde) and score exactly what our self-check gives.

Runs where nbgrader is installed (`make test` installs requirements-instructors.txt);
skipped with the reason elsewhere.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from tests.helpers import EXERCISES, ROOT, SOLUTIONS, run_grader
from tests.test_mutants import MUTANTS, apply

nbgrader = pytest.importorskip(
    "nbgrader", reason="nbgrader is not installed: pip install -r requirements-instructors.txt"
)

ASSIGNMENT = "attention"
# One chapter in full keeps this test short; its mutant is a real learner mistake.
NOTEBOOK = "01_self_attention.ipynb"


def nbgrader_command(course: Path, *args: str) -> str:
    binaries = Path(sys.executable).parent
    environment = {**os.environ, "PATH": f"{binaries}{os.pathsep}{os.environ.get('PATH', '')}"}
    environment.pop("ATTENTION_SELF_CHECK", None)  # the config file must be what sets it
    done = subprocess.run(
        [str(binaries / "nbgrader"), *args], cwd=course, capture_output=True, text=True,
        env=environment, timeout=600, check=False,
    )
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    return done.stdout + done.stderr


def nbgrader_points(course: Path, student: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission(ASSIGNMENT, student)
        return {grade.name: grade.score for notebook in submission.notebooks for grade in notebook.grades}


def mutated_solution(tmp_path: Path) -> Path:
    mutant = yaml.safe_load((MUTANTS / f"{Path(NOTEBOOK).stem}.yaml").read_text())["mutants"][0]
    notebook = nbformat.read(SOLUTIONS / NOTEBOOK, as_version=4)
    apply(notebook, mutant, NOTEBOOK)
    path = tmp_path / "mutant" / NOTEBOOK
    path.parent.mkdir()
    nbformat.write(notebook, path)
    return path


@pytest.mark.slow
def test_nbgrader_scores_solution_blank_and_mutant_like_the_self_check(tmp_path):
    course = tmp_path / "course"
    (course / "source" / ASSIGNMENT).mkdir(parents=True)
    shutil.copy(ROOT / "tools" / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copy(SOLUTIONS / NOTEBOOK, course / "source" / ASSIGNMENT / NOTEBOOK)
    nbgrader_command(course, "generate_assignment", ASSIGNMENT, "--force", "--create")
    released = course / "release" / ASSIGNMENT / NOTEBOOK
    assert released.exists(), "nbgrader generate_assignment wrote no release notebook"

    mutant = mutated_solution(tmp_path)
    submissions = {"solution": SOLUTIONS / NOTEBOOK, "blank": released, "mutant": mutant}
    for student, notebook in submissions.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        shutil.copy(notebook, folder / NOTEBOOK)
        nbgrader_command(course, "db", "student", "add", student)
    nbgrader_command(course, "autograde", ASSIGNMENT, "--force")

    # Our side: the learner's self-check on the same three notebooks.
    ours = {}
    for student, notebook in {"solution": SOLUTIONS / NOTEBOOK, "blank": EXERCISES / NOTEBOOK, "mutant": mutant}.items():
        workdir = tmp_path / f"ours-{student}"
        workdir.mkdir()
        cells = run_grader([notebook], workdir).cells(NOTEBOOK)
        ours[student] = {grade_id: float(row["earned"]) for grade_id, row in cells.items()}

    for student in submissions:
        theirs = nbgrader_points(course, student)
        assert theirs == ours[student], (
            f"{student}: nbgrader and the self-check disagree on "
            f"{ {k: (theirs.get(k), ours[student].get(k)) for k in set(theirs) | set(ours[student]) if theirs.get(k) != ours[student].get(k)} }"
        )
    possible = sum(float(row) for row in ours["solution"].values())
    assert sum(ours["solution"].values()) == possible > 0
    assert sum(ours["blank"].values()) == 0
    assert 0 < sum(ours["mutant"].values()) < possible, "the mutant should lose some points, not all"
