"""Step 2, extract: from a learner's notebook take the source text of the answer cells only.

An answer cell is one that holds the answer mark (``# YOUR CODE HERE``, tools/conventions.py) in
the official exercise. The learner's
version is the cell with the same cell id; where ids were lost (an old editor, a copy and
paste), the learner's code cells that are not copies of official cells are matched in order,
preferring one that defines the same functions. Metadata, tags, outputs, other cells: nothing
else crosses.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from tools.conventions import normalise_source
from tools.grade.official import Official

MAX_NOTEBOOK_BYTES = 50 * 2**20
MAX_CELL_CHARS = 200_000
DEFINES = re.compile(r"^(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)", re.MULTILINE)


class Unreadable(ValueError):
    """The file is not a notebook we can read."""


def read_code_cells(path: Path) -> list[tuple[str | None, str]]:
    """(cell id, source) of each code cell of the learner's notebook, or Unreadable."""
    try:
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            raise Unreadable(f"larger than {MAX_NOTEBOOK_BYTES // 2**20} MB")
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise Unreadable(f"not a notebook: {type(error).__name__}: {error}") from None
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        raise Unreadable("not a notebook: no list of cells")
    found = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(line, str) for line in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise Unreadable("a cell's source is not text")
        cell_id = cell.get("id") if isinstance(cell.get("id"), str) else None
        found.append((cell_id, source))
    return found


def extract(official: Official, learner_cells: list[tuple[str | None, str]]) -> dict[int, str]:
    """Map each official answer cell's index to the learner's source (the stub if none)."""
    answers: dict[int, str] = {}
    by_id = {cell_id: source for cell_id, source in learner_cells if cell_id}
    trusted = {normalise_source(cell.source) for cell in official.cells if cell.kind != "answer"}
    used: set[int] = set()
    unmatched = []
    for cell in official.answers:
        if cell.cell_id and cell.cell_id in by_id:
            answers[cell.index] = by_id[cell.cell_id]
            used.update(i for i, (cid, _) in enumerate(learner_cells) if cid == cell.cell_id)
        else:
            unmatched.append(cell)
    if unmatched:
        official_ids = {cell.cell_id for cell in official.cells if cell.cell_id}
        pool = [
            i
            for i, (cell_id, source) in enumerate(learner_cells)
            if i not in used and cell_id not in official_ids and normalise_source(source) not in trusted
        ]
        for cell in unmatched:
            wanted = set(DEFINES.findall(cell.source))
            best = next(
                (i for i in pool if wanted and wanted <= set(DEFINES.findall(learner_cells[i][1]))),
                pool[0] if pool and not wanted else None,
            )
            if best is None:
                continue
            pool.remove(best)
            answers[cell.index] = learner_cells[best][1]
    for cell in official.answers:
        source = answers.get(cell.index, cell.source)
        answers[cell.index] = source if len(source) <= MAX_CELL_CHARS else cell.source
    return answers
