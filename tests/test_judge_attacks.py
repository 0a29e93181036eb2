"""The attack suite: a class of learners who try to get points without the work, graded by
``python -m tools.grade`` in one run. No attack may earn more than its honest score (the same
notebook without the attack), the reference solution still earns full marks and the blank
exercise 0 in the same run, and nothing outside the sandbox changes: no file written, no
connection made, no process left behind, the trusted course and the results untouched.

The attacks are data, in tests/attacks/toy_attacks.py (the toy exercise, fast and fully
known); tests/test_judge_chapters.py runs the chapter-specific ones on converted chapters.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from tests.attacks.toy_attacks import ATTACKS
from tests.helpers import FIXTURES
from tests.judge_helpers import exercise_text, run_judge, toy_course, write_notebook

TOY = "00_toy.ipynb"
# Each attack's honest base, graded in the same run as a learner of its own: an attack's
# ceiling is what that control earns, measured, not a number written here.
CONTROLS = {"blank": "control-blank", "half": "control-half", "none": "control-none"}
STUB = "    # YOUR CODE HERE\n    raise NotImplementedError()"


def _zeromq_greeting(data: bytes) -> bool:
    # ZMTP 3's greeting: 0xFF, eight padding bytes, 0x7F. A Jupyter client whose kernel died
    # (the grader tests kill some) keeps reconnecting to the kernel's old port, which this
    # listener may have been given since: that peer is the test machine, not a learner.
    return len(data) >= 10 and data[0] == 0xFF and data[9] == 0x7F


class Listener:
    """A TCP server on the host's loopback that records every connection it gets (and what the
    peer sent first), except a ZeroMQ peer of another test's dead Jupyter kernel."""

    def __init__(self):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.server.settimeout(0.5)
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.first_bytes: list[bytes] = []
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                connection, _ = self.server.accept()
            except OSError:
                continue
            connection.settimeout(1.0)
            try:
                data = connection.recv(64)
            except OSError:
                data = b""
            connection.close()
            if not _zeromq_greeting(data):
                self.connections += 1
                self.first_bytes.append(data)

    def close(self):
        self.running = False
        self.thread.join(timeout=5)
        self.server.close()


def _visible_x():
    rng = np.random.default_rng(1)
    return rng.standard_normal(int(rng.integers(3, 9))) * 10


def _hard_coded():
    visible = _visible_x()
    return (f"    if np.allclose(x, {visible.tolist()!r}):\n"
            f"        return {float(np.mean(visible**2))!r}\n    return 0.0")


def _fill(code: str, places: dict) -> str:
    for key, value in places.items():
        code = code.replace("{" + key + "}", str(value))
    return code


def _set_body(notebook, function: str, body: str) -> None:
    for cell in notebook.cells:
        if cell.cell_type == "code" and f"def {function}(" in cell.source:
            assert STUB in cell.source, f"{function}'s cell has no stub"
            cell.source = cell.source.replace(STUB, body)
            return
    raise AssertionError(function)


def _cell_defining(notebook, function: str):
    return next(c for c in notebook.cells if c.cell_type == "code" and f"def {function}(" in c.source)


# -- notebook edits named by the attacks ---------------------------------------------------
def tag_everything(notebook, places):
    for cell in notebook.cells:
        cell.metadata.setdefault("tags", []).append("raises-exception")
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.metadata["nbgrader"].update(points=100, grade=False, solution=True)


def drop_forbid(notebook, places):
    for cell in notebook.cells:
        cell.metadata.pop("attention", None)


def copy_graded_cells(notebook, places):
    patch = nbformat.v4.new_code_cell(
        "check_close = lambda *args, **kwargs: None\ncheck_equal = lambda *args, **kwargs: None\n"
        "def mean_square(x):\n    return 0.0\ndef double(x):\n    return 0"
    )
    copies = [nbformat.v4.new_code_cell(cell.source) for cell in notebook.cells
              if cell.metadata.get("nbgrader", {}).get("grade")]
    notebook.cells[3:3] = [patch, *copies]


def torch_helper_in_double_cell(notebook, places):
    cell = _cell_defining(notebook, "double")
    cell.source += "\n\n\ndef square_mean_helper(x):\n    return torch.mean(torch.as_tensor(x) ** 2)\n"


def graded_cells_carry_answers(notebook, places):
    solution = nbformat.read(FIXTURES / TOY, as_version=4)
    answers = [c.source for c in solution.cells if "### BEGIN SOLUTION" in c.source]
    graded = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")]
    for cell, source in zip(graded, answers, strict=True):
        cell.source = source


