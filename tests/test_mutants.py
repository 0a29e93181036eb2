"""Every graded test can fail: each mutant (one classic learner mistake, kept as data in
tests/mutants/NN_topic.yaml) is put in place of the solution code and must lose points."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
import yaml

from tests.helpers import ROOT, SOLUTIONS, run_grader, solution_names, solution_regions

MUTANTS = ROOT / "tests" / "mutants"
# The least each chapter's issue asks for; a chapter not listed needs this many.
MINIMUM = {"01_self_attention": 8, "03_causal_attention": 8}
DEFAULT_MINIMUM = 6


def load(stem: str) -> list[dict]:
    path = MUTANTS / f"{stem}.yaml"
    return yaml.safe_load(path.read_text())["mutants"] if path.exists() else []


def load_correct_answers(stem: str) -> list[dict]:
    """Correct answers that differ from the solution (own wording, another method): each must get
    full marks. Kept in the same file as the mutants, under ``correct_answers``."""
    path = MUTANTS / f"{stem}.yaml"
    return (yaml.safe_load(path.read_text()).get("correct_answers") or []) if path.exists() else []


# Every mutant is graded by the judge in tests/test_judge_mutants.py, which also checks that the
# notebook's own self-check (the same harness, in the judge's runner) catches it. Through the
# learner's pytest self-check (nbval + tools/nbgrade.py) one per chapter is enough to prove
# that path agrees: running all of them twice would double the suite's longest part.
NBVAL_MUTANTS_PER_NOTEBOOK = 1


def all_mutants():
    for name in solution_names():
        for mutant in load(Path(name).stem)[:NBVAL_MUTANTS_PER_NOTEBOOK]:
            yield pytest.param(name, mutant, id=f"{Path(name).stem}:{mutant['id']}")


def apply(notebook, mutant: dict, name: str) -> None:
    """Replace each ``old`` by ``new``; ``old`` must occur once, inside the solution code."""
    for change in mutant["replace"]:
        old, new = change["old"], change["new"]
        inside = sum(region.count(old) for cell in notebook.cells for region in solution_regions(cell.source))
        assert inside == 1, (
            f"mutant {mutant['id']} of {name}: {old!r} occurs {inside} times inside the solution code; "
            "it must occur exactly once (the solution changed? update the mutant)"
        )
        for cell in notebook.cells:
            if any(old in region for region in solution_regions(cell.source)):
                cell.source = cell.source.replace(old, new, 1)


@pytest.mark.parametrize("name", solution_names())
def test_every_solution_has_enough_mutants(name):
    stem = Path(name).stem
    mutants = load(stem)
    wanted = MINIMUM.get(stem, DEFAULT_MINIMUM)
    assert len(mutants) >= wanted, f"tests/mutants/{stem}.yaml has {len(mutants)} mutants; the chapter needs {wanted}"
    ids = [mutant["id"] for mutant in mutants]
    assert len(ids) == len(set(ids)), f"duplicate mutant ids in {stem}.yaml"
    for mutant in mutants:
        assert mutant.get("description"), f"mutant {mutant['id']} needs a description of the mistake"
    answers = load_correct_answers(stem)
    answer_ids = [answer["id"] for answer in answers]
    assert len(answer_ids) == len(set(answer_ids)) and not set(answer_ids) & set(ids), (
        f"{stem}.yaml: correct answers need ids of their own (they share a learner folder otherwise)")
    for answer in answers:
        assert answer.get("description") and answer.get("replace"), answer["id"]
        assert "catches" not in answer, f"correct answer {answer['id']} cannot catch anything"


@pytest.fixture(scope="module")
def self_checked(tmp_path_factory):
    """The learner's self-check, in one pytest process, on each notebook's mutant."""
    folder = tmp_path_factory.mktemp("nbval-mutants")
    targets = []
    for param in all_mutants():
        name, mutant = param.values
        notebook = nbformat.read(SOLUTIONS / name, as_version=4)
        apply(notebook, mutant, name)
        targets.append(folder / name)
        nbformat.write(notebook, targets[-1])
    return run_grader(targets, folder, timeout=900)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "mutant"), list(all_mutants()))
def test_mutant_is_caught(name, mutant, self_checked):
    cells = self_checked.cells(name)
    failed = {grade_id for grade_id, row in cells.items() if row["earned"] < row["points"]}
    assert failed, f"no graded cell catches mutant {mutant['id']} ({mutant['description']})"
    missed = set(mutant.get("catches", [])) - failed
    assert not missed, f"mutant {mutant['id']} should fail {sorted(missed)} but they passed"
    assert {cells[grade_id]["status"] for grade_id in failed} <= {"failed", "not attempted", "timeout", "blocked"}, cells
