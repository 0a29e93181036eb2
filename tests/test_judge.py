"""The instructor's judge (python -m tools.grade) on the toy exercise: one class of learners,
graded in one run, shows every behaviour the issue asks for (full marks, zero, missing,
unreadable, timeouts, crashes, fresh inputs, from-scratch rules, notebooks found anywhere)."""

from __future__ import annotations

import json

import nbformat
import numpy as np
import pytest

from tests.helpers import FIXTURES
from tests.judge_helpers import (
    exercise_text,
    replace_solution_region,
    run_judge,
    toy_course,
    write_notebook,
)

TOY = "00_toy.ipynb"
DOUBLE = "    return 2 * x"


def _solution():
    return nbformat.read(FIXTURES / TOY, as_version=4)


def _visible_x():
    """What the toy's visible self-check feeds mean_square (seed 1), as a learner can see."""
    rng = np.random.default_rng(1)
    return rng.standard_normal(int(rng.integers(3, 9))) * 10


def _with(mean_square_body: str | None = None, double_body: str | None = None):
    notebook = _solution()
    if mean_square_body is not None:
        replace_solution_region(notebook, "mean_square", mean_square_body)
    if double_body is not None:
        replace_solution_region(notebook, "double", double_body)
    return notebook


def _blank_except_double(course):
    notebook = nbformat.reads(exercise_text(course, TOY), as_version=4)
    for cell in notebook.cells:
        if "def double(" in cell.source:
            cell.source = cell.source.replace("    # YOUR CODE HERE\n    raise NotImplementedError()", DOUBLE)
    return notebook


@pytest.fixture(scope="module")
def toy_class(tmp_path_factory):
    base = tmp_path_factory.mktemp("toy-class")
    course = toy_course(base / "course")
    subs = base / "submissions"
    write_notebook(_solution(), subs / "solver" / "exercises" / TOY)
    (subs / "blank").mkdir(parents=True)
    (subs / "blank" / TOY).write_text(exercise_text(course, TOY))
    write_notebook(_blank_except_double(course), subs / "half" / TOY)
    (subs / "absent").mkdir()
    (subs / "broken").mkdir()
    (subs / "broken" / TOY).write_text("{ this is not a notebook")
    write_notebook(_with("    while True:\n        pass"), subs / "loops" / TOY)
    # A real crash without any forbidden name: NumPy reads far outside its buffer.
    crash = (
        "    view = np.lib.stride_tricks.as_strided(np.zeros(1), shape=(2**40,), strides=(2**20,))\n"
        "    return float(view.sum())"
    )
    write_notebook(_with(crash), subs / "crash" / TOY)
    write_notebook(_with("    x = np.asarray(x, dtype=float)\n    return float(np.mean(x))"),
                   subs / "mutant" / TOY)
    visible = _visible_x()
    hard_coded = (
        f"    if np.allclose(x, {visible.tolist()!r}):\n"
        f"        return {float(np.mean(visible**2))!r}\n"
        "    return 0.0"
    )
    write_notebook(_with(hard_coded), subs / "visible-only" / TOY)
    write_notebook(_with("    return float(torch.mean(torch.as_tensor(x, dtype=torch.float64) ** 2))"),
                   subs / "torchy" / TOY)
    write_notebook(_with("    x **= 2\n    return float(np.mean(x))"), subs / "inplace" / TOY)
    # Cell ids lost and metadata stripped, scratch cells added: answers are found by order.
    noids = _solution()
    for number, cell in enumerate(noids.cells):
        cell["id"] = f"renamed-{number}"
        cell.metadata = {}
    noids.cells.insert(3, nbformat.v4.new_code_cell("print('my scratch cell')"))
    write_notebook(noids, subs / "noids" / TOY)
    write_notebook(_solution(), subs / "deep" / "a" / "b" / "c" / TOY)
    (subs / "twocopies").mkdir()
    (subs / "twocopies" / TOY).write_text(exercise_text(course, TOY))
    write_notebook(_solution(), subs / "twocopies" / "old" / TOY)
    out = base / "results"
    results = run_judge(subs, out, course, "--cell-timeout", "10", "--check-timeout", "5")
    return results


def test_grading_completes_with_exit_0(toy_class):
    assert toy_class.returncode == 0, toy_class.output[-3000:]


def test_grades_csv_has_one_row_per_learner_and_notebook(toy_class):
    header = (toy_class.out / "grades.csv").read_text().splitlines()[0]
    assert header == "learner,notebook,earned,possible,flags"
    learners = {learner for learner, _ in toy_class.rows}
    assert learners == {"solver", "blank", "half", "absent", "broken", "loops", "crash", "mutant",
                        "visible-only", "torchy", "inplace", "noids", "deep", "twocopies"}
    assert all(row["possible"] == "5" for row in toy_class.rows.values())


def test_solution_full_marks_blank_zero(toy_class):
    assert toy_class.earned("solver", TOY) == 5 and toy_class.flags("solver", TOY) == set()
    assert toy_class.earned("blank", TOY) == 0
    assert {c["status"] for c in toy_class.cells("blank", TOY).values()} == {"not attempted"}
    assert toy_class.earned("half", TOY) == 3


