"""Measure a chapter's reading load: words of prose, lines of code, and a reading time.

Reading time (minutes) = prose words / 200 + code lines / 15, rounded to the nearest 5
(at least 5). The main line is the prose outside folded material: text inside a
``{dropdown}`` directive and markdown cells tagged ``hide-cell`` do not count toward it.
Chapters state the result as "**Reading time:** about N minutes" and a test keeps them equal.

Usage::

    python tools/reading_time.py chapters/*.ipynb
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

WORDS_PER_MINUTE = 200
CODE_LINES_PER_MINUTE = 15
STATED = re.compile(r"\*\*Reading time:\*\*\s*about\s+(\d+)\s+minutes")
FENCE = re.compile(r"^\s*(```+|:::+)\s*(\{[a-z-]+\})?")


@dataclass
class Load:
    prose_words: int
    main_line_words: int
    code_lines: int

    @property
    def minutes(self) -> int:
        raw = self.prose_words / WORDS_PER_MINUTE + self.code_lines / CODE_LINES_PER_MINUTE
        return max(5, int(5 * round(raw / 5)))


def folded_and_open_words(markdown: str) -> tuple[int, int]:
    """Words inside dropdown directives, and words outside them."""
    folded = unfolded = 0
    stack: list[tuple[str, bool]] = []  # (fence, is_dropdown)
    for line in markdown.split("\n"):
        match = FENCE.match(line)
        if match:
            fence, name = match.group(1), match.group(2)
            if stack and fence == stack[-1][0] and not name:
                stack.pop()
                continue
            if name:
                stack.append((fence, name == "{dropdown}"))
                continue
        words = len(line.split())
        if any(is_dropdown for _, is_dropdown in stack):
            folded += words
        else:
            unfolded += words
    return folded, unfolded


def measure(path: Path) -> Load:
    notebook = nbformat.read(path, as_version=4)
    prose = main = code = 0
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            folded, unfolded = folded_and_open_words(cell.source)
            prose += folded + unfolded
            if "hide-cell" not in cell.metadata.get("tags", []):
                main += unfolded
        elif cell.cell_type == "code":
            code += sum(1 for line in cell.source.split("\n") if line.strip())
    return Load(prose, main, code)


def stated_minutes(path: Path) -> int | None:
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and (match := STATED.search(cell.source)):
            return int(match.group(1))
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args()
    for path in args.notebooks:
        load = measure(path)
        print(
            f"{path}: {load.prose_words} prose words ({load.main_line_words} in the main line), "
            f"{load.code_lines} code lines -> about {load.minutes} minutes "
            f"(stated: {stated_minutes(path)})"
        )


if __name__ == "__main__":
    main()
