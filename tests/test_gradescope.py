"""Gradescope front door: autograder.zip builds, and its run_autograder, run against a folder
laid out like /autograder, writes a results.json that follows Gradescope's schema and gives a
solution, a blank and a mutant the same points as the self-check."""

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
from tools.gradescope.__main__ import build

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
    assert {"setup.sh", "run_autograder", "requirements.txt", "exercises/grading_manifest.json"} <= names
    assert "tools/grade/__main__.py" in names and "tools/harness.py" in names
    assert not [name for name in names if name.startswith("solutions/")], "solutions must not ship"
    for name in ("setup.sh", "run_autograder"):
        assert (archive.getinfo(name).external_attr >> 16) & 0o111, f"{name} must be executable"


def autograde(tmp_path: Path, notebook: Path) -> dict:
    root = tmp_path / "autograder"
    source = root / "source"
    zipfile.ZipFile(build(tmp_path / "autograder.zip")).extractall(source)
    (source / "run_autograder").chmod(0o755)
    (source / ".venv").symlink_to(Path(sys.prefix))  # what setup.sh would have installed
    (root / "submission" / "work").mkdir(parents=True)
    (root / "submission" / "work" / NOTEBOOK).write_bytes(notebook.read_bytes())
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
    document = autograde(tmp_path, path)
    own = tmp_path / "self-check"
    own.mkdir()
    renamed = own / NOTEBOOK
    renamed.write_bytes(path.read_bytes())
    cells = run_grader([renamed], own).cells(NOTEBOOK)
    ours = {grade_id: row["earned"] for grade_id, row in cells.items()}
    theirs = {test["name"].split(": ", 1)[1]: test["score"] for test in document["tests"]}
    assert document["tests"], document["output"]
    assert all(test["name"].startswith(f"{NOTEBOOK}: ") for test in document["tests"]), (
        "only the notebook handed in is graded")
    # The judge may only give less than the self-check (its fresh inputs can expose a mistake).
    assert all(theirs[k] <= ours[k] for k in ours), (theirs, ours)
    if who in ("solution", "blank"):
        assert theirs == ours, (theirs, ours)
    assert document["score"] == sum(theirs.values())
