"""Turn the grader's long ``grades.csv`` into gradebooks that Canvas and Moodle import.

``grades.csv`` (written by ``python -m tools.grade``) has one row per learner x notebook:
``learner,notebook,earned,possible,flags``. An LMS imports one row per learner with one column
per assignment. This writes, beside ``grades.csv`` (or where ``--out`` says):

- ``gradebook.csv``, Canvas's import format: ``Student, ID, SIS User ID, SIS Login ID,
  Section``, then one column per notebook (its stem, e.g. ``01_self_attention``). Canvas
  identifies a learner by these columns, so they come from the roster (export the Canvas
  gradebook once and pass it as ``--roster``). Without a roster, ``Student`` and
  ``SIS Login ID`` are the learner id (name the learner folders by the SIS login), and ``ID``
  is Canvas's user id where the learner came from a Canvas download (``name_userid``).
- ``gradebook-moodle.csv``, for Moodle's *Import > CSV file*: the roster's identity columns
  (``Email address``, ``Username``, ``ID number``, ... whatever it has; ``learner`` without a
  roster) then one column per notebook. In Moodle you map one identity column to the user
  field it holds and each notebook column to its grade item.
- ``gradebook-wide.csv``: ``learner``, one column per notebook, ``total``, ``possible``,
  ``flags`` (``notebook:flag``), for your own spreadsheet.

A notebook a learner did not hand in (flag ``missing``) is an **empty** cell, which both LMSs
read as "no grade", never as 0; a roster learner without any row is a row of empty cells. Every
cell goes through ``csv_cell`` (no spreadsheet formula). Learners the roster does not know are
added at the end and listed on stderr: no grade is dropped silently.

Usage::

    python -m tools.gradebook RESULTS/grades.csv [--roster ROSTER.csv] [--out FOLDER]
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from pathlib import Path

from tools.conventions import GRADES_HEADER, format_points
from tools.grade.safe import csv_cell

CANVAS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
# Roster columns that identify a learner (Canvas's export, Moodle's export, a plain list).
IDENTITY = ["learner", "ID", "SIS User ID", "SIS Login ID", "Student", "Email address", "Email",
            "Username", "ID number", "GitHub", "github", "login"]
CANVAS_LEARNER = re.compile(r"^(?P<name>.+)_(?P<user>\d+)$")


def read_grades(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != list(GRADES_HEADER):
            raise ValueError(f"{path}: expected the header {','.join(GRADES_HEADER)}, "
                             f"got {reader.fieldnames}")
        return list(reader)


def read_roster(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [name.strip() for name in reader.fieldnames or []]
        rows = [{key.strip(): (value or "").strip() for key, value in row.items() if key}
                for row in reader]
    # Canvas's export has a "Points Possible" row (and sometimes muted/read-only rows).
    rows = [row for row in rows if "Points Possible" not in row.get("Student", "")]
    if not any(column in header for column in IDENTITY + ["First name"]):
        raise ValueError(f"{path}: no column identifies a learner (expected one of "
                         f"{', '.join(IDENTITY)})")
    return header, rows


def _plain(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", text.lower())


def _row_keys(row: dict[str, str]) -> set[str]:
    keys = {row[column] for column in IDENTITY if row.get(column)}
    if row.get("First name") or row.get("Last name"):
        keys.add(f"{row.get('First name', '')} {row.get('Last name', '')}".strip())
    if row.get("Email address"):
        keys.add(row["Email address"].split("@")[0])
    return keys


def _aliases(learner: str) -> list[set[str]]:
    """What a learner id may be called in a roster, most specific first."""
    aliases = [{learner}]
    match = CANVAS_LEARNER.match(learner)
    if match:
        aliases.append({match["user"]})  # Canvas's user id, or Moodle's participant number
        aliases.append({match["name"]})
    return aliases


def match_roster(learners: list[str], rows: list[dict[str, str]]) -> dict[str, int]:
    """learner id -> roster row index, for the learners matched to exactly one row."""
    exact: dict[str, list[int]] = {}
    plain: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        for key in _row_keys(row):
            exact.setdefault(key, []).append(index)
            plain.setdefault(_plain(key), []).append(index)
    matched = {}
    for learner in learners:
        for names in _aliases(learner):
            hits = {i for name in names for i in exact.get(name, [])}
            if not hits:
                hits = {i for name in names if _plain(name) for i in plain.get(_plain(name), [])}
            if len(hits) == 1:
                matched[learner] = hits.pop()
                break
    return matched


def _table(rows: list[dict[str, str]]):
    notebooks = sorted({row["notebook"] for row in rows})
    possible: dict[str, float] = {}
    graded: dict[str, dict[str, dict[str, str]]] = {}
    for row in rows:
        possible.setdefault(row["notebook"], float(row["possible"]))
        graded.setdefault(row["learner"], {})[row["notebook"]] = row
    return notebooks, possible, graded


def _cell(row: dict[str, str] | None) -> str:
    """Points earned; empty when not handed in (the LMS then shows no grade, not 0)."""
    if row is None or "missing" in row["flags"].split(";"):
        return ""
    return format_points(row["earned"])


def wide_rows(rows: list[dict[str, str]]) -> tuple[list[str], list[list[str]]]:
    """The wide gradebook's header and rows, learners and notebooks sorted."""
    notebooks, possible, graded = _table(rows)
    header = ["learner", *[Path(name).stem for name in notebooks], "total", "possible", "flags"]
    out = []
    for learner in sorted(graded):
        own = graded[learner]
        total = sum(float(own[name]["earned"]) for name in own)
        flags = [f"{Path(name).stem}:{flag}" for name in notebooks if name in own
                 for flag in own[name]["flags"].split(";") if flag]
        out.append([learner, *[_cell(own.get(name)) for name in notebooks], format_points(total),
                    format_points(sum(possible.values())), ";".join(flags)])
    return header, out


