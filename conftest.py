"""Root pytest configuration: load the learner's self-check (tools/nbgrade.py) for every run
from this repository, and run every notebook that nbval executes with strict graded checks.

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
