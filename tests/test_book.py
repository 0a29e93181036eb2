"""The strict build really is strict: a failing cell fails it, and so does a dangling reference.
Each book is built as ``make book`` builds the site: tools/execute_book.py first executes its
notebook into the build's jupyter-cache, then the build reads it from there."""

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
    executed = subprocess.run(
        [sys.executable, "-m", "tools.execute_book", str(book / "_build" / ".jupyter_cache"),
         str(book / "page.ipynb")],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert executed.returncode == 0, executed.stdout + executed.stderr
    done = subprocess.run(
        [str(Path(sys.executable).parent / "jupyter-book"), "build", str(book), "-W", "-n", "--keep-going"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    return done.returncode, executed.stdout + done.stdout + done.stderr


def test_a_sound_book_builds(tmp_path):
    code, output = build(tmp_path, "print(6 * 7)", "See {doc}`page`.")
    assert code == 0, output[-3000:]
    # The build read what tools/execute_book.py executed instead of running the notebook again.
    assert "executed 1 of 1 notebooks" in output and "Using cached notebook" in output, output[-3000:]
    assert "Executing notebook" not in output, output[-3000:]
    assert (tmp_path / "_build" / "html" / "_static" / "mathjax" / "tex-chtml.js").exists(), "MathJax is not vendored"


def test_a_failing_cell_fails_the_build(tmp_path):
    code, output = build(tmp_path, "1 / 0", "See {doc}`page`.")
    # execute_book leaves the failed notebook out of the cache; the build runs it and fails.
    assert "failed (the build runs them again)" in output, output[-3000:]
    assert code != 0 and "Executing notebook" in output and "ZeroDivisionError" in output, output[-3000:]


def test_a_broken_reference_fails_the_build(tmp_path):
    code, output = build(tmp_path, "print(6 * 7)", "See {doc}`a-page-that-does-not-exist`.")
    assert code != 0 and "a-page-that-does-not-exist" in output, output[-3000:]


# --------------------------------------------------------------------------- figures on a phone


def _figure_problems(notebook: Path) -> list[str]:
    """A figure cell's smallest font is at least FLOOR_PT and its image metadata names it
    (site.js sizes the figure from that class; tests/browser measures the result)."""
    import math

    from tests.browser import figures

    problems = []
    cells = nbformat.read(notebook, as_version=4).cells
    drawing = dict(figures.figure_cells(notebook))
    for index, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        image = cell.metadata.get("mystnb", {}).get("image", {})
        if index not in drawing:
            if image:
                problems.append(f"cell {index} has image metadata but draws no matplotlib figure")
            continue
        try:
            smallest = min([figures.DEFAULT_PT, *figures.text_sizes(drawing[index])])
        except figures.UnknownSize as error:
            problems.append(f"cell {index}: a font size the check cannot read: {error}")
            continue
        if smallest < figures.FLOOR_PT:
            problems.append(f"cell {index}: text of {smallest:g} pt, under {figures.FLOOR_PT} pt")
        wanted = f"site-smallest-text-{math.floor(smallest)}pt"
        if image.get("classes") != wanted:
            problems.append(f"cell {index}: mystnb.image.classes is {image.get('classes')!r}, "
                            f"its smallest text says {wanted!r}")
    return problems


def test_figures_state_their_smallest_text():
    problems = [f"{path.name}: {problem}" for path in sorted((ROOT / "chapters").glob("*.ipynb"))
                for problem in _figure_problems(path)]
    assert not problems, "\n".join(problems)


def test_the_figure_check_sees_small_and_unstated_text(tmp_path):
    from tests.browser import figures

    notebook = nbformat.v4.new_notebook()
    small = nbformat.v4.new_code_cell("fig, ax = plt.subplots()\nax.set_title('t', fontsize=6)")
    small.metadata["mystnb"] = {"image": {"classes": "site-smallest-text-6pt"}}
    unstated = nbformat.v4.new_code_cell("fig, ax = plt.subplots()\nax.text(0, 0, 'a', size='small')")
    computed = nbformat.v4.new_code_cell("fig, ax = plt.subplots()\nax.legend(fontsize=2 * k)")
    notebook.cells = [small, unstated, computed]
    nbformat.write(notebook, tmp_path / "figures.ipynb")
    problems = "\n".join(_figure_problems(tmp_path / "figures.ipynb"))
    assert "cell 0: text of 6 pt" in problems
    assert "cell 1: mystnb.image.classes is None, its smallest text says 'site-smallest-text-8pt'" in problems
    assert "cell 2: a font size the check cannot read: 2 * k" in problems
    assert figures.text_sizes("np.random.default_rng(0).normal(size=3)\nplt.plot(x)") == []
