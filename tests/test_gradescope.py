"""Gradescope front door: the bundle is built per assignment, and its run_autograder, run
against a folder laid out like /autograder, writes a results.json that follows Gradescope's
schema, grades only the assignment's notebooks, gives a solution, a blank and a mutant the same
points as the self-check, and lets the fresh-input checks be held back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import nbformat
import pytest
import yaml

from tests.helpers import EXERCISES, ROOT, SOLUTIONS, run_grader
from tests.test_mutants import MUTANTS, apply
from tools.gradescope.__main__ import build, bundle_name, main, results

NOTEBOOK = "02_cross_attention.ipynb"
SCHEMA = json.loads((ROOT / "tools" / "gradescope" / "results.schema.json").read_text())


def test_a_submission_without_notebooks_gets_a_clear_message(tmp_path):
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    (root / "submission" / "notes.txt").write_text("no notebook here")
    from tools.gradescope.__main__ import grade

    assert grade(root) == 0
    document = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(document, SCHEMA)
    assert document["score"] == 0 and "01_self_attention.ipynb" in document["output"]


def test_zip_holds_setup_run_autograder_and_the_trusted_grader(tmp_path):
    archive = zipfile.ZipFile(build(tmp_path / "autograder.zip"))
    names = set(archive.namelist())
    assert {"setup.sh", "run_autograder", "requirements.txt", "exercises/grading_manifest.json",
            "gradescope.json"} <= names
    assert "tools/grade/__main__.py" in names and "tools/harness.py" in names
    assert not [name for name in names if name.startswith("solutions/") or "/solutions/" in name], (
        "solutions must not ship")
    for name in ("setup.sh", "run_autograder"):
        assert (archive.getinfo(name).external_attr >> 16) & 0o111, f"{name} must be executable"
    config = json.loads(archive.read("gradescope.json"))
    assert config["notebooks"] == sorted(p.name for p in EXERCISES.glob("*.ipynb"))


def test_a_bundle_per_assignment_holds_only_its_notebook(tmp_path):
    archive = zipfile.ZipFile(build(tmp_path / "a.zip", [NOTEBOOK], fresh_visibility="after_due_date"))
    notebooks = [name for name in archive.namelist() if name.startswith("exercises/") and name.endswith(".ipynb")]
    assert notebooks == [f"exercises/{NOTEBOOK}"]
    config = json.loads(archive.read("gradescope.json"))
    assert config == {"notebooks": [NOTEBOOK], "visible_visibility": "visible",
                      "fresh_visibility": "after_due_date"}
    assert bundle_name([NOTEBOOK]) == "autograder-02_cross_attention.zip"
    with pytest.raises(ValueError, match="not a course notebook"):
        build(tmp_path / "b.zip", ["99_nothing.ipynb"])
    assert main(["--build", "--notebook", "99_nothing.ipynb"]) == 2


def test_setup_installs_a_released_python_3_11():
    setup = (ROOT / "tools" / "gradescope" / "setup.sh").read_text()
    assert "uv python install 3.11" in setup and 'releaselevel == "final"' in setup
    assert "apt-get install -y -qq python3.11" not in setup, "Ubuntu 22.04's is 3.11.0rc1"


def _cell(grade_id, points, earned, visible, status):
    return {"grade_id": grade_id, "points": points, "earned": earned, "visible": visible,
            "status": status, "message": f"hint for {grade_id}"}


def test_two_tests_per_cell_add_up_to_the_official_score():
    learner = {"earned": 3, "possible": 11, "grading": {"sandbox": "setpriv", "seed": 7},
               "notebooks": [{"notebook": NOTEBOOK, "earned": 3, "possible": 9, "flags": [],
                              "cells": [_cell("a", 3, 3, True, "passed"),
                                        _cell("b", 2, 0, True, "failed"),  # fresh inputs only
                                        _cell("c", 4, 0, False, "failed"),
                                        _cell("d", 1, 0, True, "forbidden-call"),
                                        _cell("e", 1, 0, True, "timeout")]}]}
    config = {"visible_visibility": "visible", "fresh_visibility": "after_due_date"}
    document = results(learner, 1.0, config)
    jsonschema.validate(document, SCHEMA)
    scores = {test["name"]: test["score"] for test in document["tests"]}
    assert scores == {f"{NOTEBOOK}: a": 3, f"{NOTEBOOK}: a, fresh inputs": 0,
                      f"{NOTEBOOK}: b": 2, f"{NOTEBOOK}: b, fresh inputs": -2,
                      f"{NOTEBOOK}: c": 0, f"{NOTEBOOK}: c, fresh inputs": 0,
                      f"{NOTEBOOK}: d": 0, f"{NOTEBOOK}: d, fresh inputs": 0,
                      f"{NOTEBOOK}: e": 1, f"{NOTEBOOK}: e, fresh inputs": -1}
    assert sum(scores.values()) == document["score"] == 3
    fresh = [test for test in document["tests"] if test["name"].endswith("fresh inputs")]
    assert {test["visibility"] for test in fresh} == {"after_due_date"}
    assert {test["max_score"] for test in fresh} == {0}
    assert "setpriv fallback" in document["output"] and document["extra_data"]["sandbox"] == "setpriv"


def autograde(tmp_path: Path, notebook: Path, other: Path | None = None) -> dict:
    """Run the 02 assignment's run_autograder on an upload of ``notebook`` (and ``other``)."""
    root = tmp_path / "autograder"
    source = root / "source"
    zipfile.ZipFile(build(tmp_path / "autograder.zip", [NOTEBOOK])).extractall(source)
    (source / "run_autograder").chmod(0o755)
    (source / ".venv").symlink_to(Path(sys.prefix))  # what setup.sh would have installed
    (root / "submission" / "work").mkdir(parents=True)
    (root / "submission" / "work" / f"Copy of {NOTEBOOK}").write_bytes(notebook.read_bytes())
    if other is not None:
        (root / "submission" / other.name).write_bytes(other.read_bytes())
    done = subprocess.run([str(source / "run_autograder")], env={**os.environ, "AUTOGRADER_ROOT": str(root)},
                          capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(document, SCHEMA)
    return document


@pytest.mark.slow
@pytest.mark.parametrize("who", ["solution", "blank", "mutant"])
def test_results_json_scores_like_the_self_check(who, tmp_path):
    if who == "mutant":
        mutant = yaml.safe_load((MUTANTS / f"{Path(NOTEBOOK).stem}.yaml").read_text())["mutants"][0]
        notebook = nbformat.read(SOLUTIONS / NOTEBOOK, as_version=4)
        apply(notebook, mutant, NOTEBOOK)
        path = tmp_path / "mutant.ipynb"
        nbformat.write(notebook, path)
    else:
        path = {"solution": SOLUTIONS / NOTEBOOK, "blank": EXERCISES / NOTEBOOK}[who]
    # A notebook of another chapter in the upload is not this assignment's: it is ignored.
    document = autograde(tmp_path, path, other=SOLUTIONS / "01_self_attention.ipynb")
    own = tmp_path / "self-check"
    own.mkdir()
    renamed = own / NOTEBOOK
    renamed.write_bytes(path.read_bytes())
    cells = run_grader([renamed], own).cells(NOTEBOOK)
    ours = {grade_id: row["earned"] for grade_id, row in cells.items()}
    theirs = {}
    for test in document["tests"]:
        grade_id = test["name"].split(": ", 1)[1].removesuffix(", fresh inputs")
        theirs[grade_id] = theirs.get(grade_id, 0) + test["score"]
    assert document["tests"], document["output"]
    assert all(test["name"].startswith(f"{NOTEBOOK}: ") for test in document["tests"]), (
        "only the notebook handed in is graded")
    # The judge may only give less than the self-check (its fresh inputs can expose a mistake).
    assert all(theirs[k] <= ours[k] for k in ours), (theirs, ours)
    if who in ("solution", "blank"):
        assert theirs == ours, (theirs, ours)
    assert document["score"] == sum(theirs.values())
