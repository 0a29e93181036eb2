"""The judge and the self-check agree on every mutant (tests/mutants/NN_topic.yaml) of every
chapter in the graded-cell format: the same verdict per graded cell on the notebook's own
inputs, and the judge never gives a point the self-check withholds (it may give fewer, where
its fresh inputs expose the mistake). One judge run, ``--jobs 2``, grades all the mutants as a
class; each learner's self-check is what its notebook reported in that same run. The mutants are
our own code, so that run uses ``--unsafe-no-sandbox``, whose runners fork from a process that
has imported PyTorch once (tools/grade/warm.py): what is tested here is the verdicts, and the
sandbox has its own tests (tests/test_judge_sandbox.py, tests/test_judge_attacks.py).
Each mutant must also lose points, with the judge and in the self-check, in the cells its
``catches`` names: what tests/test_mutants.py checks through nbval, from the same run.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from tests.helpers import SOLUTIONS
from tests.judge_helpers import (
    converted_solutions,
    make_course,
    run_judge,
    write_notebook,
)
from tests.test_mutants import apply, load, load_correct_answers

# Time limits for a loaded test machine: a limit hit by a correct solution is a flaky test.
GENEROUS = ("--cell-timeout", "300", "--check-timeout", "120", "--notebook-timeout", "3600")
FOLDER = Path(os.environ.get("JUDGE_SOLUTIONS", SOLUTIONS))
READY, _ = converted_solutions(FOLDER)
MUTANTS = [(name, mutant) for name in READY for mutant in load(Path(name).stem)]
CORRECT = [(name, answer) for name in READY for answer in load_correct_answers(Path(name).stem)]
# Whole notebooks that learners wrote with only the exercise and the chapter (simulated learners,
# tests/learners/<learner>/NN_topic.ipynb): every one earns full marks.
LEARNERS = Path(__file__).parent / "learners"
KEPT = sorted((path.name, path.parent.name) for path in LEARNERS.glob("*/*.ipynb") if path.name in READY)


def _learner(name: str, mutant: dict) -> str:
    return f"{Path(name).stem}--{mutant['id']}"


@pytest.fixture(scope="module")
def graded_mutants(tmp_path_factory):
    if not MUTANTS:
        pytest.skip("no chapter in the graded-cell format has mutants yet")
    base = tmp_path_factory.mktemp("mutants")
    course = make_course(base / "course", {name: FOLDER / name for name in READY})
    subs = base / "submissions"
    for name, mutant in MUTANTS + CORRECT:
        notebook = nbformat.read(FOLDER / name, as_version=4)
        apply(notebook, mutant, name)
        write_notebook(notebook, subs / _learner(name, mutant) / name)
    for name, learner in KEPT:
        write_notebook(nbformat.read(LEARNERS / learner / name, as_version=4),
                       subs / f"kept--{learner}" / name)
    names = sorted({name for name, _ in MUTANTS + CORRECT + KEPT})
    extra = [argument for name in names for argument in ("--notebook", name)]
    return run_judge(subs, base / "results", course, "--jobs", "2", "--unsafe-no-sandbox",
                     *GENEROUS, *extra, timeout=7200)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "mutant"), MUTANTS,
                         ids=[f"{Path(n).stem}:{m['id']}" for n, m in MUTANTS])
def test_judge_agrees_with_the_self_check_on_the_mutant(graded_mutants, name, mutant):
    learner = _learner(name, mutant)
    cells = graded_mutants.cells(learner, name)
    for grade_id, cell in cells.items():
        assert cell["self_check"] is not None, f"{grade_id}: the self-check did not report"
        assert cell["visible"] == cell["self_check"][0], (grade_id, cell)
        if cell["earned"]:
            assert cell["self_check"][0], f"{grade_id}: the judge gave points the self-check did not"
    lost = {grade_id for grade_id, cell in cells.items() if cell["earned"] < cell["points"]}
    assert lost, f"the judge gives mutant {mutant['id']} full marks"
    # (A `catches` entry that names no graded cell is test_mutants.py's to report.)
    missed = (set(mutant.get("catches", [])) & set(cells)) - lost
    assert not missed, f"mutant {mutant['id']} should lose {sorted(missed)} with the judge"
    # What tests/test_mutants.py asks of the learner's self-check, from this same run.
    self_failed = {grade_id for grade_id, cell in cells.items() if not cell["self_check"][0]}
    assert self_failed, f"the self-check gives mutant {mutant['id']} full marks"
    missed = (set(mutant.get("catches", [])) & set(cells)) - self_failed
    assert not missed, f"mutant {mutant['id']} should fail {sorted(missed)} in the self-check"


def _assert_full_marks(cells: dict, who: str) -> None:
    """Full marks from the judge and from the self-check in the same run."""
    lost = {grade_id: cell["message"] for grade_id, cell in cells.items()
            if cell["earned"] < cell["points"]}
    assert not lost, f"the judge takes points from {who}: {lost}"
    self_failed = {grade_id: cell["self_check"] for grade_id, cell in cells.items()
                   if not cell["self_check"] or not cell["self_check"][0]}
    assert not self_failed, f"the self-check fails {who}: {self_failed}"


@pytest.mark.slow
@pytest.mark.parametrize(("name", "answer"), CORRECT,
                         ids=[f"{Path(n).stem}:{a['id']}" for n, a in CORRECT])
def test_a_correct_but_different_answer_gets_full_marks(graded_mutants, name, answer):
    """A learner's own correct answer (plain-English messages, another method) is never failed."""
    _assert_full_marks(graded_mutants.cells(_learner(name, answer), name),
                       f"the correct answer {answer['id']}")


@pytest.mark.slow
@pytest.mark.parametrize(("name", "learner"), KEPT, ids=[f"{learner}:{Path(name).stem}" for name, learner in KEPT])
def test_a_kept_learners_notebook_gets_full_marks(graded_mutants, name, learner):
    """A notebook a learner wrote from the exercise and the chapter alone, in their own words,
    gets full marks."""
    _assert_full_marks(graded_mutants.cells(f"kept--{learner}", name), f"{learner}'s {name}")
