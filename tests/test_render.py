"""Every notebook a learner opens, rendered as Jupyter renders it (nbconvert knows no MyST, like
JupyterLab and Colab), shows no raw MyST: no ``{role}``, no directive fence, no ``(label)=`` target
and no bare citation key. This holds for the Colab/Binder copies in colab/ (written by
tools/make_colab.py, opened by the launch buttons) and for exercises/. The copies' markdown cells
also go through nbconvert's own markdown renderer (mistune, as nbconvert and nbviewer use it) and
must show every table as a table, as JupyterLab and Colab do. The book's chapter and solution
sources keep MyST; the strict build checks them.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import nbformat
import pytest
from nbconvert import HTMLExporter, MarkdownExporter
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from tools import make_colab

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = make_colab.FOLDERS
ORIGINALS = sorted(path for folder in FOLDERS for path in (ROOT / folder).glob("*.ipynb"))
COPIES = sorted(path for folder in FOLDERS for path in (ROOT / "colab" / folder).glob("*.ipynb"))

ROLE_TEXT = re.compile(r"\{(?:[a-z]+:)?[a-z]+(?::[a-z]+)?\}(?=`|<code>)")
DIRECTIVE_AS_CODE = re.compile(r'class="language-\{[\w:-]+\}')
COLON_FENCE = re.compile(r":{3,}\s*\{[\w:-]+\}")
BACKTICK_FENCE = re.compile(r"`{3,}\s*\{[\w:-]+\}")
TARGET_TEXT = re.compile(r"(?:^|>)\s*\([\w:.-]+\)=\s*(?:<|$)", re.MULTILINE)
PRE = re.compile(r"<pre\b.*?</pre>", re.DOTALL | re.IGNORECASE)
CODE = re.compile(r"<code\b.*?</code>", re.DOTALL | re.IGNORECASE)
TABLE_ROW = re.compile(r"^[\s>]*\|.*\|\s*$", re.MULTILINE)
TAGS = re.compile(r"<[^>]+>")


@cache
def citation_keys() -> tuple[str, ...]:
    return tuple(sorted(make_colab.bibliography()))


@cache
def _exporter() -> HTMLExporter:
    # "basic": the notebook's body as JupyterLab would show it, without the page's styles.
    return HTMLExporter(template_name="basic")


def _prose(path: Path) -> nbformat.NotebookNode:
    """The notebook's markdown cells (code cells show code, which may show anything; leaving
    them out also spares the syntax highlighting that makes up most of the render time)."""
    notebook = nbformat.read(path, as_version=4)
    notebook.cells = [cell for cell in notebook.cells if cell.cell_type == "markdown"]
    return notebook


def _html(path: Path) -> str:
    body, _ = _exporter().from_notebook_node(_prose(path))
    return body


def _markdown(path: Path) -> str:
    body, _ = MarkdownExporter().from_notebook_node(_prose(path))
    return body


def raw_myst(html: str) -> list[str]:
    """What of MyST a reader of this rendered notebook would see as raw text."""
    problems = [f"a directive shown as a code block: {m.group(0)}" for m in DIRECTIVE_AS_CODE.finditer(html)]
    prose = PRE.sub(" ", html)  # code cells and code blocks may show anything
    problems += [f"a raw role {m.group(0)}" for m in ROLE_TEXT.finditer(prose)]
    text = TAGS.sub(" ", prose)
    problems += [f"a raw directive fence {m.group(0)!r}" for m in COLON_FENCE.finditer(text)]
    problems += [f"a raw directive fence {m.group(0)!r}" for m in BACKTICK_FENCE.finditer(text)]
    problems += [f"a raw target {m.group(0).strip('<> ')!r}" for m in TARGET_TEXT.finditer(prose)]
    code_free = re.sub(r"<code>.*?</code>", " ", prose, flags=re.DOTALL)
    for key in citation_keys():
        if re.search(rf"\b{re.escape(key)}\b", TAGS.sub(" ", code_free), re.IGNORECASE):
            problems.append(f"a bare citation key {key}")
    return problems


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_every_notebook_has_a_colab_copy():
    expected = {_name(path) for path in ORIGINALS}
    copies = {_name(path).removeprefix("colab/") for path in COPIES}
    assert expected == copies, f"missing: {sorted(expected - copies)}, extra: {sorted(copies - expected)}"


def test_colab_copies_are_up_to_date(capsys):
    assert make_colab.main(["--check"]) == 0, capsys.readouterr().out


@pytest.mark.parametrize("path", COPIES, ids=_name)
def test_colab_copy_renders_without_myst(path):
    html = _html(path)
    problems = raw_myst(html)
    assert not problems, f"{_name(path)} rendered by nbconvert shows raw MyST:\n  - " + "\n  - ".join(problems)
    # The Markdown export must agree: nothing of MyST left in the markdown cells either.
    markdown = re.sub(r"^```.*?^```", "", _markdown(path), flags=re.DOTALL | re.MULTILINE)
    left = re.findall(r"\{(?:term|cite(?::[a-z]+)?|doc|ref|eq|numref)\}", markdown)
    assert not left, f"{_name(path)}: roles left in the markdown: {left[:5]}"


@pytest.mark.parametrize("path", sorted((ROOT / "exercises").glob("*.ipynb")), ids=_name)
def test_exercise_renders_without_myst(path):
    """Learners open exercises/ itself in JupyterLab (a clone, Binder's terminal command): its
    markdown is plain too. (Chapters and solutions are the book's MyST sources; learners get
    their colab/ copies, checked above.)"""
    problems = raw_myst(_html(path))
    assert not problems, f"{_name(path)} rendered by nbconvert shows raw MyST:\n  - " + \
        "\n  - ".join(problems)


def tables_misread(markdown: str) -> list[str]:
    """Where nbconvert's renderer (mistune, used by nbconvert and nbviewer) and a GFM reader
    (markdown-it, standing in for JupyterLab's and Colab's) disagree about a cell's tables:
    rows left as raw ``| a | b |`` text, or a different number of tables."""
    html = markdown2html_mistune(markdown)
    text = TAGS.sub(" ", CODE.sub(" ", PRE.sub(" ", html)))
    problems = [f"a raw table row {row.strip()[:60]!r}" for row in TABLE_ROW.findall(text)]
    tokens = make_colab.commonmark_parser().parse(markdown)
    gfm = sum(token.type == "table_open" for token in tokens)
    gfm += sum(token.content.count("<table") for token in tokens if token.type == "html_block")
    if gfm != html.count("<table"):
        problems.append(f"{gfm} tables for a GFM reader, {html.count('<table')} for nbconvert")
    return problems


@pytest.mark.parametrize("path", COPIES, ids=_name)
def test_colab_copy_reads_the_same_in_nbconvert_as_in_jupyterlab(path):
    """Each markdown cell through nbconvert's own markdown renderer: every table is a table (a
    pipe table inside a quoted box is not one for mistune), and no MyST is left."""
    problems = []
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        if cell.cell_type == "markdown":
            found = tables_misread(cell.source) + raw_myst(markdown2html_mistune(cell.source))
            problems += [f"cell {index}: {problem}" for problem in found]
    assert not problems, f"{_name(path)}:\n  - " + "\n  - ".join(problems)


def test_the_table_check_sees_a_table_nbconvert_cannot_read():
    quoted = "> **Note**\n>\n> | a | b |\n> |---|---|\n> | `x` | $y$ |\n"
    assert "a raw table row '| a | b |'" in tables_misread(quoted)
    assert not tables_misread("| a | b |\n|---|---|\n| 1 | 2 |\n")
    converted = make_colab.html_tables_in_containers(quoted)
    assert not tables_misread(converted), converted
    assert "> <td><code>x</code></td>" in converted and "> <td>$y$</td>" in converted


# --------------------------------------------------------------------------- the converter itself


def _convert(text: str, docname: str = "chapters/99_test") -> str:
    return make_colab.Converter(docname, [text]).convert(text)


def test_the_checker_sees_raw_myst():
    """The render check can fail: a notebook with raw MyST is caught, each kind by name."""
    nb = nbformat.v4.new_notebook()
    key = citation_keys()[0]
    nb.cells = [nbformat.v4.new_markdown_cell(
        "See {term}`attention` and {cite:p}`" + key + "` or " + key + ".\n\n"
        "```{note}\nA box.\n```\n\n:::{dropdown} More\nText\n:::\n\n(my-label)=\n## Heading")]
    html, _ = _exporter().from_notebook_node(nb)
    problems = "\n".join(raw_myst(html))
    for what in ("raw role {term}", "raw role {cite:p}", "code block", ":::{dropdown}", "raw target",
                 f"citation key {key}"):
        assert what in problems, f"not caught: {what}\n{problems}"


def test_converter_turns_the_subset_into_plain_markdown():
    terms = make_colab.glossary_terms()
    key = citation_keys()[0]
    source = (
        "Attention {term}`weights <attention weights>` and {term}`softmax`, "
        "after {cite:t}`" + key + "` {cite:p}`" + key + "`.\n\n"
        "$$ a = b $$ (eq-test)\n\nAs {eq}`eq-test` shows, `{term}` stays code.\n\n"
        "````{admonition} A *title*\n:class: tip\nBody with $x$.\n\n```python\nx = 1\n```\n````\n\n"
        ":::{dropdown} Proof\n```{note}\nInner.\n```\n:::\n\n(sec-x)=\n## A section\n"
        "![A figure of the model](../_static/architecture.svg) and [the glossary](../glossary.md)."
    )
    out = _convert(source)
    site = make_colab.site_url()
    assert f"[weights]({site}glossary.html#{terms['attention weights']})" in out
    assert f"[softmax]({site}glossary.html#{terms['softmax']})" in out
    reference = make_colab.bibliography()[key]
    assert f"({reference.year})]({site}bibliography.html)" in out
    assert f", {reference.year}]({site}bibliography.html))" in out
    assert "\\tag{1} $$" in out and f"[(1)]({site}chapters/99_test.html#equation-eq-test)" in out
    assert "`{term}` stays code" in out
    assert "> **A *title***" in out and "> ```python" in out and "> x = 1" in out
    assert "> **Proof**" in out and "> > **Note**" in out and "> > Inner." in out
    assert "(sec-x)=" not in out and "## A section" in out
    assert f"![A figure of the model]({site}_static/architecture.svg)" in out
    assert f"[the glossary]({site}glossary.html)" in out
    assert not re.search(r"\{[\w:-]+\}`", out.replace("`{term}`", ""))


def test_converter_leaves_code_and_math_alone_and_boxes_tables_as_html():
    source = ("`{term}`x`` and $\\{a\\}`b`$ and [a link](https://example.org/{term}`x`)\n\n"
              "```python\n{term}`inside code`\n```\n\n"
              "```{note}\n| a | b |\n|---|---|\n| $x_1$ | {term}`softmax` |\n```")
    out = _convert(source)
    assert out.startswith("`{term}`x`` and $\\{a\\}`b`$ and [a link](https://example.org/{term}`x`)")
    assert "```python\n{term}`inside code`\n```" in out
    assert "> <td>$x_1$</td>" in out and "glossary.html#term-softmax" in out and "| a |" not in out


def test_converter_refuses_what_is_outside_the_subset():
    for text in ("{numref}`fig-x`", "```{figure} x.png\n```", "{term}`no such term here`",
                 "{cite:p}`nosuchkey1999`", "- a list\n\n  ```{note}\n  A box in a list.\n  ```"):
        with pytest.raises(ValueError):
            _convert(text)


def test_glossary_anchors_exist_in_the_built_site():
    glossary = ROOT / "_build" / "html" / "glossary.html"
    if not glossary.is_file():
        pytest.skip("the site is not built (make book)")
    ids = set(re.findall(r'id="([^"]+)"', glossary.read_text(encoding="utf-8")))
    missing = {term: anchor for term, anchor in make_colab.glossary_terms().items() if anchor not in ids}
    assert not missing, f"glossary anchors the Colab copies link to but the site lacks: {missing}"


def test_the_sites_download_button_gives_the_plain_copy():
    """A page's .ipynb download is the Colab copy (plain CommonMark), not the MyST source."""
    sources = ROOT / "_build" / "html" / "_sources"
    if not sources.is_dir():
        pytest.skip("the site is not built (make book)")
    copies = sorted((ROOT / "colab").glob("*/*.ipynb"))
    assert copies
    for copy in copies:
        download = sources / copy.relative_to(ROOT / "colab")
        assert download.read_bytes() == copy.read_bytes(), f"{download} is not {copy}"


def test_no_directive_title_breaks_its_backtick_fence():
    """CommonMark forbids a backtick in a backtick fence's info string: a title such as
    ```{dropdown} About `x` is then no fence at all, and the page shows the raw lines (strict
    builds do not warn). Colon fences (:::{dropdown}) may hold backticks."""
    broken = []
    for path in ORIGINALS:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown":
                broken += [f"{_name(path)}: {line}" for line in cell.source.splitlines()
                           if re.match(r"^\s*`{3,}\{[\w:-]+\}.*`", line)]
    assert not broken, "use a colon fence or drop the backticks:\n" + "\n".join(broken)
