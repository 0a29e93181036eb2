"""Write Colab/Binder-ready copies of the notebooks: the book's MyST turned into plain CommonMark.

Jupyter, JupyterLab, Colab, nbconvert and nbviewer render CommonMark and LaTeX, not MyST: a
learner who opens a chapter there would see ``{term}`causal mask` ``, bare citation keys and
directive fences. The book keeps MyST (cross-references, the glossary and the bibliography are
checked by the strict build); this script writes a copy of every notebook of ``chapters/``,
``exercises/`` and ``solutions/`` into ``colab/`` (same layout).

How: each markdown cell is parsed by ``markdown-it-py`` with the ``mdit-py-plugins`` that
MyST-Parser itself uses (roles, targets, comments, colon fences, dollar and amsmath math), so
code spans, code blocks and math are known to the parser and never touched. Only the MyST
constructs the parser finds are rewritten, in place in the source text (every other byte is kept,
so a diff of colab/ shows exactly what the conversion did):

==========================================  =============================================
``{term}`text <target>` ``                   a link to the term on the site's glossary page
``{cite:p}`k1,k2` `` / ``{cite}`k` ``        "(Author et al., Year; ...)" linked to the bibliography
``{cite:t}`k` ``                             "Author et al. (Year)" linked to the bibliography
``{doc}`path` `` / ``{ref}`label` ``         a link to that page (section) of the site
``{eq}`label` ``                             "(N)", linked; the equation gets ``\\tag{N}``
``note`` ... ``dropdown`` directives         a quoted block with a bold title
``(label)=`` targets, ``%`` comments          removed
relative images                              absolute URLs (``_static/`` on the site,
                                             anything else on raw.githubusercontent.com)
links to ``.md`` pages                       absolute URLs of the site's pages
a table inside a quoted block or a list     an HTML table (nbconvert and nbviewer, whose
                                             mistune reads pipe tables only at the top
                                             level, would show its rows as raw text)
==========================================  =============================================

Code cells are copied unchanged; links between notebooks stay relative (``colab/`` mirrors the
repository, so they open the sibling copy). The site's address is ``html.baseurl`` in
``_config.yml`` (else GitHub Pages of ``repository.url``). The launch buttons point at these
copies (``_ext/colab_launch.py``); ``tests/test_render.py`` renders them with nbconvert and fails
on any MyST or raw table row left. Deterministic: the same sources give the same bytes.

Usage::

    python tools/make_colab.py          # (re)write colab/
    python tools/make_colab.py --check  # exit 1 if colab/ is out of date
"""

from __future__ import annotations

import argparse
import json
import posixpath
import re
import sys
import urllib.parse
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import SimpleNamespace

import nbformat
import yaml
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token
from mdit_py_plugins.amsmath import amsmath_plugin
from mdit_py_plugins.colon_fence import colon_fence_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.myst_blocks import myst_block_plugin
from mdit_py_plugins.myst_role import myst_role_plugin

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("chapters", "exercises", "solutions")
OUT = ROOT / "colab"

ADMONITIONS = {
    "note": "Note",
    "tip": "Tip",
    "warning": "Warning",
    "important": "Important",
    "caution": "Caution",
    "attention": "Attention",
    "danger": "Danger",
    "error": "Error",
    "hint": "Hint",
    "seealso": "See also",
}
TITLED = {"admonition", "dropdown"}
ROLES = {"term", "cite", "cite:p", "cite:t", "doc", "ref", "eq"}
# A role's explicit form: {term}`text <target>`.
EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.DOTALL)


# --------------------------------------------------------------------------- the parsers


@cache
def myst_parser() -> MarkdownIt:
    """The sources' markdown as MyST-Parser reads it (``_config.yml``: dollarmath, amsmath,
    colon_fence): CommonMark with tables, roles, ``(label)=`` targets, ``%`` comments, colon
    fences and math, by the same plugins."""
    return (
        MarkdownIt("commonmark", {"html": True})
        .enable("table")
        .use(myst_role_plugin)
        .use(myst_block_plugin)
        .use(colon_fence_plugin)
        .use(amsmath_plugin)
        .use(dollarmath_plugin, allow_labels=True, allow_space=True, allow_digits=True, double_inline=True)
    )


