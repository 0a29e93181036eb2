"""What the browser tests know about the book: its pages, its repository, its built site.

Nothing here is hard-coded per page: the pages come from ``_toc.yml`` and the repository from
``_config.yml`` (``repository.url`` and ``repository.branch``), so the tests grow with the book and
follow a fork that changes the url.
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import os
import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCE_SUFFIXES = (".ipynb", ".md", ".myst", ".rst")


def book_dir() -> Path:
    """The book's source folder (holds ``_toc.yml`` and ``_config.yml``); ``BOOK_DIR`` overrides it."""
    return Path(os.environ.get("BOOK_DIR", REPO_ROOT)).resolve()


def site_dir() -> Path:
    """The built HTML site; ``SITE_DIR`` overrides the default ``<book>/_build/html``."""
    configured = os.environ.get("SITE_DIR")
    return Path(configured).resolve() if configured else book_dir() / "_build" / "html"


@dataclass(frozen=True)
class Page:
    """One page of the table of contents."""

    docname: str  # e.g. "chapters/03_causal_attention", relative to the book folder, no suffix
    source: Path | None  # the source file, or None when none exists

    @property
    def html(self) -> str:
        """Path of the built page inside the site, as a URL path."""
        return f"{self.docname}.html"

    @property
    def is_notebook(self) -> bool:
        return self.source is not None and self.source.suffix == ".ipynb"

    def __str__(self) -> str:
        return self.docname


def _strip_suffix(name: str) -> str:
    for suffix in SOURCE_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _toc_entries(node) -> list[str]:
    """Every ``file:`` (and ``glob:`` match) in a jb-book or jb-article toc, in reading order."""
    found: list[str] = []
    if isinstance(node, list):
        for item in node:
            found += _toc_entries(item)
    elif isinstance(node, dict):
        if "root" in node:
            found.append(str(node["root"]))
        if "file" in node:
            found.append(str(node["file"]))
        if "glob" in node:
            for path in sorted(book_dir().glob(str(node["glob"]))):
                if path.suffix in SOURCE_SUFFIXES:
                    found.append(path.relative_to(book_dir()).as_posix())
        for key in ("parts", "chapters", "sections", "subtrees", "entries"):
            if key in node:
                found += _toc_entries(node[key])
    return found


@functools.cache
def toc_pages() -> tuple[Page, ...]:
    """The pages listed in ``_toc.yml``, root first, without duplicates."""
    toc = yaml.safe_load((book_dir() / "_toc.yml").read_text(encoding="utf-8"))
    pages: list[Page] = []
    seen: set[str] = set()
    for entry in _toc_entries(toc):
        docname = _strip_suffix(entry.strip("/"))
        if docname in seen:
            continue
        seen.add(docname)
        candidates = [book_dir() / f"{docname}{suffix}" for suffix in SOURCE_SUFFIXES]
        if entry.endswith(SOURCE_SUFFIXES):
            candidates.insert(0, book_dir() / entry)
        source = next((path for path in candidates if path.is_file()), None)
        pages.append(Page(docname, source))
    return tuple(pages)


@functools.cache
def config() -> dict:
    return yaml.safe_load((book_dir() / "_config.yml").read_text(encoding="utf-8")) or {}


@dataclass(frozen=True)
class Repository:
    """The GitHub repository that launch buttons must point at."""

    owner: str
    name: str
    branch: str
    path_to_book: str  # "" when the book sits at the repository root

    def path_of(self, page: Page) -> str:
        """The page's source path inside the repository (what Binder and Colab must open)."""
        relative = page.source.relative_to(book_dir()).as_posix()
        return f"{self.path_to_book}/{relative}" if self.path_to_book else relative


@functools.cache
def repository() -> Repository:
    settings = config().get("repository") or {}
    url = str(settings.get("url", "")).rstrip("/")
    parsed = urllib.parse.urlparse(url)
    parts = [part for part in parsed.path.split("/") if part]
    if parsed.netloc != "github.com" or len(parts) != 2:
        raise ValueError(f"_config.yml repository.url must be https://github.com/OWNER/REPO, got {url!r}")
    owner, name = parts[0], parts[1].removesuffix(".git")
    return Repository(owner, name, str(settings.get("branch", "main")),
                      str(settings.get("path_to_book", "") or "").strip("/"))


def launch_settings() -> dict:
    return config().get("launch_buttons") or {}


# --------------------------------------------------------------------------- serving the site


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass

    def end_headers(self):
        # The site does not change while the tests run: let Chromium reuse MathJax, fonts and
        # scripts from its cache between pages instead of revalidating each one.
        self.send_header("Cache-Control", "max-age=3600")
        super().end_headers()


class SiteServer:
    """Serves a folder on 127.0.0.1 at a free port from a background thread."""

    def __init__(self, root: Path):
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.root = root
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str = "") -> str:
        return f"{self.origin}/{path.lstrip('/')}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


# --------------------------------------------------------------------------- static link crawl


class _LinkParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(attributes["id"])
        if tag == "a" and attributes.get("name"):
            self.ids.add(attributes["name"])
        if tag == "a" and attributes.get("href") is not None:
            self.hrefs.append(attributes["href"])


@functools.cache
def _parse(path: Path) -> _LinkParser:
    parser = _LinkParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


SKIPPED_FOLDERS = {"_static", "_sources", "_images", "_screenshots"}


def site_html_files(root: Path) -> list[Path]:
    """Every HTML page of a built site (theme template fragments under ``_static`` excluded)."""
    return sorted(path for path in root.rglob("*.html")
                  if not SKIPPED_FOLDERS.intersection(path.relative_to(root).parts[:-1]))


def broken_internal_links(root: Path, pages: list[Path] | None = None) -> list[str]:
    """``<a href>`` links of the site's pages whose target file or ``#anchor`` does not exist."""
    root = root.resolve()
    problems = []
    for page in pages if pages is not None else site_html_files(root):
        for href in _parse(page).hrefs:
            href = href.strip()
            parsed = urllib.parse.urlparse(href)
            if parsed.scheme or parsed.netloc or href.startswith(("mailto:", "javascript:", "tel:")):
                continue  # external: checked only where the internet exists (see check_external_links)
            where = f"{page.relative_to(root).as_posix()}: link {href!r}"
            if parsed.path:
                target = (page.parent / urllib.parse.unquote(parsed.path)).resolve()
                if not target.is_relative_to(root):
                    problems.append(f"{where} leaves the site")
                    continue
                if target.is_dir():
                    target = target / "index.html"
                if not target.is_file():
                    problems.append(f"{where} points at a missing file")
                    continue
            else:
                target = page
            fragment = urllib.parse.unquote(parsed.fragment)
            if fragment and fragment != "top" and target.suffix == ".html" and fragment not in _parse(target).ids:
                problems.append(f"{where} points at a missing anchor #{fragment} in "
                                f"{target.relative_to(root).as_posix()}")
    return problems


def external_links(root: Path) -> dict[str, list[str]]:
    """Every external ``http(s)`` link of the site, mapped to the pages that hold it."""
    found: dict[str, list[str]] = {}
    for page in site_html_files(root):
        for href in _parse(page).hrefs:
            if urllib.parse.urlparse(href).scheme in ("http", "https"):
                found.setdefault(href.strip(), []).append(page.relative_to(root).as_posix())
    return found
