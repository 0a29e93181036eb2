"""Gradebooks an LMS imports: Canvas's columns, Moodle's identity columns from a roster, a
missing notebook empty (never 0), nobody dropped silently."""

from __future__ import annotations

import csv

import pytest

from tools.gradebook import main, match_roster, write_gradebook

GRADES = """\
learner,notebook,earned,possible,flags
bob,01_self_attention.ipynb,0,40,missing
alice,02_cross_attention.ipynb,12.5,30,
alice,01_self_attention.ipynb,40,40,
bob,02_cross_attention.ipynb,30,30,forbidden-call;timeout
carol,01_self_attention.ipynb,7,40,
smithdan_4242,01_self_attention.ipynb,0,40,
'=evil,01_self_attention.ipynb,1,40,
"""

CANVAS_EXPORT = """\
Student,ID,SIS User ID,SIS Login ID,Section,Chapter 1 (101)
    Points Possible,,,,,47
"Alice, A",11,S11,alice,Sec 1,
"Bob, B",12,S12,bob,Sec 1,
"Smith, Dan",4242,S13,dsmith,Sec 2,
"Zed, Z",14,S14,zed,Sec 2,
"""

MOODLE_EXPORT = """\
First name,Last name,ID number,Institution,Department,Email address
Alice,A,1001,,,alice@uni.example
Carol,C,1003,,,carol@uni.example
"""


def read(path):
    return list(csv.reader(path.open(newline="", encoding="utf-8")))


@pytest.fixture
def grades(tmp_path):
    path = tmp_path / "grades.csv"
    path.write_text(GRADES)
    return path


def test_without_a_roster_canvas_columns_and_missing_is_empty(grades, tmp_path):
    rows = read(write_gradebook(grades, tmp_path))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                       "01_self_attention", "02_cross_attention"]
    body = {row[0]: row for row in rows[1:]}
    assert body["bob"][5:] == ["", "30"], "missing is empty, not 0"
    assert body["carol"][5:] == ["7", ""], "not handed in at all: empty"
    assert body["smithdan_4242"][1] == "4242", "a Canvas download's user id fills ID"
    assert body["'=evil"][0] == "'=evil", "no formula"
    wide = read(tmp_path / "gradebook-wide.csv")
    assert wide[0] == ["learner", "01_self_attention", "02_cross_attention", "total", "possible",
                       "flags"]
    assert ["alice", "40", "12.5", "52.5", "70", ""] in wide


def test_a_canvas_export_as_roster(grades, tmp_path):
    roster = tmp_path / "canvas.csv"
    roster.write_text(CANVAS_EXPORT)
    warnings = []
    rows = read(write_gradebook(grades, tmp_path, roster, warnings.append))
    assert rows[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    body = {row[0]: row for row in rows[1:]}
    assert "    Points Possible" not in body
    assert body["Alice, A"] == ["Alice, A", "11", "S11", "alice", "Sec 1", "40", "12.5"]
    assert body["Bob, B"][5:] == ["", "30"]
    assert body["Smith, Dan"][5:] == ["0", ""], "matched by Canvas's user id"
    assert body["Zed, Z"][5:] == ["", ""], "on the roster, handed in nothing: empty"
    assert body["carol"][3] == "carol", "not on the roster: kept, and said"
    assert "carol" in warnings[0] and "evil" in warnings[0]


def test_a_moodle_export_as_roster(grades, tmp_path):
    roster = tmp_path / "moodle.csv"
    roster.write_text(MOODLE_EXPORT)
    write_gradebook(grades, tmp_path, roster, lambda text: None)
    rows = read(tmp_path / "gradebook-moodle.csv")
    assert rows[0] == ["First name", "Last name", "ID number", "Institution", "Department",
                       "Email address", "01_self_attention", "02_cross_attention"]
    body = {row[5]: row for row in rows[1:] if row[5]}
    assert body["alice@uni.example"][6:] == ["40", "12.5"]
    assert body["carol@uni.example"][6:] == ["7", ""]


def test_an_ambiguous_name_is_not_matched():
    rows = [{"Student": "Lee, Kim", "ID": "1"}, {"Student": "Lee Kim", "ID": "2"}]
    assert match_roster(["leekim"], rows) == {}
    assert match_roster(["leekim_2"], rows) == {"leekim_2": 1}


def test_a_file_that_is_not_grades_csv_is_refused(tmp_path):
    grades = tmp_path / "grades.csv"
    grades.write_text("name,score\nalice,3\n")
    with pytest.raises(ValueError, match="expected the header learner,notebook,earned,possible,flags"):
        write_gradebook(grades, tmp_path)
    assert main([str(grades)]) == 2
