"""Generate the learners' exercise notebooks from the authors' solution notebooks.

Authors write only ``solutions/NN_topic.ipynb``. For each one this script writes
``exercises/NN_topic.ipynb``, in which

* every region between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes
  ``# YOUR CODE HERE`` followed by ``raise NotImplementedError()``;
* outputs and execution counts are cleared;
* graded cells (nbgrader metadata ``grade: true``) are kept and locked, with one title line
  added in front (below);
* markdown is plain CommonMark: the book's MyST roles and boxes become links and quoted blocks
  (``tools/make_colab.py``'s converter), because JupyterLab, Colab and Binder show MyST as text;
* the machinery a learner need not read (graded cells, the harness, the checks' helpers) is
  collapsed where learners work: ``jupyter.source_hidden`` for JupyterLab and Notebook 7, and
  Colab's ``cellView: "form"`` with a first line ``#@title Check: <grade id> (N points)`` (a
  comment anywhere else), so they see the task, their own cell and one line per check.

It also writes ``exercises/grading_manifest.json``, the official list of graded cells
(grade id, points and a hash of the source) that the grader scores against, so that a
learner who edits or deletes a graded cell cannot gain the points.

Usage::

    python tools/make_exercises.py          # (re)generate exercises/
    python tools/make_exercises.py --check  # exit 1 if exercises/ is out of date
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path

import nbformat

if __package__ in (None, ""):  # run as a script, python tools/make_exercises.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.conventions import (
    ANSWER_MARK,
    MANIFEST_NAME,
    SCORE_CALL,
    STUB_LINE,
    TITLE_LINE,
    format_points,
    is_graded,
    normalise_source,
    run_check_id,
    source_hash,
)
from tools.make_colab import Converter

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
NOTEBOOK_NAME = re.compile(r"^\d\d[a-z]?_[a-z0-9_]+\.ipynb$")
# Anything an author might use to mark solution text must never reach a learner.
LEAK_PATTERNS = ("BEGIN SOLUTION", "END SOLUTION")

# The solution notebook is titled "Solutions: topic"; the learner's copy "Exercises: topic".
SOLUTION_TITLE = "# Solutions: "
EXERCISE_TITLE = "# Exercises: "

EXERCISE_BANNER = """\
> **This is an exercise notebook.** Fill in every cell that says `# YOUR CODE HERE` (and delete
> its `raise NotImplementedError()` line), then run all the cells from the top (in Colab:
> *Runtime > Run all*). Each graded cell prints PASSED or FAILED with a hint, and the last cell
> shows your **self-check** score. In a clone of the repository,
> `pytest --nbval-lax exercises/{name}` runs the same self-check from the command line.
> The self-check is feedback for you; **the official grade is your instructor's**, from a grader
> that runs the graded cells on fresh inputs. Graded cells are locked: the grader uses its own
> copy of them. Worked answers are in `solutions/{name}`: try first, then compare."""

HARNESS = ROOT / "tools" / "harness.py"


class ExerciseError(ValueError):
    """A solution notebook that cannot be turned into an exercise."""


def strip_solutions(source: str, where: str) -> str:
    """Replace every BEGIN/END SOLUTION region of ``source`` by a stub."""
    out: list[str] = []
    inside = False
    for number, line in enumerate(source.split("\n"), start=1):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ExerciseError(f"{where}, line {number}: nested {BEGIN}")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}{ANSWER_MARK}")
            out.append(f"{indent}{STUB_LINE}")
        elif stripped == END:
            if not inside:
                raise ExerciseError(f"{where}, line {number}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ExerciseError(f"{where}: {BEGIN} is never closed by {END}")
    return "\n".join(out)


def banner_cell(name: str):
    cell = nbformat.v4.new_markdown_cell(EXERCISE_BANNER.format(name=name))
    cell["id"] = "exercise-banner"
    return cell


# How the exercise page of the website shows the cells (tags that MyST-NB turns into CSS classes,
# styled in _static/custom.css): the machinery a learner must not edit is folded, and the cells
# they write stand out. Jupyter and Colab ignore these tags.
FOLDED_MACHINERY_TAGS = ("harness", "grading-helper", "collapsed")
LEARNER_MARK = ANSWER_MARK


def fold_machinery(cell, title: str) -> None:
    """Collapse ``cell`` in JupyterLab, Notebook 7 and Colab, showing only ``title``."""
    cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
    cell.metadata["cellView"] = "form"
    cell.source = f"{TITLE_LINE}{title}\n{cell.source}"


def rule_comment(forbid: list[str]) -> str:
    """The answer cell's from-scratch rule, written where the learner writes: every rule the
    judge applies to a cell is part of its task, by construction (the metadata says it once)."""
    parts = []
    if "torch" in forbid:
        parts.append("no PyTorch (torch, F, nn): NumPy only")
    if "np" in forbid:
        parts.append("no NumPy")
    names = [name for name in forbid if name not in ("torch", "np")]
    if names:
        parts.append("do not use " + ", ".join(names))
    lines, line = [], "# The rule for this cell:"
    for word in "; ".join(parts).split(" "):
        if len(line) + 1 + len(word) > 84:
            lines.append(line)
            line = "#"
        line += " " + word
    lines.append(line + ".")
    return "\n".join(lines) + "\n"


def machinery_title(cell) -> str | None:
    """The one line a learner sees for a cell of machinery, or None for every other cell."""
    tags = cell.metadata.get("tags", [])
    if "harness" in tags:
        return "The self-check's machinery (run it; no need to read it)"
    if "grading-helper" in tags and "given-to-learners" in tags:
        return "Given code your answers may use (open it to read)"
    if "grading-helper" in tags:
        return "References the checks compare with (run it; no need to read it)"
    if "collapsed" in tags:
        return collapsed_title(cell)
    return None


def collapsed_title(cell) -> str:
    """The title of a cell tagged ``collapsed`` (long given or demo code): its first line, a
    comment such as ``# Given: the kernel's launcher``, without the ``#``."""
    first = cell.source.lstrip().splitlines()[0] if cell.source.strip() else ""
    if not first.startswith("#") or not first.lstrip("# ").strip():
        raise ExerciseError(
            "a cell tagged 'collapsed' must start with a comment line that names it, e.g. "
            f"'# Given: ...' (it is the title learners see); this one starts {first[:60]!r}")
    return first.lstrip("# ").strip() + " (open it to read)"