def _tex(delimiter: str):
    def render(self, tokens, index, options, env):
        return escapeHtml(f"{delimiter}{tokens[index].content}{delimiter}")

    return render


@cache
def commonmark_parser() -> MarkdownIt:
    """The copies as Jupyter reads them: CommonMark, tables and dollar math. When it renders
    HTML, math stays TeX between dollars, for MathJax or KaTeX in the reader's browser."""
    parser = MarkdownIt("commonmark", {"html": True}).enable("table").use(dollarmath_plugin, double_inline=True)
    parser.add_render_rule("math_inline", _tex("$"))
    parser.add_render_rule("math_inline_double", _tex("$$"))
    return parser


def directive_of(token: Token) -> tuple[str, str] | None:
    """(name, argument) of a ```{name} argument or :::{name} argument fence, else None."""
    if token.type not in ("fence", "colon_fence"):
        return None
    match = re.match(r"^\{(?P<name>[\w:-]+)\}\s*(?P<arg>.*)$", token.info.strip())
    return (match["name"], match["arg"].strip()) if match else None


def inline_text(token: Token) -> str:
    """An inline token's text with roles reduced to their text (a heading as a link text)."""
    parts = []
    for child in token.children or []:
        if child.type == "myst_role":
            explicit = EXPLICIT.match(child.content)
            parts.append(explicit["text"] if explicit else child.content)
        elif child.type == "code_inline":
            parts.append(f"`{child.content}`")
        elif child.type in ("math_inline", "math_inline_double"):
            parts.append(f"{child.markup}{child.content}{child.markup}")
        elif child.type in ("text", "html_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts).strip()


# --------------------------------------------------------------------------- the site


@cache
def config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8")) or {}


@cache
def site_url() -> str:
    """The published site, ending in '/': html.baseurl, else GitHub Pages of repository.url."""
    configured = str((config().get("html") or {}).get("baseurl") or "").strip()
    if configured:
        return configured.rstrip("/") + "/"
    owner, name = repository()[:2]
    return f"https://{owner.lower()}.github.io/{name}/"


@cache
def repository() -> tuple[str, str, str]:
    settings = config().get("repository") or {}
    url = str(settings.get("url", "")).rstrip("/")
    parts = [part for part in urllib.parse.urlparse(url).path.split("/") if part]
    if len(parts) != 2:
        raise ValueError(f"_config.yml repository.url must be https://github.com/OWNER/REPO: {url!r}")
    return parts[0], parts[1].removesuffix(".git"), str(settings.get("branch", "main"))


def page_url(docname: str, anchor: str = "") -> str:
    return site_url() + docname + ".html" + (f"#{anchor}" if anchor else "")


def file_url(repo_path: str) -> str:
    """Where a repository file is served: the site for _static/, raw GitHub for the rest."""
    if repo_path.startswith("_static/"):
        return site_url() + repo_path
    owner, name, branch = repository()
    return f"https://raw.githubusercontent.com/{owner}/{name}/{branch}/{repo_path}"


# --------------------------------------------------------------------------- glossary


@cache
def glossary_terms() -> dict[str, str]:
    """Every term of glossary.md (lower case) -> its anchor on the glossary page, given as
    Sphinx's glossary gives it (the public ``sphinx.util.nodes.make_id``, terms in order, so a
    repeated id gets the same serial number as on the site)."""
    from sphinx.util.nodes import make_id

    serials = iter(range(1_000_000))
    env = SimpleNamespace(new_serialno=lambda category="": next(serials))
    document = SimpleNamespace(ids={}, settings=SimpleNamespace(id_prefix=""))
    terms: dict[str, str] = {}
    text = (ROOT / "glossary.md").read_text(encoding="utf-8")
    for token in myst_parser().parse(text):
        directive = directive_of(token)
        if not directive or directive[0] != "glossary":
            continue
        for line in token.content.splitlines():
            if line.strip() and not line[0].isspace():  # a term; its definition is indented
                term = line.strip()
                anchor = make_id(env, document, "term", term)
                document.ids[anchor] = True
                terms.setdefault(term.lower(), anchor)
    return terms


def term_link(body: str, where: str) -> str:
    match = EXPLICIT.match(body)
    text, target = (match["text"], match["target"]) if match else (body, body)
    anchor = glossary_terms().get(" ".join(target.split()).lower())
    if anchor is None:
        raise ValueError(f"{where}: {{term}}`{body}`: no such term in glossary.md")
    return f"[{text}]({page_url('glossary', anchor)})"


# --------------------------------------------------------------------------- bibliography


@dataclass(frozen=True)
class Reference:
    authors: tuple[str, ...]  # last names
    year: str


# What pybtex's LaTeX reader would change in a name or title: without any of it the text is
# already plain, and the reader (about 7 ms a string, seconds for the whole file) is skipped.
LATEX_MARKUP = re.compile(r"[\\{}$~%&#^_]|--|``|''")


def _plain(latex: str) -> str:
    if not LATEX_MARKUP.search(latex):
        return latex.strip()
    from pybtex.richtext import Text

    return Text.from_latex(latex).render_as("text").strip()


@cache
def bibliography() -> dict[str, Reference]:
    from pybtex.database import parse_file

    database = parse_file(str(ROOT / "references.bib"), bib_format="bibtex")
    found = {}
    for key, entry in database.entries.items():
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        names = tuple(_plain(" ".join(person.prelast_names + person.last_names)) for person in people)
        if not names:  # an unsigned post: cite it by its title, as author-year styles do
            names = (_plain(entry.fields.get("title", key)).split(" (")[0],)
        found[key.lower()] = Reference(names, entry.fields.get("year", "n.d."))
    return found


def author_text(reference: Reference) -> str:
    names = reference.authors
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return f"{names[0]} and {names[1]}"
    return f"{names[0]} et al."


def cite(role: str, body: str, where: str) -> str:
    keys = [key.strip() for key in body.split(",") if key.strip()]
    url = page_url("bibliography")
    parts = []
    for key in keys:
        reference = bibliography().get(key.lower())
        if reference is None:
            raise ValueError(f"{where}: {{{role}}}`{body}`: no entry {key!r} in references.bib")
        if role == "cite:t":
            parts.append(f"[{author_text(reference)} ({reference.year})]({url})")
        else:
            parts.append(f"[{author_text(reference)}, {reference.year}]({url})")
    return "; ".join(parts) if role == "cite:t" else "(" + "; ".join(parts) + ")"


# --------------------------------------------------------------------------- pages and labels


def source_of(docname: str) -> Path | None:
    for suffix in (".md", ".ipynb"):
        path = ROOT / f"{docname}{suffix}"
        if path.is_file():
            return path
    return None


def markdown_of(path: Path) -> list[str]:
    if path.suffix == ".md":
        return [path.read_text(encoding="utf-8")]
    notebook = nbformat.read(path, as_version=4)
    return [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]


@cache
def title_of(docname: str) -> str:
    """The page's first level-1 heading, as plain text."""
    path = source_of(docname)
    if path is not None:
        for text in markdown_of(path):
            tokens = myst_parser().parse(text)
            for index, token in enumerate(tokens):
                if token.type == "heading_open" and token.tag == "h1":
                    return inline_text(tokens[index + 1])
    return docname.rsplit("/", 1)[-1].replace("_", " ")


def all_sources() -> list[Path]:
    sources = sorted(ROOT.glob("*.md"))
    for folder in FOLDERS:
        sources += sorted((ROOT / folder).glob("*.ipynb"))
    return [path for path in sources if path.name != "README.md"]


@cache
def labels() -> dict[str, tuple[str, str]]:
    """Every ``(label)=`` target -> (docname, the heading that follows it)."""
    found = {}
    for path in all_sources():
        docname = path.relative_to(ROOT).with_suffix("").as_posix()
        for text in markdown_of(path):
            tokens = myst_parser().parse(text)
            for index, token in enumerate(tokens):
                if token.type != "myst_target":
                    continue
                label = token.content.strip()
                following = tokens[index + 1] if index + 1 < len(tokens) else None
                title = label
                if following is not None and following.type == "heading_open":
                    title = inline_text(tokens[index + 2])
                found[label] = (docname, title)
    return found


def docname_from(target: str, here: str) -> str:
    """Resolve a {doc} target (relative to the page ``here``, or absolute from the root)."""
    target = target.strip()
    if target.startswith("/"):
        resolved = target.lstrip("/")
    else:
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(here), target))
    return re.sub(r"\.(md|ipynb)$", "", resolved)


