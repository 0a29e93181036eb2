"""Issue #19, limits per learner as a whole: the attacks of tests/attacks/limit_attacks.py
(several processes each under the per-process memory limit, one process over the total, a
submission slow everywhere just under each item's limit) graded with honest controls in one
run of ``python -m tools.grade``. Each breach is stopped and flagged on that learner's row
only; the honest controls of the same run keep their scores and have no flag.
"""

from __future__ import annotations

import json
import time

import nbformat
import pytest

from tests.attacks.limit_attacks import ATTACKS
from tests.helpers import FIXTURES
from tests.judge_helpers import exercise_text, run_judge, toy_course, write_notebook
from tests.test_judge_attacks import _cell_defining, _fill, _set_body

TOY = "00_toy.ipynb"
TOTAL_MB = 1024  # the notebook's memory, all its processes together
HOLD_MB = 300  # each attacking process: 5 x 300 MB plus the runner is over TOTAL_MB
CELL_S, CHECK_S, NOTEBOOK_S = 10, 5, 20
PLACES = {"HOLD_MB": HOLD_MB, "SLEEP_CELL": CELL_S - 3, "SLEEP_CALL": CHECK_S - 2}
LIMITS = ("--cell-timeout", str(CELL_S), "--check-timeout", str(CHECK_S),
          "--notebook-timeout", str(NOTEBOOK_S), "--total-memory-mb", str(TOTAL_MB))
# The honest controls, graded in the same run: what each attack's base earns without it.
CONTROLS = {"control-blank": "blank", "control-half": "half", "control-solution": "solution"}


def _notebook(blank: str, base: str, attack: dict | None = None):
    if base == "solution":
        return nbformat.read(FIXTURES / TOY, as_version=4)
    notebook = nbformat.reads(blank, as_version=4)
    bodies = dict((attack or {}).get("bodies", {}))
    if base == "half":
        bodies.setdefault("double", "    return 2 * x")
    for function, body in bodies.items():
        _set_body(notebook, function, _fill(body, PLACES))
    if attack and "prelude" in attack:
        cell = _cell_defining(notebook, "mean_square")
        cell.source = _fill(attack["prelude"], PLACES) + "\n\n" + cell.source
    return notebook


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    base = tmp_path_factory.mktemp("limits")
    course = toy_course(base / "course")
    blank = exercise_text(course, TOY)
    subs = base / "submissions"
    for learner, kind in CONTROLS.items():
        write_notebook(_notebook(blank, kind), subs / learner / "exercises" / TOY)
    for attack in ATTACKS:
        write_notebook(_notebook(blank, attack["base"], attack),
                       subs / attack["id"] / "exercises" / TOY)
    started = time.monotonic()
    results = run_judge(subs, base / "results", course, *LIMITS)
    return {"results": results, "seconds": time.monotonic() - started}


def _entry(results, learner: str) -> dict:
    document = json.loads((results.out / "learners" / f"{learner}.json").read_text())
    return next(entry for entry in document["notebooks"] if entry["notebook"] == TOY)


def _seconds(results, learner: str) -> float:
    return _entry(results, learner)["seconds"]


def test_every_learner_has_a_row_and_the_grader_exits_0(limited):
    results = limited["results"]
    assert results.returncode == 0, results.output[-3000:]
    assert len(results.rows) == len(ATTACKS) + len(CONTROLS)


def test_the_header_says_which_memory_limit_is_in_force(limited):
    output = limited["results"].output
    assert f"{TOTAL_MB} MB for all its processes together" in output, output[-3000:]
    assert "cgroup v2" in output or "watchdog" in output


def test_controls_keep_their_scores_and_no_flag(limited):
    results = limited["results"]
    assert results.earned("control-solution", TOY) == 5
    assert results.earned("control-half", TOY) == 3
    assert results.earned("control-blank", TOY) == 0
    for learner in CONTROLS:
        assert results.flags(learner, TOY) == set(), results.row(learner, TOY)


@pytest.mark.parametrize("attack", ["memory-five-processes", "memory-one-process"])
def test_memory_over_the_total_is_stopped_and_flagged_on_that_learner(limited, attack):
    results = limited["results"]
    assert "memory-limit" in results.flags(attack, TOY), results.row(attack, TOY)
    assert results.earned(attack, TOY) <= results.earned("control-half", TOY)
    notes = " ".join(_entry(results, attack)["notes"])
    assert "held more memory, all its processes together" in notes, notes


def test_a_slow_submission_is_stopped_at_the_notebooks_total(limited):
    results = limited["results"]
    assert "notebook-time-limit" in results.flags("slow-everywhere", TOY), results.row(
        "slow-everywhere", TOY)
    assert results.earned("slow-everywhere", TOY) <= results.earned("control-half", TOY)
    # Stopped at the total: its time in the sandbox is the total, plus at most the time it
    # takes to kill the sandbox and read what is left.
    assert _seconds(results, "slow-everywhere") <= NOTEBOOK_S + 5
