"""The judge's small steps on their own: the codec (data only, never pickle), the rules (what
they forbid, and no false alarm on any official answer), extraction, and the format checks of
tools/make_exercises.py."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from tests.helpers import FIXTURES, ROOT, SOLUTIONS
from tests.judge_helpers import converted_solutions, make_course
from tools.grade import codec, extract, rules
from tools.grade.official import read_official
from tools.make_exercises import ExerciseError, make_exercise

READY, _ = converted_solutions()


# -- codec -----------------------------------------------------------------------------------
def test_codec_round_trip_keeps_types_dtypes_and_values():
    data = {
        "none": None, "flag": True, "big": 2**100, "nan": float("nan"), "inf": -float("inf"),
        "z": 1 + 2j, "text": "héllo", "scalar": np.float32(1.5), "int": np.int64(7),
        "array": np.arange(6, dtype=np.int16).reshape(2, 3)[:, ::2],
        "bools": np.array([True, False]), "strings": np.array(["a", "bc"]),
        "tensor": torch.arange(4, dtype=torch.float32).reshape(2, 2),
        "bf16": torch.tensor([1.5, -2.0], dtype=torch.bfloat16),
        "grad": torch.ones(2, dtype=torch.float64, requires_grad=True),
        "dtype": torch.float16, "nested": [(1, [2.5]), {"k": ()}],
    }
    back = codec.decode(codec.encode(data))
    assert back.keys() == data.keys()
    assert back["big"] == 2**100 and np.isnan(back["nan"]) and back["inf"] == -float("inf")
    assert type(back["scalar"]) is np.float32 and back["scalar"] == 1.5
    assert back["array"].dtype == np.int16 and np.array_equal(back["array"], data["array"])
    assert back["strings"].tolist() == ["a", "bc"]
    assert back["tensor"].dtype == torch.float32 and torch.equal(back["tensor"], data["tensor"])
    assert back["bf16"].dtype == torch.bfloat16 and torch.equal(back["bf16"], data["bf16"])
    assert back["grad"].requires_grad and back["dtype"] is torch.float16
    assert back["nested"] == [(1, [2.5]), {"k": ()}]


def test_results_see_numpy_scalars_as_the_harness_does():
    assert codec.decode(codec.encode(np.float64(2.0), result=True)).shape == ()
    assert isinstance(codec.decode(codec.encode(np.float64(2.0), result=True)), np.ndarray)


@pytest.mark.parametrize("bad", [
    object(), np.array([object()], dtype=object), {1: 2}, lambda: 0, type("Float", (), {})(),
])
def test_codec_refuses_what_is_not_data(bad):
    with pytest.raises(codec.CodecError):
        codec.encode(bad)


def test_codec_refuses_deep_nesting():
    nested = []
    for _ in range(30):
        nested = [nested]
    with pytest.raises(codec.CodecError):
        codec.encode(nested)


class _Payload:
    def __reduce__(self):
        return (Path.touch, (Path(self.canary),))


def test_decoding_never_unpickles(tmp_path):
    _Payload.canary = str(tmp_path / "unpickled")
    buffer = io.BytesIO()
    np.savez(buffer, skeleton=np.frombuffer(b'["ndarray", "a0"]', dtype=np.uint8),
             a0=np.array([_Payload()], dtype=object))
    with pytest.raises(codec.CodecError):
        codec.decode(buffer.getvalue())
    assert not (tmp_path / "unpickled").exists()


def test_decoding_refuses_malformed_and_compressed_blobs():
    for blob in [b"", b"PK\x03\x04garbage", b"\x80\x04K\x01."]:
        with pytest.raises(codec.CodecError):
            codec.decode(blob)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, skeleton=np.frombuffer(b'["none"]', dtype=np.uint8))
    with pytest.raises(codec.CodecError):
        codec.decode(buffer.getvalue())
    for skeleton in [b'["ndarray", "a9"]', b'{"x": 1}', b'["int", 5]', b'["tensor", "a0"]']:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("skeleton.npy", _npy(np.frombuffer(skeleton, dtype=np.uint8)))
        with pytest.raises(codec.CodecError):
            codec.decode(buffer.getvalue())


def _npy(array) -> bytes:
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


# -- rules -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def toy_official(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("rules"), {"00_toy.ipynb": FIXTURES / "00_toy.ipynb"})
    return read_official(course / "exercises" / "00_toy.ipynb")


def _answers_with(official, mean_square_cell: str):
    solution = extract.read_code_cells(FIXTURES / "00_toy.ipynb")
    answers = extract.extract(official, solution)
    index = next(c.index for c in official.answers if "def mean_square" in c.source)
    answers[index] = mean_square_cell
    return answers


RULE_CASES = [
    ("return float(np.mean(np.asarray(x) ** 2))", False),
    ("return float(math.fsum(v * v for v in x) / len(x))", False),
    ("import itertools\n    return float(np.mean(np.asarray(x) ** 2))", False),
    ("return eval('1')", True),
    ("return getattr(np, 'mean')(np.asarray(x) ** 2)", False),
    ("name = 'mean'\n    return getattr(np, name)(x)", True),
    ("return np.__dict__['mean'](x)", True),
    ("return x.__class__", True),
    ("import os\n    return 0.0", True),
    ("from os import path\n    return 0.0", True),
    ("import scipy\n    return 0.0", True),
    ("return np._core.multiarray.dot(x, x) / len(x)", True),
    ("np.mean = len\n    return 0.0", True),
    ("return torch.mean(torch.as_tensor(x) ** 2).item()", True),
    ("import torch as tt\n    return tt.mean(tt.as_tensor(x) ** 2).item()", True),
    ("return globals()['np'].mean(x)", True),
    ("return reference_mean_square(x)", True),
    ("SELF_CHECK.clear()\n    return 0.0", True),
    ("return open('/etc/passwd').read()", True),
    ("return vars(np)['mean'](x)", True),
    ("del x.forward\n    return 0.0", True),
    ("delattr(x, 'forward')\n    return 0.0", True),
    ("y = {'a': 1}\n    del y['a']\n    return 0.0", False),
    ("outcome = float(np.mean(np.asarray(x) ** 2))\n    return outcome", False),
]


@pytest.mark.parametrize(("body", "forbidden"), RULE_CASES, ids=[c[0][:40] for c in RULE_CASES])
def test_rules_on_mean_square(toy_official, body, forbidden):
    cell = f"def mean_square(x):\n    {body}\n"
    report = rules.check(toy_official, _answers_with(toy_official, cell))
    assert ("mean-square-value" in report.forbidden) == forbidden, report.violations


def test_harness_names_cannot_be_rebound(toy_official):
    cell = "def mean_square(x):\n    return 0.0\n\n\ndef check_close(*a, **k):\n    pass\n"
    report = rules.check(toy_official, _answers_with(toy_official, cell))
    assert set(report.forbidden) == {"mean-square-value", "double-value"}


def test_the_torch_ban_follows_the_code_into_other_cells(toy_official):
    solution = extract.read_code_cells(FIXTURES / "00_toy.ipynb")
    answers = extract.extract(toy_official, solution)
    double, square = (next(c.index for c in toy_official.answers if f"def {f}" in c.source)
                      for f in ("double", "mean_square"))
    answers[double] += "\n\ndef helper(x):\n    return torch.mean(torch.as_tensor(x) ** 2)\n"
    answers[square] = "def mean_square(x):\n    return float(helper(x))\n"
    report = rules.check(toy_official, answers)
    assert set(report.forbidden) == {"mean-square-value"}, report.forbidden


@pytest.mark.parametrize("name", READY or ["none"])
def test_no_official_answer_breaks_its_own_rules(tmp_path, name):
    """The solutions, and the exercises' stubs, pass the rules: no false alarms."""
    if name == "none":
        pytest.skip("no chapter in the graded-cell format yet")
    course = make_course(tmp_path, {name: SOLUTIONS / name})
    official = read_official(course / "exercises" / name)
    for source in (SOLUTIONS / name, course / "exercises" / name):
        answers = extract.extract(official, extract.read_code_cells(source))
        report = rules.check(official, answers)
        assert not report.violations, [v.text() for v in report.violations]


