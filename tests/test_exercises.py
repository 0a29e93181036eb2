"""The exercise generator: exercises/ is what solutions/ generates, and nothing leaks."""

from __future__ import annotations

import json
import re
import shutil

import nbformat
import pytest

from tests.helpers import (
    EXERCISES,
    FIXTURES,
    SOLUTIONS,
    solution_names,
    solution_regions,
)
from tools import make_exercises
from tools.make_exercises import ExerciseError, generate, out_of_date, strip_solutions

NOTEBOOKS = solution_names()

# What JupyterLab and Colab would show as text: a role, a directive fence, a colon fence.
MYST = re.compile(
    r"\{(term|cite:p|cite:t|cite|doc|ref|eq|numref|download)\}`|^```\{|^:::", re.MULTILINE
)


def test_there_are_solutions_to_generate_from():
    assert NOTEBOOKS, "solutions/ holds no notebooks"


def test_exercises_are_in_sync(capsys):
    # In this process: the command line's own exit codes are `make check-exercises`'s to show.
    assert make_exercises.main(["--check"]) == 0, capsys.readouterr().err


def test_check_names_the_stale_notebook(tmp_path):
    solutions, exercises = tmp_path / "solutions", tmp_path / "exercises"
    solutions.mkdir()
    shutil.copy(FIXTURES / "00_toy.ipynb", solutions)
    exercises.mkdir()
    for name, text in generate(solutions).items():
        (exercises / name).write_text(text)
    assert out_of_date(generate(solutions), exercises) == []
    notebook = nbformat.read(solutions / "00_toy.ipynb", as_version=4)
    notebook.cells[0].source += "\n\nA new sentence."
    nbformat.write(notebook, solutions / "00_toy.ipynb")
    problems = out_of_date(generate(solutions), exercises)
    assert problems and "00_toy.ipynb" in problems[0]
    (exercises / "99_orphan.ipynb").write_text("{}")
    assert any("99_orphan" in problem for problem in out_of_date(generate(solutions), exercises))


def test_generation_is_deterministic():
    assert generate() == generate()


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_no_solution_text_survives(name):
    solution = nbformat.read(SOLUTIONS / name, as_version=4)
    text = (EXERCISES / name).read_text()
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    exercise = nbformat.reads(text, as_version=4)
    for cell in exercise.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    visible = "\n".join(cell.source for cell in exercise.cells)
    # Lines the author also wrote outside any solution (given helpers, test references) may stay.
    given = re.sub(r"### BEGIN SOLUTION.*?### END SOLUTION", "", "\n".join(c.source for c in solution.cells), flags=re.DOTALL)
    for cell in solution.cells:
        for region in solution_regions(cell.source):
            for line in region.split("\n"):
                line = line.strip()
                # Short lines ("return out") are too common to tell; long ones are the answer.
                if len(line) > 25 and not line.startswith("#") and line not in given:
                    assert line not in visible, f"exercises/{name} leaks solution line {line!r}"
    assert "# YOUR CODE HERE" in visible


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_graded_cells_are_kept_and_locked(name):
    solution = nbformat.read(SOLUTIONS / name, as_version=4)
    exercise = nbformat.read(EXERCISES / name, as_version=4)

    def graded(notebook):
        return {
            cell.metadata["nbgrader"]["grade_id"]: cell
            for cell in notebook.cells
            if cell.metadata.get("nbgrader", {}).get("grade")
        }

    assert graded(solution).keys() == graded(exercise).keys()
    for grade_id, cell in graded(exercise).items():
        points = cell.metadata["nbgrader"]["points"]
        title = f"#@title Check: {grade_id} ({points:g} points)\n"
        # The solution's cell, behind one title line: collapsed in JupyterLab and in Colab.
        assert cell.source == title + graded(solution)[grade_id].source
        assert cell.metadata["jupyter"]["source_hidden"] is True
        assert cell.metadata["cellView"] == "form"
        assert cell.metadata["editable"] is False and cell.metadata["deletable"] is False
    manifest = json.loads((EXERCISES / "grading_manifest.json").read_text())["notebooks"][name]
    assert [row["grade_id"] for row in manifest["cells"]] == list(graded(solution))
    assert manifest["possible"] == sum(cell.metadata["nbgrader"]["points"] for cell in graded(solution).values())


def test_stub_keeps_indentation_and_signature():
    source = 'def f(x):\n    """Doc."""\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n'
    assert strip_solutions(source, "t") == 'def f(x):\n    """Doc."""\n    # YOUR CODE HERE\n    raise NotImplementedError()\n'


@pytest.mark.parametrize(
    "source",
    [
        "### BEGIN SOLUTION\nx = 1\n",
        "x = 1\n### END SOLUTION\n",
        "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n",
    ],
)
def test_unbalanced_markers_are_refused(source):
    with pytest.raises(ExerciseError):
        strip_solutions(source, "t")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_machinery_is_collapsed_and_the_markdown_is_plain(name):
    """JupyterLab, Notebook 7, Colab and Binder show every cell's source and MyST as text: the
    harness and the checks' helpers are collapsed behind a title, and no MyST role, directive or
    colon fence is left in a markdown cell."""
    exercise = nbformat.read(EXERCISES / name, as_version=4)
    for cell in exercise.cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type == "code" and ("harness" in tags or "grading-helper" in tags):
            assert cell.metadata["jupyter"]["source_hidden"] is True, tags
            assert cell.metadata["cellView"] == "form" and cell.source.startswith("#@title ")
        if cell.cell_type == "markdown":
            assert not MYST.search(cell.source), f"exercises/{name}: raw MyST in {cell.source[:80]!r}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_from_scratch_rule_is_written_in_its_answer_cell(name):
    """A rule the judge applies to an answer cell (metadata ``attention.forbid``) is part of the
    task: the exercise's answer cell states each forbidden word, so no check asks for more than
    the learner can read where they write."""
    solution = nbformat.read(SOLUTIONS / name, as_version=4)
    exercise = nbformat.read(EXERCISES / name, as_version=4)
    by_id = {cell.get("id"): cell for cell in exercise.cells}
    ruled = [cell for cell in solution.cells if cell.metadata.get("attention", {}).get("forbid")]
    for cell in ruled:
        shown = by_id[cell.get("id")].source
        assert shown.startswith("# The rule for this cell:"), (name, cell.get("id"))
        comment = " ".join(line for line in shown.splitlines() if line.startswith("#"))
        for word in cell.metadata["attention"]["forbid"]:
            wanted = {"torch": "no PyTorch", "np": "no NumPy"}.get(word, word)
            assert wanted in comment, f"{name}: the rule {word!r} is not written in its cell"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_at_most_40_code_lines_show_between_two_tasks(name):
    """JupyterLab and Colab show every code cell: between two answer cells a learner sees at most
    40 lines of code that is not theirs (a cell folded by ``jupyter.source_hidden`` shows as one
    line). Tag a long given cell ``collapsed`` (docs/graded-cells.md) rather than make them scroll."""
    exercise = nbformat.read(EXERCISES / name, as_version=4)
    gaps, gap = [], 0
    for cell in exercise.cells:
        if cell.cell_type != "code":
            continue
        if cell.metadata.get("nbgrader", {}).get("solution"):
            gaps.append(gap)
            gap = 0
        elif cell.metadata.get("jupyter", {}).get("source_hidden"):
            gap += 1
        else:
            gap += len(cell.source.splitlines())
    gaps.append(gap)
    assert max(gaps) <= 40, f"{name}: {max(gaps)} code lines show between two tasks ({gaps})"
