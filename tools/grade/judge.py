"""Step 7, judge: inputs, references and verdicts, in the grader's own process.

This process never executes learner code. It executes only trusted text from the instructor's
checkout: the exercise's setup cell, tools/harness.py, the cells tagged ``grading-helper`` and
the graded cells (with ``run_check`` bound to a recorder, to get each check's ``inputs``,
``verdict`` and seed). From the runner it accepts data only (tools/grade/codec.py), and a
graded cell earns its points only if ``verdict`` passes on both the notebook's visible seed and
a fresh seed nobody could know in advance.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tools.grade import codec, extract, rebuild, rules, session
from tools.grade.official import Official
from tools.grade.sandbox import Sandbox
from tools.harness import blocked_message

HERE = Path(__file__).resolve().parent
HARNESS = HERE.parent / "harness.py"
MAX_ATTEMPTS = 12
_exec_lock = threading.Lock()


@dataclass
class Check:
    grade_id: str
    points: float
    source: str
    inputs: object
    verdict: object
    seed: int
    # The earlier functions this check uses -> the grade ids of their own checks.
    needs: dict = field(default_factory=dict)


@dataclass
class CellResult:
    grade_id: str
    points: float
    earned: float = 0
    status: str = "did not run"
    message: str = ""
    self_check: list | None = None  # [passed, message] reported from the sandbox (untrusted)
    visible: bool | None = None  # the judge's verdict on the notebook's seed
    fresh: bool | None = None  # the judge's verdict on the fresh seed


@dataclass
class NotebookResult:
    learner: str
    notebook: str
    possible: float
    cells: list[CellResult] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    seconds: float = 0.0  # wall time spent in the sandbox for this notebook
    received: int = 0  # bytes of frames the judge accepted for this notebook, all runs

    @property
    def earned(self) -> float:
        return sum(cell.earned for cell in self.cells)


def trusted_checks(official: Official) -> dict[str, Check]:
    """Execute the trusted setup, harness, grading helpers and graded cells in this process."""
    namespace: dict = {"__name__": "__judge__"}
    os.environ.setdefault("MPLBACKEND", "Agg")
    recorded: dict[str, tuple] = {}

    def recorder(grade_id, inputs, call, verdict, seed, needs=None):
        recorded["last"] = (grade_id, inputs, verdict, seed, dict(needs or {}))

    # The setup cell may seed global generators (one at a time), and it prints its versions,
    # which are the notebook's business, not the instructor's terminal's.
    with _exec_lock, contextlib.redirect_stdout(io.StringIO()):
        for cell in official.of_kind("setup"):
            exec(compile(cell.source, f"<{official.name} setup>", "exec"), namespace)  # noqa: S102 - trusted text
        exec(compile(HARNESS.read_text(encoding="utf-8"), str(HARNESS), "exec"), namespace)  # noqa: S102 - trusted text
        for cell in official.of_kind("grading-helper"):
            exec(compile(cell.source, f"<{official.name} helper>", "exec"), namespace)  # noqa: S102 - trusted text
    checks = {}
    for cell in official.graded:
        # Each graded cell gets its own namespace, so that its inputs/verdict stay its own.
        own = dict(namespace)
        own["run_check"] = recorder
        # A verdict that zips what the learner returned with what it expects must see every
        # item: a short or empty result fails instead of passing on what is there.
        own["zip"] = strict_zip
        recorded.clear()
        exec(compile(cell.source, f"<{official.name} {cell.grade_id}>", "exec"), own)  # noqa: S102 - trusted text
        if "last" not in recorded:
            raise ValueError(f"{official.name}: graded cell {cell.grade_id} never calls run_check")
        grade_id, inputs, verdict, seed, needs = recorded["last"]
        if grade_id != cell.grade_id:
            raise ValueError(
                f"{official.name}: run_check({grade_id!r}) in the cell whose grade_id is "
                f"{cell.grade_id!r}"
            )
        unknown = [need for need in needs.values() if need not in checks]
        if unknown:
            raise ValueError(f"{official.name}: {grade_id} needs {unknown}, which is not an "
                             "earlier graded cell")
        checks[grade_id] = Check(grade_id, cell.points, cell.source, inputs, verdict, int(seed),
                                 needs)
    return checks


def strict_zip(*iterables):
    """``zip`` that raises ValueError when the lengths differ (the verdicts' zip)."""
    return zip(*iterables, strict=True)


def fresh_seed(base: int, learner: str, notebook: str, grade_id: str) -> int:
    digest = hashlib.sha256(f"{base}/{learner}/{notebook}/{grade_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


@dataclass
class Options:
    sandbox: Sandbox
    timeouts: session.Timeouts
    seed: int


def grade_notebook(official: Official, learner: str, path: Path | None, options: Options,
                   slot: int, notes: list[str] = ()) -> NotebookResult:
    """Grade one learner's copy of one notebook (None when the learner has none)."""
    result = NotebookResult(learner, official.name, official.possible, notes=list(notes))
    result.flags += list(notes) + options.sandbox.flags
    result.cells = [CellResult(cell.grade_id, cell.points) for cell in official.graded]
    if path is None:
        return _all(result, "missing", "missing", "There is no such notebook in your submission.")
    try:
        learner_cells = extract.read_code_cells(path)
    except extract.Unreadable as error:
        return _all(result, "unreadable", "unreadable", f"The notebook could not be read: {error}")
    answers = extract.extract(official, learner_cells)
    verdict_of_rules = rules.check(official, answers)
    result.violations = list(dict.fromkeys(v.text() for v in verdict_of_rules.violations))
    if verdict_of_rules.forbidden:
        result.flags.append("forbidden-call")
    checks = trusted_checks(official)
    hidden, _ = rules.numpy_only_checks(official)
    refused = set()
    if not options.sandbox.hides_torch:
        # setpriv cannot hide PyTorch: it refuses those checks; without a sandbox (the warm
        # --unsafe-no-sandbox mode) they run next to PyTorch and the rule is only looked for.
        refused = hidden if options.sandbox.mode != "none" else set()
        hidden = set()
    job = Path(tempfile.mkdtemp(prefix="judge-job-"))
    try:
        given = _write_job(job, official, answers, checks, learner, options.seed, hidden,
                           refused)
        outcomes = _run(job, official, options, slot, result, "program.json")
        if hidden:
            numpy = _run(job, official, options, slot, result, "program-numpy.json",
                         spent=result.seconds)
            outcomes["results"].update(numpy["results"])
            outcomes["lost"].update(numpy["lost"])
        for grade_id in refused:
            outcomes["lost"][grade_id] = REFUSED
        if refused:
            result.flags.append("needs-review")
        _verdicts(result, checks, given, outcomes, verdict_of_rules.forbidden)
    finally:
        shutil.rmtree(job, ignore_errors=True)
    return result


REFUSED = ("Not graded here: this check tests a NumPy-only task, which is graded only where "
           "PyTorch's files are hidden (bubblewrap); your instructor will grade it.")


def _all(result: NotebookResult, flag: str, status: str, message: str) -> NotebookResult:
    result.flags.append(flag)
    for cell in result.cells:
        cell.status, cell.message = status, message
    return result


def _write_job(job: Path, official: Official, answers: dict[int, str], checks: dict[str, Check],
               learner: str, base_seed: int, hidden: set[str] = frozenset(),
               refused: set[str] = frozenset()) -> dict:
    """The job folder the sandbox sees read-only: runner, codec, programs and inputs.

    ``program.json`` holds the checks that run next to PyTorch, ``program-numpy.json`` those
    of NumPy-only tasks (``hidden``), run where PyTorch's files are not there."""
    shutil.copy(HERE / "runner.py", job / "runner.py")
    shutil.copy(HERE / "codec.py", job / "codec.py")
    given, listed = {}, []
    for number, (grade_id, check) in enumerate(checks.items()):
        seeds = {"visible": check.seed,
                 "fresh": fresh_seed(base_seed, learner, official.name, grade_id)}
        given[grade_id] = {}
        files = {}
        for which, seed in seeds.items():
            data = check.inputs(np.random.default_rng(seed))
            given[grade_id][which] = (seed, data)
            name = f"inputs-{number}-{which}.npz"
            (job / name).write_bytes(codec.encode(data))
            files[which] = name
        listed.append({"grade_id": grade_id, "source": check.source, "inputs": files})
    cells = rebuild.rebuild(official, answers)
    learner_names = sorted(rules.answer_names(official))
    plain = [check for check in listed if check["grade_id"] not in hidden | refused]
    numpy = [check for check in listed if check["grade_id"] in hidden]
    for name, chosen, numpy_only in (("program.json", plain, False),
                                     ("program-numpy.json", numpy, True)):
        program = {"cells": cells, "checks": chosen, "learner_names": learner_names,
                   "numpy_only": numpy_only}
        (job / name).write_text(json.dumps(program), encoding="utf-8")
    job.chmod(0o755)
    for item in job.iterdir():
        item.chmod(0o644)
    return given


def _run(job: Path, official: Official, options: Options, slot: int,
         result: NotebookResult, program: str, spent: float = 0.0) -> dict:
    """Run the runner on ``program``, restarting it past a cell or check that timed out or
    killed it; ``spent`` is the notebook's time already used (its budget is shared)."""
    numpy_only = program == "program-numpy.json"
    graded_here = {check["grade_id"] for check in
                   json.loads((job / program).read_text(encoding="utf-8"))["checks"]}
    skip_cells: set[int] = set()
    skip_checks: set[str] = set()
    results: dict[tuple[str, str], tuple[dict, bytes]] = {}
    lost: dict[str, str] = {}  # grade_id -> why its results are missing
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
        flag, reason = STOPPED[outcome.end]
        if flag not in result.flags:
            result.flags.append(flag)
        where = outcome.at
        if outcome.end is session.End.BUDGET or where is None:
            note = (f"the notebook {reason}" if outcome.end is session.End.BUDGET
                    else f"the runner {reason} before it could start")
            if note not in result.notes:
                result.notes.append(note)
            for grade_id in graded_here:
                lost.setdefault(grade_id, f"Not graded: your notebook {reason}.")
            break
        if where[0] == "cell":
            skip_cells.add(where[1])
            result.notes.append(f"code cell {where[1]} {reason}; it was skipped")
        else:
            skip_checks.add(where[1])
            lost[where[1]] = f"This check {reason}."
            result.notes.append(f"graded check {where[1]} {reason}")
        if outcome.end is session.End.OVERFLOW:
            break
    else:
        result.notes.append("too many restarts; the remaining checks were not run")
    for grade_id, error in cell_errors.items():
        result.notes.append(f"code cell {grade_id} raised {error.get('raised', 'an error')}")
    return {"results": results, "lost": lost, "self_check": self_check}


# How a run that did not finish is flagged, and what stopped it, said of the item it was on.
STOPPED = {
    session.End.TIMEOUT: ("timeout", "ran past the time limit"),
    session.End.BUDGET: ("notebook-time-limit", "ran past its total time limit"),
    session.End.DIED: ("kernel-died", "stopped the runner (a crash, os._exit, or out of memory)"),
    session.End.OVERFLOW: ("huge-output", "sent more output than the grader accepts"),
    session.End.MEMORY: ("memory-limit", ("held more memory, all its processes together, than "
                         "the grader allows")),
    session.End.PROCESSES: ("process-limit", ("started more processes and threads than the "
                            "grader allows")),
}


def _harness_message(error: dict) -> str:
    if error.get("raised") == "NotImplementedError":
        return "not attempted yet: the function raises NotImplementedError."
    return f"your code raised {error.get('raised')}: {error.get('message', '')}"


def _verdicts(result: NotebookResult, checks: dict[str, Check], given: dict, outcomes: dict,
              forbidden: dict[str, list[str]]) -> None:
    reported = outcomes["self_check"]
    for cell in result.cells:
        value = reported.get(cell.grade_id)
        if isinstance(value, list) and len(value) == 2:
            cell.self_check = [value[0] is True, str(value[1])]
        check = checks[cell.grade_id]
        verdicts = {}
        for which in ("visible", "fresh"):
            _seed, inputs = given[cell.grade_id][which]
            found = outcomes["results"].get((cell.grade_id, which))
            if found is None:
                verdicts[which] = (None, outcomes["lost"].get(cell.grade_id, "This check did not run."))
                continue
            message, payload = found
            if "error" in message:
                error = message["error"] if isinstance(message["error"], dict) else {}
                verdicts[which] = (False, _harness_message(error))
                continue
            try:
                got = codec.decode(payload)
            except codec.CodecError as error:
                verdicts[which] = (False, f"the result could not be read as data: {error}")
                continue
            verdicts[which] = _verdict(check, got, inputs)
        cell.visible, cell.fresh = verdicts["visible"][0], verdicts["fresh"][0]
        if cell.grade_id in forbidden:
            cell.status = "forbidden-call"
            cell.message = "This cell's answers break the task's from-scratch rules: " + "; ".join(
                forbidden[cell.grade_id][:5])
            continue
        if cell.visible and cell.fresh:
            cell.status, cell.earned = "passed", cell.points
        elif cell.visible is None or cell.fresh is None:
            missing = verdicts["visible"] if cell.visible is None else verdicts["fresh"]
            cell.status = "timeout" if "time limit" in missing[1] else "did not run"
            if "stopped the runner" in missing[1]:
                cell.status = "kernel-died"
            cell.message = missing[1]
        elif not cell.visible:
            text = verdicts["visible"][1]
            cell.status = "not attempted" if text.startswith("not attempted") else "failed"
            cell.message = text
        else:
            cell.status = "failed"
            # The fresh seed stays in the instructor's log: with it, a regrade could be
            # answered by heart.
            cell.message = (
                f"Passed on the notebook's own inputs (seed {check.seed}) but failed on fresh "
                f"inputs drawn for this grading: {verdicts['fresh'][1]}"
            )
    _report_blocked(result, checks)


def _report_blocked(result: NotebookResult, checks: dict[str, Check]) -> None:
    """A failed check that uses an earlier function whose own check did not pass names that
    function as the cause, as tools/harness.py's run_check does: one mistake, one place to look."""
    not_passed = {cell.grade_id for cell in result.cells if cell.status != "passed"}
    for cell in result.cells:
        needs = checks[cell.grade_id].needs
        if cell.status != "failed" or not needs:
            continue
        message = blocked_message(needs, not_passed)
        if message:
            cell.status, cell.message = "blocked", message


class Results(dict):
    """What a check's ``call`` sent back. A key the verdict expects but the data lacks is a
    failure that says so, whatever the verdict does with it (the sandbox's data is never
    trusted to be complete)."""

    def __missing__(self, key):
        raise AssertionError(
            f"no result named {key!r} came back from your code, and this check needs it (did "
            "a function return too few values, or stop early?)")


def _verdict(check: Check, got, inputs) -> tuple[bool, str]:
    """The trusted verdict on data, exactly as tools/harness.py's run_check decides it."""
    if isinstance(got, dict):
        got = Results(got)
    try:
        check.verdict(got, **copy.deepcopy(inputs))
    except AssertionError as failure:
        return False, str(failure)
    except NotImplementedError:  # the harness's expect_error met a stub
        return False, _harness_message({"raised": "NotImplementedError"})
    except Exception as error:  # noqa: BLE001 - e.g. a result of the wrong type
        return False, f"the result could not be checked: {type(error).__name__}: {error}"
    return True, ""
