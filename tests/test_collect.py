"""Collect: every layout an instructor downloads is recognised, the most complete copy is
graded, and a folder with no learner in it is an error (never a class of silent zeros).
Also the pieces around a class-scale run: --shard, merge, progress lines without a terminal."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tools.grade.__main__ import shard
from tools.grade.collect import NoLearners, collect, official_name
from tools.grade.merge import merge_results
from tools.grade.report import Progress

NAMES = ["01_self_attention.ipynb", "02_cross_attention.ipynb"]
WANTED = set(NAMES)


@pytest.mark.parametrize("file_name, expected", [
    ("01_self_attention.ipynb", "01_self_attention.ipynb"),
    ("Copy of 01_self_attention.ipynb", "01_self_attention.ipynb"),
    ("Copy of Copy of 01_self_attention.ipynb", "01_self_attention.ipynb"),
    ("01_self_attention (1).ipynb", "01_self_attention.ipynb"),
    ("Copy of 01_self_attention (2).ipynb", "01_self_attention.ipynb"),
    ("01_self_attention-1.ipynb", "01_self_attention.ipynb"),
    ("01_self_attention-Copy1.ipynb", "01_self_attention.ipynb"),
    ("03_causal_attention.ipynb", None),
    ("01_self_attention.py", None),
    ("notes.ipynb", None),
])
def test_colab_and_browser_names_are_recognised(file_name, expected):
    assert official_name(file_name, WANTED) == expected


def touch(path, text="{}"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_folders_canvas_and_moodle_layouts_in_one_class(tmp_path):
    touch(tmp_path / "alice" / "exercises" / "01_self_attention.ipynb")
    touch(tmp_path / "Ada Lovelace_1234_assignsubmission_file_" / "Copy of 02_cross_attention.ipynb")
    touch(tmp_path / "smithbob_LATE_111_222_01_self_attention.ipynb")
    touch(tmp_path / "smithbob_111_223_02_cross_attention-1.ipynb")
    touch(tmp_path / "Grace Hopper_77_assignsubmission_file_01_self_attention (1).ipynb")
    touch(tmp_path / "readme.txt")
    learners = {s.learner: s for s in collect(tmp_path, NAMES)}
    assert set(learners) == {"alice", "Ada Lovelace_1234", "smithbob_111", "Grace Hopper_77"}
    assert set(learners["smithbob_111"].notebooks) == WANTED
    assert learners["Ada Lovelace_1234"].notebooks["02_cross_attention.ipynb"].name == (
        "Copy of 02_cross_attention.ipynb")
    assert set(learners["Grace Hopper_77"].notebooks) == {"01_self_attention.ipynb"}


def test_the_most_complete_copy_is_graded_and_flagged(tmp_path):
    blank = touch(tmp_path / "carol" / "01_self_attention.ipynb", "blank")
    full = touch(tmp_path / "carol" / "work" / "deep" / "Copy of 01_self_attention.ipynb", "full")
    counts = {blank: 0, full: 9}
    (carol,) = collect(tmp_path, NAMES, lambda name, path: counts[path])
    assert carol.notebooks["01_self_attention.ipynb"] == full
    assert carol.notes["01_self_attention.ipynb"] == ["several-copies"]
    assert any("(graded)" in line and "deep" in line for line in carol.copies["01_self_attention.ipynb"])
    counts[blank] = 9  # a tie: the shallowest wins
    (carol,) = collect(tmp_path, NAMES, lambda name, path: counts[path])
    assert carol.notebooks["01_self_attention.ipynb"] == blank


def test_an_empty_learner_folder_is_a_learner_with_nothing(tmp_path):
    touch(tmp_path / "alice" / "01_self_attention.ipynb")
    (tmp_path / "empty").mkdir()
    learners = {s.learner: s for s in collect(tmp_path, NAMES)}
    assert learners["empty"].notebooks == {}


def test_no_learner_is_an_error_that_says_why(tmp_path):
    with pytest.raises(NoLearners, match="is empty"):
        collect(tmp_path, NAMES)
    touch(tmp_path / "01_self_attention.ipynb")
    touch(tmp_path / "grades.xlsx")
    with pytest.raises(NoLearners, match="no learner folder.*01_self_attention.ipynb"):
        collect(tmp_path, NAMES)


def test_learner_folders_without_any_notebook_are_an_error(tmp_path):
    touch(tmp_path / "class-2026" / "alice" / "deep" / "deeper" / "x.txt")
    with pytest.raises(NoLearners, match="none holds a course notebook"):
        collect(tmp_path, NAMES)


def test_links_are_never_followed(tmp_path):
    secret = touch(tmp_path / "outside" / "01_self_attention.ipynb")
    (tmp_path / "class" / "eve").mkdir(parents=True)
    (tmp_path / "class" / "eve" / "01_self_attention.ipynb").symlink_to(secret)
    touch(tmp_path / "class" / "ann" / "02_cross_attention.ipynb")
    learners = {s.learner: s for s in collect(tmp_path / "class", NAMES)}
    assert learners["eve"].notebooks == {}


@pytest.mark.parametrize("text, expected", [("1/1", (1, 1)), ("3/10", (3, 10))])
def test_shard_argument(text, expected):
    assert shard(text) == expected


@pytest.mark.parametrize("text", ["0/3", "4/3", "1", "a/b"])
def test_bad_shard_argument(text):
    import argparse

    with pytest.raises(argparse.ArgumentTypeError):
        shard(text)


def results_folder(folder, rows, notebooks_per_learner):
    (folder / "learners").mkdir(parents=True)
    (folder / "feedback").mkdir()
    with (folder / "grades.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["learner", "notebook", "earned", "possible", "flags"])
        writer.writerows(rows)
    for learner, notebooks in notebooks_per_learner.items():
        document = {"learner": learner, "earned": sum(n["earned"] for n in notebooks),
                    "possible": sum(n["possible"] for n in notebooks), "grading": {"seed": 1},
                    "notebooks": notebooks}
        (folder / "learners" / f"{learner}.json").write_text(json.dumps(document))
        for entry in notebooks:
            touch(folder / "feedback" / learner / f"{entry['notebook'][:-6]}.md",
                  f"{folder.name} {entry['earned']}")
    return folder


def test_merge_joins_shards_and_a_regrade_replaces_only_its_rows(tmp_path):
    one = {"notebook": "01_self_attention.ipynb", "earned": 3, "possible": 47}
    two = {"notebook": "02_cross_attention.ipynb", "earned": 0, "possible": 30}
    a = results_folder(tmp_path / "a", [["ann", "01_self_attention.ipynb", "3", "47", ""],
                                        ["ann", "02_cross_attention.ipynb", "0", "30", "missing"]],
                       {"ann": [one, two]})
    b = results_folder(tmp_path / "b", [["'=bob", "01_self_attention.ipynb", "47", "47", ""]],
                       {"bob": [{**one, "earned": 47}]})
    out = tmp_path / "out"
    assert merge_results([a, b], out) == 3
    rows = list(csv.reader((out / "grades.csv").open()))
    assert rows[1:] == [["'=bob", "01_self_attention.ipynb", "47", "47", ""],
                        ["ann", "01_self_attention.ipynb", "3", "47", ""],
                        ["ann", "02_cross_attention.ipynb", "0", "30", "missing"]]
    regrade = results_folder(tmp_path / "r", [["ann", "01_self_attention.ipynb", "40", "47", ""]],
                             {"ann": [{**one, "earned": 40}]})
    merge_results([out, regrade], out)
    rows = {(r[0], r[1]): r for r in csv.reader((out / "grades.csv").open())}
    assert rows[("ann", "01_self_attention.ipynb")][2] == "40"
    assert rows[("ann", "02_cross_attention.ipynb")][2] == "0", "the other notebook stays"
    document = json.loads((out / "learners" / "ann.json").read_text())
    assert document["earned"] == 40 and len(document["notebooks"]) == 2
    assert (out / "feedback" / "ann" / "01_self_attention.md").read_text() == "r 40"
    assert (out / "feedback" / "ann" / "02_cross_attention.md").read_text() == "a 0"


def test_merge_refuses_a_folder_without_grades(tmp_path):
    (tmp_path / "x").mkdir()
    with pytest.raises(ValueError, match="no grades.csv"):
        merge_results([tmp_path / "x"], tmp_path / "out")


def test_progress_prints_lines_when_not_on_a_terminal():
    stream = io.StringIO()
    ticks = iter(range(0, 1000, 3))
    progress = Progress(40, stream=stream, clock=lambda: next(ticks), every_s=1e9)
    for number in range(40):
        progress.step(f"learner{number} 01_self_attention.ipynb")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 20 and lines[-1].startswith("grade: 40/40 notebooks graded (100%)")
    assert "min left" in lines[0] and "\r" not in stream.getvalue()


def test_a_stray_course_notebook_at_the_top_is_named(tmp_path):
    touch(tmp_path / "alice" / "01_self_attention.ipynb")
    touch(tmp_path / "Copy of 02_cross_attention.ipynb")
    touch(tmp_path / "readme.txt")
    heard = []
    learners = collect(tmp_path, NAMES, warn=heard.append)
    assert [s.learner for s in learners] == ["alice"]
    assert len(heard) == 1 and "Copy of 02_cross_attention.ipynb" in heard[0]
    assert "readme.txt" not in heard[0]


def test_a_folder_one_level_too_high_is_an_error(tmp_path):
    for learner in ("ann", "ben", "cy"):
        touch(tmp_path / "class-2026" / learner / "01_self_attention.ipynb")
    with pytest.raises(NoLearners, match="one level too high.*class-2026"):
        collect(tmp_path, NAMES)
    assert len(collect(tmp_path / "class-2026", NAMES)) == 3


def test_canvas_late_in_any_case(tmp_path):
    touch(tmp_path / "doejane_late_5_6_01_self_attention.ipynb")
    (jane,) = collect(tmp_path, NAMES)
    assert jane.learner == "doejane_5"
