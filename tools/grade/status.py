"""Step 7, verdicts to statuses: what a graded cell's status and message are, decided from typed
facts (the trusted verdict on each seed, or why its results are missing: a ``session.End``),
never from the text of a message. ``cell_status`` is the whole table; tests/test_judge_status.py
walks it, end state by end state.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from tools.grade.session import End
from tools.harness import blocked_message


class Status(enum.StrEnum):
    """A graded cell's status, as the reports print it."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_ATTEMPTED = "not attempted"  # the function still raises NotImplementedError
    BLOCKED = "blocked"  # failed, and an earlier function it uses failed its own check
    FORBIDDEN = "forbidden-call"  # the answers break the task's from-scratch rules
    TIMEOUT = "timeout"
    KERNEL_DIED = "kernel-died"
    MEMORY = "memory-limit"
    PROCESSES = "process-limit"
    HUGE_OUTPUT = "huge-output"
    DID_NOT_RUN = "did not run"  # never reached, or refused (the setpriv fallback)
    MISSING = "missing"
    UNREADABLE = "unreadable"


# How a run that did not finish is flagged, the status of a check it left without results, and
# what stopped it, said of the item it was on ("code cell 3 ...", "This check ...").
STOPPED: dict[End, tuple[str, Status, str]] = {
    End.TIMEOUT: ("timeout", Status.TIMEOUT, "ran past the time limit"),
    End.BUDGET: ("notebook-time-limit", Status.TIMEOUT, "ran past its total time limit"),
    End.DIED: ("kernel-died", Status.KERNEL_DIED,
               "stopped the runner (a crash, os._exit, or out of memory)"),
    End.OVERFLOW: ("huge-output", Status.HUGE_OUTPUT, "sent more output than the grader accepts"),
    End.MEMORY: ("memory-limit", Status.MEMORY,
                 "held more memory, all its processes together, than the grader allows"),
    End.PROCESSES: ("process-limit", Status.PROCESSES,
                    "started more processes and threads than the grader allows"),
}

NOT_ATTEMPTED = "not attempted yet: the function raises NotImplementedError."
NEVER_RAN = "This check did not run."


@dataclass(frozen=True)
class Lost:
    """Why a check's results are missing: the end of the run that lost them (None: the check
    was never run, e.g. refused by the setpriv fallback), and the learner's message."""

    end: End | None
    message: str


@dataclass(frozen=True)
class Verdict:
    """The judge's verdict on one seed: ``passed`` is None when no result came back (``lost``
    says why); ``not_attempted`` when the learner's function still raises
    NotImplementedError."""

    passed: bool | None
    message: str = ""
    lost: Lost | None = None
    not_attempted: bool = False

    @classmethod
    def missing(cls, lost: Lost | None) -> Verdict:
        lost = lost or Lost(None, NEVER_RAN)
        return cls(None, lost.message, lost)

    @classmethod
    def error(cls, error: dict) -> Verdict:
        """The learner's code raised ``error`` (the runner's description of it)."""
        if error.get("raised") == "NotImplementedError":
            return cls(False, NOT_ATTEMPTED, not_attempted=True)
        where = error.get("where") if isinstance(error.get("where"), str) else ""
        return cls(False, f"your code raised {error.get('raised')}{where}: "
                          f"{error.get('message', '')}")


def cell_status(visible: Verdict, fresh: Verdict, forbidden: list[str] | None,
                seed: int) -> tuple[Status, str]:
    """The status and message of a graded cell from its verdicts on the notebook's seed
    (``seed``) and on the fresh one, and the from-scratch rules it breaks (``forbidden``)."""
    if forbidden:
        return Status.FORBIDDEN, ("This cell's answers break the task's from-scratch rules: "
                                  + "; ".join(forbidden[:5]))
    if visible.passed and fresh.passed:
        return Status.PASSED, ""
    if visible.passed is None or fresh.passed is None:
        missing = visible if visible.passed is None else fresh
        end = missing.lost.end if missing.lost else None
        status = STOPPED[end][1] if end in STOPPED else Status.DID_NOT_RUN
        return status, missing.message
    if not visible.passed:
        return (Status.NOT_ATTEMPTED if visible.not_attempted else Status.FAILED), visible.message
    # The fresh seed stays in the instructor's log: with it, a regrade could be answered by
    # heart.
    return Status.FAILED, (f"Passed on the notebook's own inputs (seed {seed}) but failed on "
                           f"fresh inputs drawn for this grading: {fresh.message}")


def blocked(statuses: dict[str, str], needs: dict[str, dict[str, str]],
            messages: dict[str, str] | None = None) -> dict[str, str]:
    """The failed checks that use an earlier function whose own check did not pass, and the
    message naming it (as tools/harness.py's run_check says it): one mistake, one place to
    look. ``needs``: grade id -> {function name: the grade id of its check}."""
    not_passed = {grade_id for grade_id, status in statuses.items() if status != Status.PASSED}
    found = {}
    for grade_id, status in statuses.items():
        if status != Status.FAILED or not needs.get(grade_id):
            continue
        message = blocked_message(needs[grade_id], not_passed, (messages or {}).get(grade_id, ""))
        if message:
            found[grade_id] = message
    return found
