"""The judge's pipeline for one learner's notebook: every step, in order, and where it lives.

1. collect (tools/grade/collect.py): who handed in what; run once for the class.
2. extract (tools/grade/extract.py): the source of the learner's answer cells, nothing else.
3. rebuild (tools/grade/rebuild.py): the trusted exercise with those answers put in.
4. rules (tools/grade/rules.py): the from-scratch rules looked for on the syntax tree, and which
   checks grade a NumPy-only task (run where PyTorch's files are hidden).
5. trusted checks (tools/grade/trusted.py): inputs, verdicts and seeds from trusted text, in
   this process; the job folder the sandbox reads.
6. sandbox (tools/grade/sandbox.py, session.py, runner.py): the learner's code runs; data comes
   back (tools/grade/codec.py); ``_run`` below restarts the runner past what stopped it.
7. verdicts (tools/grade/trusted.py ``verdict``, tools/grade/status.py): each check's verdict
   on both seeds, in this process, and the cell's status. The visible seed's inputs are drawn,
   and a verdict on the same bytes is decided, once per run (``trusted.Shared``).
8. report (tools/grade/report.py): run by ``python -m tools.grade`` for the class.

No verdict is computed in a process that ran learner code: steps 5 and 7 run here, step 6 only
in the sandbox.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tools.grade import extract, rebuild, rules, session
from tools.grade.official import Official
from tools.grade.results import CellResult, NotebookResult
from tools.grade.sandbox import Sandbox
from tools.grade.status import STOPPED, Lost, Status, Verdict, blocked, cell_status
from tools.grade.trusted import (
    Check,
    Shared,
    fresh_seed,
    strict_zip,
    trusted_checks,
    verdict_on_bytes,
    write_job,
)

# The names other modules and tests import from here.
__all__ = ["CellResult", "Check", "NotebookResult", "Options", "fresh_seed", "grade_notebook",
           "strict_zip", "trusted_checks"]

MAX_ATTEMPTS = 12
REFUSED = ("Not graded here: this check tests a NumPy-only task, which is graded only where "
           "PyTorch's files are hidden (bubblewrap); your instructor will grade it.")


@dataclass
class Options:
    sandbox: Sandbox
    timeouts: session.Timeouts
    seed: int
    # What the run computes once for every learner (trusted.Shared): one per run.
    shared: Shared = field(default_factory=Shared)


def grade_notebook(official: Official, learner: str, path: Path | None, options: Options,
                   slot: int, notes: list[str] = ()) -> NotebookResult:
    """Grade one learner's copy of one notebook (None when the learner has none): steps 2-7."""
    result = NotebookResult(learner, official.name, official.possible, notes=list(notes))
    result.flags += list(notes) + options.sandbox.flags
    result.cells = [CellResult(cell.grade_id, cell.points) for cell in official.graded]
    if path is None:
        return _all(result, "missing", Status.MISSING,
                    "There is no such notebook in your submission.")
    try:  # 2. extract
        learner_cells = extract.read_code_cells(path)
    except extract.Unreadable as error:
        return _all(result, "unreadable", Status.UNREADABLE,
                    f"The notebook could not be read: {error}")
    answers = extract.extract(official, learner_cells)
    cells = rebuild.rebuild(official, answers)  # 3. rebuild
    verdict_of_rules = rules.check(official, answers)  # 4. rules
    result.violations = list(dict.fromkeys(v.text() for v in verdict_of_rules.violations))
    if verdict_of_rules.forbidden:
        result.flags.append("forbidden-call")
    hidden, _ = rules.numpy_only_checks(official)
    refused = set()
    if not options.sandbox.hides_torch:
        # setpriv cannot hide PyTorch: it refuses those checks; without a sandbox (the warm
        # --unsafe-no-sandbox mode) they run next to PyTorch and the rule is only looked for.
        refused = hidden if options.sandbox.mode != "none" else set()
        hidden = set()
    checks = trusted_checks(official)  # 5. trusted checks
    job = Path(tempfile.mkdtemp(prefix="judge-job-"))
    try:
        given = write_job(job, official, cells, checks, learner, options.seed, hidden, refused,
                          shared=options.shared)
        outcomes = _run(job, options, slot, result, "program.json")  # 6. sandbox
        if hidden:
            numpy = _run(job, options, slot, result, "program-numpy.json",
                         spent=result.seconds)
            outcomes["results"].update(numpy["results"])
            outcomes["lost"].update(numpy["lost"])
        for grade_id in refused:
            outcomes["lost"][grade_id] = Lost(None, REFUSED)
        if refused:
            result.flags.append("needs-review")
        _verdicts(result, checks, given, outcomes, verdict_of_rules.forbidden,  # 7. verdicts
                  options.shared)
    finally:
        shutil.rmtree(job, ignore_errors=True)
    return result


def _all(result: NotebookResult, flag: str, status: Status, message: str) -> NotebookResult:
    result.flags.append(flag)
    for cell in result.cells:
        cell.status, cell.message = status, message
    return result


