"""Turn the grader's long ``grades.csv`` into a wide gradebook that an LMS imports.

``grades.csv`` (written by ``python -m tools.grade``) has one row per learner x notebook:
``learner,notebook,earned,possible,flags``. Canvas and Moodle import one row per learner
with one column per assignment. This writes ``gradebook.csv``:

    learner, 01_self_attention, 02_cross_attention, ..., total, possible, flags

where each notebook column holds the points earned (empty when the learner handed in no
such notebook, which the LMS shows as "not submitted"), ``total`` and ``possible`` add up
every notebook graded for the class, and ``flags`` joins the notebooks' flags as
``notebook:flag``. ``instructors.md`` explains how each LMS maps these columns.

Usage::

    python -m tools.gradebook RESULTS/grades.csv [--out RESULTS/gradebook.csv]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from tools.grade.safe import csv_cell

HEADER = ["learner", "notebook", "earned", "possible", "flags"]


def read_grades(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != HEADER:
            raise ValueError(f"{path}: expected the header {','.join(HEADER)}, got {reader.fieldnames}")
        return list(reader)


def wide_rows(rows: list[dict[str, str]]) -> tuple[list[str], list[list[str]]]:
    """The gradebook's header and rows, learners and notebooks sorted."""
    notebooks = sorted({row["notebook"] for row in rows})
    possible = {}
    for row in rows:
        possible.setdefault(row["notebook"], float(row["possible"]))
    learners: dict[str, dict[str, dict[str, str]]] = {}
    for row in rows:
        learners.setdefault(row["learner"], {})[row["notebook"]] = row
    stems = [Path(name).stem for name in notebooks]
    header = ["learner", *stems, "total", "possible", "flags"]
    out = []
    for learner in sorted(learners):
        graded = learners[learner]
        cells = [_number(graded[name]["earned"]) if name in graded else "" for name in notebooks]
        total = sum(float(graded[name]["earned"]) for name in graded)
        flags = [
            f"{Path(name).stem}:{flag}"
            for name in notebooks if name in graded
            for flag in graded[name]["flags"].split(";") if flag
        ]
        out.append([learner, *cells, _number(total), _number(sum(possible.values())), ";".join(flags)])
    return header, out


def _number(value: str | float) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else f"{number:g}"


def write_gradebook(grades: Path, out: Path) -> Path:
    header, rows = wide_rows(read_grades(grades))
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows([[csv_cell(cell) for cell in row] for row in rows])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("grades", type=Path, help="grades.csv written by python -m tools.grade")
    parser.add_argument("--out", type=Path, help="where to write (default: gradebook.csv beside grades.csv)")
    args = parser.parse_args()
    out = write_gradebook(args.grades, args.out or args.grades.with_name("gradebook.csv"))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
