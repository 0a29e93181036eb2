"""The conventions that the generator, the self-check, the judge and the gradebooks share.

Each is written here once, because the learner's self-check (``tools/nbgrade.py``) and the
instructor's judge (``python -m tools.grade``) must agree on exactly these: which cell is the
learner's (the answer mark), when two sources are the same cell (normalising and its hash),
which grade id a graded cell checks (read from its syntax tree), how points are printed, and the
columns of ``grades.csv`` that the gradebooks read back.
"""

from __future__ import annotations

import ast
import hashlib

# What the generator puts where a solution was, and how the judge and the self-check recognise
# a learner's cell: the mark, then the stub line that a learner deletes.
ANSWER_MARK = "# YOUR CODE HERE"
STUB_LINE = "raise NotImplementedError()"

# The first line the exercise puts in front of a collapsed cell: Colab's form title, a comment
# everywhere else (tools/make_exercises.py's fold_machinery).
TITLE_LINE = "#@title "

# The official list of graded cells (grade id, points, source hash) beside the exercises,
# written by tools/make_exercises.py and scored against by the self-check.
MANIFEST_NAME = "grading_manifest.json"

# The call that ends every graded cell (docs/graded-cells.md) and the notebook's last cell.
CHECK_CALL = "run_check"
SCORE_CALL = "self_check_score"

# grades.csv, written by the judge (tools/grade/report.py), joined by tools/grade/merge.py and
# read by tools/gradebook.py: one row per learner x notebook.
GRADES_HEADER = ("learner", "notebook", "earned", "possible", "flags")


def normalise_source(source: str) -> str:
    """A cell's source as every comparison of cells sees it.

    Line endings become ``\\n``, trailing blanks go, and so do blank lines at either end and the
    title line of a collapsed cell; so a graded cell of the solution, of the exercise and of a
    learner's copy (saved on Windows, or by an editor that trims lines) compare equal. The first
    line's indentation stays: in Python it is syntax, not layout.
    """
    lines = [line.rstrip() for line in source.replace("\r\n", "\n").split("\n")]
    if lines and lines[0].startswith(TITLE_LINE):
        lines = lines[1:]
    return "\n".join(lines).strip("\n")


def source_hash(source: str) -> str:
    """The SHA-256 of the normalised source: how the manifest names a graded cell's text."""
    return hashlib.sha256(normalise_source(source).encode("utf-8")).hexdigest()


def is_graded(cell) -> bool:
    """A graded cell: nbgrader metadata ``grade: true`` (a dict or a NotebookNode)."""
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("grade", False))


def run_check_id(source: str) -> tuple[str | None, str | None]:
    """The grade id that a graded cell's one ``run_check("<id>", ...)`` names, read from its
    syntax tree, and None; or None and why there is no such id (a sentence that follows
    "graded cell 'x' ")."""
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        return None, f"does not parse: {error}"
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == CHECK_CALL
    ]
    if len(calls) != 1:
        return None, f"calls {CHECK_CALL} {len(calls)} times (once, as its last statement)"
    first = calls[0].args[0] if calls[0].args else None
    if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
        return None, f"passes {CHECK_CALL} a grade id that is not a string literal"
    return first.value, None


def format_points(value: float | str) -> str:
    """Points as people read them: ``5``, never ``5.0`` or ``5e+06``; ``2.5`` as ``2.5``."""
    number = float(value)
    return str(int(number)) if number.is_integer() else f"{number:g}"