def doc_link(body: str, here: str) -> str:
    match = EXPLICIT.match(body)
    text, target = (match["text"], match["target"]) if match else (None, body)
    docname = docname_from(target, here)
    if source_of(docname) is None:
        raise ValueError(f"{here}: {{doc}}`{body}`: no page {docname}")
    return f"[{text or title_of(docname)}]({page_url(docname)})"


def ref_link(body: str, here: str) -> str:
    match = EXPLICIT.match(body)
    text, target = (match["text"], match["target"]) if match else (None, body)
    if target not in labels():
        raise ValueError(f"{here}: {{ref}}`{body}`: no label ({target})= in the book")
    docname, title = labels()[target]
    return f"[{text or title}]({page_url(docname, target)})"


# --------------------------------------------------------------------------- converting markdown


class Converter:
    """Converts the markdown cells of one notebook (equations are numbered per notebook)."""

    def __init__(self, docname: str, sources: list[str]):
        self.docname = docname
        self.equations: dict[str, int] = {}
        for text in sources:  # number the labelled equations in order, as the book does
            for token in self._labelled_equations(myst_parser().parse(text)):
                self.equations.setdefault(token.info, len(self.equations) + 1)

    def _labelled_equations(self, tokens: list[Token]):
        for token in tokens:
            if token.type == "math_block_label":
                yield token
            directive = directive_of(token)
            if directive and (directive[0] in ADMONITIONS or directive[0] in TITLED):
                yield from self._labelled_equations(myst_parser().parse(token.content))

    def convert(self, text: str) -> str:
        """A markdown cell of the source -> the same cell in plain CommonMark."""
        return html_tables_in_containers(self.myst_to_markdown(text)).strip("\n")

    # ---- blocks

    def myst_to_markdown(self, text: str) -> str:
        lines = text.replace("\r\n", "\n").split("\n")
        edits: list[tuple[int, int, list[str]]] = []  # replace lines[start:end] by the list
        inline_by_lines: dict[tuple[int, int], list[Token]] = {}
        done = 0  # lines before this one belong to a directive already converted
        for token in myst_parser().parse(text):
            if token.map is None or token.map[0] < done:
                continue
            start, end = token.map
            directive = directive_of(token)
            if directive:
                if token.level > 0:
                    raise ValueError(f"{self.docname}: a {{{directive[0]}}} inside a list or a quote is "
                                     "not in the course's MyST subset")
                edits.append((start, end, self.directive(*directive, token.content)))
                done = end
            elif token.type in ("myst_target", "myst_line_comment"):
                edits.append((start, end, []))  # a MyST target or comment: nothing to show
            elif token.type == "math_block_label":
                last = re.sub(r"\$\$\s*\(" + re.escape(token.info) + r"\)\s*$",
                              f"\\\\tag{{{self.equations[token.info]}}} $$", lines[end - 1])
                edits.append((end - 1, end, [last]))
            elif token.type == "inline":  # a paragraph, a heading or a table row (all its cells)
                inline_by_lines.setdefault((start, end), []).append(token)
        for (start, end), tokens in inline_by_lines.items():
            children = [child for token in tokens for child in token.children or []]
            source = "\n".join(lines[start:end])
            converted = self.inline(source, children)
            if converted != source:
                edits.append((start, end, converted.split("\n")))
        for start, end, replacement in sorted(edits, reverse=True):
            lines[start:end] = replacement
        return "\n".join(lines)

    def directive(self, name: str, argument: str, content: str) -> list[str]:
        if name not in ADMONITIONS and name not in TITLED:
            raise ValueError(f"{self.docname}: directive {{{name}}} is not in the course's MyST subset")
        body = content.split("\n")
        while body and re.match(r"^\s*:[\w-]+:.*$", body[0]):  # :class: tip and the like
            body = body[1:]
        if body and body[0].strip() == "---":  # a YAML options block
            end = next((i for i in range(1, len(body)) if body[i].strip() == "---"), 0)
            body = body[end + 1 :]
        if name in TITLED:
            title = self.inline_markdown(argument) if argument else ("Details" if name == "dropdown" else "Note")
        else:
            title = ADMONITIONS[name] + (f": {self.inline_markdown(argument)}" if argument else "")
        inner = self.myst_to_markdown("\n".join(body)).split("\n")
        while inner and not inner[0].strip():
            inner.pop(0)
        while inner and not inner[-1].strip():
            inner.pop()
        quoted = [f"> **{title}**", ">"] + [f"> {line}" if line.strip() else ">" for line in inner]
        return ["", *quoted, ""]

    # ---- inline

    def inline_markdown(self, text: str) -> str:
        """A directive's title: one line of inline markdown."""
        children = myst_parser().parseInline(text)[0].children or []
        return self.inline(text, children)

    def inline(self, source: str, children: list[Token]) -> str:
        """Rewrite the roles, links and images that the parser found in ``source``, in order.

        The parser gives each inline element but not its position, so each one is located in
        the source from where the previous ended: code spans and math are stepped over whole
        (nothing inside them is rewritten), and every located link or image is checked against
        the parser's own URL, so a source this cannot follow fails loudly instead of converting
        the wrong text."""
        splices: list[tuple[int, int, str]] = []
        links: list[Token] = []  # the links open at this point (their text may hold roles)
        cursor = 0
        for child in children:
            kind = child.type
            if kind == "code_inline":
                cursor = self._past_code(source, cursor, child.markup)
            elif kind in ("math_inline", "math_inline_double"):
                opening = source.index(child.markup, cursor)
                closing = opening + len(child.markup)
                while True:  # the next delimiter that is not escaped
                    closing = source.index(child.markup, closing)
                    if source[closing - 1] != "\\":
                        break
                    closing += 1
                cursor = closing + len(child.markup)
            elif kind == "myst_role":
                name = child.meta["name"]
                match = re.compile(r"\{" + re.escape(name) + r"\}(`+)").search(source, cursor)
                if match is None:
                    raise ValueError(f"{self.docname}: could not locate the role {{{name}}} in {source!r}")
                closing = self._past_code(source, match.start(1), match[1])
                body = source[match.end() : closing - len(match[1])]  # as written: line breaks kept
                splices.append((match.start(), closing, self.role(name, body)))
                cursor = closing
            elif kind == "html_inline":
                cursor = source.index(child.content, cursor) + len(child.content)
            elif kind == "link_open":
                links.append(child)
                if child.markup == "autolink":  # <https://...>: absolute already
                    cursor = source.index(">", source.index("<", cursor)) + 1
            elif kind == "link_close":
                opening = links.pop()
                if opening.markup != "autolink":
                    cursor = self._destination(source, cursor, opening.attrGet("href"), False, splices)
            elif kind == "image":
                cursor = self._destination(source, cursor, child.attrGet("src"), True, splices)
        out = source
        for start, end, replacement in sorted(splices, reverse=True):
            out = out[:start] + replacement + out[end:]
        return out

    @staticmethod
    def _past_code(source: str, start: int, ticks: str) -> int:
        """The index after the code span whose opening run of ``ticks`` starts at or after ``start``."""
        run = re.compile(r"(?<!`)" + re.escape(ticks) + r"(?!`)")
        opening = run.search(source, start)
        closing = run.search(source, opening.end()) if opening else None
        if closing is None:
            raise ValueError(f"could not locate a code span in {source!r}")
        return closing.end()

    def _destination(self, source: str, cursor: int, wanted: str, image: bool, splices: list) -> int:
        """Rewrite the destination of the link or image whose ``](`` comes next after ``cursor``;
        ``wanted`` is the destination as the parser read it (normalised)."""
        match = re.compile(r"\]\(\s*(?P<href><[^<>\n]*>|[^\s()]+)[^)]*\)").search(source, cursor)
        if match is None or myst_parser().normalizeLink(match["href"].strip("<>")) != wanted:
            raise ValueError(f"{self.docname}: could not locate the link to {wanted!r} in {source!r}")
        href = match["href"].strip("<>")
        resolved = self.resolve(href, image=image)
        if resolved != href:
            splices.append((match.start("href"), match.end("href"), resolved))
        return match.end()

    def role(self, name: str, body: str) -> str:
        if name == "term":
            return term_link(body, self.docname)
        if name in ("cite", "cite:p", "cite:t"):
            return cite(name, body, self.docname)
        if name == "doc":
            return doc_link(body, self.docname)
        if name == "ref":
            return ref_link(body, self.docname)
        if name == "eq":
            label = body.strip()
            if label not in self.equations:
                raise ValueError(f"{self.docname}: {{eq}}`{label}`: no equation labelled ({label})")
            return f"[({self.equations[label]})]({page_url(self.docname, 'equation-' + label)})"
        raise ValueError(f"{self.docname}: role {{{name}}} is not in the course's MyST subset")

    def resolve(self, href: str, *, image: bool) -> str:
        parsed = urllib.parse.urlsplit(href)
        if parsed.scheme or parsed.netloc or href.startswith(("#", "mailto:")):
            return href
        repo_path = posixpath.normpath(posixpath.join(posixpath.dirname(self.docname), parsed.path))
        fragment = f"#{parsed.fragment}" if parsed.fragment else ""
        if image:
            return file_url(repo_path)
        if repo_path.endswith(".ipynb") and repo_path.split("/", 1)[0] in FOLDERS:
            return href  # the sibling copy in colab/ (same layout)
        if repo_path.endswith(".md"):
            return page_url(repo_path[: -len(".md")]) + fragment
        return file_url(repo_path) + fragment