def lms_rows(rows: list[dict[str, str]], roster: tuple[list[str], list[dict[str, str]]] | None,
             warn=print) -> tuple[list[list[str]], list[list[str]]]:
    """(Canvas rows, Moodle rows), headers first."""
    notebooks, _, graded = _table(rows)
    stems = [Path(name).stem for name in notebooks]
    if roster is None:
        canvas = [[*CANVAS, *stems]]
        moodle = [["learner", *stems]]
        for learner in sorted(graded):
            match = CANVAS_LEARNER.match(learner)
            cells = [_cell(graded[learner].get(name)) for name in notebooks]
            canvas.append([learner, match["user"] if match else "", "", learner, "", *cells])
            moodle.append([learner, *cells])
        return canvas, moodle
    header, people = roster
    matched = match_roster(sorted(graded), people)
    by_row = {index: learner for learner, index in matched.items()}
    identity = [column for column in header if column not in stems]
    canvas = [[*CANVAS, *stems]]
    moodle = [[*identity, *stems]]
    for index, person in enumerate(people):
        own = graded.get(by_row.get(index, ""), {})
        cells = [_cell(own.get(name)) for name in notebooks]
        canvas.append([person.get(column, "") for column in CANVAS] + cells)
        moodle.append([person.get(column, "") for column in identity] + cells)
    unknown = sorted(set(graded) - set(matched))
    for learner in unknown:
        cells = [_cell(graded[learner].get(name)) for name in notebooks]
        canvas.append([learner, "", "", learner, "", *cells])
        moodle.append([learner if column in ("learner", "Username") else ""
                       for column in identity] + cells)
    if unknown:
        warn(f"gradebook: {len(unknown)} learner(s) not in the roster, added at the end "
             f"(check their ids): {', '.join(unknown[:10])}{' ...' if len(unknown) > 10 else ''}")
    return canvas, moodle


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([[csv_cell(cell) for cell in row] for row in rows])
    return path


def write_gradebook(grades: Path, out: Path, roster: Path | None = None,
                    warn=lambda text: print(text, file=sys.stderr)) -> Path:
    """Write the three gradebooks into folder ``out``; the Canvas one's path."""
    rows = read_grades(grades)
    out.mkdir(parents=True, exist_ok=True)
    header, wide = wide_rows(rows)
    _write(out / "gradebook-wide.csv", [header, *wide])
    canvas, moodle = lms_rows(rows, read_roster(roster) if roster else None, warn)
    _write(out / "gradebook-moodle.csv", moodle)
    return _write(out / "gradebook.csv", canvas)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("grades", type=Path, help="grades.csv written by python -m tools.grade")
    parser.add_argument("--roster", type=Path, help="your LMS's gradebook export or class list "
                        "(CSV): its identity columns go into the gradebooks")
    parser.add_argument("--out", type=Path, help="folder to write to (default: beside grades.csv)")
    args = parser.parse_args(argv)
    try:
        out = write_gradebook(args.grades, args.out or args.grades.parent, args.roster)
    except ValueError as error:
        print(f"gradebook: {error}", file=sys.stderr)
        return 2
    print(f"wrote {out}, {out.with_name('gradebook-moodle.csv')} and "
          f"{out.with_name('gradebook-wide.csv')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
