"""The learner's self-check grader (tools/nbgrade.py): honest
behaviour when a learner tampers with a graded cell, writes an endless loop or crashes."""

from __future__ import annotations

import shutil

from tests.helpers import (
    edit_notebook,
    run_grader,
    toy_setup,
)

# Full marks for every solution and zero for every shipped exercise, through this same plugin:
# tests/test_judge_chapters.py, from the one plugin run it also compares with the judge.


def test_table_and_total_for_several_notebooks(tmp_path):
    solution, manifest = toy_setup(tmp_path)
    exercise = tmp_path / "exercise" / "00_toy.ipynb"
    grade = run_grader([solution, exercise], tmp_path, manifest)
    assert sorted(result["earned"] for result in grade.report["notebooks"]) == [0, 5]
    assert (grade.report["earned"], grade.report["possible"]) == (5, 10)
    lines = grade.output.splitlines()
    score_lines = [line for line in lines if line.startswith("SCORE ")]
    assert len(score_lines) == 3, grade.output
    assert score_lines[-1].startswith("SCORE 5/10"), score_lines
    assert lines[-1] == score_lines[-1] == "SCORE 5/10  (total over 2 notebooks)", "SCORE must be the last line"
    assert any("mean-square-value" in line and "2 / 2" in line for line in lines), grade.output
    assert any("mean-square-value" in line and "0 / 2" in line for line in lines), grade.output
    # A teacher's report: the table and its hints, not nbval's dump of every failing cell.
    assert "Traceback" not in grade.output and "def " not in grade.output
    assert "FAILURES" not in grade.output and "::Cell " not in grade.output


def test_cell_dumps_bring_back_nbvals_report(tmp_path):
    _, manifest = toy_setup(tmp_path)
    exercise = tmp_path / "exercise" / "00_toy.ipynb"
    grade = run_grader([exercise], tmp_path, manifest, "--cell-dumps")
    assert "def " in grade.output and "FAILURES" in grade.output
    assert grade.output.splitlines()[-1].startswith("SCORE 0/5")


def test_edited_graded_cell_scores_zero(tmp_path):
    solution, manifest = toy_setup(tmp_path)

    def loosen(notebook):
        for cell in notebook.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == "double-value":
                cell.source = "assert True  # nothing to see here"

    edit_notebook(solution, loosen)
    cells = run_grader([solution], tmp_path, manifest).cells("00_toy.ipynb")
    assert cells["double-value"]["status"] == "changed" and cells["double-value"]["earned"] == 0
    assert "edited" in cells["double-value"]["message"]
    assert cells["mean-square-value"]["earned"] == 2


def test_edited_points_are_ignored(tmp_path):
    solution, manifest = toy_setup(tmp_path)

    def inflate(notebook):
        for cell in notebook.cells:
            if "nbgrader" in cell.metadata and cell.metadata["nbgrader"].get("grade"):
                cell.metadata["nbgrader"]["points"] = 100

    edit_notebook(solution, inflate)
    grade = run_grader([solution], tmp_path, manifest)
    assert (grade.report["earned"], grade.report["possible"]) == (5, 5)


def test_deleted_graded_cell_scores_zero(tmp_path):
    solution, manifest = toy_setup(tmp_path)

    def delete(notebook):
        notebook.cells = [
            cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade_id") != "mean-square-value"
        ]

    edit_notebook(solution, delete)
    cells = run_grader([solution], tmp_path, manifest).cells("00_toy.ipynb")
    assert cells["mean-square-value"]["status"] == "missing" and cells["mean-square-value"]["earned"] == 0
    assert cells["double-value"]["earned"] == 3


def test_graded_cell_found_when_metadata_was_lost(tmp_path):
    """Some editors drop cell metadata; an untouched test source still counts."""
    solution, manifest = toy_setup(tmp_path)

    def strip_metadata(notebook):
        for cell in notebook.cells:
            cell.metadata = {}

    edit_notebook(solution, strip_metadata)
    assert run_grader([solution], tmp_path, manifest).report["earned"] == 5


