"""Issue #19: the judge's rules hold by construction. The adaptive attacks of
tests/attacks/rules_attacks.py (one or more per class of the issue) are graded with honest
controls in one run of ``python -m tools.grade``: no attack earns more than its honest base,
the grader exits 0, every learner has a row, no feedback page carries a learner's raw HTML, no
CSV cell starts a formula, the fresh seed reaches no learner, and the checkout is unchanged.

The course is the toy exercise plus one graded cell whose ``call`` and ``verdict`` use ``zip``
over a list the learner's code builds (``mean-square-batch``), as chapter checks do.
"""

from __future__ import annotations

import csv
import json
import os
import re
from pathlib import Path

import nbformat
import pytest

from tests.attacks.rules_attacks import ATTACKS, COLLIDING
from tests.helpers import FIXTURES
from tests.judge_helpers import exercise_text, make_course, run_judge, write_notebook
from tests.test_judge_attacks import _cell_defining, _hard_coded, _set_body, _tree_hash

TOY = "00_toy.ipynb"
FULL = 6
# Each attack's ceiling is what its honest control earns in the same run, measured, not written
# here; test_controls_in_the_same_run pins the controls themselves.
CONTROLS = {"blank": "reference-blank", "half": "reference-half", "full": "reference-solution"}
SEED = 12345
BATCH = '''def inputs(rng):
    return {"xs": [rng.standard_normal(int(rng.integers(3, 6))) * 3 for _ in range(3)]}


def call(xs):
    return {"values": [mean_square(x) for x, _ in zip(xs, xs)]}


def verdict(got, xs):
    for value, x in zip(got["values"], xs):
        check_close(value, reference_mean_square(x), atol=1e-9, what="mean_square in a batch")


run_check("mean-square-batch", inputs, call, verdict, seed=3)'''


def batch_solution(path: Path) -> Path:
    """The toy solution with the batch check added (worth 1 point)."""
    notebook = nbformat.read(FIXTURES / TOY, as_version=4)
    cell = nbformat.v4.new_code_cell(BATCH)
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "mean-square-batch", "locked": True,
                                 "points": 1, "schema_version": 3, "solution": False}
    last = notebook.cells[-1]
    assert "self_check_score" in last.source
    last.source = last.source.replace('"double-value": 3}', '"double-value": 3, '
                                      '"mean-square-batch": 1}')
    notebook.cells.insert(len(notebook.cells) - 2, cell)
    return write_notebook(notebook, path)


def _folder(subs: Path, name) -> Path:
    path = os.path.join(os.fsencode(subs), name) if isinstance(name, bytes) else subs / name
    os.makedirs(path)
    return Path(os.fsdecode(path))


def hard_link_to_solution(folder: Path, course: Path) -> None:
    os.link(course / "solutions" / TOY, folder / TOY)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("rules-attacks")
    course = make_course(base / "course", {TOY: batch_solution(base / "solution" / TOY)})
    solution = (course / "solutions" / TOY).read_text()
    blank = exercise_text(course, TOY)
    subs, results = base / "submissions", base / "results"
    (subs / "reference-solution").mkdir(parents=True)
    (subs / "reference-solution" / TOY).write_text(solution)
    (subs / "reference-blank").mkdir()
    (subs / "reference-blank" / TOY).write_text(blank)
    half = nbformat.reads(blank, 4)
    _set_body(half, "double", "    return 2 * x")
    write_notebook(half, subs / "reference-half" / TOY)
    _folder(subs, COLLIDING[0]).joinpath(TOY).write_text(solution)
    _folder(subs, COLLIDING[1]).joinpath(TOY).write_text(blank)
    names = {}
    for attack in ATTACKS:
        folder = _folder(subs, attack.get("folder", attack["id"]))
        names[attack["id"]] = os.fsdecode(os.fsencode(folder.name))
        if attack["base"] in ("blank", "half", "full"):
            notebook = nbformat.reads(solution if attack["base"] == "full" else blank, 4)
            if attack["base"] == "half":
                _set_body(notebook, "double", "    return 2 * x")
            for function, body in attack.get("bodies", {}).items():
                _set_body(notebook, function, _hard_coded() if body == "HARD_CODED" else body)
            for function, source in attack.get("cells", {}).items():
                _cell_defining(notebook, function).source = source
            if "prelude" in attack:
                cell = _cell_defining(notebook, "mean_square")
                cell.source = attack["prelude"] + "\n\n" + cell.source
            if attack.get("deep"):
                cell = _cell_defining(notebook, "mean_square")
                cell.source = "ZERO = " + "0" + " + 0" * 2000 + "\n\n" + cell.source
            write_notebook(notebook, folder / TOY)
        if "plant" in attack:
            globals()[attack["plant"]](folder, course)
    before = _tree_hash(course)
    judged = run_judge(subs, results, course, "--cell-timeout", "20", "--check-timeout", "10",
                       seed=SEED)
    return {"results": judged, "names": names, "course": course, "before": before}


