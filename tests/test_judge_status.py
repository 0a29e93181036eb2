"""The status table on its own (tools/grade/status.py): every way a graded cell can end, from
typed facts, and the statuses and messages the reports print. Fast: no sandbox."""

from __future__ import annotations

import pytest

from tools.grade.session import End
from tools.grade.status import STOPPED, Lost, Status, Verdict, cell_status

SEED = 7
PASS = Verdict(True)


def test_every_early_end_has_a_flag_a_status_and_a_reason():
    assert set(STOPPED) == set(End) - {End.DONE}
    flags = [flag for flag, _, _ in STOPPED.values()]
    assert len(set(flags)) == len(flags), "two ends share a flag"


def test_both_seeds_pass():
    assert cell_status(PASS, PASS, None, SEED) == (Status.PASSED, "")


def test_broken_rules_win_over_passing_verdicts():
    status, message = cell_status(PASS, PASS, ["imports 'torch'"], SEED)
    assert status is Status.FORBIDDEN and "imports 'torch'" in message


@pytest.mark.parametrize(("end", "status"), [
    (End.TIMEOUT, Status.TIMEOUT), (End.BUDGET, Status.TIMEOUT),
    (End.DIED, Status.KERNEL_DIED), (End.OVERFLOW, Status.HUGE_OUTPUT),
    (End.MEMORY, Status.MEMORY), (End.PROCESSES, Status.PROCESSES),
    (None, Status.DID_NOT_RUN),
])
@pytest.mark.parametrize("which", ["visible", "fresh"])
def test_a_lost_result_takes_the_status_of_what_lost_it(end, status, which):
    lost = Verdict.missing(Lost(end, "This check stopped."))
    visible, fresh = (lost, PASS) if which == "visible" else (PASS, lost)
    assert cell_status(visible, fresh, None, SEED) == (status, "This check stopped.")


def test_a_check_nobody_ran_did_not_run():
    status, message = cell_status(Verdict.missing(None), PASS, None, SEED)
    assert status is Status.DID_NOT_RUN and message == "This check did not run."


def test_the_status_never_comes_from_the_words_of_a_message():
    # A failure whose text mentions a time limit or a stopped runner is a failure.
    words = Verdict(False, "not attempted: time limit; stopped the runner")
    assert cell_status(words, PASS, None, SEED)[0] is Status.FAILED
    lost = Verdict.missing(Lost(End.MEMORY, "ran past the time limit"))
    assert cell_status(lost, PASS, None, SEED)[0] is Status.MEMORY


def test_a_stub_is_not_attempted_and_another_error_failed():
    stub = Verdict.error({"raised": "NotImplementedError"})
    assert cell_status(stub, stub, None, SEED)[0] is Status.NOT_ATTEMPTED
    other = Verdict.error({"raised": "ValueError", "message": "shapes differ"})
    assert cell_status(other, other, None, SEED) == (
        Status.FAILED, "your code raised ValueError: shapes differ")
    located = Verdict.error({"raised": "ValueError", "message": "shapes differ",
                             "where": " in `attention`"})
    assert located.message == "your code raised ValueError in `attention`: shapes differ"


def test_failing_only_on_fresh_inputs_names_the_visible_seed_only():
    status, message = cell_status(PASS, Verdict(False, "off by 2"), None, SEED)
    assert status is Status.FAILED
    assert f"seed {SEED}" in message and message.endswith("off by 2")
