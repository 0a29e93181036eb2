"""The class report (pass rates, common hints, totals, flagged learners; escaped) and the
similarity check (winnowed fingerprints: a renamed copy is found, the common answer and an
independent one are not; no grade changes)."""

from __future__ import annotations

import json

import nbformat

from tests.helpers import FIXTURES
from tests.judge_helpers import replace_solution_region, toy_course, write_notebook
from tools.grade import class_report, similarity

TOY = "00_toy.ipynb"


def learner_json(folder, learner, earned, flags=(), sandbox="bwrap", message="Square first: got 3"):
    """``earned``: 5 (both cells), 3 (only double-value) or 0."""
    mean_ok, double_ok = earned == 5, earned in (3, 5)
    cells = [{"grade_id": "mean-square-value", "points": 2, "earned": 2 if mean_ok else 0,
              "status": "passed" if mean_ok else "failed", "message": "" if mean_ok else message},
             {"grade_id": "double-value", "points": 3, "earned": 3 if double_ok else 0,
              "status": "passed" if double_ok else "failed", "message": "wrong"}]
    document = {"learner": learner, "earned": earned, "possible": 5,
                "grading": {"sandbox": sandbox, "seed": 1},
                "notebooks": [{"notebook": TOY, "earned": earned, "possible": 5,
                               "flags": list(flags), "cells": cells, "notes": []}]}
    (folder / "learners").mkdir(parents=True, exist_ok=True)
    (folder / "learners" / f"{learner[:8].strip('<>/')}x.json").write_text(json.dumps(document))


def test_class_report_counts_and_escapes(tmp_path):
    learner_json(tmp_path, "ann", 5)
    learner_json(tmp_path, "bob", 3, message="Square first: got 4.5")
    learner_json(tmp_path, "<script>alert(1)</script>", 3, ["timeout"], message="Square first: got 7")
    learner_json(tmp_path, "dan", 0, ["missing"], sandbox="setpriv")
    summary = class_report.summarise(class_report.load(tmp_path))
    stats = summary["cells"][(TOY, "mean-square-value")]
    assert (stats["passed"], stats["handed_in"]) == (1, 3), "a missing notebook is not a failure"
    assert stats["hints"].most_common(1) == [("failed: Square first: got #", 2)]
    assert sorted(summary["totals"][TOY]) == [0.6, 0.6, 1.0]
    assert ("dan", TOY, ["sandbox-fallback"]) in summary["flagged"]
    page = class_report.write(tmp_path).read_text()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "1/3 (33%)" in page and "data:image/png;base64," in page
    assert "No similarity check was run" in page


def _answer(body_mean, body_double="    return 2 * x"):
    notebook = nbformat.read(FIXTURES / TOY, as_version=4)
    replace_solution_region(notebook, "mean_square", body_mean)
    replace_solution_region(notebook, "double", body_double)
    return notebook


ORIGINAL = """\
    values = np.asarray(x, dtype=float).reshape(-1)
    total = 0.0
    for index in range(values.shape[0]):
        total = total + values[index] * values[index]
    count = max(values.shape[0], 1)
    return float(total / count)"""
# The same code with other names, comments and blank lines.
COPIED = """\
    # my own loop!
    arr = np.asarray(x, dtype=float).reshape(-1)
    acc = 0.0

    for i in range(arr.shape[0]):
        acc = acc + arr[i] * arr[i]  # square and add
    n = max(arr.shape[0], 1)
    return float(acc / n)"""
INDEPENDENT = """\
    squares = [float(value) ** 2 for value in np.ravel(x)]
    return sum(squares) / len(squares)"""


def test_a_renamed_copy_is_listed_and_the_common_answer_is_not(tmp_path):
    course = toy_course(tmp_path / "course")
    subs = tmp_path / "class"
    write_notebook(_answer(ORIGINAL), subs / "orig" / TOY)
    write_notebook(_answer(COPIED), subs / "<i>copier" / TOY)
    write_notebook(_answer(INDEPENDENT), subs / "own" / TOY)
    for number in range(4):  # the answer everybody writes is no evidence
        write_notebook(nbformat.read(FIXTURES / TOY, as_version=4), subs / f"sol{number}" / TOY)
    document = similarity.run(subs, course, None, None, threshold=0.5, min_shared=3)
    assert [(pair["a"], pair["b"]) for pair in document["pairs"]] == [("<i>copier", "orig")]
    pair = document["pairs"][0]
    assert pair["score"] >= 0.9 and "my own loop" in pair["cells"][0]["a"]
    similarity.write(document, tmp_path / "out")
    page = (tmp_path / "out" / "similarity.html").read_text()
    assert "<i>copier" not in page and "&lt;i&gt;copier" in page
    assert "changes no grade" in page


def test_renaming_and_comments_do_not_change_the_tokens():
    assert similarity.tokens(ORIGINAL.replace("    ", "", 1)) == similarity.tokens(
        "\n".join(line for line in COPIED.splitlines() if not line.strip().startswith("#"))
        .replace("  # square and add", "").replace("    ", "", 1).replace("\n\n", "\n"))