def _row(graded, attack_id):
    from tools.grade.safe import csv_cell

    return graded["results"].row(csv_cell(graded["names"][attack_id]), TOY)


def test_the_grader_exits_0_and_every_learner_has_a_row(graded):
    results = graded["results"]
    assert results.returncode == 0, results.output[-3000:]
    assert len(results.rows) == len(ATTACKS) + len(CONTROLS) + len(COLLIDING), sorted(results.rows)


def test_controls_in_the_same_run(graded):
    results = graded["results"]
    assert results.earned("reference-solution", TOY) == FULL, results.output[-3000:]
    assert results.earned("reference-blank", TOY) == 0
    assert results.earned("reference-half", TOY) == 3
    assert results.earned(COLLIDING[0], TOY) == FULL
    assert results.earned(COLLIDING[1], TOY) == 0


@pytest.mark.parametrize("attack", ATTACKS, ids=[attack["id"] for attack in ATTACKS])
def test_no_attack_earns_more_than_its_honest_base(graded, attack):
    row = _row(graded, attack["id"])
    base = attack["base"]
    ceiling = graded["results"].earned(CONTROLS[base], TOY) if base in CONTROLS else 0
    assert float(row["earned"]) <= ceiling, (attack["id"], row)


def test_an_honest_notebook_with_a_deep_line_gets_full_marks(graded):
    row = _row(graded, "c6-deep-honest")
    assert float(row["earned"]) == FULL and "grader-error" not in row["flags"], row


def test_a_hard_link_to_the_instructors_file_is_not_read(graded):
    row = _row(graded, "c4-hard-link")
    assert float(row["earned"]) == 0 and "missing" in row["flags"], row


def test_no_csv_cell_starts_a_formula(graded):
    with (graded["results"].out / "grades.csv").open(newline="", encoding="utf-8") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]


def _outside_fences(markdown: str) -> str:
    return re.sub(r"(?ms)^(`{3,})[^\n]*\n.*?^\1\s*$", "", markdown)


def test_no_feedback_page_carries_a_learners_raw_html(graded):
    out = graded["results"].out
    pages = sorted((out / "feedback").rglob("*.html"))
    assert len(pages) == len(graded["results"].rows)  # a missing notebook has a page too
    for page in pages + sorted((out / "feedback").rglob("*.md")):
        text = page.read_text(encoding="utf-8")
        if page.suffix == ".md":
            text = _outside_fences(text)
        assert "<script" not in text and "<img" not in text, page


def test_the_hostile_message_is_shown_escaped(graded):
    from tools.grade.safe import file_stem, printable

    stem = file_stem(graded["names"]["c3-hostile-message"])
    page = (graded["results"].out / "feedback" / stem / "00_toy.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(2)&gt; " + printable("\udcff") in page


def test_colliding_names_keep_their_own_files(graded):
    from tools.grade.safe import file_stem

    out = graded["results"].out
    full, blank = (json.loads((out / "learners" / f"{file_stem(n)}.json").read_text())
                   for n in COLLIDING)
    assert (full["earned"], blank["earned"]) == (FULL, 0)


def test_the_fresh_seed_reaches_no_learner(graded):
    from tools.grade.judge import fresh_seed
    from tools.grade.safe import file_stem

    learner = graded["names"]["c3-seed-in-feedback"]
    out = graded["results"].out
    fresh = str(fresh_seed(SEED, learner, TOY, "mean-square-value"))
    stem = file_stem(learner)
    for path in [out / "learners" / f"{stem}.json", *(out / "feedback" / stem).iterdir()]:
        text = path.read_text(encoding="utf-8")
        assert fresh not in text and str(SEED) not in text, path
    assert str(SEED) in graded["results"].output  # the instructor's log has it


def test_a_frame_flood_does_not_grow_the_judge(graded):
    run = json.loads((graded["results"].out / "run.json").read_text())
    assert run["judge_peak_mb"] < 1000, run


def test_the_checkout_is_unchanged(graded):
    assert _tree_hash(graded["course"]) == graded["before"]
