"""The judge on the course's own chapters (every solution notebook in the graded-cell format;
the others are skipped, each with its reason): solutions earn full marks and blank exercises 0
through the same path; the judge and the self-check agree cell by cell, the self-check both as
the sandboxed notebook reported it and as the learner's pytest plugin computes it; and every
from-scratch rule holds: an answer that uses what its task forbids earns no more than the same
notebook with that answer left blank. One judge run, sandboxed, grades the solutions and the
blanks; a second grades the from-scratch attacks (our own code) with ``--unsafe-no-sandbox``,
whose warm runners save PyTorch's import per notebook: the rules are decided on the syntax tree
before anything runs, and the sandbox has its own tests. Each answer cell is attacked once, with
a line for each word its task forbids, and the judge's feedback must name every one of those
lines with its own word. A rule zeroes the graded cells that depend on the answer cell whichever
word broke it, so one notebook per cell proves both that each word is found where it is and
that the cell costs no more than leaving it blank.

Set JUDGE_SOLUTIONS to another folder of solution notebooks to try the tests on it.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from tests.helpers import SOLUTIONS, run_grader
from tests.judge_helpers import (
    converted_solutions,
    exercise_text,
    make_course,
    run_judge,
    write_notebook,
)

# Time limits for a loaded test machine: a limit hit by a correct solution is a flaky test.
GENEROUS = ("--cell-timeout", "300", "--check-timeout", "120", "--notebook-timeout", "3600")
FOLDER = Path(os.environ.get("JUDGE_SOLUTIONS", SOLUTIONS))
READY, WAITING = converted_solutions(FOLDER)
BEGIN = "### BEGIN SOLUTION"
# Hand-written from-scratch attacks: (notebook, function, forbidden word, code put first in the
# function's solution; it computes the right answer with what the task forbids).
HANDWRITTEN = [
    ("01_self_attention.ipynb", "scaled_dot_product_attention", "torch",
     ("qt, kt, vt = (torch.as_tensor(np.asarray(a, dtype=float)) for a in (q, k, v))\n"
     "scores = qt @ kt.mT / math.sqrt(qt.shape[-1])\n"
     "if mask is not None:\n"
     "    scores = scores.masked_fill(~torch.as_tensor(np.asarray(mask)), float('-inf'))\n"
     "w = torch.softmax(scores, dim=-1)\n"
     "return (w @ vt).numpy(), w.numpy()")),
    ("01_self_attention.ipynb", "softmax", "torch",
     "return torch.softmax(torch.as_tensor(np.asarray(x, dtype=float)), dim=axis).numpy()"),
]


def _answer_cells(notebook):
    return [cell for cell in notebook.cells
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution")
            and BEGIN in cell.source]


def _inject(cell, code: str) -> int:
    """Put ``code`` first in the cell's first solution region, at its indentation; return the
    number of the cell's line before it (its first line is that number plus one)."""
    lines = cell.source.split("\n")
    at = next(i for i, line in enumerate(lines) if line.strip() == BEGIN)
    indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
    lines[at + 1:at + 1] = [indent + line for line in code.split("\n")]
    cell.source = "\n".join(lines)
    return at + 1


def _blank(cell, exercise) -> None:
    """Give the cell its exercise text (its stub), found by id."""
    stub = next(c for c in exercise.cells if c.get("id") == cell.get("id"))
    cell.source = stub.source


def _word_probe(word: str) -> str:
    # Harmless at run time (so the answer still works), but it names what the task forbids.
    if word == "torch":
        return "_attack = getattr(torch, 'zeros', None)"
    return f"_attack = getattr(torch.nn.functional, {word!r}, None)"


def _probes(words: list[str]) -> tuple[str, dict[str, int]]:
    """One probe line per word, and the line (from 1, in the code put first) of each word's."""
    return "\n".join(_word_probe(word) for word in words), {word: line for line, word in enumerate(words, 1)}


def test_every_solution_is_in_the_graded_cell_format():
    """The judge grades only notebooks in docs/graded-cells.md's format: none may fall outside it
    (it would be skipped, and its learners left ungraded)."""
    assert READY and not WAITING, f"not in the graded-cell format: {WAITING}"


@pytest.fixture(scope="module")
def chapters(tmp_path_factory):
    if not READY:
        pytest.skip("no solution notebook is in the graded-cell format yet")
    base = tmp_path_factory.mktemp("chapters")
    course = make_course(base / "course", {name: FOLDER / name for name in READY})
    subs = base / "submissions"
    attack_subs = base / "attacks"
    attacks = []  # (learner, baseline learner, notebook)
    for name in READY:
        write_notebook(nbformat.read(FOLDER / name, as_version=4), subs / "solution" / name)
        (subs / "blank").mkdir(parents=True, exist_ok=True)
        (subs / "blank" / name).write_text(exercise_text(course, name))
        exercise = nbformat.reads(exercise_text(course, name), as_version=4)
        stem = Path(name).stem
        for number, cell in enumerate(_answer_cells(nbformat.read(FOLDER / name, as_version=4))):
            words = cell.metadata.get("attention", {}).get("forbid", [])
            if not words:
                continue
            attacker, baseline = f"rule-{stem}-{number}", f"baseline-{stem}-{number}"
            notebook = nbformat.read(FOLDER / name, as_version=4)
            code, lines = _probes(words)
            at = _inject(_answer_cells(notebook)[number], code)
            write_notebook(notebook, attack_subs / attacker / name)
            notebook = nbformat.read(FOLDER / name, as_version=4)
            _blank(_answer_cells(notebook)[number], exercise)
            write_notebook(notebook, attack_subs / baseline / name)
            attacks.append((attacker, baseline, name, {word: at + line for word, line in lines.items()}))
        for notebook_name, function, word, code in HANDWRITTEN:
            if notebook_name != name:
                continue
            notebook = nbformat.read(FOLDER / name, as_version=4)
            cells = _answer_cells(notebook)
            found = [i for i, c in enumerate(cells) if f"def {function}(" in c.source]
            if not found or word not in cells[found[0]].metadata.get("attention", {}).get("forbid", []):
                continue
            _inject(cells[found[0]], code)
            attacker = f"handwritten-{stem}-{function}"
            write_notebook(notebook, attack_subs / attacker / name)
            attacks.append((attacker, f"baseline-{stem}-{found[0]}", name, {}))
    results = run_judge(subs, base / "results", course, "--jobs", "2", *GENEROUS, timeout=7200)
    attack_results = run_judge(attack_subs, base / "attack-results", course, "--jobs", "2",
                               "--unsafe-no-sandbox", *GENEROUS, timeout=7200)
    plugin = run_grader([subs / "solution" / name for name in READY]
                        + [subs / "blank" / name for name in READY], base,
                        course / "exercises" / "grading_manifest.json", "-n", "0",
                        timeout=3600)
    return {"results": results, "attack_results": attack_results, "attacks": attacks,
            "plugin": plugin, "subs": subs}


