"""GitHub Classroom front door: the generated workflow matches the manifest, and the points
Classroom would record for a solution, a blank and a mutant equal the self-check's."""

from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import pytest
import yaml

from tests.helpers import EXERCISES, ROOT, SOLUTIONS, run_grader
from tests.test_mutants import MUTANTS, apply
from tools.classroom import MANIFEST, WORKFLOW, passed, render

NOTEBOOK = "03_causal_attention.ipynb"


def test_workflow_is_generated_from_the_manifest():
    done = subprocess.run([sys.executable, "-m", "tools.classroom", "check"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_one_step_per_graded_cell_with_its_points():
    manifest = json.loads(MANIFEST.read_text())
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    graders = [step for step in steps if step.get("uses", "").startswith("classroom-resources/autograding-command-grader")]
    cells = [(name, cell) for name, entry in manifest["notebooks"].items() for cell in entry["cells"]]
    assert len(graders) == len(cells)
    assert sum(int(step["with"]["max-score"]) for step in graders) == sum(cell["points"] for _, cell in cells)
    ids = [step["id"] for step in graders]
    assert len(set(ids)) == len(ids), "step ids must be unique"
    reporter = steps[-1]
    assert reporter["uses"].startswith("classroom-resources/autograding-grading-reporter")
    assert reporter["with"]["runners"].split(",") == ids
    assert set(reporter["env"]) == {f"{identifier.upper()}_RESULTS" for identifier in ids}


def test_render_is_deterministic():
    manifest = json.loads(MANIFEST.read_text())
    assert render(manifest) == render(manifest)


@pytest.mark.slow
def test_classroom_points_equal_the_self_check(tmp_path):
    mutant = yaml.safe_load((MUTANTS / "03_causal_attention.yaml").read_text())["mutants"][0]
    notebook = nbformat.read(SOLUTIONS / NOTEBOOK, as_version=4)
    apply(notebook, mutant, NOTEBOOK)
    mutated = tmp_path / "mutated" / NOTEBOOK
    mutated.parent.mkdir()
    nbformat.write(notebook, mutated)
    manifest = json.loads(MANIFEST.read_text())["notebooks"][NOTEBOOK]["cells"]
    earned = {}
    for who, path in {"solution": SOLUTIONS / NOTEBOOK, "blank": EXERCISES / NOTEBOOK, "mutant": mutated}.items():
        workdir = tmp_path / who
        workdir.mkdir()
        report = workdir / "grading-report.json"
        grade = run_grader([path], workdir, report=report)
        classroom = sum(cell["points"] for cell in manifest if passed(report, NOTEBOOK, cell["grade_id"])[0])
        assert classroom == grade.notebook(NOTEBOOK)["earned"], f"{who}: Classroom {classroom}, self-check {grade.notebook(NOTEBOOK)['earned']}"
        earned[who] = classroom
    possible = sum(cell["points"] for cell in manifest)
    assert earned["solution"] == possible and earned["blank"] == 0 and 0 < earned["mutant"] < possible


def test_passed_explains_a_missing_report(tmp_path):
    ok, why = passed(tmp_path / "nothing.json", NOTEBOOK, "causal-mask")
    assert not ok and "did not run" in why
