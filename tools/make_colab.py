"""Write Colab/Binder-ready copies of the notebooks: the book's MyST turned into plain Markdown.

Jupyter, JupyterLab and Colab render CommonMark and LaTeX, not MyST: a learner who opens a
chapter there would see ``{term}`causal mask` ``, bare citation keys and directive fences. The
book keeps MyST (cross-references, the glossary and the bibliography are checked by the strict
build); this script writes a copy of every notebook of ``chapters/``, ``exercises/`` and
``solutions/`` into ``colab/`` (same layout) in which the course's MyST subset becomes:

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
==========================================  =============================================

Code cells are copied unchanged; links between notebooks stay relative (``colab/`` mirrors the
repository, so they open the sibling copy). The site's address is ``html.baseurl`` in
``_config.yml`` (else GitHub Pages of ``repository.url``). The launch buttons point at these
copies (``_ext/colab_launch.py``); ``tests/test_render.py`` renders them with nbconvert and fails
on any MyST left. Deterministic: the same sources give the same bytes.

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

import nbformat
import yaml

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
DIRECTIVE_OPEN = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}\s*(?P<arg>.*)$")
FENCE_OPEN = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,}|:{3,})(?P<info>.*)$")
OPTION = re.compile(r"^\s*:[\w-]+:.*$")
ROLE = re.compile(r"\{(?P<role>[\w:-]+)\}`(?P<body>[^`]+)`")
EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.DOTALL)
TARGET = re.compile(r"^\s*\((?P<label>[^()\s]+)\)=\s*$")
HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<text>.+?)\s*#*\s*$")
IMAGE = re.compile(r"!\[(?P<alt>[^\]]*)\]\((?P<src>[^)\s]+)(?P<title>\s+\"[^\"]*\")?\)")
LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]+)\]\((?P<href>[^)\s]+)(?P<title>\s+\"[^\"]*\")?\)")
# Code spans and math, which no link or image rule may touch.
PROTECTED = re.compile(r"(`[^`\n]*`|\$\$.*?\$\$|\$[^$\n]+\$)", re.DOTALL)
EQ_LABEL = re.compile(r"\$\$\s*\((?P<label>[\w:.-]+)\)\s*$")


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


def make_id(text: str) -> str:
    """Sphinx's id for a glossary term: sphinx.util.nodes._make_id('term-<text>')."""
    from sphinx.util.nodes import _make_id

    return _make_id(text)


@cache
def glossary_terms() -> dict[str, str]:
    """Every term of glossary.md (lower case) -> its anchor on the glossary page."""
    text = (ROOT / "glossary.md").read_text(encoding="utf-8")
    terms: dict[str, str] = {}
    inside = False
    for line in text.splitlines():
        if re.match(r"^[`:]{3,}\{glossary\}", line):
            inside = True
            continue
        if inside and re.match(r"^[`:]{3,}\s*$", line):
            inside = False
            continue
        if inside and line.strip() and not line[0].isspace():
            term = line.strip()
            terms.setdefault(term.lower(), make_id("term-" + term))
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


def _plain(latex: str) -> str:
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
    path = source_of(docname)
    if path is not None:
        for text in markdown_of(path):
            for line in text.splitlines():
                match = HEADING.match(line)
                if match and len(match["hashes"]) == 1:
                    return strip_inline(match["text"])
    return docname.rsplit("/", 1)[-1].replace("_", " ")