def _run(job: Path, options: Options, slot: int, result: NotebookResult, program: str,
         spent: float = 0.0) -> dict:
    """Step 6: run the runner on ``program`` in the sandbox, restarting it past the cell or
    check it was on when a run ended early (a timeout, a crash, a limit), until it finishes,
    the notebook's time runs out or ``MAX_ATTEMPTS``; ``spent`` is the notebook's time already
    used (its budget is shared). Returns the results, ``Lost`` reasons and self-check."""
    numpy_only = program == "program-numpy.json"
    graded_here = {check["grade_id"] for check in
                   json.loads((job / program).read_text(encoding="utf-8"))["checks"]}
    skip_cells: set[int] = set()
    skip_checks: set[str] = set()
    results: dict[tuple[str, str], tuple[dict, bytes]] = {}
    lost: dict[str, Lost] = {}  # grade_id -> why its results are missing
    self_check: dict = {}
    cell_errors: dict[int, dict] = {}
    for attempt in range(MAX_ATTEMPTS):
        name = f"attempt-{'numpy-' if numpy_only else ''}{attempt}.json"
        (job / name).write_text(json.dumps({"skip_cells": sorted(skip_cells),
                                            "skip_checks": sorted(skip_checks),
                                            "program": program}))
        (job / name).chmod(0o644)
        budget = options.timeouts.notebook - spent
        if budget <= 0:  # nothing left of the notebook's time: no sandbox is started
            outcome = session.RunOutcome(end=session.End.BUDGET)
        else:
            outcome = session.run(options.sandbox, job, name, slot, options.timeouts, budget,
                                  hide_torch=numpy_only,
                                  allowance=session.NOTEBOOK_BYTES - result.received)
        spent += outcome.seconds
        result.received += outcome.received
        result.seconds = round(spent, 2)
        expected = None  # a result counts only right after the runner's "call" for it
        for message, payload in outcome.messages:
            kind = message.get("type")
            if kind == "call":
                expected = (str(message.get("grade_id")), str(message.get("which")))
            elif kind == "result":
                key = (str(message.get("grade_id")), str(message.get("which")))
                if key == expected and key[0] in graded_here:
                    results.setdefault(key, (message, payload))
                expected = None
            elif numpy_only:
                continue  # the self-check and cell errors are the other program's to say
            elif kind == "self-check" and isinstance(message.get("results"), dict):
                self_check = message["results"]
            elif kind == "cell-error" and isinstance(message.get("index"), int):
                cell_errors.setdefault(message["index"], message.get("error", {}))
        done_checks = {gid for gid, which in results if (gid, "fresh") in results
                       and (gid, "visible") in results}
        skip_checks |= done_checks
        if outcome.end is session.End.DONE:
            break
        flag, _status, reason = STOPPED[outcome.end]
        if flag not in result.flags:
            result.flags.append(flag)
        where = outcome.at
        if outcome.end is session.End.BUDGET or where is None:
            note = (f"the notebook {reason}" if outcome.end is session.End.BUDGET
                    else f"the runner {reason} before it could start")
            if note not in result.notes:
                result.notes.append(note)
            for grade_id in graded_here:
                lost.setdefault(grade_id, Lost(outcome.end, f"Not graded: your notebook {reason}."))
            break
        if where[0] == "cell":
            skip_cells.add(where[1])
            result.notes.append(f"code cell {where[1]} {reason}; it was skipped")
        else:
            skip_checks.add(where[1])
            lost[where[1]] = Lost(outcome.end, f"This check {reason}.")
            result.notes.append(f"graded check {where[1]} {reason}")
        if outcome.end is session.End.OVERFLOW:
            break
    else:
        result.notes.append("too many restarts; the remaining checks were not run")
    for grade_id, error in cell_errors.items():
        result.notes.append(f"code cell {grade_id} raised {error.get('raised', 'an error')}")
    return {"results": results, "lost": lost, "self_check": self_check}



def _verdicts(result: NotebookResult, checks: dict[str, Check], given: dict, outcomes: dict,
              forbidden: dict[str, list[str]], shared: Shared) -> None:
    """Step 7: each cell's verdicts on both seeds, then its status (tools/grade/status.py)."""
    reported = outcomes["self_check"]
    for cell in result.cells:
        value = reported.get(cell.grade_id)
        if isinstance(value, list) and len(value) == 2:
            cell.self_check = [value[0] is True, str(value[1])]
        check = checks[cell.grade_id]
        verdicts = {}
        for which in ("visible", "fresh"):
            _seed, inputs = given[cell.grade_id][which]
            verdicts[which] = _verdict_on(check, which, inputs, outcomes,
                                          result.notebook, shared)
        cell.visible, cell.fresh = verdicts["visible"].passed, verdicts["fresh"].passed
        cell.status, cell.message = cell_status(verdicts["visible"], verdicts["fresh"],
                                                forbidden.get(cell.grade_id), check.seed)
        if cell.status == Status.PASSED:
            cell.earned = cell.points
    statuses = {cell.grade_id: cell.status for cell in result.cells}
    causes = blocked(statuses, {grade_id: check.needs for grade_id, check in checks.items()},
                     {cell.grade_id: cell.message for cell in result.cells})
    for cell in result.cells:
        if cell.grade_id in causes:
            cell.status, cell.message = Status.BLOCKED, causes[cell.grade_id]


def _verdict_on(check: Check, which: str, inputs, outcomes: dict, notebook: str,
                shared: Shared) -> Verdict:
    found = outcomes["results"].get((check.grade_id, which))
    if found is None:
        return Verdict.missing(outcomes["lost"].get(check.grade_id))
    message, payload = found
    if "error" in message:
        return Verdict.error(message["error"] if isinstance(message["error"], dict) else {})
    if which == "visible":  # the same bytes on the same inputs: decided once per run
        return shared.visible_verdict(notebook, check, payload, inputs)
    return verdict_on_bytes(check, payload, inputs)
