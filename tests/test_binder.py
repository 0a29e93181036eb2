"""Binder's environment leaves the notebook server alone: it pins only what the notebooks
import (repo2docker's image runs jupyterlab, ipykernel, jupyter-client and tornado itself; a pin
of any of them would make pip upgrade the server's packages under it). Its versions agreeing with
the root requirements is checked in test_project.py."""

from __future__ import annotations

import ast
import sys

import nbformat

from tests.helpers import ROOT
from tests.test_project import pins

SERVER_PACKAGES = {"ipykernel", "ipython", "jupyter", "jupyter-client", "jupyter-core", "jupyterlab",
                   "jupyter-server", "notebook", "tornado", "traitlets", "nbformat", "nbconvert",
                   "nbclient", "pyzmq"}
# What the self-check needs beside the notebooks' own imports (learners.md: grading on Binder).
SELF_CHECK_PACKAGES = {"pytest", "nbval"}
IMPORT_NAMES = {"torch": "torch", "numpy": "numpy", "matplotlib": "matplotlib", "triton": "triton"}


def _imported_modules() -> set[str]:
    found = set()
    for folder in ("chapters", "solutions", "exercises"):
        for path in (ROOT / folder).glob("*.ipynb"):
            for cell in nbformat.read(path, as_version=4).cells:
                if cell.cell_type != "code":
                    continue
                source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
                try:
                    tree = ast.parse(source)
                except SyntaxError:
                    continue
                for node in ast.walk(tree):
                    if isinstance(node, ast.Import):
                        found |= {alias.name.split(".")[0] for alias in node.names}
                    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                        found.add(node.module.split(".")[0])
    return found


def test_binder_pins_no_package_of_the_notebook_server():
    binder = pins(ROOT / "binder" / "requirements.txt")
    clashing = sorted(set(binder) & SERVER_PACKAGES)
    assert not clashing, f"binder/requirements.txt pins the notebook server's own packages: {clashing}"


def test_binder_has_every_third_party_package_the_notebooks_import():
    binder = pins(ROOT / "binder" / "requirements.txt")
    imported = _imported_modules() - set(sys.stdlib_module_names)
    unknown = sorted(imported - set(IMPORT_NAMES))
    assert not unknown, f"the notebooks import {unknown}: add them to binder/requirements.txt and IMPORT_NAMES"
    needed = {IMPORT_NAMES[name] for name in imported}
    missing = sorted(needed - set(binder))
    assert not missing, f"the notebooks import {missing}, which binder/requirements.txt does not install"
    unused = sorted(set(binder) - needed - SELF_CHECK_PACKAGES)
    assert not unused, f"binder/requirements.txt installs {unused}, which no notebook imports"


def test_binder_can_run_the_self_check():
    binder = pins(ROOT / "binder" / "requirements.txt")
    assert SELF_CHECK_PACKAGES <= set(binder), "learners.md promises the self-check on Binder"
