"""The class report: what the class finds hard, and which learners to look at.

``python -m tools.grade.class_report RESULTS`` reads ``RESULTS/learners/*.json`` (written by
``python -m tools.grade``, or by ``merge``) and writes ``RESULTS/class-report.html``:

- the **distribution of totals** (a histogram of each learner's share of the points), per
  notebook and for the course;
- each graded cell's **pass rate** among the learners who handed the notebook in (a bar chart
  and a table, hardest first);
- the **most common failing hints** of each cell (the first line of the judge's message, with
  numbers replaced by ``#`` so that the same mistake on different inputs counts once);
- the **learners flagged** for a look: a sandbox fallback (``setpriv``) or no sandbox, timeouts,
  crashes, forbidden calls, several copies, unreadable notebooks, grader errors;
- a link to ``similarity.html`` when ``python -m tools.grade.similarity`` has written one.

Every learner-controlled string is escaped (``html_text``); the plots are PNG images inside
the page (one file to mail or archive), each with a text alternative.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import re
import sys
from collections import Counter
from pathlib import Path

from tools.grade.html_page import page
from tools.grade.safe import html_text

REVIEW_FLAGS = ["grader-error", "kernel-died", "timeout", "forbidden-call", "huge-output",
                "unreadable", "several-copies", "unsandboxed"]


def load(results: Path) -> list[dict]:
    documents = []
    for path in sorted((results / "learners").glob("*.json")):
        documents.append(json.loads(path.read_text(encoding="utf-8")))
    if not documents:
        raise ValueError(f"{results}/learners holds no learner's JSON: is it a results folder?")
    return documents


def hint(message: str) -> str:
    first = next((line.strip() for line in message.splitlines() if line.strip()), "")
    return re.sub(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", "#", first)[:200]


def summarise(documents: list[dict]) -> dict:
    cells: dict[tuple[str, str], dict] = {}
    totals: dict[str, list[float]] = {}
    flagged: list[tuple[str, str, list[str]]] = []
    sandboxes: Counter = Counter()
    for document in documents:
        learner = document["learner"]
        mode = document.get("grading", {}).get("sandbox", "")
        sandboxes[mode] += 1
        course_earned = course_possible = 0.0
        for entry in document["notebooks"]:
            flags = list(entry.get("flags", []))
            if mode == "setpriv":
                flags.append("sandbox-fallback")
            review = [flag for flag in flags if flag in REVIEW_FLAGS + ["sandbox-fallback"]]
            if review:
                flagged.append((learner, entry["notebook"], review))
            course_possible += entry["possible"]
            course_earned += entry["earned"]
            if "missing" in flags:
                continue
            totals.setdefault(entry["notebook"], []).append(
                entry["earned"] / entry["possible"] if entry["possible"] else 0.0)
            for cell in entry["cells"]:
                stats = cells.setdefault((entry["notebook"], cell["grade_id"]),
                                         {"passed": 0, "handed_in": 0, "hints": Counter(),
                                          "points": cell["points"]})
                stats["handed_in"] += 1
                if cell["earned"] == cell["points"]:
                    stats["passed"] += 1
                else:
                    stats["hints"][f"{cell['status']}: {hint(cell.get('message') or '')}"] += 1
        if course_possible:
            totals.setdefault("(course)", []).append(course_earned / course_possible)
    return {"cells": cells, "totals": totals, "flagged": flagged, "sandboxes": sandboxes,
            "learners": len(documents)}


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def plots(summary: dict) -> tuple[str, str]:
    """(histogram of totals, pass-rate bars) as base64 PNGs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted(summary["totals"])
    figure, axes = plt.subplots(len(names), 1, figsize=(7, 1.6 * len(names) + 0.6), squeeze=False)
    for axis, name in zip(axes[:, 0], names):
        axis.hist([100 * share for share in summary["totals"][name]], bins=20, range=(0, 100),
                  color="#3b6ea8")
        axis.set_title(name, fontsize=9)
        axis.set_ylabel("learners", fontsize=8)
    axes[-1, 0].set_xlabel("share of the points earned (%)")
    figure.tight_layout()
    histogram = _png(figure)
    plt.close(figure)
    rows = sorted(summary["cells"].items(), key=lambda item: item[0])
    figure, axis = plt.subplots(figsize=(7, 0.18 * len(rows) + 1))
    labels = [f"{notebook[:2]} {grade_id}" for (notebook, grade_id), _ in rows]
    rates = [100 * stats["passed"] / stats["handed_in"] for _, stats in rows]
    axis.barh(range(len(rows)), rates, color="#3b6ea8")
    axis.set_yticks(range(len(rows)), labels, fontsize=6)
    axis.set_ylim(len(rows) - 0.5, -0.5)  # first cell on top, no empty margin
    axis.set_xlim(0, 100)
    axis.set_xlabel("learners who earned the cell's points (%)")
    figure.tight_layout()
    bars = _png(figure)
    plt.close(figure)
    return histogram, bars


