"""Step 3, rebuild: the trusted exercise with the learner's answer sources put in.

The result is the list of code cells the sandbox runs, in notebook order: every cell is the
official one except the answer cells.
"""

from __future__ import annotations

from tools.grade.official import Official


def rebuild(official: Official, answers: dict[int, str]) -> list[dict]:
    program = []
    for cell in official.cells:
        source = answers.get(cell.index, cell.source) if cell.kind == "answer" else cell.source
        program.append(
            {"index": cell.index, "kind": cell.kind, "source": source, "grade_id": cell.grade_id}
        )
    return program
