"""The student edition of the site leaves the worked solutions out; the default keeps them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

BIN = Path(sys.executable).parent


def build(edition: str, out: Path) -> Path:
    environment = {**os.environ, "EDITION": edition, "EDITION_EXECUTE": "off"}
    done = subprocess.run(
        [str(BIN / "jupyter-book"), "build", str(ROOT), "--path-output", str(out), "-W", "-n", "--keep-going", "-q"],
        capture_output=True, text=True, env=environment, timeout=600, check=False,
    )
    assert done.returncode == 0, f"the {edition} edition did not build strictly:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    return out / "_build" / "html"


@pytest.mark.slow
def test_student_edition_has_no_solutions(tmp_path):
    html = build("student", tmp_path / "student")
    assert (html / "chapters" / "01_self_attention.html").exists()
    assert (html / "exercises" / "01_self_attention.html").exists()
    assert not (html / "solutions").exists(), "the student edition wrote solution pages"
    linking = [
        str(page.relative_to(html)) for page in html.rglob("*.html")
        if re.search(r'href="[^"]*solutions/\d\d', page.read_text(encoding="utf-8"))
    ]
    assert not linking, f"student-edition pages link to solutions: {linking}"
    assert not list((html / "_sources").rglob("solutions*")), "solution sources were copied"


def test_unknown_edition_is_refused(tmp_path):
    environment = {**os.environ, "EDITION": "teacher", "EDITION_EXECUTE": "off"}
    done = subprocess.run(
        [str(BIN / "jupyter-book"), "build", str(ROOT), "--path-output", str(tmp_path), "-q"],
        capture_output=True, text=True, env=environment, timeout=600, check=False,
    )
    assert "EDITION must be one of instructor, student" in done.stdout + done.stderr
