"""Step 5, trusted checks: each graded cell's inputs, verdict and seed, and the job folder.

This runs in the grader's own process, which never executes learner code. It executes only
trusted text from the instructor's checkout: the exercise's setup cell, tools/harness.py, the
cells tagged ``grading-helper`` and the graded cells (with ``run_check`` bound to a recorder, to
get each check's ``inputs``, ``verdict``, seed and ``needs``). It draws the inputs for the
notebook's visible seed and a fresh one nobody could know in advance, writes them with the
rebuilt notebook into the job folder the sandbox reads (step 6), and, at step 7, runs each
``verdict`` on the data the sandbox sent back (``verdict`` below).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tools.grade import codec, rules
from tools.grade.official import Official
from tools.grade.status import Verdict

HERE = Path(__file__).resolve().parent
HARNESS = HERE.parent / "harness.py"
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


class Shared:
    """What one run of the judge computes once for all its learners: each check's inputs for
    its visible seed (the same for every learner), and the verdict on the visible inputs for
    each distinct result, keyed by its exact bytes. Both are functions of their key alone: a
    check's ``inputs`` draws only from the generator it is given, and ``verdict`` gets its own
    deep copy of the inputs and a fresh decoding of the bytes; so a learner whose code sent
    back the same bytes as another's gets the verdict it would have got, and nothing else of
    theirs. The fresh seed is each learner's own, so nothing fresh is shared."""

    def __init__(self):
        self._inputs: dict[tuple[str, str, int], tuple[object, bytes]] = {}
        self._verdicts: dict[tuple[str, str, int, bytes], Verdict] = {}

    def visible_inputs(self, notebook: str, check: Check) -> tuple[object, bytes]:
        """The check's inputs for its visible seed, and their encoding."""
        key = (notebook, check.grade_id, check.seed)
        if key not in self._inputs:
            data = check.inputs(np.random.default_rng(check.seed))
            self._inputs[key] = (data, codec.encode(data))
        return self._inputs[key]

    def visible_verdict(self, notebook: str, check: Check, payload: bytes, inputs) -> Verdict:
        """``verdict_on_bytes`` for the visible inputs."""
        key = (notebook, check.grade_id, check.seed, hashlib.sha256(payload).digest())
        if key not in self._verdicts:
            self._verdicts[key] = verdict_on_bytes(check, payload, inputs)
        return self._verdicts[key]


def write_job(job: Path, official: Official, cells: list[dict], checks: dict[str, Check],
              learner: str, base_seed: int, hidden: set[str] = frozenset(),
              refused: set[str] = frozenset(), *, shared: Shared) -> dict:
    """The job folder the sandbox sees read-only: the runner, the codec, the programs (the
    rebuilt notebook's ``cells`` and the checks) and the inputs, drawn here from each check's
    seeds (the visible ones through ``shared``, once per run); returns those inputs, by grade
    id and seed, for the verdicts.

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
            if which == "visible":
                data, encoded = shared.visible_inputs(official.name, check)
            else:
                data = check.inputs(np.random.default_rng(seed))
                encoded = codec.encode(data)
            given[grade_id][which] = (seed, data)
            name = f"inputs-{number}-{which}.npz"
            (job / name).write_bytes(encoded)
            files[which] = name
        listed.append({"grade_id": grade_id, "source": check.source, "inputs": files})
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


class Results(dict):
    """What a check's ``call`` sent back. A key the verdict expects but the data lacks is a
    failure that says so, whatever the verdict does with it (the sandbox's data is never
    trusted to be complete)."""

    def __missing__(self, key):
        raise AssertionError(
            f"no result named {key!r} came back from your code, and this check needs it (did "
            "a function return too few values, or stop early?)")


def verdict_on_bytes(check: Check, payload: bytes, inputs) -> Verdict:
    """The trusted verdict on what the sandbox sent back, once decoded as data."""
    try:
        got = codec.decode(payload)
    except codec.CodecError as error:
        return Verdict(False, f"the result could not be read as data: {error}")
    return verdict(check, got, inputs)


def verdict(check: Check, got, inputs) -> Verdict:
    """The trusted verdict on data, exactly as tools/harness.py's run_check decides it."""
    if isinstance(got, dict):
        got = Results(got)
    try:
        check.verdict(got, **copy.deepcopy(inputs))
    except AssertionError as failure:
        return Verdict(False, str(failure))
    except NotImplementedError:  # the harness's expect_error met a stub
        return Verdict.error({"raised": "NotImplementedError"})
    except Exception as error:  # noqa: BLE001 - e.g. a result of the wrong type
        return Verdict(False, f"the result could not be checked: {type(error).__name__}: {error}")
    return Verdict(True)