# -- extraction ------------------------------------------------------------------------------
def test_only_answer_cells_cross(toy_official):
    notebook = json.loads((FIXTURES / "00_toy.ipynb").read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code" and "run_check" in "".join(cell["source"]):
            cell["source"] = "SELF_CHECK['x'] = (True, '')"
    cells = [(c.get("id"), "".join(c["source"])) for c in notebook["cells"] if c["cell_type"] == "code"]
    answers = extract.extract(toy_official, cells)
    assert set(answers) == {cell.index for cell in toy_official.answers}
    assert all("SELF_CHECK" not in text for text in answers.values())


def test_unreadable_notebooks(tmp_path):
    for text in ["{", "[]", '{"cells": 3}', '{"cells": [{"cell_type": "code", "source": 5}]}']:
        (tmp_path / "x.ipynb").write_text(text)
        with pytest.raises(extract.Unreadable):
            extract.read_code_cells(tmp_path / "x.ipynb")


# -- make_exercises' format checks --------------------------------------------------------------
def _toy():
    return nbformat.read(FIXTURES / "00_toy.ipynb", as_version=4)


def test_make_exercises_accepts_the_toy():
    make_exercise(_toy(), "00_toy.ipynb")


def test_make_exercises_refuses_a_changed_harness():
    notebook = _toy()
    harness = next(c for c in notebook.cells if "harness" in c.metadata.get("tags", []))
    harness.source = harness.source.replace("atol=atol", "atol=1.0")
    with pytest.raises(ExerciseError, match="differs from tools/harness.py"):
        make_exercise(notebook, "00_toy.ipynb")


def test_make_exercises_refuses_a_run_check_id_that_is_not_the_grade_id():
    notebook = _toy()
    graded = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade"))
    graded.source = graded.source.replace('run_check("mean-square-value"', 'run_check("other"')
    with pytest.raises(ExerciseError, match="run_check\\('other', ...\\).*'mean-square-value'"):
        make_exercise(notebook, "00_toy.ipynb")


def test_make_exercises_prints_the_right_score_cell():
    notebook = _toy()
    notebook.cells[-1].source = 'self_check_score({"mean-square-value": 2})'
    with pytest.raises(ExerciseError) as raised:
        make_exercise(notebook, "00_toy.ipynb")
    assert 'self_check_score({"mean-square-value": 2, "double-value": 3})' in str(raised.value)


def test_the_banner_works_in_colab_too():
    exercise, _ = make_exercise(_toy(), "00_toy.ipynb")
    banner = exercise.cells[1].source
    assert "Run all" in banner and "self-check" in banner
    assert "pytest --nbval-lax exercises/00_toy.ipynb" in banner
    assert "official grade" in banner and "grade yourself" not in banner


def test_the_harness_file_is_what_the_docs_say(tmp_path):
    text = (ROOT / "docs" / "graded-cells.md").read_text()
    for name in ["run_check", "check_close", "check_equal", "expect_error", "outcome", "to_data",
                 "self_check_score"]:
        assert name in text and f"def {name}(" in (ROOT / "tools" / "harness.py").read_text()


# -- issue #19: what holds by construction -----------------------------------------------------
def test_numpy_only_checks_come_from_the_official_exercise(toy_official):
    hidden, present = rules.numpy_only_checks(toy_official)
    assert (hidden, present) == ({"mean-square-value"}, set())


def test_what_the_rules_derive_from_an_exercise_is_derived_once_and_frozen(tmp_path):
    """The judge asks the same questions of the same exercise for every learner: each answer is
    computed once per exercise, frozen, and never served for another exercise."""
    toy, other = (read_official(make_course(tmp_path / name, {name: path})
                                / "exercises" / name)
                  for name, path in (("00_toy.ipynb", FIXTURES / "00_toy.ipynb"),
                                     ("05_efficient_attention.ipynb",
                                      SOLUTIONS / "05_efficient_attention.ipynb")))
    for question in (rules.module_aliases, rules.numpy_only_checks):
        first = question(toy)
        assert question(toy) is first
        assert all(isinstance(part, frozenset) for part in first)
        assert question(other) != first
    assert rules.numpy_only_checks(toy)[0] == {"mean-square-value"}
    assert "tiled-memory" not in rules.numpy_only_checks(other)[0]  # it calls PyTorch itself


def test_a_deep_cell_is_parsed_not_skipped(toy_official):
    deep = "0" + " + 0" * 2000
    cell = f"def mean_square(x):\n    zero = {deep}\n    return float(torch.mean(x)) + zero\n"
    compile(cell, "<deep>", "exec")  # Python compiles it ...
    report = rules.check(toy_official, _answers_with(toy_official, cell))
    assert "mean-square-value" in report.forbidden  # ... so the judge reads it too
    assert any("torch" in reason for reason in report.forbidden["mean-square-value"])


def test_verdicts_zip_strictly():
    from tools.grade.judge import strict_zip

    assert list(strict_zip([1, 2], "ab")) == [(1, "a"), (2, "b")]
    with pytest.raises(ValueError):
        list(strict_zip((), [1]))


def test_collect_reads_only_regular_files_with_one_link(tmp_path):
    from tools.grade.collect import regular_file as readable

    course, learner = tmp_path / "course", tmp_path / "learner"
    course.mkdir()
    learner.mkdir()
    (course / "solution.ipynb").write_text("{}")
    (learner / "own.ipynb").write_text("{}")
    (learner / "linked.ipynb").hardlink_to(course / "solution.ipynb")
    (learner / "symlinked.ipynb").symlink_to(course / "solution.ipynb")
    assert readable(learner / "own.ipynb", course)
    assert not readable(learner / "linked.ipynb", course)
    assert not readable(learner / "symlinked.ipynb", course)
    assert not readable(learner, course)
    (course / "inside.ipynb").write_text("{}")
    assert not readable(course / "inside.ipynb", course)


def _frames(*frames) -> list:
    import queue

    from tools.grade import session

    stream = io.BytesIO(b"".join(frames))
    out: queue.Queue = queue.Queue()
    session._read_frames(stream, out, allowance=10_000)
    found = []
    while not out.empty():
        found.append(out.get()[0])
    return found


def _frame(message: dict, payload: bytes = b"") -> bytes:
    if payload:
        message = dict(message, nbytes=len(payload))
    return json.dumps(message).encode() + b"\n" + payload


def test_the_judge_keeps_only_payloads_it_asked_for():
    call = {"type": "call", "grade_id": "g", "which": "visible"}
    result = dict(call, type="result")
    assert _frames(_frame(call), _frame(result, b"data")) == ["message", "message", "eof"]
    assert _frames(_frame({"type": "note"}, b"data")) == ["malformed"]
    assert _frames(_frame(result, b"data")) == ["malformed"]  # no call before it
    assert _frames(_frame(call), _frame(result, b"a"), _frame(call),
                   _frame(result, b"b")) == ["message"] * 3 + ["malformed"]  # twice
    assert _frames(_frame(call), _frame(result, b"x" * 20_000)) == ["message", "overflow"]


def test_reports_survive_any_learner_text(tmp_path):
    from tools.grade import report
    from tools.grade.judge import CellResult, NotebookResult

    rows = []
    for name in ["=cmd|' /C calc'!A0", "caf\udce9", "<b>x</b>", "plain"]:
        row = NotebookResult(name, "00_toy.ipynb", 2, cells=[CellResult("g", 2)])
        row.cells[0].status, row.cells[0].message = "failed", "\ud800 <script>x</script> ```"
        row.notes.append("<img src=x onerror=alert(1)>")
        rows.append(row)
    report.write(rows, tmp_path, {"seed": 99, "sandbox": "bwrap"})
    assert json.loads((tmp_path / "run.json").read_text())["seed"] == 99
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.name != "run.json":
            text = path.read_text(encoding="utf-8")
            assert '"seed"' not in text
            if path.suffix == ".html":
                assert "<script" not in text and "<img" not in text and "<b>" not in text
    assert len(list((tmp_path / "learners").iterdir())) == 4
    with (tmp_path / "grades.csv").open(newline="", encoding="utf-8") as handle:
        learners = [row[0] for row in list(csv.reader(handle))[1:]]
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in learners)


