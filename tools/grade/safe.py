"""Writing learner-controlled text safely: the one place reports and gradebooks turn it into output.

Learners choose their folder names, exception messages and printed output. Any of them may hold
characters or bytes that break an encoder (a lone surrogate, a byte that is not UTF-8), start a
spreadsheet formula, carry HTML, or map two learners onto one file. Every writer of a report,
gradebook or feedback page goes through these functions, so each guarantee is stated once:

- ``printable(text)``: every character or byte survives, escaped where it cannot be encoded
  (``\\xff`` for a byte that was not UTF-8, ``\\udc80``-style for a lone surrogate).
- ``csv_cell(value)``: a cell no spreadsheet reads as a formula (OWASP's rule: a leading
  ``= + - @``, tab or carriage return gets a ``'`` in front).
- ``file_stem(name)``: an injective map from learner names to file names. A plain lower-case name
  stays as it is; any other name becomes its cleaned form, a ``~`` (which plain names never
  have) and a hash of the exact name, so two learners never share a file, even on a
  case-insensitive file system.
- ``html_text(text)``: text for an HTML page, escaped so that nothing in it is markup.
"""

from __future__ import annotations

import hashlib
import html
import re

PLAIN = re.compile(r"[a-z0-9][a-z0-9._-]{0,119}")
UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def printable(text: object) -> str:
    """``text`` as a string that any UTF-8 writer accepts, with nothing lost but escaped."""
    text = str(text)
    try:
        # File names that were not UTF-8 arrive as surrogate escapes: show the original bytes.
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def csv_cell(value: object) -> str:
    """One CSV cell that a spreadsheet shows as text, never runs as a formula."""
    text = printable(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def file_stem(name: str) -> str:
    """A file name for learner ``name``; different names always give different stems."""
    if PLAIN.fullmatch(name):
        return name
    exact = name.encode("utf-8", "surrogatepass")
    cleaned = UNSAFE.sub("_", printable(name)).strip("._")[:80] or "learner"
    return f"{cleaned}~{hashlib.sha256(exact).hexdigest()[:16]}"


def html_text(text: object) -> str:
    """``text`` escaped for an HTML page (quotes included, so it is safe in attributes too)."""
    return html.escape(printable(text), quote=True)