@pytest.mark.parametrize("name", READY)
def test_solution_full_marks_and_blank_zero(chapters, name):
    results = chapters["results"]
    lost = {gid: cell["message"][:300] for gid, cell in results.cells("solution", name).items()
            if cell["earned"] != cell["points"]}
    assert not lost, f"solutions/{name} loses points with the judge: {lost}"
    assert results.flags("solution", name) == set()
    assert results.earned("blank", name) == 0


@pytest.mark.parametrize("name", READY)
def test_judge_agrees_with_the_self_check(chapters, name):
    results = chapters["results"]
    for learner in ("solution", "blank"):
        for grade_id, cell in results.cells(learner, name).items():
            assert cell["self_check"] is not None, (learner, grade_id)
            assert cell["visible"] == cell["self_check"][0], (learner, grade_id, cell)


def _plugin_result(plugin, learner: str, name: str) -> dict:
    found = [result for result in plugin.report["notebooks"]
             if result["notebook"].endswith(f"{learner}/{name}")]
    assert found, f"the plugin did not grade {learner}/{name}"
    return found[0]


@pytest.mark.parametrize("name", READY)
def test_pytest_plugin_full_marks_and_zero(chapters, name):
    """The learner's self-check (pytest + tools/nbgrade.py) on the solution and on the exercise
    as shipped (check-exercises keeps exercises/ equal to what the course copy generates)."""
    plugin = chapters["plugin"]
    solution = _plugin_result(plugin, "solution", name)
    lost = {row["grade_id"]: row["message"] for row in solution["cells"]
            if row["earned"] != row["points"]}
    assert not lost, f"solutions/{name} lost points on {lost}"
    assert solution["earned"] == solution["possible"] > 0
    assert not solution["other_failures"], f"ungraded cells failed: {solution['other_failures']}"
    blank = _plugin_result(plugin, "blank", name)
    scored = {row["grade_id"]: row["status"] for row in blank["cells"] if row["earned"] != 0}
    assert not scored, f"exercises/{name} gives points without any learner code: {scored}"
    # Only the learner's own stubs may fail; every other cell (set-up, given code, demos) runs.
    broken = [cell for cell in blank["other_failures"] if not cell["learner_code"]]
    assert not broken, f"exercises/{name}: cells that are not the learner's fail: {broken}"
    for learner, result in (("solution", solution), ("blank", blank)):
        lines = [line.split() for line in plugin.output.splitlines()
                 if line.startswith("SCORE ") and line.rstrip().endswith(f"{learner}/{name}")]
        assert lines, f"the plugin's output has no SCORE line for {learner}/{name}"
        earned, possible = (float(part) for part in lines[0][1].split("/"))
        assert (earned, possible) == (result["earned"], result["possible"]), lines[0]


@pytest.mark.parametrize("name", READY)
def test_pytest_plugin_agrees_with_the_judge(chapters, name):
    plugin, results = chapters["plugin"], chapters["results"]
    for learner in ("solution", "blank"):
        reported = {row["grade_id"]: row for result in plugin.report["notebooks"]
                    if result["notebook"].endswith(f"{learner}/{name}") for row in result["cells"]}
        assert reported, f"the plugin did not grade {learner}/{name}"
        judged = results.cells(learner, name)
        assert set(reported) == set(judged)
        for grade_id, row in reported.items():
            assert (row["earned"] == row["points"]) == (judged[grade_id]["earned"] == judged[grade_id]["points"]), (
                learner, grade_id, row, judged[grade_id])


def test_forbidden_words_zero_their_dependents(chapters):
    results = chapters["attack_results"]
    if not chapters["attacks"]:
        pytest.skip("no converted answer cell declares a from-scratch rule yet")
    for attacker, baseline, name, lines in chapters["attacks"]:
        earned, honest = results.earned(attacker, name), results.earned(baseline, name)
        assert earned <= honest, f"{attacker} earned {earned} > {honest} ({baseline})"
        assert "forbidden-call" in results.flags(attacker, name), results.row(attacker, name)
        # Every word on its own line, found there by that word (the line may break another rule
        # too: a word's probe reaches it through torch.nn.functional).
        found = results.violations(attacker, name)
        missed = [word for word, line in lines.items()
                  if not any(f", line {line}: " in text and repr(word) in text for text in found)]
        assert not missed, f"{attacker}: the judge did not find {missed}; it found {found}"