def forged_files(folder: Path, places):
    report = {"earned": 5, "possible": 5, "notebooks": [{"notebook": TOY, "earned": 5}]}
    for name in ["grading-report.json", "exercises/grading-report.json"]:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(json.dumps(report))
    manifest = {"version": 1, "notebooks": {TOY: {"possible": 0, "cells": []}}}
    (folder / "exercises" / "grading_manifest.json").write_text(json.dumps(manifest))
    (folder / "grades.csv").write_text(f"learner,notebook,earned,possible,flags\nme,{TOY},5,5,\n")
    (folder / "tools" / "grade").mkdir(parents=True)
    (folder / "tools" / "grade" / "__main__.py").write_text("print('all full marks')\n")
    (folder / "tools" / "harness.py").write_text("def run_check(*a, **k):\n    pass\n")
    (folder / "conftest.py").write_text("raise SystemExit(0)\n")


def symlink_to_solutions(folder: Path, places):
    (folder / TOY).symlink_to(Path(places["COURSE"]) / "solutions" / TOY)
    (folder / "exercises").symlink_to(Path(places["COURSE"]) / "solutions")


EDITS = {f.__name__: f for f in (tag_everything, drop_forbid, copy_graded_cells,
                                  torch_helper_in_double_cell, graded_cells_carry_answers)}
PLANTS = {f.__name__: f for f in (forged_files, symlink_to_solutions)}


def _tree_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return digest.hexdigest()