def mark_cells_for_the_page(exercise: nbformat.NotebookNode) -> None:
    """Tag graded cells (and the harness) ``hide-input``, graded ones also ``graded-cell``,
    and the learner's cells ``learner-cell``, keeping every other tag and the source as is."""
    for cell in exercise.cells:
        if cell.cell_type != "code":
            continue
        tags = list(cell.metadata.get("tags", []))
        wanted = []
        if is_graded(cell):
            wanted = ["hide-input", "graded-cell"]
        elif any(tag in tags for tag in FOLDED_MACHINERY_TAGS):
            wanted = ["hide-input"]
        elif LEARNER_MARK in cell.source:
            wanted = ["learner-cell"]
        for tag in wanted:
            if tag not in tags:
                tags.append(tag)
        if tags:
            cell.metadata["tags"] = tags


def plain_markdown(exercise: nbformat.NotebookNode, name: str) -> None:
    """Turn the MyST of every markdown cell into CommonMark, as the Colab copies have it."""
    markdown = [cell for cell in exercise.cells if cell.cell_type == "markdown"]
    converter = Converter(f"exercises/{Path(name).stem}", [cell.source for cell in markdown])
    for cell in markdown:
        cell.source = converter.convert(cell.source)


def expected_score_cell(graded: list[dict]) -> str:
    """The text the notebook's last cell must hold: one entry per graded cell, in order."""
    entries = [f"{json.dumps(cell['grade_id'])}: {cell['points']!r}" for cell in graded]
    one_line = f"{SCORE_CALL}({{{', '.join(entries)}}})"
    if len(one_line) <= 84:
        return one_line
    body = "".join(f"        {entry},\n" for entry in entries)
    return f"{SCORE_CALL}(\n    {{\n{body}    }}\n)"


