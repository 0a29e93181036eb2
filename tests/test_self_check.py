"""The learner's self-check (tools/nbgrade.py): it says it is not the official grade, and it
gives the right score when pytest-xdist spreads the tests over workers (``-n 2``). And the
solutions' own run in `make test`, without the plugin, still fails on a failing graded check."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from tests.helpers import FIXTURES, ROOT, run_grader, toy_setup


def test_the_output_says_it_is_a_self_check(tmp_path):
    solution, manifest = toy_setup(tmp_path)
    grade = run_grader([solution], tmp_path, manifest)
    assert "SELF-CHECK" in grade.output and "not the official grade" in grade.output
    assert grade.report["kind"] == "self-check"
    assert grade.output.splitlines()[-1].startswith("SCORE 5/5")


def test_the_score_is_right_under_xdist(tmp_path):
    """Without keeping a notebook's cells on one worker, later cells run in a kernel that never
    ran the earlier ones, and a correct solution loses most of its points."""
    solution, manifest = toy_setup(tmp_path)
    exercise = tmp_path / "exercise" / "00_toy.ipynb"
    grade = run_grader([solution, exercise], tmp_path, manifest, "-n", "2")
    assert (grade.report["earned"], grade.report["possible"]) == (5, 10), grade.output[-3000:]
    solved = next(r for r in grade.report["notebooks"] if r["notebook"].startswith("solutions"))
    assert {row["status"] for row in solved["cells"]} == {"passed"}


def _run_notebooks(workdir, notebooks, *plugins):
    """Run notebooks as `pytest solutions/` does from the repository: nbval, without the
    self-check plugin; ``plugins`` adds ``-p`` options (the repository's conftest.py, which a
    notebook outside the repository does not load by itself). The notebooks whose cells failed."""
    command = [sys.executable, "-m", "pytest", "-p", "no:tools.nbgrade", "-p", "no:cacheprovider",
               *[option for plugin in plugins for option in ("-p", plugin)],
               "--nbval-lax", "--nbval-current-env", "-q", "-rfE", f"--rootdir={workdir}",
               "-c", os.devnull, *[str(path) for path in notebooks]]
    environment = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    for name in ("PYTEST_ADDOPTS", "ATTENTION_SELF_CHECK"):
        environment.pop(name, None)
    done = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=300,
                          env=environment, check=False)
    output = done.stdout + done.stderr
    failed = {Path(path).name for path in notebooks
              if re.search(rf"^FAILED .*{re.escape(Path(path).name)}::", output, re.MULTILINE)}
    assert re.search(r"\d+ passed", output), output[-3000:]
    return failed, output


def test_a_wrong_solution_fails_its_notebook_without_the_plugin(tmp_path):
    """Notebooks run without the self-check plugin (`pytest -p no:tools.nbgrade solutions/`,
    the chapters in `make test`): the root conftest.py makes a failing graded check raise there
    all the same, so a wrong solution fails where it is."""
    right = tmp_path / "00_toy.ipynb"
    shutil.copy(FIXTURES / "00_toy.ipynb", right)
    wrong = tmp_path / "00_wrong.ipynb"
    notebook = nbformat.read(right, as_version=4)
    answer = next(cell for cell in notebook.cells if "def mean_square" in cell.source)
    answer.source = answer.source.replace("np.mean(x**2)", "np.mean(np.abs(x))")  # a mutant
    nbformat.write(notebook, wrong)
    failed, output = _run_notebooks(tmp_path, [right, wrong], "conftest")
    # Without the root conftest's setting, the wrong copy passed every cell (seen when this test
    # was written, with the setting renamed): the check printed FAILED and the cell went on.
    assert failed == {"00_wrong.ipynb"}, output[-3000:]
    assert "mean-square-value" in output, output[-3000:]


def test_the_learners_template_has_what_the_self_check_imports(tmp_path):
    """The learners' template (tools/template.py) copies only the self-check's own modules: its
    conftest.py must import there, with nothing of this repository on the path."""
    from tools import template

    out = tmp_path / "template"
    assert template.main([str(out)]) == 0
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", "import conftest, tools.nbgrade"], cwd=out,
                          capture_output=True, text=True, env=environment, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
