"""Root pytest configuration: load the learner's self-check (tools/nbgrade.py) for every run
from this repository, run every notebook that nbval executes with strict graded checks, and
start the longest test files first.

``make test`` runs the chapters and solutions with ``-p no:tools.nbgrade`` (they are not
graded: the self-check's table would only be noise). Without the plugin a graded cell's
``run_check`` prints a failure and carries on, as it does for a learner pressing "Run all", so a
wrong solution would pass its notebook. The kernel nbval starts for a notebook inherits
``ATTENTION_SELF_CHECK=raise`` from here, so a failing graded check fails its cell.
"""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["tools.nbgrade"]

STRICT = ("ATTENTION_SELF_CHECK", "raise")

# The files that take longest, longest first. Under `make test` pytest-xdist hands whole files to
# its two workers in collection order (the Makefile passes --no-loadscope-reorder: xdist's own
# order, most tests first, started these few-but-long files last, so one worker ran them alone
# at the end). Every file over about 8 s, longest first, from the wall time each took in a
# `make test` run (first test's start to last test's end); keep it in step with them.
SLOWEST_FIRST = (
    "tests/test_judge_mutants.py",
    "tests/test_judge_chapters.py",
    "tests/browser/test_pages.py",
    "tests/browser/test_interaction.py",
    "tests/test_grading.py",
    "tests/test_judge_attacks.py",
    "tests/test_grade_class.py",
    "tests/test_nbgrader.py",
    "tests/test_gradescope.py",
    "tests/test_triton_aot.py",
    "tests/test_judge_limits.py",
    "tests/test_judge.py",
    "tests/test_mutants.py",
    "tests/test_self_check.py",
    "tests/test_book.py",
    "tests/test_classroom.py",
    "tests/test_judge_rules_attacks.py",
    "tests/test_judge_sandbox.py",
    "tests/test_edition.py",
    "tests/browser/test_site.py",
    "tests/test_triton_kernel.py",
)


def pytest_collection_modifyitems(config, items):
    """SLOWEST_FIRST's files first, in its order; every other file after them, as collected.
    The sort is stable: within a file the tests keep their order (a notebook's cells must)."""
    rank = {path: place for place, path in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item):
    """nbval starts a notebook's kernel while its first cell is set up, and starts it again
    after a timeout or a crash while a cell runs: whichever cell that is, the new kernel gets the
    strict setting. This process's environment is as it was outside notebook cells."""
    if getattr(item, "cell", None) is None:  # not a notebook cell
        yield
        return
    name, value = STRICT
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before
