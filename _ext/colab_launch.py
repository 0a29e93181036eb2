"""Point the Binder and Colab launch buttons at the Colab/Binder-ready copy of a notebook.

Jupyter, JupyterLab and Colab know no MyST: they show ``{term}`...` ``, citation keys and
directive fences as raw text. ``tools/make_colab.py`` writes a copy of every chapter, exercise and
solution into ``colab/`` in plain CommonMark + LaTeX. sphinx-book-theme builds its launch URLs
from the page's own path (``chapters/01_x.ipynb``); this extension runs after it
(``html-page-context``, priority 502 > the theme's 501) and rewrites the Binder ``urlpath`` and the
Colab ``blob/<branch>/`` path to ``colab/chapters/01_x.ipynb`` when that copy exists.
The browser tests (tests/browser, test_launch_links) check the result in the built HTML.

The page's download button (``_sources/<page>.ipynb``) gives that same plain copy, not the MyST
source: once the build is done, the copy replaces the source Sphinx put there.
"""

from __future__ import annotations

import shutil
from pathlib import Path

COPIES = "colab"


def copy_path(srcdir: Path, pagename: str) -> str | None:
    """The repository path of ``pagename``'s Colab copy, or None when it has none."""
    candidate = Path(COPIES) / f"{pagename}.ipynb"
    return candidate.as_posix() if (srcdir / candidate).is_file() else None


def _rewrite(app, pagename, templatename, context, doctree):
    target = copy_path(Path(app.srcdir), pagename)
    if target is None:
        return
    original = f"{pagename}.ipynb"
    for group in context.get("header_buttons") or []:
        if group.get("label") != "launch-buttons":
            continue
        for button in group.get("buttons", []):
            url = button.get("url", "")
            if "urlpath=" in url:  # Binder, JupyterHub: ...?urlpath=tree/<path>
                head, _, tail = url.partition("urlpath=")
                button["url"] = head + "urlpath=" + tail.replace(original, target, 1)
            elif "/blob/" in url:  # Colab: .../github/<owner>/<repo>/blob/<branch>/<path>
                button["url"] = url[: -len(original)] + target if url.endswith(original) else url


def _plain_downloads(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    srcdir, sources = Path(app.srcdir), Path(app.outdir) / "_sources"
    for docname in app.env.found_docs:
        copy = copy_path(srcdir, docname)
        target = sources / f"{docname}.ipynb"
        if copy is not None and target.is_file():
            shutil.copyfile(srcdir / copy, target)


def setup(app):
    app.connect("html-page-context", _rewrite, priority=502)
    app.connect("build-finished", _plain_downloads)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
