"""The conventions the self-check, the judge, the generator and the gradebooks share
(tools/conventions.py): each behaves as documented, each is written once, and the graded-cell
format is mandatory: a notebook without it fails the generator and the judge, never skipped."""

from __future__ import annotations

import re

import nbformat
import pytest

from tests.helpers import FIXTURES, ROOT
from tools import conventions
from tools.conventions import format_points, normalise_source, run_check_id, source_hash
from tools.grade import __main__ as judge_cli
from tools.grade.official import (
    NotInGradedCellFormat,
    official_exercises,
    read_official,
)
from tools.make_exercises import ExerciseError, make_exercise, serialise

GRADED_CELL = 'def inputs(rng):\n    return {}\n\n\nrun_check("my-id", inputs, call, verdict, seed=1)\n'


# --------------------------------------------------------------------------- normalising


def test_normalising_ignores_line_endings_trailing_blanks_and_the_title_line():
    source = "x = 1\n\nfor i in range(3):\n    x += i\n"
    saved_elsewhere = "\r\n\r\nx = 1  \r\n\r\nfor i in range(3):   \r\n    x += i\r\n\r\n"
    folded = "#@title Check: my-id (2 points)\n" + source
    assert normalise_source(saved_elsewhere) == normalise_source(source)
    assert normalise_source(folded) == normalise_source(source)
    assert source_hash(saved_elsewhere) == source_hash(folded) == source_hash(source)


def test_normalising_keeps_what_python_reads():
    """Indentation of the first line, blank lines inside and a changed line all count."""
    assert normalise_source("    x = 1") != normalise_source("x = 1")
    assert normalise_source("x = 1\n\ny = 2") != normalise_source("x = 1\ny = 2")
    assert source_hash("x = 1") != source_hash("x = 2")
    # A title line anywhere but first is the author's own comment, and it stays.
    assert normalise_source("x = 1\n#@title t") == "x = 1\n#@title t"


def test_a_graded_cell_hashes_alike_in_the_solution_and_the_exercise():
    solution = nbformat.read(FIXTURES / "00_toy.ipynb", as_version=4)
    exercise, graded = make_exercise(solution, "00_toy.ipynb")
    by_id = {cell.metadata["nbgrader"]["grade_id"]: cell for cell in exercise.cells
             if conventions.is_graded(cell)}
    for row in graded:
        assert by_id[row["grade_id"]].source.startswith(conventions.TITLE_LINE)
        assert source_hash(by_id[row["grade_id"]].source) == row["sha256"]


# --------------------------------------------------------------------------- the grade id


def test_the_grade_id_is_read_from_the_syntax_tree():
    assert run_check_id(GRADED_CELL) == ("my-id", None)
    # Not fooled by text that only looks like a call, nor by a multi-line call.
    assert run_check_id('# run_check("other", ...)\n' + GRADED_CELL) == ("my-id", None)
    assert run_check_id('run_check(\n    "my-id",\n    inputs, call, verdict, seed=1)') == ("my-id", None)


@pytest.mark.parametrize(("source", "problem"), [
    ("x = 1\n", "calls run_check 0 times"),
    (GRADED_CELL + GRADED_CELL, "calls run_check 2 times"),
    ("name = 'my-id'\nrun_check(name, inputs, call, verdict, seed=1)", "not a string literal"),
    ("run_check('my-id', inputs,", "does not parse"),
])
def test_a_cell_without_one_literal_run_check_has_no_grade_id(source, problem):
    found, why = run_check_id(source)
    assert found is None and problem in why


# --------------------------------------------------------------------------- points


@pytest.mark.parametrize(("value", "text"), [
    (5, "5"), (5.0, "5"), ("40", "40"), ("40.0", "40"), (2.5, "2.5"), ("12.5", "12.5"),
    (0, "0"), (1234567.0, "1234567"), (0.25, "0.25"),
])
def test_points_are_printed_as_people_read_them(value, text):
    assert format_points(value) == text


# --------------------------------------------------------------------------- written once


# The literal text of each convention, as a copy elsewhere in tools/ would spell it.
COPIES = {
    "the answer mark": re.compile(r"[\"']# YOUR CODE HERE[\"']"),
    "the grades.csv header": re.compile(r"[\"']learner[\"'],\s*[\"']notebook[\"'],\s*[\"']earned[\"']"),
    "a grade id read with a regular expression": re.compile(r"re\.compile\(.*run_check"),
    "source normalising": re.compile(r"line\.rstrip\(\) for line in source"),
}