def html_tables_in_containers(text: str) -> str:
    """Pipe tables inside a quoted block or a list become HTML tables.

    JupyterLab and Colab read a pipe table anywhere, but nbconvert's and nbviewer's mistune
    reads one only at the top level and shows the rows inside a quote as a paragraph of
    ``| a | b |`` text. An HTML block is read the same way by all of them."""
    lines = text.split("\n")
    tokens = commonmark_parser().parse(text)
    replacements = []
    for index, token in enumerate(tokens):
        if token.type != "table_open" or token.level == 0:
            continue
        closing = next(i for i in range(index, len(tokens)) if tokens[i].type == "table_close")
        html = commonmark_parser().renderer.render(tokens[index : closing + 1], commonmark_parser().options, {})
        start, end = token.map
        prefix = re.match(r"^[\s>]*", lines[start])[0]
        replacements.append((start, end, [prefix + line for line in html.strip("\n").split("\n")]))
    for start, end, replacement in sorted(replacements, reverse=True):
        lines[start:end] = replacement
    return "\n".join(lines)


# --------------------------------------------------------------------------- notebooks


def convert_notebook(path: Path) -> str:
    docname = path.relative_to(ROOT).with_suffix("").as_posix()
    notebook = nbformat.read(path, as_version=4)
    converter = Converter(docname, [cell.source for cell in notebook.cells if cell.cell_type == "markdown"])
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = converter.convert(cell.source)
        elif cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    notebook.metadata.pop("mystnb", None)
    notebook.metadata.pop("jupytext", None)
    return json.dumps(notebook, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def generate() -> dict[Path, str]:
    files = {}
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).glob("*.ipynb")):
            files[OUT / folder / path.name] = convert_notebook(path)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if colab/ is out of date")
    args = parser.parse_args(argv)
    expected = generate()
    existing = {path for path in OUT.rglob("*.ipynb")} if OUT.is_dir() else set()
    stale = sorted(
        {path for path, text in expected.items() if not path.is_file() or path.read_text(encoding="utf-8") != text}
        | (existing - set(expected))
    )
    if args.check:
        if stale:
            names = ", ".join(path.relative_to(ROOT).as_posix() for path in stale)
            print(f"colab/ is out of date ({names}): run python tools/make_colab.py")
            return 1
        return 0
    for path in existing - set(expected):
        path.unlink()
    for path, text in expected.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    print(f"wrote {len(expected)} notebooks into {OUT.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
