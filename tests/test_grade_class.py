"""`make grade-class` on the synthetic class (tests/synthetic_class.py): LMS layouts, Colab and
JupyterLab names, several copies, odd names, an empty folder, invalid JSON. Every learner gets
a row, every row is right, no zero is silent; the Canvas gradebook, the class report and the
similarity list exist; --learner regrades one learner and merges; --shard and merge give the
same rows as one run.

The judge runs in its warm --unsafe-no-sandbox mode here: this tests the routes around the
judge (collect, report, merge), not the sandbox (tests/test_judge_sandbox.py does that)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from tests.helpers import ROOT
from tests.synthetic_class import NOTEBOOK, build

POSSIBLE = json.loads((ROOT / "exercises" / "grading_manifest.json").read_text())[
    "notebooks"][NOTEBOOK]["possible"]


def rows_of(folder):
    with (folder / "grades.csv").open(newline="", encoding="utf-8") as handle:
        return {row["learner"]: row for row in csv.DictReader(handle)}


def judge(*arguments):
    return subprocess.run([sys.executable, "-m", "tools.grade", *arguments, "--notebook", NOTEBOOK,
                           "--unsafe-no-sandbox", "--seed", "7", "--jobs", "2"],
                          cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("synthetic")
    expected = build(base / "class")
    out = base / "results"
    done = subprocess.run(
        ["make", "-s", "-o", ".venv/.installed", "-o", "grader-deps", "grade-class",
         f"SUBMISSIONS={base / 'class'}", f"OUT={out}", f"NOTEBOOKS={NOTEBOOK}",
         "GRADE_ARGS=--unsafe-no-sandbox --seed 7"],
        cwd=ROOT, capture_output=True, text=True, timeout=1200, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return base, expected, out, done.stdout + done.stderr


def test_every_learner_has_a_row_and_every_row_is_right(graded):
    _, expected, out, _ = graded
    rows = rows_of(out)
    csv_name = {"=SUM(A1:A9)": "'=SUM(A1:A9)"}  # never a formula in a CSV
    assert set(rows) == {csv_name.get(name, name) for name in expected}
    for learner, (share, flags) in expected.items():
        row = rows[csv_name.get(learner, learner)]
        got_flags = set(filter(None, row["flags"].split(";"))) - {"unsandboxed"}
        assert (float(row["earned"]), got_flags) == (share * POSSIBLE, flags), (learner, row)


def test_no_zero_is_silent(graded):
    _, _, out, _ = graded
    blank = {"turingalan_1002"}  # the blank exercise handed in: 0, and every cell says why
    for learner, row in rows_of(out).items():
        if float(row["earned"]) == 0 and learner not in blank:
            assert set(row["flags"].split(";")) - {"unsandboxed", ""}, (learner, row)
    document = json.loads((out / "learners" / "turingalan_1002.json").read_text())
    cells = document["notebooks"][0]["cells"]
    assert all(cell["earned"] == 0 and cell["message"] for cell in cells)
    assert "not attempted" in {cell["status"] for cell in cells}


def test_the_gradebook_has_canvas_columns(graded):
    _, expected, out, _ = graded
    rows = list(csv.reader((out / "gradebook.csv").open(newline="", encoding="utf-8")))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                       NOTEBOOK.removesuffix(".ipynb")]
    body = {row[0]: row for row in rows[1:]}
    assert body["empty"][5] == "", "a missing notebook is empty, not 0"
    assert body["lovelaceada_1001"][1] == "1001", "Canvas's user id from its download"
    assert body["turingalan_1002"][5] == "0"
    assert len(rows) - 1 == len(expected)


def test_the_class_report_and_the_similarity_list_exist(graded):
    _, _, out, _ = graded
    report = (out / "class-report.html").read_text(encoding="utf-8")
    assert "Pass rate of each graded cell" in report and "data:image/png;base64," in report
    assert "broken" in report and "unreadable" in report, "the flagged learners are listed"
    similarity = json.loads((out / "similarity.json").read_text(encoding="utf-8"))
    assert [(pair["a"], pair["b"]) for pair in similarity["pairs"]] == [("carol", "dave")]
    assert (out / "similarity.html").exists()


def test_feedback_for_the_most_complete_copy_says_which_was_graded(graded):
    _, _, out, _ = graded
    document = json.loads((out / "learners" / "bob.json").read_text())
    notes = " ".join(document["notebooks"][0]["notes"])
    assert "old/work/Copy of 01_self_attention.ipynb" in notes and "(graded)" in notes


def test_regrading_one_learner_merges_into_the_results(graded, tmp_path):
    base, _, out, _ = graded
    copy = tmp_path / "results"
    subprocess.run(["cp", "-r", str(out), str(copy)], check=True)
    before = rows_of(copy)
    (base / "class" / "empty" / NOTEBOOK).write_text(
        (ROOT / "solutions" / NOTEBOOK).read_text(encoding="utf-8"), encoding="utf-8")
    try:
        done = judge(str(base / "class"), "--out", str(copy), "--learner", "empty")
    finally:
        (base / "class" / "empty" / NOTEBOOK).unlink()
    assert done.returncode == 0, done.stderr[-2000:]
    after = rows_of(copy)
    assert float(after["empty"]["earned"]) == POSSIBLE
    assert {k: v for k, v in after.items() if k != "empty"} == {
        k: v for k, v in before.items() if k != "empty"}
    unknown = judge(str(base / "class"), "--out", str(copy), "--learner", "nobody")
    assert unknown.returncode == 2 and "no learner 'nobody'" in unknown.stderr


def test_shards_merged_equal_one_run(graded, tmp_path):
    base, _, out, _ = graded
    parts = []
    for part in (1, 2, 3):
        folder = tmp_path / f"shard{part}"
        done = judge(str(base / "class"), "--out", str(folder), "--shard", f"{part}/3")
        assert done.returncode == 0, done.stderr[-2000:]
        parts.append(folder)
    assert sum(len(rows_of(folder)) for folder in parts) == len(rows_of(out))
    merged = subprocess.run([sys.executable, "-m", "tools.grade", "merge", *map(str, parts),
                             "--out", str(tmp_path / "merged")], cwd=ROOT, capture_output=True,
                            text=True, check=False)
    assert merged.returncode == 0, merged.stderr
    assert rows_of(tmp_path / "merged") == rows_of(out), "same seed, same rows"


def test_progress_lines_when_not_on_a_terminal(graded):
    _, expected, _, output = graded
    assert f"grade: {len(expected)}/{len(expected)} notebooks graded (100%)" in output


def test_a_flat_folder_of_unrecognised_files_is_an_error(tmp_path):
    (tmp_path / "01_self_attention.ipynb").write_text("{}")
    done = judge(str(tmp_path), "--out", str(tmp_path / "out"))
    assert done.returncode == 2 and "no learner folder" in done.stderr
    assert not (tmp_path / "out").exists()
