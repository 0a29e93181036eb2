"""A synthetic class, the way real classes arrive: the instructors' routes are tested on it.

``build(folder, notebook)`` writes into ``folder`` the hand-ins of 13 learners for one course
notebook, in every layout the grader must recognise, and returns what each learner must get
(points earned, as a share of the notebook's points, and the flags). The work itself is the
course's own solution or blank exercise (generated, so the class follows the course when a
notebook changes):

- per-learner folders: a git clone (``ada``, in ``exercises/``), a blank at the top with the
  work two folders down under Colab's name (``bob``: the most complete copy wins), an empty
  folder (``empty``), invalid JSON (``broken``), an old Jupyter save without cell ids
  (``old-jupyter``), JupyterLab's "Duplicate" name (``정민``), a name that is a spreadsheet
  formula (``=SUM(A1:A9)``);
- Canvas's flat download (``lovelaceada_1001``: a late solution and a blank resubmission;
  ``turingalan_1002``: a blank) and Moodle's, in folders (``Grace Hopper_2001``, "(1)" name) and
  flat (``Émilie du Châtelet_2002``, "Copy of");
- a pair with the same unusual answer, one renamed and re-commented (``carol`` and ``dave``):
  full marks both, listed by the similarity check; nobody else is;
- a stray file at the top (``grades.xlsx``), which is nobody's.

    .venv/bin/python -m tests.synthetic_class OUT [--notebook 01_self_attention.ipynb]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "01_self_attention.ipynb"
HELPER = '''

def {name}({weights}, {floor}=1e-12):
    """Rows rescaled to sum to one, unless a row sums to (almost) nothing."""
    {totals} = {weights}.sum(axis=-1, keepdims=True)
    {safe} = np.where({totals} > {floor}, {totals}, 1.0)
    return {weights} / {safe}
'''
CAROL = HELPER.format(name="normalise_rows", weights="weights", floor="floor", totals="totals",
                      safe="safe")
DAVE = ("\n# my own helper, written at 2am\n" + HELPER.format(
    name="rescale", weights="w", floor="eps", totals="row_sums", safe="denominator")
    .replace('"""Rows rescaled to sum to one, unless a row sums to (almost) nothing."""',
             "# divide by the row sums"))


def _solution(notebook: str):
    return nbformat.read(ROOT / "solutions" / notebook, as_version=4)


def _with_helper(notebook: str, helper: str):
    """The solution with ``helper`` added to the end of its first answer cell."""
    solution = _solution(notebook)
    cell = next(c for c in solution.cells if c.cell_type == "code" and "### BEGIN SOLUTION" in c.source)
    cell.source += helper
    return solution


def _write(notebook, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)


def build(folder: Path, notebook: str = NOTEBOOK) -> dict[str, tuple[float, set[str]]]:
    """Write the class into ``folder``; learner -> (share of the points earned, flags)."""
    stem = Path(notebook).stem
    blank = (ROOT / "exercises" / notebook).read_text(encoding="utf-8")
    solution = _solution(notebook)
    expected: dict[str, tuple[float, set[str]]] = {}
    folder.mkdir(parents=True, exist_ok=True)

    _write(solution, folder / "ada" / "exercises" / notebook)
    expected["ada"] = (1, set())

    (folder / "bob").mkdir()
    (folder / "bob" / notebook).write_text(blank, encoding="utf-8")
    _write(solution, folder / "bob" / "old" / "work" / f"Copy of {notebook}")
    expected["bob"] = (1, {"several-copies"})

    (folder / "empty").mkdir()
    expected["empty"] = (0, {"missing"})

    (folder / "broken").mkdir()
    (folder / "broken" / notebook).write_text('{"cells": [ oops', encoding="utf-8")
    expected["broken"] = (0, {"unreadable"})

    old = json.loads(nbformat.writes(solution))
    old["nbformat_minor"] = 4
    for cell in old["cells"]:
        cell.pop("id", None)
        cell["metadata"] = {}
    (folder / "old-jupyter").mkdir()
    (folder / "old-jupyter" / notebook).write_text(json.dumps(old, indent=1), encoding="utf-8")
    expected["old-jupyter"] = (1, set())

    _write(solution, folder / "정민" / f"{stem}-Copy1.ipynb")
    expected["정민"] = (1, set())

    formula = "=SUM(A1:A9)"
    _write(solution, folder / formula / notebook)
    expected[formula] = (1, set())

    _write(solution, folder / f"lovelaceada_LATE_1001_5001_{notebook}")
    (folder / f"lovelaceada_1001_5002_{stem}-1.ipynb").write_text(blank, encoding="utf-8")
    expected["lovelaceada_1001"] = (1, {"several-copies"})

    (folder / f"turingalan_1002_5003_{notebook}").write_text(blank, encoding="utf-8")
    expected["turingalan_1002"] = (0, set())

    _write(solution, folder / "Grace Hopper_2001_assignsubmission_file_" / f"{stem} (1).ipynb")
    expected["Grace Hopper_2001"] = (1, set())

    _write(solution, folder / f"Émilie du Châtelet_2002_assignsubmission_file_Copy of {notebook}")
    expected["Émilie du Châtelet_2002"] = (1, set())

    _write(_with_helper(notebook, CAROL), folder / "carol" / notebook)
    _write(_with_helper(notebook, DAVE), folder / "dave" / "exercises" / notebook)
    expected["carol"] = expected["dave"] = (1, set())

    (folder / "grades.xlsx").write_bytes(b"PK\x03\x04 not a notebook")
    return expected


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--notebook", default=NOTEBOOK)
    args = parser.parse_args(argv)
    expected = build(args.out, args.notebook)
    print(f"wrote {len(expected)} learners to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
