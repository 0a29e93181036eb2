"""A pytest plugin that turns an nbval run of exercise notebooks into a grade.

nbval runs every code cell of a notebook as a test. This plugin looks at the cells that
carry nbgrader metadata (``{"nbgrader": {"grade": true, "grade_id": ..., "points": ...}}``)
and scores them against the *official* list in ``exercises/grading_manifest.json`` (written
by ``tools/make_exercises.py``), not against whatever the notebook now claims:

* a graded cell whose source no longer matches the official one scores 0 ("changed");
* a graded cell that is gone scores 0 ("missing");
* a cell that runs past ``--nbval-cell-timeout`` scores 0 ("timeout"), the rest still grades;
* a kernel that dies is reported ("kernel died"), as is every cell it could not run.

At the end of the run it prints one table per notebook, writes a JSON report
(``--grade-report``), and makes ``SCORE earned/possible`` the very last line of the output.
That table and its hints are all a learner sees: nbval's dump of every failing cell's source and
traceback (hundreds of lines, numbered "Cell 11" after nothing in the table) is left out unless
``--cell-dumps`` asks for it.

This is the learner's **self-check**, for feedback; it says so in its output. It runs in the
learner's own kernel, so it cannot be the official grade: that comes from the instructor's
grader, ``python -m tools.grade`` (see instructors.md), which decides every verdict in a separate
process on fresh inputs.

Under pytest-xdist (``-n 2``) every cell of a notebook must run in the same kernel, so the plugin
makes ``--dist load`` (xdist's default) group the tests by file, as ``--dist loadfile`` does.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from queue import Empty

import pytest

from tools.conventions import ANSWER_MARK, MANIFEST_NAME, format_points, source_hash

ANSI = re.compile(r"\x1b\[[0-9;]*m")
EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*)?(?:Error|Exception|Interrupt|Exit|Warning)\b:?")
PROPERTY = "nbgrade"
MESSAGE_LIMIT = 600


SELF_CHECK_NOTE = (
    "This is a SELF-CHECK, for feedback: not the official grade. Your instructor grades with "
    "`python -m tools.grade`, on fresh inputs."
)


class KernelDied(RuntimeError):
    """The notebook's kernel stopped while a cell was running."""


def pytest_addoption(parser):
    group = parser.getgroup("nbgrade", "grading exercise notebooks")
    group.addoption(
        "--grade-report",
        default="grading-report.json",
        help="where to write the JSON grade report (default: grading-report.json; 'none' to skip)",
    )
    group.addoption(
        "--cell-dumps",
        action="store_true",
        help="also print every failing cell's source and traceback (nbval's report)",
    )
    group.addoption(
        "--grade-manifest",
        default=None,
        help="official list of graded cells (default: exercises/grading_manifest.json under the rootdir)",
    )


def pytest_configure(config):
    # The notebooks' run_check prints a failure (so that "Run all" goes on); under pytest it
    # raises, so that nbval sees the failed cell. The kernel inherits this environment.
    os.environ["ATTENTION_SELF_CHECK"] = "raise"
    _make_nbval_notice_dead_kernels()
    config.pluginmanager.register(Grader(config), "nbgrade-grader")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Keep each notebook on one worker: its cells share one kernel, so splitting them (xdist's
    default ``--dist load``) would run later cells without the earlier ones."""
    if config.getvalue("dist") not in ("load", "worksteal"):
        return None
    from xdist.scheduler import LoadFileScheduling

    return LoadFileScheduling(config, log)


def _make_nbval_notice_dead_kernels():
    """Let nbval fail fast, with a clear message, when the kernel dies mid-cell.

    nbval waits for the kernel's reply for the whole cell timeout even when the kernel
    process is gone; polling lets us say "the kernel died" within a second instead.
    """
    try:
        from nbval.kernel import RunningKernel
    except ImportError:  # nbval not installed: nothing to grade
        return
    if getattr(RunningKernel, "_nbgrade_patched", False):
        return

    def await_reply(self, msg_id, timeout=None):
        deadline = None if timeout is None else time.monotonic() + float(timeout)
        while True:
            wait = 1.0 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic()))
            try:
                msg = self.get_message(stream="shell", timeout=wait)
            except Empty:
                if not self.is_alive():
                    raise KernelDied(
                        "The kernel died while running this cell (a crash, os._exit, or running "
                        "out of memory). Cells after it could not run."
                    ) from None
                if deadline is not None and time.monotonic() >= deadline:
                    raise
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                if msg["content"]["status"] == "aborted":
                    raise RuntimeError("Kernel aborted execution request")
                return

    RunningKernel.await_reply = await_reply
    RunningKernel._nbgrade_patched = True


def failure_message(text: str) -> tuple[str, str]:
    """The status and a short learner-facing message from a failed cell's report."""
    text = ANSI.sub("", text or "")
    if "Kernel dead" in text or "kernel died" in text.lower():
        return "kernel died", "The kernel was dead: an earlier cell crashed it, so this cell never ran."
    if "Timeout of" in text:
        found = re.search(r"Timeout of [\d.]+ seconds exceeded[^\n]*", text)
        return "timeout", (found.group(0) if found else "The cell ran too long.") + " Is there an endless loop?"
    if re.search(r"^NotImplementedError\b", text, re.MULTILINE) or "not attempted yet:" in text:
        return "not attempted", (
            "NotImplementedError: a function this cell calls is still the stub. Write it in the cell "
            "marked YOUR CODE HERE and delete its `raise NotImplementedError()` line."
        )
    blocked = re.search(r"blocked by [^\n]*", text)
    if blocked:
        return "blocked", blocked.group(0)
    lines = [line.rstrip() for line in text.splitlines()]
    start = None
    for index, line in enumerate(lines):
        if EXCEPTION_LINE.match(line.strip()):
            start = index
    message = "\n".join(lines[start:]).strip() if start is not None else (lines[-1] if lines else "")
    if len(message) > MESSAGE_LIMIT:
        message = message[: MESSAGE_LIMIT - 3] + "..."
    return "failed", message