def render(summary: dict, similarity: dict | None) -> str:
    histogram, bars = plots(summary)
    modes = ", ".join(f"{html_text(mode or 'unknown')}: {count}"
                      for mode, count in sorted(summary["sandboxes"].items()))
    body = [f"<p>{summary['learners']} learners. Sandbox per learner: {modes}.</p>",
            "<h2>Distribution of totals</h2>",
            (f"<img alt='Histograms of the share of the points each learner earned, per notebook "
            f"and for the course (the table below gives the pass rate of every cell)' "
            f"src='data:image/png;base64,{histogram}'>"),
            ("<table><tr><th scope='col'>notebook</th><th scope='col'>handed in</th>"
            "<th scope='col'>median share</th><th scope='col'>full marks</th></tr>")]
    for name in sorted(summary["totals"]):
        shares = sorted(summary["totals"][name])
        median = shares[len(shares) // 2] if shares else 0
        full = sum(share >= 1 for share in shares)
        body.append(f"<tr><td>{html_text(name)}</td><td class='n'>{len(shares)}</td>"
                    f"<td class='n'>{100 * median:.0f}%</td><td class='n'>{full}</td></tr>")
    body += ["</table>", "<h2>Pass rate of each graded cell</h2>",
             (f"<img alt='Bar chart of the pass rate of every graded cell (the same numbers as the "
             f"table below)' src='data:image/png;base64,{bars}'>"),
             "<p>Hardest first. The hints are the judge's first line, numbers as #.</p>",
             ("<table><tr><th scope='col'>notebook</th><th scope='col'>graded cell</th>"
             "<th scope='col'>passed</th><th scope='col'>most common failing hints</th></tr>")]
    order = sorted(summary["cells"].items(),
                   key=lambda item: (item[1]["passed"] / item[1]["handed_in"], item[0]))
    for (notebook, grade_id), stats in order:
        hints = "".join(f"<li>{count} x {html_text(text)}</li>"
                        for text, count in stats["hints"].most_common(3))
        body.append(f"<tr><td>{html_text(notebook)}</td><td><code>{html_text(grade_id)}</code>"
                    f"</td><td class='n'>{stats['passed']}/{stats['handed_in']} "
                    f"({100 * stats['passed'] / stats['handed_in']:.0f}%)</td>"
                    f"<td><ul>{hints}</ul></td></tr>")
    body += ["</table>", "<h2>Learners to look at</h2>"]
    if summary["flagged"]:
        body.append("<table><tr><th scope='col'>learner</th><th scope='col'>notebook</th>"
                    "<th scope='col'>flags</th></tr>")
        for learner, notebook, flags in sorted(summary["flagged"]):
            body.append(f"<tr><td>{html_text(learner)}</td><td>{html_text(notebook)}</td>"
                        f"<td>{html_text(', '.join(flags))}</td></tr>")
        body.append("</table>")
    else:
        body.append("<p>No notebook was flagged.</p>")
    body.append("<h2>Answers to review</h2>")
    if similarity is None:
        body.append("<p>No similarity check was run (python -m tools.grade.similarity).</p>")
    else:
        body.append(f"<p>{len(similarity['pairs'])} pair(s) of learners with unusually alike "
                    "answers: see <a href='similarity.html'>similarity.html</a> (no grade "
                    "changes because of it).</p>")
    return page("Class report", body)


def write(results: Path) -> Path:
    summary = summarise(load(results))
    similarity_file = results / "similarity.json"
    similarity = (json.loads(similarity_file.read_text(encoding="utf-8"))
                  if similarity_file.exists() else None)
    out = results / "class-report.html"
    out.write_text(render(summary, similarity), encoding="utf-8")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.grade.class_report",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("results", type=Path)
    args = parser.parse_args(argv)
    try:
        print(f"wrote {write(args.results)}")
    except ValueError as error:
        print(f"class report: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