def test_missing_and_unreadable_notebooks_are_flagged(toy_class):
    assert toy_class.earned("absent", TOY) == 0 and toy_class.flags("absent", TOY) == {"missing"}
    assert toy_class.earned("broken", TOY) == 0
    assert toy_class.flags("broken", TOY) == {"unreadable"}


def test_endless_loop_times_out_and_the_rest_still_grades(toy_class):
    assert toy_class.flags("loops", TOY) == {"timeout"}
    cells = toy_class.cells("loops", TOY)
    assert cells["mean-square-value"]["earned"] == 0
    assert cells["mean-square-value"]["status"] == "timeout", cells
    assert cells["double-value"]["earned"] == 3


def test_a_crash_kills_only_what_it_touches(toy_class):
    assert "kernel-died" in toy_class.flags("crash", TOY), toy_class.row("crash", TOY)
    cells = toy_class.cells("crash", TOY)
    assert cells["mean-square-value"]["earned"] == 0
    assert cells["double-value"]["earned"] == 3, cells


def test_a_wrong_answer_gets_the_verdicts_hint(toy_class):
    cells = toy_class.cells("mutant", TOY)
    assert cells["mean-square-value"]["status"] == "failed"
    assert "Square first" in cells["mean-square-value"]["message"]
    assert toy_class.earned("mutant", TOY) == 3
    page = (toy_class.out / "feedback" / "mutant" / "00_toy.md").read_text()
    assert "Square first" in page and "3 / 5" in page


def test_hard_coded_visible_answers_gain_nothing(toy_class):
    cells = toy_class.cells("visible-only", TOY)
    assert cells["mean-square-value"]["visible"] is True, "the hard-coded answer fits the notebook"
    assert cells["mean-square-value"]["fresh"] is False
    assert cells["mean-square-value"]["earned"] == 0
    assert "fresh inputs" in cells["mean-square-value"]["message"]
    assert toy_class.earned("visible-only", TOY) == 3


def test_torch_in_a_numpy_task_is_a_forbidden_call(toy_class):
    assert "forbidden-call" in toy_class.flags("torchy", TOY)
    cells = toy_class.cells("torchy", TOY)
    assert cells["mean-square-value"]["status"] == "forbidden-call"
    # Graded where PyTorch's files are not there, the answer cannot even run (issue #19):
    # the syntax-tree rule above is early feedback, the environment is the guarantee.
    assert cells["mean-square-value"]["visible"] is False
    assert cells["mean-square-value"]["fresh"] is False
    assert cells["double-value"]["earned"] == 3, "only the cells that depend on it lose points"


def test_inputs_changed_in_place_fail(toy_class):
    cells = toy_class.cells("inplace", TOY)
    assert cells["mean-square-value"]["earned"] == 0
    assert "in place" in cells["mean-square-value"]["message"]


def test_answers_found_without_ids_or_metadata_and_at_any_depth(toy_class):
    assert toy_class.earned("noids", TOY) == 5, toy_class.cells("noids", TOY)
    assert toy_class.earned("deep", TOY) == 5


def test_the_most_complete_copy_is_graded_and_the_row_says_so(toy_class):
    """A blank exercise at the top and the work one folder down: the work is graded."""
    assert toy_class.earned("twocopies", TOY) == 5
    assert "several-copies" in toy_class.flags("twocopies", TOY)


def test_judge_and_self_check_agree_on_the_notebooks_inputs(toy_class):
    """The visible-seed verdict is the self-check's verdict, cell by cell (the self-check is
    what the same run's notebook reported; the judge decided its verdict on its own)."""
    compared = 0
    for learner, notebook in toy_class.rows:
        for grade_id, cell in toy_class.cells(learner, notebook).items():
            if cell["self_check"] is None or cell["visible"] is None:
                continue
            if cell["status"] == "forbidden-call":
                continue  # PyTorch in a NumPy task: the self-check had PyTorch, the judge not

            assert cell["visible"] == cell["self_check"][0], (learner, grade_id, cell)
            compared += 1
    assert compared >= 20


def test_every_learner_has_a_json_and_feedback_pages(toy_class):
    for learner, notebook in toy_class.rows:
        document = json.loads((toy_class.out / "learners" / f"{learner}.json").read_text())
        assert document["learner"] == learner and "seed" not in document["grading"]
        assert (toy_class.out / "feedback" / learner / "00_toy.md").exists()


def test_the_same_seed_draws_the_same_inputs_and_another_does_not():
    from tools.grade.judge import fresh_seed

    assert fresh_seed(1, "ann", TOY, "x") == fresh_seed(1, "ann", TOY, "x")
    assert len({fresh_seed(1, "ann", TOY, "x"), fresh_seed(2, "ann", TOY, "x"),
                fresh_seed(1, "bob", TOY, "x"), fresh_seed(1, "ann", TOY, "y")}) == 4


def test_an_empty_class_and_a_bad_folder(tmp_path):
    course = toy_course(tmp_path / "course")
    (tmp_path / "none").mkdir()
    with pytest.raises(AssertionError, match="(?s)exit 2.*is empty"):
        run_judge(tmp_path / "none", tmp_path / "out", course)
    assert not (tmp_path / "out").exists()