class Grader:
    def __init__(self, config):
        self.config = config
        self._manifest = None
        self.cells: dict[str, dict[str, dict]] = {}  # notebook path -> cell name -> result
        self.names: dict[str, str] = {}  # notebook path -> manifest key
        self.unreadable: dict[str, str] = {}

    # -- the official list -------------------------------------------------------------
    @property
    def manifest(self) -> dict:
        if self._manifest is None:
            option = self.config.getoption("grade_manifest")
            path = Path(option) if option else Path(str(self.config.rootpath)) / "exercises" / MANIFEST_NAME
            if path.exists():
                self._manifest = json.loads(path.read_text(encoding="utf-8"))["notebooks"]
            else:
                self._manifest = {}
        return self._manifest

    def is_graded_notebook(self, path: Path) -> bool:
        """Exercises and solutions are graded; the chapters share their names but never are."""
        return path.name in self.manifest and path.parent.name != "chapters"

    def pytest_collection_modifyitems(self, config, items):
        """A self-check run talks like a teacher: the score table and its hints, nothing else,
        unless --cell-dumps asks for nbval's own failure report."""
        graded = any(getattr(item, "cell", None) is not None
                     and self.is_graded_notebook(Path(str(item.fspath))) for item in items)
        if not graded or config.getoption("cell_dumps"):
            return
        config.option.tbstyle = "no"  # no FAILURES section with every failing cell's source
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.reportchars = ""  # no "FAILED ...::Cell 11" lines: the table names the cells

    # -- collecting results (works under pytest-xdist too: all travels in the report) --
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        cell = getattr(item, "cell", None)
        if cell is None or not self.is_graded_notebook(Path(str(item.fspath))):
            return
        name = Path(str(item.fspath)).name
        nbgrader = cell.get("metadata", {}).get("nbgrader", {})
        report.user_properties.append(
            (
                PROPERTY,
                {
                    "notebook": str(item.fspath),
                    "name": name,
                    "cell": item.name,
                    "grade_id": nbgrader.get("grade_id") if nbgrader.get("grade") else None,
                    "sha256": source_hash(cell.source),
                    "learner_code": ANSWER_MARK in cell.source,
                },
            )
        )

    def pytest_runtest_logreport(self, report):
        info = dict(report.user_properties).get(PROPERTY)
        if info is None:
            return
        self.names[info["notebook"]] = info["name"]
        entry = self.cells.setdefault(info["notebook"], {}).setdefault(
            info["cell"], {**info, "outcome": "not run", "status": "not run", "message": ""}
        )
        if report.failed:
            status, message = failure_message(report.longreprtext)
            entry.update(outcome="failed", status=status, message=message)
        elif report.skipped and entry["outcome"] == "not run":
            entry.update(outcome="skipped", status="skipped", message="The cell was skipped.")
        elif report.when == "call" and report.passed and entry["outcome"] == "not run":
            entry.update(outcome="passed", status="passed")

    def pytest_collectreport(self, report):
        path = str(getattr(report, "fspath", "") or report.nodeid)
        if report.failed and path.endswith(".ipynb") and self.is_graded_notebook(Path(path)):
            self.names[path] = Path(path).name
            self.unreadable[path] = failure_message(report.longreprtext)[1] or "The notebook could not be read."

    # -- scoring -----------------------------------------------------------------------
    def grade(self) -> list[dict]:
        results = []
        for notebook in sorted(self.names):
            official = self.manifest[self.names[notebook]]
            present = list(self.cells.get(notebook, {}).values())
            rows = []
            for expected in official["cells"]:
                rows.append(self._grade_cell(expected, present, notebook))
            # Ungraded cells that failed: the learner's own (still unfinished) code, or a
            # cell it broke. Reported so that nothing fails silently.
            others = [
                {"cell": cell["cell"], "learner_code": cell["learner_code"], "status": cell["status"],
                 "message": cell["message"]}
                for cell in present
                if cell["grade_id"] is None and cell["outcome"] == "failed"
            ]
            results.append(
                {
                    "notebook": _display_path(notebook, self.config),
                    "earned": sum(row["earned"] for row in rows),
                    "possible": official["possible"],
                    "cells": rows,
                    "other_failures": others,
                }
            )
        return results

    def _grade_cell(self, expected: dict, present: list[dict], notebook: str) -> dict:
        row = {"grade_id": expected["grade_id"], "points": expected["points"], "earned": 0}
        if notebook in self.unreadable:
            return {**row, "status": "unreadable", "message": self.unreadable[notebook]}
        same_id = [cell for cell in present if cell["grade_id"] == expected["grade_id"]]
        same_source = [cell for cell in present if cell["sha256"] == expected["sha256"]]
        match = next((cell for cell in same_id if cell["sha256"] == expected["sha256"]), None)
        match = match or (same_source[0] if same_source else None)
        if match is None:
            if same_id:
                return {
                    **row,
                    "status": "changed",
                    "message": "This graded cell was edited. Restore it from the original exercise "
                    "(git checkout exercises/...) and put your code in the cells marked YOUR CODE HERE.",
                }
            return {
                **row,
                "status": "missing",
                "message": "This graded cell was deleted. Restore it from the original exercise.",
            }
        earned = expected["points"] if match["outcome"] == "passed" else 0
        return {**row, "earned": earned, "status": match["status"], "message": match["message"]}

    # -- reporting ---------------------------------------------------------------------
    def pytest_terminal_summary(self, terminalreporter):
        results = self.grade()
        if not results:
            return
        write = terminalreporter.write_line
        terminalreporter.section("self-check (not the official grade)")
        unattempted = False
        for result in results:
            write(f"{result['notebook']}")
            width = max(len(row["grade_id"]) for row in result["cells"])
            write(f"  {'graded cell'.ljust(width)}  {'points':>9}  status")
            for row in result["cells"]:
                score = f"{format_points(row['earned'])} / {format_points(row['points'])}"
                write(f"  {row['grade_id'].ljust(width)}  {score:>9}  {row['status']}")
                unattempted |= row["status"] == "not attempted"
                if row["status"] not in {"passed", "not attempted"} and row["message"]:
                    for line in row["message"].splitlines()[:6]:
                        write(f"  {'':{width}}  {'':9}    {line}")
            write(f"SCORE {format_points(result['earned'])}/{format_points(result['possible'])}  {result['notebook']}")
            write("")
        if unattempted:
            write("'not attempted': the cell calls a function that still raises NotImplementedError. Write it")
            write("where it says YOUR CODE HERE and delete the `raise NotImplementedError()` line.")
        write(SELF_CHECK_NOTE)

    def pytest_unconfigure(self, config):
        """The very last line of the run: the total score, for people and scripts alike."""
        if hasattr(config, "workerinput"):
            return
        results = self.grade()
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if not results or reporter is None:
            return
        earned = sum(result["earned"] for result in results)
        possible = sum(result["possible"] for result in results)
        where = results[0]["notebook"] if len(results) == 1 else f"total over {len(results)} notebooks"
        reporter.write_line("SELF-CHECK, not the official grade:")
        reporter.write_line(f"SCORE {format_points(earned)}/{format_points(possible)}  ({where})")

    def pytest_sessionfinish(self, session):
        if hasattr(self.config, "workerinput"):  # an xdist worker: the controller reports
            return
        target = self.config.getoption("grade_report")
        results = self.grade()
        if not results or str(target).lower() == "none":
            return
        report = {
            "kind": "self-check",
            "note": SELF_CHECK_NOTE,
            "earned": sum(result["earned"] for result in results),
            "possible": sum(result["possible"] for result in results),
            "notebooks": results,
        }
        Path(target).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def _display_path(notebook: str, config) -> str:
    try:
        return str(Path(notebook).resolve().relative_to(Path(str(config.rootpath)).resolve()))
    except ValueError:
        return notebook