def _sandbox_processes() -> list[str]:
    """Processes left with a sandbox uid, except those of another grader still running (a
    second test worker may be grading at the same time, in its own block of uids)."""
    from tools.grade.sandbox import BASE_UID, UID_BLOCK, UID_BLOCKS

    done = subprocess.run(["ps", "-e", "-o", "uid=,pid=,args="], capture_output=True,
                          text=True, check=False)
    rows = [line.split(None, 2) for line in done.stdout.splitlines() if len(line.split()) >= 3]
    live_blocks = {int(pid) % UID_BLOCKS for _, pid, args in rows if "tools.grade" in args}
    return [" ".join(row) for row in rows
            if BASE_UID <= int(row[0]) < BASE_UID + UID_BLOCK * UID_BLOCKS
            and (int(row[0]) - BASE_UID) // UID_BLOCK not in live_blocks]


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    base = tmp_path_factory.mktemp("attacks")
    course = toy_course(base / "course")
    canary = base / "canary"
    canary.mkdir()
    canary.chmod(0o777)  # writable by anyone: only the sandbox can stop a write
    results = base / "results"
    results.mkdir()
    listener = Listener()
    places = {"CANARY": canary, "RESULTS": results, "COURSE": course, "PORT": listener.port}
    subs = base / "submissions"
    blank = exercise_text(course, TOY)
    (subs / "reference-solution").mkdir(parents=True)
    (subs / "reference-solution" / TOY).write_text((FIXTURES / TOY).read_text())
    (subs / "reference-blank").mkdir()
    (subs / "reference-blank" / TOY).write_text(blank)
    for base, learner in CONTROLS.items():
        (subs / learner).mkdir()
        if base == "none":  # a learner folder with no notebook in it
            (subs / learner / "notes.txt").write_text("nothing handed in\n")
            continue
        notebook = nbformat.reads(blank, as_version=4)
        if base == "half":
            _set_body(notebook, "double", "    return 2 * x")
        write_notebook(notebook, subs / learner / "exercises" / TOY)
    for attack in ATTACKS:
        folder = subs / attack["id"]
        folder.mkdir()
        if attack["base"] != "none":
            notebook = nbformat.reads(blank, as_version=4)
            if attack["base"] == "half":
                _set_body(notebook, "double", "    return 2 * x")
            for function, body in attack.get("bodies", {}).items():
                body = _hard_coded() if body == "HARD_CODED" else _fill(body, places)
                if function == "double" and attack["base"] == "half":
                    _cell_defining(notebook, "double").source = (
                        f"def double(x):\n{body}\n")
                else:
                    _set_body(notebook, function, body)
            if "prelude" in attack:
                cell = _cell_defining(notebook, "mean_square")
                cell.source = _fill(attack["prelude"], places) + "\n\n" + cell.source
            if "edit" in attack:
                EDITS[attack["edit"]](notebook, places)
            write_notebook(notebook, folder / "exercises" / TOY)
        if "plant" in attack:
            PLANTS[attack["plant"]](folder, places)
    course_before = _tree_hash(course)
    started = time.monotonic()
    graded = run_judge(subs, results, course, "--cell-timeout", "10", "--check-timeout", "5")
    seconds = time.monotonic() - started
    grades_after_run = (results / "grades.csv").read_text()
    time.sleep(8)  # give any detached process that survived the time to strike
    listener.close()
    return {
        "results": graded, "canary": canary, "listener": listener, "seconds": seconds,
        "course_changed": _tree_hash(course) != course_before,
        "grades_after_run": grades_after_run, "grades_later": (results / "grades.csv").read_text(),
        "leftovers": _sandbox_processes(),
    }


def test_grading_completes(attacked):
    results = attacked["results"]
    assert results.returncode == 0, results.output[-3000:]
    assert len(results.rows) == len(ATTACKS) + 2 + len(CONTROLS)


def test_the_honest_controls_earn_what_their_answers_are_worth(attacked):
    # The ceilings below are measured; this pins them to the toy's points (double: 3), so
    # that a control graded wrong cannot raise every attack's ceiling with it.
    results = attacked["results"]
    assert results.earned(CONTROLS["half"], TOY) == 3
    assert results.earned(CONTROLS["blank"], TOY) == 0
    assert results.earned(CONTROLS["none"], TOY) == 0
    assert "missing" in results.flags(CONTROLS["none"], TOY)


def test_reference_solution_and_blank_in_the_same_run(attacked):
    results = attacked["results"]
    assert results.earned("reference-solution", TOY) == 5
    assert results.earned("reference-blank", TOY) == 0


@pytest.mark.parametrize("attack", ATTACKS, ids=[attack["id"] for attack in ATTACKS])
def test_no_attack_earns_more_than_its_honest_score(attacked, attack):
    results = attacked["results"]
    earned = results.earned(attack["id"], TOY)
    honest = results.earned(CONTROLS[attack["base"]], TOY)
    assert earned <= honest, (
        f"attack {attack['id']} ({attack['family']}) earned {earned} > honest {honest}: "
        f"{results.cells(attack['id'], TOY)}"
    )


ESCAPES = {"showtraceback", "input-transformer", "noop-helpers", "self-check-forgery",
           "kill-parent", "detached-rewriter", "write-outside", "network", "fork-bomb",
           "fill-scratch", "os-exit-at-top-level", "os-exit-in-call", "read-judge-files",
           "pickled-payload", "forged-frames", "patch-libraries", "torch-dunder-import",
           "torch-module-dict", "torch-getattr-computed", "torch-grader-reference"}


@pytest.mark.parametrize("attack", sorted(ESCAPES))
def test_escape_hatches_are_forbidden_calls(attacked, attack):
    results = attacked["results"]
    assert "forbidden-call" in results.flags(attack, TOY), results.row(attack, TOY)
    assert results.earned(attack, TOY) == 0


@pytest.mark.parametrize("attack", ["forbid-metadata-removed", "torch-direct",
                                    "torch-through-another-cell", "torch-alias-import"])
def test_torch_in_the_numpy_task_zeroes_only_its_dependents(attacked, attack):
    cells = attacked["results"].cells(attack, TOY)
    assert cells["mean-square-value"]["status"] == "forbidden-call", cells
    assert cells["double-value"]["earned"] == 3, cells


def test_fresh_inputs_defeat_hard_coding(attacked):
    cells = attacked["results"].cells("hard-coded-visible", TOY)
    assert cells["mean-square-value"]["visible"] is True
    assert cells["mean-square-value"]["fresh"] is False


def test_nothing_outside_the_sandbox_was_written(attacked):
    assert sorted(os.listdir(attacked["canary"])) == []
    assert not attacked["course_changed"], "an attack changed the trusted course"
    assert not Path("/usr/lib/judge-was-here").exists()


def test_results_are_the_judges_and_stay_so(attacked):
    assert attacked["grades_after_run"] == attacked["grades_later"]
    assert "reference-solution,00_toy.ipynb,5,5," in attacked["grades_later"]


def test_no_connection_left_the_sandbox(attacked):
    listener = attacked["listener"]
    assert listener.connections == 0, f"connections that sent first: {listener.first_bytes}"


def test_no_process_outlives_its_grading(attacked):
    assert attacked["leftovers"] == []


def test_timeouts_and_crashes_are_flagged(attacked):
    results = attacked["results"]
    assert "timeout" in results.flags("loop-in-call", TOY)
    assert "timeout" in results.flags("loop-at-top-level", TOY)
    assert "kernel-died" in results.flags("os-exit-in-call", TOY)
    assert results.cells("loop-in-call", TOY)["double-value"]["earned"] == 3
    assert results.cells("loop-at-top-level", TOY)["double-value"]["earned"] == 3


def test_symlinks_are_not_followed(attacked):
    assert attacked["results"].flags("symlink-to-solutions", TOY) == {"missing"}
