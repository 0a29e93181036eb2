"""Fixes to the HTML that Sphinx 7.4, docutils and the theme produce, found by tests/browser.

1. Sphinx 7.4 writes every inline <script> that an extension registers after the builder starts
   (sphinx-thebe, sphinx-togglebutton) twice, because it re-adds them with filename '' instead of
   None. The second `const THEBE_JS_URL = ...` then throws "Identifier 'THEBE_JS_URL' has already
   been declared" in the console of every page. Keep the first copy of each script.
2. docutils wraps citations in <div role="list"> but gives each entry role="doc-biblioentry",
   which is not a list item: axe reports aria-required-children (critical) on the bibliography.
   Give the entries role="listitem".
3. MyST-NB labels the toggle of a hidden cell (tags hide-input, hide-output, hide-cell)
   <summary aria-label="Toggle hidden content"> while it shows "Show code cell source": axe reports
   label-content-name-mismatch (serious, WCAG 2.5.3). Drop the label: the visible text names it.
"""

from __future__ import annotations


def _fix_page(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if isinstance(scripts, list):
        seen, unique = set(), []
        for script in scripts:
            key = (script.filename or "", script.priority, tuple(sorted(script.attributes.items())))
            if key not in seen:
                seen.add(key)
                unique.append(script)
        scripts[:] = unique
    body = context.get("body")
    if isinstance(body, str):
        body = body.replace('role="doc-biblioentry"', 'role="listitem"')
        context["body"] = body.replace('<summary aria-label="Toggle hidden content">', "<summary>")


def setup(app):
    app.connect("html-page-context", _fix_page)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
