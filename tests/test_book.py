"""The strict build really is strict: a failing cell fails it, and so does a dangling reference."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import yaml

from tests.helpers import ROOT


def build(book: Path, code: str, prose: str) -> tuple[int, str]:
    """Build a two-page book with the course's configuration; return the exit code and output."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["sphinx"].pop("local_extensions", None)  # the site's HTML fixes are not under test here
    config["execute"]["execute_notebooks"] = "force"
    for key in ("bibtex_bibfiles", "logo"):
        config.pop(key, None)
    config["html"].pop("favicon", None)
    (book / "_config.yml").write_text(yaml.safe_dump(config))
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: page\n")
    (book / "intro.md").write_text(f"# Intro\n\n{prose}\n")
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = [nbformat.v4.new_markdown_cell("# Page"), nbformat.v4.new_code_cell(code)]
    nbformat.write(notebook, book / "page.ipynb")
    done = subprocess.run(
        [str(Path(sys.executable).parent / "jupyter-book"), "build", str(book), "-W", "-n", "--keep-going"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    return done.returncode, done.stdout + done.stderr


def test_a_sound_book_builds(tmp_path):
    code, output = build(tmp_path, "print(6 * 7)", "See {doc}`page`.")
    assert code == 0, output[-3000:]
    assert (tmp_path / "_build" / "html" / "_static" / "mathjax" / "tex-chtml.js").exists(), "MathJax is not vendored"


def test_a_failing_cell_fails_the_build(tmp_path):
    code, output = build(tmp_path, "1 / 0", "See {doc}`page`.")
    assert code != 0 and "page.ipynb" in output, output[-3000:]


def test_a_broken_reference_fails_the_build(tmp_path):
    code, output = build(tmp_path, "print(6 * 7)", "See {doc}`a-page-that-does-not-exist`.")
    assert code != 0 and "a-page-that-does-not-exist" in output, output[-3000:]
