"""The wide gradebook for LMS import: one row per learner, one column per notebook."""

from __future__ import annotations

import csv

import pytest

from tools.gradebook import write_gradebook

GRADES = """\
learner,notebook,earned,possible,flags
bob,01_self_attention.ipynb,0,40,missing
alice,02_cross_attention.ipynb,12.5,30,
alice,01_self_attention.ipynb,40,40,
bob,02_cross_attention.ipynb,30,30,forbidden-call;timeout
carol,01_self_attention.ipynb,7,40,
"""


def test_one_row_per_learner_one_column_per_notebook(tmp_path):
    grades = tmp_path / "grades.csv"
    grades.write_text(GRADES)
    out = write_gradebook(grades, tmp_path / "gradebook.csv")
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["learner", "01_self_attention", "02_cross_attention", "total", "possible", "flags"]
    assert rows[1:] == [
        ["alice", "40", "12.5", "52.5", "70", ""],
        ["bob", "0", "30", "30", "70", "01_self_attention:missing;02_cross_attention:forbidden-call;02_cross_attention:timeout"],
        ["carol", "7", "", "7", "70", ""],  # no 02 handed in: empty, not 0
    ]


def test_a_file_that_is_not_grades_csv_is_refused(tmp_path):
    grades = tmp_path / "grades.csv"
    grades.write_text("name,score\nalice,3\n")
    with pytest.raises(ValueError, match="expected the header learner,notebook,earned,possible,flags"):
        write_gradebook(grades, tmp_path / "gradebook.csv")