def test_a_missing_result_fails_with_a_message_that_says_so():
    """The judge checks the data it expects: a key the verdict reads but the sandbox did not send
    fails the check and names the key, whatever the verdict does with it."""
    from tools.grade.trusted import Check
    from tools.grade.trusted import verdict as judged

    def verdict(got, x):
        assert got["out"] == x  # a verdict that never thought of a missing key

    check = Check("toy", 1, "", None, verdict, 0)
    assert judged(check, {"out": 2}, {"x": 2}).passed is True
    found = judged(check, {}, {"x": 2})
    assert found.passed is False and "'out'" in found.message and "came back" in found.message


def test_what_a_run_shares_is_keyed_by_everything_it_depends_on(tmp_path):
    """trusted.Shared: the visible inputs are drawn once per check and seed, the fresh ones per
    learner; a verdict on the visible inputs is decided once per exact result, so a wrong
    result after a right one (or the reverse) still gets its own verdict."""
    from tools.grade.trusted import Check, Shared, write_job

    drawn, judged = [], []

    def inputs(rng):
        drawn.append(1)
        return {"x": rng.standard_normal(3)}

    def verdict(got, x):
        judged.append(1)
        x[:] = 0  # a verdict that spoils its inputs spoils only its own copy
        assert got["out"] == 7, f"expected 7, got {got['out']}"

    def check(grade_id, seed):
        return Check(grade_id, 1, "", inputs, verdict, seed)

    shared = Shared()
    first, again = (shared.visible_inputs("00_toy.ipynb", check("c", 5)) for _ in range(2))
    assert first is again and len(drawn) == 1
    assert shared.visible_inputs("00_toy.ipynb", check("c", 6))[1] != first[1]  # another seed
    assert shared.visible_inputs("01_other.ipynb", check("c", 5)) is not first  # another notebook
    assert len(drawn) == 3
    right, wrong = codec.encode({"out": 7}, result=True), codec.encode({"out": 8}, result=True)
    verdicts = [shared.visible_verdict("00_toy.ipynb", check("c", 5), payload, first[0])
                for payload in (right, wrong, right, wrong)]
    assert [v.passed for v in verdicts] == [True, False, True, False]
    assert "got 8" in verdicts[3].message and len(judged) == 2
    assert shared.visible_verdict("00_toy.ipynb", check("d", 5), right, first[0]).passed
    assert shared.visible_verdict("01_other.ipynb", check("c", 5), right, first[0]).passed
    assert len(judged) == 4  # another check, another notebook: decided again
    assert shared.visible_verdict("00_toy.ipynb", check("c", 5), b"not data", first[0]).passed is False
    # Two learners' jobs: the same visible inputs, each their own fresh ones.
    official = read_official(make_course(tmp_path / "course", {"00_toy.ipynb": FIXTURES /
                                                               "00_toy.ipynb"})
                             / "exercises" / "00_toy.ipynb")
    given = {}
    for learner in ("ann", "bob"):
        (tmp_path / learner).mkdir()
        given[learner] = write_job(tmp_path / learner, official, [], {"c": check("c", 5)},
                                   learner, 1, shared=shared)["c"]
    assert given["ann"]["visible"][1] is given["bob"]["visible"][1] is first[0]
    assert not np.array_equal(given["ann"]["fresh"][1]["x"], given["bob"]["fresh"][1]["x"])
    assert (tmp_path / "ann" / "inputs-0-visible.npz").read_bytes() == first[1]