def _replace_in_solution(notebook, function, body):
    for cell in notebook.cells:
        if cell.cell_type == "code" and f"def {function}(" in cell.source:
            head = cell.source.split("### BEGIN SOLUTION")[0]
            tail = cell.source.split("### END SOLUTION")[1]
            cell.source = head + body + tail
            return
    raise AssertionError(f"no solution for {function}")


def test_endless_loop_times_out_and_the_rest_still_grades(tmp_path):
    solution, manifest = toy_setup(tmp_path)
    # An endless loop that sleeps: the timeout interrupts it as it would a busy one, without
    # taking a core from the rest of the suite for 20 s (the judge's attacks keep busy loops).
    loop = "### BEGIN SOLUTION\n    import time\n    while True:\n        time.sleep(0.05)\n    ### END SOLUTION"
    edit_notebook(solution, lambda nb: _replace_in_solution(nb, "mean_square", loop))
    # 20 s: the setup cell imports torch, which takes seconds on a loaded machine.
    grade = run_grader([solution], tmp_path, manifest, "--nbval-cell-timeout=20")
    cells = grade.cells("00_toy.ipynb")
    assert cells["mean-square-value"]["status"] == "timeout", cells
    assert cells["mean-square-value"]["earned"] == 0
    assert cells["double-value"]["earned"] == 3, "a timeout must not stop the rest of the notebook from grading"
    assert "SCORE 3/5" in grade.output


def test_crashing_kernel_is_reported(tmp_path):
    solution, manifest = toy_setup(tmp_path)
    edit_notebook(
        solution,
        lambda nb: _replace_in_solution(nb, "mean_square", "### BEGIN SOLUTION\n    import os\n    os._exit(1)\n    ### END SOLUTION"),
    )
    grade = run_grader([solution], tmp_path, manifest, "--nbval-cell-timeout=30")
    cells = grade.cells("00_toy.ipynb")
    assert cells["mean-square-value"]["status"] == "kernel died", cells
    assert cells["double-value"]["status"] == "kernel died", cells
    assert grade.report["earned"] == 0
    assert "kernel died" in grade.output


def test_unreadable_notebook_is_reported(tmp_path):
    solution, manifest = toy_setup(tmp_path)
    solution.write_text("{ this is not a notebook")
    grade = run_grader([solution], tmp_path, manifest)
    result = grade.notebook("00_toy.ipynb")
    assert result["earned"] == 0 and {row["status"] for row in result["cells"]} == {"unreadable"}


def test_report_path_is_configurable(tmp_path):
    solution, manifest = toy_setup(tmp_path)
    target = tmp_path / "elsewhere.json"
    grade = run_grader([solution], tmp_path, manifest, report=target)
    assert target.exists() and grade.report["earned"] == 5
    assert not (tmp_path / "grading-report.json").exists()


def test_learner_can_run_from_the_exercises_folder(tmp_path):
    """The README's command, on a copy of the repository layout."""
    _, manifest = toy_setup(tmp_path)
    folder = tmp_path / "exercises"
    folder.mkdir()
    shutil.copy(tmp_path / "exercise" / "00_toy.ipynb", folder / "00_toy.ipynb")
    grade = run_grader([folder], tmp_path, manifest)
    assert grade.notebook("00_toy.ipynb")["possible"] == 5


def test_chapters_are_never_graded(tmp_path):
    """A chapter shares its exercise's file name but is not an exercise."""
    solution, manifest = toy_setup(tmp_path)
    chapter = tmp_path / "chapters" / "00_toy.ipynb"
    chapter.parent.mkdir()
    shutil.copy(solution, chapter)
    grade = run_grader([solution, chapter], tmp_path, manifest)
    assert [result["notebook"] for result in grade.report["notebooks"]] == ["solutions/00_toy.ipynb"]