def strip_inline(text: str) -> str:
    """Heading text as a link text: roles reduced to their text."""

    def plain(match):
        body = match["body"]
        explicit = EXPLICIT.match(body)
        return explicit["text"] if explicit else body

    return ROLE.sub(plain, text)


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
            lines = text.splitlines()
            for index, line in enumerate(lines):
                match = TARGET.match(line)
                if not match:
                    continue
                heading = next((HEADING.match(after) for after in lines[index + 1 :] if after.strip()), None)
                title = strip_inline(heading["text"]) if heading else match["label"]
                found[match["label"]] = (docname, title)
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
            for line in text.splitlines():
                match = EQ_LABEL.search(line)
                if match:
                    self.equations.setdefault(match["label"], len(self.equations) + 1)

    def where(self) -> str:
        return self.docname

    # ---- inline

    def role(self, match: re.Match) -> str:
        role, body = match["role"], match["body"]
        if role == "term":
            return term_link(body, self.where())
        if role in ("cite", "cite:p", "cite:t"):
            return cite(role, body, self.where())
        if role == "doc":
            return doc_link(body, self.docname)
        if role == "ref":
            return ref_link(body, self.docname)
        if role == "eq":
            label = body.strip()
            if label not in self.equations:
                raise ValueError(f"{self.docname}: {{eq}}`{label}`: no equation labelled ({label})")
            return f"[({self.equations[label]})]({page_url(self.docname, 'equation-' + label)})"
        raise ValueError(f"{self.docname}: role {{{role}}} is not in the course's MyST subset")

    def image(self, match: re.Match) -> str:
        return f"![{match['alt']}]({self.resolve(match['src'], image=True)}{match['title'] or ''})"

    def link(self, match: re.Match) -> str:
        return f"[{match['text']}]({self.resolve(match['href'], image=False)}{match['title'] or ''})"

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

    def inline(self, text: str) -> str:
        """Roles, images and links of a stretch of prose; code spans and math left alone."""
        converted = ROLE.sub(self.role, text)
        parts = PROTECTED.split(converted)
        for index in range(0, len(parts), 2):
            parts[index] = LINK.sub(self.link, IMAGE.sub(self.image, parts[index]))
        return "".join(parts)

    # ---- blocks

    def convert(self, text: str) -> str:
        lines = text.replace("\r\n", "\n").split("\n")
        return "\n".join(self.blocks(lines)).strip("\n")

    def blocks(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        prose: list[str] = []
        index = 0

        def flush():
            if prose:
                out.extend(self.inline("\n".join(prose)).split("\n"))
                prose.clear()

        while index < len(lines):
            line = lines[index]
            directive = DIRECTIVE_OPEN.match(line)
            fence = FENCE_OPEN.match(line)
            if directive:
                flush()
                end = self.closing(lines, index, directive["fence"])
                body = lines[index + 1 : end]
                out.extend(self.directive(directive["name"], directive["arg"].strip(), body))
                index = end + 1
                continue
            if fence and not fence["fence"].startswith(":"):
                flush()
                end = self.closing(lines, index, fence["fence"])
                out.extend(lines[index : end + 1])  # code: untouched
                index = end + 1
                continue
            if TARGET.match(line) or re.match(r"^%", line):
                index += 1  # a MyST target or comment: nothing to show
                continue
            equation = EQ_LABEL.search(line)
            if equation:
                number = self.equations[equation["label"]]
                prose.append(line[: equation.start()] + f"\\tag{{{number}}} $$")
                index += 1
                continue
            prose.append(line)
            index += 1
        flush()
        return out

    @staticmethod
    def closing(lines: list[str], start: int, fence: str) -> int:
        """Index of the line that closes the fence opened at ``start`` (nested fences skipped)."""
        char, length = fence[0], len(fence)
        index = start + 1
        while index < len(lines):
            stripped = lines[index].strip()
            if stripped and set(stripped) == {char} and len(stripped) >= length:
                return index
            nested = FENCE_OPEN.match(lines[index])
            if nested and nested["fence"][0] == char and nested["info"].strip():
                index = Converter.closing(lines, index, nested["fence"]) + 1
                continue
            index += 1
        return len(lines) - 1

    def directive(self, name: str, argument: str, body: list[str]) -> list[str]:
        if name not in ADMONITIONS and name not in TITLED:
            raise ValueError(f"{self.docname}: directive {{{name}}} is not in the course's MyST subset")
        while body and OPTION.match(body[0]):
            body = body[1:]
        if body and body[0].strip() == "---":  # YAML options block
            end = next((i for i in range(1, len(body)) if body[i].strip() == "---"), 0)
            body = body[end + 1 :]
        if name in TITLED:
            title = self.inline(argument) if argument else ("Details" if name == "dropdown" else "Note")
        else:
            title = ADMONITIONS[name] + (f": {self.inline(argument)}" if argument else "")
        inner = self.blocks(body)
        while inner and not inner[0].strip():
            inner.pop(0)
        while inner and not inner[-1].strip():
            inner.pop()
        quoted = [f"> **{title}**", ">"] + [f"> {line}" if line.strip() else ">" for line in inner]
        return ["", *quoted, ""]


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