def test_an_error_check_of_a_stub_is_not_attempted_in_both_graders(monkeypatch):
    """expect_error on a function that is still the stub: 'not attempted' in the judge (its
    verdict) and in the notebook's own run_check, never 'failed'."""
    from tools import harness
    from tools.grade.trusted import Check
    from tools.grade.trusted import verdict as judged

    monkeypatch.delenv("ATTENTION_SELF_CHECK", raising=False)  # run_check prints, not raises
    stub = {"raised": "NotImplementedError", "mro": ["NotImplementedError"], "message": ""}

    def verdict(got):
        harness.expect_error(got["bad"], kinds=("ValueError",), what="q (5, 4) with k (7, 3)")

    found = judged(Check("toy", 1, "", None, verdict, 0), {"bad": stub}, {})
    assert found.passed is False and found.not_attempted
    assert found.message.startswith("not attempted")
    harness.run_check("toy-errors", lambda rng: {}, lambda: {"bad": stub},
                      lambda got: verdict(got), seed=0)
    passed, message = harness.SELF_CHECK["toy-errors"]
    assert not passed and message.startswith("not attempted")
    written = {"raised": "ValueError", "mro": ["ValueError"], "message": "q (5, 4), k (7, 3)",
               "own": True}
    assert judged(Check("toy", 1, "", None, verdict, 0), {"bad": written}, {}).passed is True


def test_a_failed_check_that_needs_a_failed_one_is_blocked_by_it():
    """One mistake, one place to look: the judge reports a failed check whose earlier function's
    own check failed as blocked by that function, as the harness's run_check does."""
    from tools.grade.status import blocked

    needs = {"encoder": {"layer_norm": "layer-norm"}, "decoder": {"layer_norm": "layer-norm"}}
    statuses = {"layer-norm": "failed", "encoder": "failed", "decoder": "passed"}
    found = blocked(statuses, needs)
    assert list(found) == ["encoder"]
    assert found["encoder"].startswith("blocked by `layer_norm` (check layer-norm)")
    # Once layer_norm passes, the encoder's own failure is its own.
    assert blocked({"layer-norm": "passed", "encoder": "failed", "decoder": "passed"},
                   needs) == {}