def _score_entries(source: str):
    """The (grade id, points) pairs of a ``self_check_score({...})`` cell, or None."""
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
        return None
    call = tree.body[0].value
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == SCORE_CALL):
        return None
    if len(call.args) != 1 or call.keywords or not isinstance(call.args[0], ast.Dict):
        return None
    try:
        return [(ast.literal_eval(k), ast.literal_eval(v)) for k, v in zip(call.args[0].keys, call.args[0].values)]
    except ValueError:
        return None


def check_graded_cell_format(solution, name: str, graded: list[dict]) -> None:
    """Raise ExerciseError where the notebook breaks docs/graded-cells.md: a harness cell that
    is not tools/harness.py, a run_check id that is not the cell's grade_id, a last cell whose
    self_check_score dict is not the graded cells' ids and points in order. The format is
    mandatory: a notebook without it (no harness, a graded cell without run_check) is refused,
    so no notebook can skip these checks, or the judge's."""
    harness = [cell for cell in solution.cells if "harness" in cell.metadata.get("tags", [])]
    if len(harness) != 1:
        raise ExerciseError(f"{name}: needs exactly one code cell tagged 'harness', found {len(harness)}")
    if normalise_source(harness[0].source) != normalise_source(HARNESS.read_text(encoding="utf-8")):
        raise ExerciseError(
            f"{name}: the harness cell differs from tools/harness.py; paste the file's text into "
            "the cell tagged 'harness' unchanged"
        )
    for index, cell in enumerate(solution.cells):
        if not is_graded(cell):
            continue
        grade_id = cell.metadata["nbgrader"].get("grade_id")
        found, problem = run_check_id(cell.source)
        if problem:
            raise ExerciseError(f"{name}, cell {index}: graded cell {grade_id!r} {problem}")
        if found != grade_id:
            raise ExerciseError(
                f"{name}, cell {index}: run_check({found!r}, ...) in the graded cell whose "
                f"grade_id is {grade_id!r}; they must be the same"
            )
    code = [cell for cell in solution.cells if cell.cell_type == "code"]
    wanted = [(cell["grade_id"], cell["points"]) for cell in graded]
    if not code or _score_entries(code[-1].source) != wanted:
        raise ExerciseError(
            f"{name}: the last code cell must be exactly\n{expected_score_cell(graded)}\n"
            "(one entry per graded cell, in notebook order, with its points)"
        )


