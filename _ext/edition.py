"""Two editions of the site from one source: ``EDITION=instructor`` (the default, with the
worked solutions) and ``EDITION=student`` (without them, for a class's published site).

The student edition drops the toc's "Solutions" part and excludes ``solutions/`` from the
build, so no solution page is written, executed or linked. ``EDITION_EXECUTE=off`` skips
notebook execution (the tests use it to check the edition quickly).
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from sphinx.errors import ExtensionError

EDITIONS = ("instructor", "student")
SOLUTIONS_CAPTION = "Solutions"


def choose_edition(app, config) -> None:
    edition = os.environ.get("EDITION", "instructor") or "instructor"
    if edition not in EDITIONS:
        raise ExtensionError(f"EDITION must be one of {', '.join(EDITIONS)}; got {edition!r}")
    config.html_context = {**config.html_context, "edition": edition}
    if os.environ.get("EDITION_EXECUTE") == "off":
        config.nb_execution_mode = "off"
    if edition == "instructor":
        return
    toc = yaml.safe_load((Path(app.srcdir) / "_toc.yml").read_text(encoding="utf-8"))
    toc["parts"] = [part for part in toc["parts"] if part.get("caption") != SOLUTIONS_CAPTION]
    student_toc = Path(app.doctreedir).parent / "_toc-student.yml"
    student_toc.parent.mkdir(parents=True, exist_ok=True)
    student_toc.write_text(yaml.safe_dump(toc, sort_keys=False), encoding="utf-8")
    config.external_toc_path = str(student_toc)
    config.exclude_patterns = [*config.exclude_patterns, "solutions/*", "solutions/**"]


def setup(app):
    # Before sphinx-external-toc reads the toc (it listens at priority 900).
    app.connect("config-inited", choose_edition, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
