"""Step 8, report: grades.csv, one JSON per learner, one feedback page per learner x notebook.

Written only by the judge, after every sandbox of the run is gone.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from tools.grade.judge import NotebookResult
from tools.grade.safe import csv_cell, file_stem, printable

HEADER = ["learner", "notebook", "earned", "possible", "flags"]


def number(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def write(results: list[NotebookResult], out: Path, meta: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    rows = sorted(results, key=lambda r: (r.learner, r.notebook))
    with (out / "grades.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for row in rows:
            writer.writerow([csv_cell(row.learner), csv_cell(row.notebook), number(row.earned),
                             number(row.possible), csv_cell(";".join(dict.fromkeys(row.flags)))])
    learners: dict[str, list[NotebookResult]] = {}
    for row in rows:
        learners.setdefault(row.learner, []).append(row)
    (out / "learners").mkdir(exist_ok=True)
    (out / "feedback").mkdir(exist_ok=True)
    for learner, own in learners.items():
        name = file_stem(learner)
        document = {
            "learner": printable(learner),
            "earned": sum(row.earned for row in own),
            "possible": sum(row.possible for row in own),
            "grading": meta,
            "notebooks": [_as_json(row) for row in own],
        }
        (out / "learners" / f"{name}.json").write_text(
            json.dumps(document, indent=2) + "\n", encoding="utf-8")
        folder = out / "feedback" / name
        folder.mkdir(exist_ok=True)
        for row in own:
            (folder / f"{Path(row.notebook).stem}.md").write_text(feedback(row), encoding="utf-8")


def _as_json(row: NotebookResult) -> dict:
    return {
        "notebook": row.notebook,
        "earned": row.earned,
        "possible": row.possible,
        "flags": list(dict.fromkeys(row.flags)),
        "notes": row.notes,
        "violations": row.violations,
        "seconds": row.seconds,
        "cells": [asdict(cell) for cell in row.cells],
    }


FLAG_TEXT = {
    "missing": "This notebook was not found in your submission.",
    "unreadable": "This notebook could not be read (is it a valid .ipynb file?).",
    "forbidden-call": "Some answers use what the task forbids (see below); "
    "the cells that depend on them score 0.",
    "timeout": "Some code ran past its time limit; it was skipped and the rest was graded.",
    "kernel-died": "Your code stopped the Python process (a crash, os._exit, running out of "
    "memory); the grader restarted it past that point.",
    "huge-output": "Your code sent more output than the grader accepts.",
    "several-copies": "Your submission holds several copies of this notebook; the most "
    "complete one (the most answers written) was graded (see the notes below).",
    "unsandboxed": "Graded without a sandbox.",
    "grader-error": "The grader itself failed on this notebook; your instructor will look at it.",
}


def feedback(row: NotebookResult) -> str:
    """A page the learner can read: the score, one row per graded cell, and every hint."""
    lines = [f"# {row.notebook}: {number(row.earned)} / {number(row.possible)} points", ""]
    lines.append(
        "This is the official grade. Each graded cell was run on the inputs you see in your "
        "notebook and on fresh inputs drawn for this grading; a cell earns its points only if "
        "both pass. Your notebook's own self-check uses only the first."
    )
    lines.append("")
    for flag in dict.fromkeys(row.flags):
        if flag in FLAG_TEXT:
            lines.append(f"- **{flag}**: {FLAG_TEXT[flag]}")
    if row.flags:
        lines.append("")
    lines += ["| graded cell | points | result |", "|---|---|---|"]
    for cell in row.cells:
        lines.append(f"| `{cell.grade_id}` | {number(cell.earned)} / {number(cell.points)} | "
                     f"{cell.status} |")
    lines.append("")
    for cell in row.cells:
        if cell.status != "passed" and cell.message:
            lines += [f"## `{cell.grade_id}` ({cell.status})", "", "```text", cell.message.strip(),
                      "```", ""]
    if row.violations:
        lines += ["## What the from-scratch rules found", ""]
        lines += [f"- {text}" for text in row.violations[:20]] + [""]
    if row.notes:
        lines += ["## Notes from the grader", ""] + [f"- {text}" for text in row.notes[:20]] + [""]
    return "\n".join(lines)


class Progress:
    """Progress for a long run: a one-line bar on a terminal; otherwise (a CI log, a file) a
    plain line about every 5% of the notebooks or every minute, with the time left estimated
    from the pace so far."""

    def __init__(self, total: int, stream=sys.stderr, clock=time.monotonic, every_s: float = 60):
        self.total, self.done, self.stream, self.clock = total, 0, stream, clock
        self.live = hasattr(stream, "isatty") and stream.isatty()
        self.started = self.last = clock()
        self.every_s, self.every_n = every_s, max(1, total // 20)

    def step(self, label: str) -> None:
        self.done += 1
        if self.live:
            width = 30
            filled = int(width * self.done / max(self.total, 1))
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(f"\r[{bar}] {self.done}/{self.total} {printable(label)[:40]:<40}")
            if self.done == self.total:
                self.stream.write("\n")
            self.stream.flush()
            return
        now = self.clock()
        if self.done == self.total or self.done % self.every_n == 0 or now - self.last >= self.every_s:
            self.last = now
            elapsed = now - self.started
            left = elapsed / self.done * (self.total - self.done)
            self.stream.write(f"grade: {self.done}/{self.total} notebooks graded "
                              f"({100 * self.done // max(self.total, 1)}%), {elapsed / 60:.1f} min "
                              f"so far, about {left / 60:.1f} min left\n")
            self.stream.flush()
