"""The learner's self-check (tools/nbgrade.py): it says it is not the official grade, and it
gives the right score when pytest-xdist spreads the tests over workers (``-n 2``)."""

from __future__ import annotations

from tests.helpers import run_grader, toy_setup


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