def make_exercise(solution: nbformat.NotebookNode, name: str) -> tuple[nbformat.NotebookNode, list[dict]]:
    """Return the exercise notebook and its list of graded cells."""
    exercise = copy.deepcopy(solution)
    graded: list[dict] = []
    seen_ids: set[str] = set()
    for index, cell in enumerate(exercise.cells):
        where = f"{name}, cell {index}"
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        if is_graded(cell):
            meta = cell.metadata["nbgrader"]
            grade_id = meta.get("grade_id")
            points = meta.get("points")
            if not grade_id or grade_id in seen_ids:
                raise ExerciseError(f"{where}: graded cell needs a unique grade_id, got {grade_id!r}")
            if not isinstance(points, (int, float)) or points <= 0:
                raise ExerciseError(f"{where}: graded cell {grade_id!r} needs positive points")
            if BEGIN in cell.source or END in cell.source:
                raise ExerciseError(f"{where}: graded cell {grade_id!r} contains solution markers")
            if cell.cell_type != "code":
                raise ExerciseError(f"{where}: graded cell {grade_id!r} must be a code cell")
            seen_ids.add(grade_id)
            meta["locked"] = True
            cell.metadata["editable"] = False
            cell.metadata["deletable"] = False
            fold_machinery(cell, f"Check: {grade_id} ({format_points(points)} points)")
            graded.append({"grade_id": grade_id, "points": points, "sha256": source_hash(cell.source)})
        else:
            cell.source = strip_solutions(cell.source, where)
            forbid = cell.metadata.get("attention", {}).get("forbid", [])
            if forbid and cell.cell_type == "code":
                cell.source = rule_comment(forbid) + cell.source
            title = machinery_title(cell) if cell.cell_type == "code" else None
            if title:
                fold_machinery(cell, title)
    if not graded:
        raise ExerciseError(f"{name}: no graded cells")
    check_graded_cell_format(solution, name, graded)
    title = exercise.cells[0]
    if title.cell_type != "markdown" or not title.source.startswith(SOLUTION_TITLE):
        raise ExerciseError(f"{name}: the first cell must be the title '{SOLUTION_TITLE}<topic>'")
    title.source = EXERCISE_TITLE + title.source[len(SOLUTION_TITLE) :]
    exercise.cells.insert(1, banner_cell(name))
    plain_markdown(exercise, name)
    mark_cells_for_the_page(exercise)
    text = json.dumps(exercise, sort_keys=True)
    for pattern in LEAK_PATTERNS:
        if pattern in text:
            raise ExerciseError(f"{name}: '{pattern}' would leak into the exercise")
    nbformat.validate(exercise)
    return exercise, graded


def serialise(notebook: nbformat.NotebookNode) -> str:
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def generate(solutions_dir: Path = SOLUTIONS) -> dict[str, str]:
    """Map each file name under exercises/ to the text it should hold."""
    files: dict[str, str] = {}
    manifest: dict[str, dict] = {}
    for path in sorted(solutions_dir.glob("*.ipynb")):
        if not NOTEBOOK_NAME.match(path.name):
            raise ExerciseError(f"{path.name}: solution notebooks are named NN_topic.ipynb")
        solution = nbformat.read(path, as_version=4)
        exercise, graded = make_exercise(solution, path.name)
        files[path.name] = serialise(exercise)
        manifest[path.name] = {
            "possible": sum(cell["points"] for cell in graded),
            "cells": graded,
        }
    files[MANIFEST_NAME] = json.dumps({"version": 1, "notebooks": manifest}, indent=2, sort_keys=True) + "\n"
    return files


def out_of_date(expected: dict[str, str], exercises_dir: Path = EXERCISES) -> list[str]:
    problems = []
    for name, text in expected.items():
        path = exercises_dir / name
        if not path.exists():
            problems.append(f"exercises/{name} is missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"exercises/{name} differs from what solutions/ generates")
    for path in sorted(exercises_dir.glob("*.ipynb")):
        if path.name not in expected:
            problems.append(f"exercises/{path.name} has no solutions/{path.name}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check that exercises/ is up to date")
    args = parser.parse_args(argv)
    try:
        expected = generate()
    except ExerciseError as error:
        print(f"make_exercises: {error}", file=sys.stderr)
        return 2
    if args.check:
        problems = out_of_date(expected)
        for problem in problems:
            print(f"make_exercises --check: {problem}", file=sys.stderr)
        if problems:
            print("Run `python tools/make_exercises.py` and commit exercises/.", file=sys.stderr)
            return 1
        print(f"exercises/ is up to date ({len(expected) - 1} notebooks).")
        return 0
    EXERCISES.mkdir(exist_ok=True)
    for name, text in expected.items():
        (EXERCISES / name).write_text(text, encoding="utf-8")
    for path in EXERCISES.glob("*.ipynb"):
        if path.name not in expected:
            path.unlink()
    print(f"Wrote {len(expected) - 1} exercise notebooks and {MANIFEST_NAME} to exercises/.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
