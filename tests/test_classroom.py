"""GitHub without Classroom: the learners' workflow (generated from the manifest, no Classroom
action, cached environment, score table on the run's page), the learners' template (no solution
in it), the instructor's clone script (its commands, built without a network), Classroom 50's
autograder entry point, and the points the self-check reports for a solution, a blank and a
mutant."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import nbformat
import pytest
import yaml

from tests.helpers import EXERCISES, ROOT, SOLUTIONS, run_grader
from tests.test_mutants import MUTANTS, apply
from tools import clone_class, template
from tools.classroom import MANIFEST, WORKFLOW, passed, render
from tools.classroom50 import autograder as classroom50

NOTEBOOK = "03_causal_attention.ipynb"


def test_workflow_is_generated_from_the_manifest():
    done = subprocess.run([sys.executable, "-m", "tools.classroom", "check"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    manifest = json.loads(MANIFEST.read_text())
    assert render(manifest) == WORKFLOW.read_text()
    for notebook in manifest["notebooks"]:
        assert f"#   {notebook}:" in WORKFLOW.read_text()


def test_the_learners_workflow_needs_no_classroom_and_caches_its_environment():
    text = WORKFLOW.read_text()
    assert "classroom-resources" not in text and "github-classroom" not in text
    steps = yaml.safe_load(text)["jobs"]["self-check"]["steps"]
    cache = next(step for step in steps if step.get("uses", "").startswith("actions/cache"))
    assert cache["with"]["path"] == ".venv" and "hashFiles('requirements.txt')" in cache["with"]["key"]
    install = next(step for step in steps if step.get("name", "").startswith("Install"))
    assert install["if"] == "steps.cache.outputs.cache-hit != 'true'"
    assert "download.pytorch.org/whl/cpu" in install["run"]
    assert any("GITHUB_STEP_SUMMARY" in step.get("run", "") for step in steps)
    assert any("--nbval-lax exercises/" in step.get("run", "") for step in steps)


def test_the_instructors_repository_runs_no_learner_workflow():
    workflows = {path.name for path in (ROOT / ".github" / "workflows").iterdir()}
    assert "classroom.yml" not in workflows and "self-check.yml" not in workflows


@pytest.fixture(scope="module")
def learners_template(tmp_path_factory):
    out = tmp_path_factory.mktemp("template") / "attention-exercises"
    assert template.main([str(out)]) == 0
    return out


def test_the_template_has_the_exercises_the_self_check_and_its_workflow(learners_template):
    out = learners_template
    assert (out / ".github" / "workflows" / "self-check.yml").read_text() == WORKFLOW.read_text()
    assert not (out / ".github" / "workflows" / "autograde.yaml").exists(), "Classroom 50's name"
    names = sorted(p.name for p in EXERCISES.glob("*.ipynb"))
    assert sorted(p.name for p in (out / "exercises").glob("*.ipynb")) == names
    assert sorted(p.name for p in (out / "colab" / "exercises").glob("*.ipynb")) == names
    assert (out / "exercises" / "grading_manifest.json").exists()
    assert {"conftest.py", "pyproject.toml", "Makefile", "README.md", ".gitignore"} <= {
        p.name for p in out.iterdir()}
    pins = (out / "requirements.txt").read_text()
    assert "torch==" in pins and "nbval==" in pins and "jupyter-book" not in pins


def test_the_template_has_no_solution_anywhere(learners_template):
    out = learners_template
    assert not list(out.rglob("solutions")), "no solutions folder, colab/solutions included"
    assert template.check(out) == []
    assert len(template.solution_regions()) > 50, "the check compares every real solution"


def test_a_solution_that_slipped_in_is_caught(learners_template, tmp_path):
    planted = tmp_path / "planted"
    shutil.copytree(learners_template, planted)
    shutil.copy(ROOT / "colab" / "solutions" / "01_self_attention.ipynb",
                planted / "exercises" / "01_self_attention.ipynb")
    assert any("holds a solution of 01_self_attention.ipynb" in problem
               for problem in template.check(planted))
    (planted / "colab" / "solutions").mkdir()
    assert any("a solutions folder" in problem for problem in template.check(planted))


def test_clone_commands_by_prefix_and_by_roster(tmp_path):
    existing = ["attention-ps1-ada", "attention-ps1-bob", "attention-ps2-ada", "website"]
    commands, absent = clone_class.plan("uni-ml", "attention-ps1-", existing, None, tmp_path, None)
    assert commands == [
        ["gh", "repo", "clone", "uni-ml/attention-ps1-ada", str(tmp_path / "ada"), "--", "--depth", "1", "--quiet"],
        ["gh", "repo", "clone", "uni-ml/attention-ps1-bob", str(tmp_path / "bob"), "--", "--depth", "1", "--quiet"]]
    assert absent == []
    roster = tmp_path / "roster.csv"
    roster.write_text("name,github\nAda,ada\nCy,cy\n")
    pairs = clone_class.read_roster(roster, "attention-ps1-")
    commands, absent = clone_class.plan("uni-ml", "attention-ps1-", existing, pairs, tmp_path,
                                        "2026-12-01T23:59:00Z")
    assert commands == [["gh", "repo", "clone", "uni-ml/attention-ps1-ada", str(tmp_path / "ada")]]
    assert absent == ["cy"], "no repository: an empty folder, graded missing"
    assert clone_class.checkout_command(tmp_path / "ada", "2026-12-01T23:59:00Z")[-2:] == [
        "--before=2026-12-01T23:59:00Z", "HEAD"]
    assert clone_class.list_command("uni-ml")[:4] == ["gh", "repo", "list", "uni-ml"]
    with pytest.raises(ValueError, match="not a GitHub name"):
        clone_class.plan("uni-ml", "", existing, [("../../etc", "x")], tmp_path, None)


def test_classroom50_result_has_one_test_per_graded_cell():
    manifest = json.loads(MANIFEST.read_text())
    report = {"notebooks": [{"notebook": f"exercises/{NOTEBOOK}", "cells": [
        {"grade_id": cell["grade_id"], "points": cell["points"],
         "earned": cell["points"] if number % 2 else 0, "status": "passed" if number % 2 else "failed",
         "message": "" if number % 2 else "hint"}
        for number, cell in enumerate(manifest["notebooks"][NOTEBOOK]["cells"])]}]}
    environ = {"CLASSROOM": "ml", "ASSIGNMENT": "ps3", "SUBMISSION_TAG": "submit/x",
               "COMMIT_URL": "https://example.org/c", "RELEASE_URL": "https://example.org/r",
               "COMMIT_TIME": "2026-12-01T10:00:00Z"}
    document = classroom50.result(report, [NOTEBOOK, "01_self_attention.ipynb"], manifest, environ)
    assert document["schema"] == "classroom50/result/v1" and document["datetime"] == "2026-12-01T10:00:00Z"
    cells = manifest["notebooks"][NOTEBOOK]["cells"]
    expected = sum(cell["points"] for number, cell in enumerate(cells) if number % 2)
    assert document["score"] == expected == sum(test["score"] for test in document["tests"])
    possible = sum(c["points"] for name in (NOTEBOOK, "01_self_attention.ipynb")
                   for c in manifest["notebooks"][name]["cells"])
    assert document["max-score"] == possible, "a notebook that did not run scores 0, not nothing"
    assert {"test-name", "passed", "score", "max-score"} <= set(document["tests"][0])


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