@pytest.mark.parametrize("what", COPIES)
def test_each_convention_is_written_once(what):
    """The judge and the self-check must agree on these: a second copy is how they drift."""
    pattern = COPIES[what]
    places = [path.relative_to(ROOT).as_posix() for path in sorted((ROOT / "tools").rglob("*.py"))
              if pattern.search(path.read_text(encoding="utf-8"))]
    assert set(places) <= {"tools/conventions.py"}, f"{what} is written in {places}"


def test_the_copy_finder_finds_a_copy():
    """The test above can fail: each pattern matches the copies this module replaced."""
    old = {
        "the answer mark": 'ANSWER_MARK = "# YOUR CODE HERE"',
        "the grades.csv header": 'HEADER = ["learner", "notebook", "earned", "possible", "flags"]',
        "a grade id read with a regular expression":
            "CHECK_CALL = re.compile(r\"^run_check\\(\\s*[\\\"']([^\\\"']+)[\\\"']\", re.MULTILINE)",
        "source normalising":
            'return "\\n".join(line.rstrip() for line in source.replace("\\r\\n", "\\n").split("\\n"))',
    }
    assert old.keys() == COPIES.keys()
    for what, text in old.items():
        assert COPIES[what].search(text), what


# --------------------------------------------------------------------------- the format is mandatory


def _without_the_format():
    """The toy solution as an author might write it before docs/graded-cells.md: no harness,
    and a graded cell that asserts instead of calling run_check."""
    solution = nbformat.read(FIXTURES / "00_toy.ipynb", as_version=4)
    solution.cells = [cell for cell in solution.cells
                      if "harness" not in cell.metadata.get("tags", [])]
    graded = next(cell for cell in solution.cells if conventions.is_graded(cell))
    graded.source = "assert mean_square(np.array([3.0, 4.0])) == 12.5\n"
    return solution


def test_the_generator_refuses_a_notebook_without_the_format():
    with pytest.raises(ExerciseError, match="harness"):
        make_exercise(_without_the_format(), "00_toy.ipynb")


def test_the_generator_refuses_a_graded_cell_without_run_check():
    solution = nbformat.read(FIXTURES / "00_toy.ipynb", as_version=4)
    graded = next(cell for cell in solution.cells if conventions.is_graded(cell))
    graded.source = "assert mean_square(np.array([3.0, 4.0])) == 12.5\n"
    with pytest.raises(ExerciseError, match="calls run_check 0 times"):
        make_exercise(solution, "00_toy.ipynb")


def _course(tmp_path, edit):
    """A course whose exercises/ holds the toy exercise, changed by ``edit(notebook)``."""
    exercise, _ = make_exercise(nbformat.read(FIXTURES / "00_toy.ipynb", as_version=4),
                                "00_toy.ipynb")
    edit(exercise)
    (tmp_path / "course" / "exercises").mkdir(parents=True)
    (tmp_path / "course" / "exercises" / "00_toy.ipynb").write_text(serialise(exercise))
    (tmp_path / "submissions" / "learner").mkdir(parents=True)
    return tmp_path / "course"


def _drop_run_check(exercise):
    graded = next(cell for cell in exercise.cells if conventions.is_graded(cell))
    graded.source = graded.source.replace("run_check(", "print(")


def _drop_harness(exercise):
    exercise.cells = [cell for cell in exercise.cells
                      if "harness" not in cell.metadata.get("tags", [])]


def _rename_check(exercise):
    graded = next(cell for cell in exercise.cells if conventions.is_graded(cell))
    graded.source = graded.source.replace('run_check("mean-square-value"', 'run_check("other"')


def test_the_judge_reads_a_notebook_in_the_format(tmp_path):
    course = _course(tmp_path, lambda exercise: None)
    assert [official.name for official in official_exercises(course)] == ["00_toy.ipynb"]


@pytest.mark.parametrize(("edit", "why"), [
    (_drop_run_check, "calls run_check 0 times"),
    (_drop_harness, "tagged 'harness'"),
    (_rename_check, "must name its own grade_id"),
])
def test_the_judge_stops_on_a_notebook_without_the_format(tmp_path, capsys, edit, why):
    """Skipping it would leave a class's notebook ungraded with only a line on stderr."""
    course = _course(tmp_path, edit)
    with pytest.raises(NotInGradedCellFormat, match=why):
        read_official(course / "exercises" / "00_toy.ipynb")
    with pytest.raises(NotInGradedCellFormat, match=why):
        official_exercises(course)
    code = judge_cli.main([str(tmp_path / "submissions"), "--out", str(tmp_path / "out"),
                           "--course", str(course)])
    assert code == 2
    assert why in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
