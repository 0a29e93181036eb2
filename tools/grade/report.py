"""Step 8, report: grades.csv, one JSON per learner, a feedback page (Markdown and HTML) per
learner x notebook, and run.json (the instructor's: it holds the seed).

Written only by the judge, after every sandbox of the run is gone.
"""

from __future__ import annotations

import csv
import json
import re
import sys
import time
from dataclasses import asdict
from pathlib import Path

from tools.conventions import GRADES_HEADER, format_points
from tools.grade.judge import NotebookResult
from tools.grade.safe import csv_cell, file_stem, html_text, printable


def write(results: list[NotebookResult], out: Path, meta: dict) -> None:
    """grades.csv, one JSON and one feedback folder per learner, and run.json.

    Every learner-controlled string goes through tools/grade/safe.py. Each learner's files are
    written on their own: one learner's failure is reported and never changes another's. The
    run's seed is the instructor's only (run.json and the terminal), never in a learner's
    files: with it, anyone could redraw the fresh inputs.
    """
    out.mkdir(parents=True, exist_ok=True)
    rows = sorted(results, key=lambda r: (printable(r.learner), r.notebook))
    with (out / "grades.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(GRADES_HEADER)
        for row in rows:
            writer.writerow([csv_cell(row.learner), csv_cell(row.notebook), format_points(row.earned),
                             format_points(row.possible), csv_cell(";".join(dict.fromkeys(row.flags)))])
    learners: dict[str, list[NotebookResult]] = {}
    for row in rows:
        learners.setdefault(row.learner, []).append(row)
    (out / "learners").mkdir(exist_ok=True)
    (out / "feedback").mkdir(exist_ok=True)
    shared = {key: value for key, value in meta.items() if key not in INSTRUCTOR_ONLY}
    failed = []
    for learner, own in learners.items():
        try:
            _write_learner(out, learner, own, shared)
        except Exception as error:  # noqa: BLE001 - one learner's files never stop the others
            failed.append(f"{printable(learner)}: {type(error).__name__}: {printable(error)}")
    (out / "run.json").write_text(
        json.dumps({**meta, "report_errors": failed}, indent=2) + "\n", encoding="utf-8")
    for line in failed:
        print(f"grade: could not write the report of {line}", file=sys.stderr)


# What only the instructor sees (run.json): the seed redraws every fresh input.
INSTRUCTOR_ONLY = frozenset({"seed", "judge_peak_mb"})


def _write_learner(out: Path, learner: str, own: list[NotebookResult], meta: dict) -> None:
    name = file_stem(learner)
    document = {
        "learner": printable(learner),
        "earned": sum(row.earned for row in own),
        "possible": sum(row.possible for row in own),
        "grading": meta,
        "notebooks": [_as_json(row) for row in own],
    }
    (out / "learners" / f"{name}.json").write_text(
        json.dumps(document, indent=2, ensure_ascii=True) + "\n", encoding="utf-8")
    folder = out / "feedback" / name
    folder.mkdir(exist_ok=True)
    for row in own:
        stem = Path(row.notebook).stem
        (folder / f"{stem}.md").write_text(feedback(row), encoding="utf-8")
        (folder / f"{stem}.html").write_text(feedback_html(row), encoding="utf-8")


def _as_json(row: NotebookResult) -> dict:
    cells = []
    for cell in row.cells:
        entry = asdict(cell)
        entry["message"] = printable(cell.message)
        if cell.self_check is not None:
            entry["self_check"] = [cell.self_check[0] is True, printable(cell.self_check[1])]
        cells.append(entry)
    return {
        "notebook": row.notebook,
        "earned": row.earned,
        "possible": row.possible,
        "flags": list(dict.fromkeys(row.flags)),
        "notes": [printable(text) for text in row.notes],
        "violations": [printable(text) for text in row.violations],
        "seconds": row.seconds,
        "cells": cells,
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
    "memory-limit": "Your code held more memory, all its processes together, than the grader "
    "allows; it was stopped there and the rest was graded.",
    "process-limit": "Your code started more processes and threads than the grader allows; it "
    "was stopped there and the rest was graded.",
    "notebook-time-limit": "Your notebook ran past its total time limit; what had not been "
    "graded by then scores 0.",
    "several-copies": "Your submission holds several copies of this notebook; the most "
    "complete one (the most answers written) was graded (see the notes below).",
    "unsandboxed": "Graded without a sandbox.",
    "grader-error": "The grader itself failed on this notebook; your instructor will look at it.",
    "needs-review": "Some graded cells could not be graded on this machine; your instructor "
    "will grade them.",
}


def _fence(text: str) -> list[str]:
    """A fenced block that no run of backticks in ``text`` can close early."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + "text", text, fence]


def feedback(row: NotebookResult) -> str:
    """A Markdown page the learner can read: the score, one row per graded cell, every hint.

    Learner-controlled text is printable; outside code fences it is HTML-escaped too (Markdown
    renders raw HTML), and each fence is longer than any backtick run inside it.
    """
    lines = [f"# {row.notebook}: {format_points(row.earned)} / {format_points(row.possible)} points", ""]
    lines.append(INTRODUCTION)
    lines.append("")
    for flag in dict.fromkeys(row.flags):
        if flag in FLAG_TEXT:
            lines.append(f"- **{flag}**: {FLAG_TEXT[flag]}")
    if row.flags:
        lines.append("")
    lines += ["| graded cell | points | result |", "|---|---|---|"]
    for cell in row.cells:
        lines.append(f"| `{cell.grade_id}` | {format_points(cell.earned)} / {format_points(cell.points)} | "
                     f"{cell.status} |")
    lines.append("")
    for cell in row.cells:
        if cell.status != "passed" and cell.message:
            lines += [f"## `{cell.grade_id}` ({cell.status})", "",
                      *_fence(printable(cell.message).strip()), ""]
    if row.violations:
        lines += ["## What the from-scratch rules found", ""]
        lines += [f"- {html_text(text)}" for text in row.violations[:20]] + [""]
    if row.notes:
        lines += ["## Notes from the grader", ""]
        lines += [f"- {html_text(text)}" for text in row.notes[:20]] + [""]
    return "\n".join(lines)


INTRODUCTION = (
    "This is the official grade. Each graded cell was run on the inputs you see in your "
    "notebook and on fresh inputs drawn for this grading; a cell earns its points only if "
    "both pass. Your notebook's own self-check uses only the first."
)


POLICY = "default-src 'none'; style-src 'unsafe-inline'"  # no script runs, nothing loads
STYLE = (
    "body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#111}"
    "pre{white-space:pre-wrap;background:#f4f4f4;padding:.5em}"
    "td,th{border:1px solid #999;padding:.2em .5em}table{border-collapse:collapse}"
)


def feedback_html(row: NotebookResult) -> str:
    """The same page as HTML: every piece of text escaped, no script, no external resource."""
    e = html_text
    title = f"{e(row.notebook)}: {e(format_points(row.earned))} / {e(format_points(row.possible))}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">',
        f"<title>{title}</title>",
        f"<style>{STYLE}</style>",
        "</head><body>",
        f"<h1>{title} points</h1>",
        f"<p>{e(INTRODUCTION)}</p>",
    ]
    flags = [flag for flag in dict.fromkeys(row.flags) if flag in FLAG_TEXT]
    if flags:
        parts.append("<ul>" + "".join(f"<li><strong>{e(flag)}</strong>: {e(FLAG_TEXT[flag])}</li>"
                                      for flag in flags) + "</ul>")
    parts.append("<table><tr><th>graded cell</th><th>points</th><th>result</th></tr>")
    for cell in row.cells:
        parts.append(f"<tr><td><code>{e(cell.grade_id)}</code></td><td>{e(format_points(cell.earned))} "
                     f"/ {e(format_points(cell.points))}</td><td>{e(cell.status)}</td></tr>")
    parts.append("</table>")
    for cell in row.cells:
        if cell.status != "passed" and cell.message:
            parts.append(f"<h2><code>{e(cell.grade_id)}</code> ({e(cell.status)})</h2>"
                         f"<pre>{e(cell.message.strip())}</pre>")
    for title, items in (("What the from-scratch rules found", row.violations),
                         ("Notes from the grader", row.notes)):
        if items:
            parts.append(f"<h2>{e(title)}</h2><ul>"
                         + "".join(f"<li>{e(text)}</li>" for text in items[:20]) + "</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


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
