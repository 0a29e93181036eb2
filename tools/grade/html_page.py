"""One plain, readable HTML page for the instructor's reports (class report, similarity).

The title and body are given as already-escaped HTML: every learner-controlled string goes
through ``tools.grade.safe.html_text`` at the place it is written.
"""

from __future__ import annotations

STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:80rem;margin:2rem auto;padding:0 1rem;"
    "color:#1a1a1a;line-height:1.45}table{border-collapse:collapse;margin:.5rem 0 1.5rem}"
    "td,th{border:1px solid #888;padding:.25rem .5rem;vertical-align:top;text-align:left}"
    "pre{white-space:pre-wrap;margin:0;font-size:.85rem}img{max-width:100%}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}"
)


def page(title: str, body: list[str]) -> str:
    head = (f"<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{title}</title><style>{STYLE}</style></head><body>")
    return "\n".join([head, f"<h1>{title}</h1>", *body, "</body></html>"]) + "\n"
