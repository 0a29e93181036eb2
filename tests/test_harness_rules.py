"""The harness's one rule for error tasks and its "blocked by" report, on their own: graded on the
exception's type, on whether a `raise` of the learner's raised it (decided from the traceback,
never from words), on a non-empty message and on the sizes it names; and the share of points that
goes to input validation in each notebook."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.helpers import SOLUTIONS, solution_names
from tools import harness
from tools.conventions import is_graded

# Learner-style functions, compiled under a notebook-like file name as Jupyter does.
LEARNER = '''
import numpy as np
import torch

def checks_first(x):
    if x.shape[-1] != 4:
        raise ValueError(f"x has {x.shape[-1]} columns but the weights expect 4")
    return x @ np.ones((4, 2))

def wraps_the_library_error(x):
    try:
        return x.reshape(4, 4)
    except ValueError as error:
        raise ValueError(f"got {x.size} numbers, cannot make 4 by 4") from error

def reraises(x):
    try:
        return x.reshape(4, 4)
    except ValueError:
        raise

def no_check_reshape(x):
    return x.reshape(4, 4)

def no_check_matmul(x):
    return x @ np.ones((4, 2))

def no_check_torch(x):
    return torch.as_tensor(x) @ torch.ones(4, 2, dtype=torch.float64)

def no_check_division(x):
    return 1 / 0

def _helper(n):
    raise TypeError(f"heads must be a whole number, got {n!r}")

def checks_in_a_helper(x):
    _helper(2.5)

class Layer(torch.nn.Module):
    def forward(self, x):
        raise ValueError(f"width {x.shape[-1]} is not 4")

def checks_in_forward(x):
    return Layer()(torch.as_tensor(x))

def empty_message(x):
    raise ValueError()
'''
NAMESPACE: dict = {}
exec(compile(LEARNER, "/tmp/ipykernel_4242/2718281828.py", "exec"), NAMESPACE)  # noqa: S102 - test code
X = np.zeros((2, 3))


@pytest.mark.parametrize(("name", "own"), [
    ("checks_first", True), ("wraps_the_library_error", True), ("checks_in_a_helper", True),
    ("checks_in_forward", True), ("reraises", False), ("no_check_reshape", False),
    ("no_check_matmul", False), ("no_check_torch", False), ("no_check_division", False),
])
def test_own_is_decided_by_where_the_error_was_raised(name, own):
    got = harness.outcome(NAMESPACE[name], X)
    assert got["raised"] is not None
    assert got["own"] is own, got


def test_own_does_not_depend_on_the_words():
    # A learner's own message may contain every phrase of a library's messages.
    def learner(x):
        raise ValueError("cannot reshape: could not be broadcast, division by zero in matmul")
    assert harness.outcome(learner, X)["own"]


def test_a_normal_return_says_so():
    assert harness.outcome(lambda: 3) == {"raised": None, "mro": [], "message": "", "own": False}


@pytest.mark.parametrize(("name", "kinds", "sizes", "passes"), [
    ("checks_first", ("ValueError",), (3, 4), True),
    ("checks_first", ("ValueError",), (), True),
    ("checks_first", ("TypeError",), (), False),  # the wrong type
    ("checks_first", ("ValueError",), (3, 4, 2), False),  # 2 is not named
    ("checks_first", ("ValueError",), (34,), False),  # "3 ... 4" is not 34
    ("wraps_the_library_error", ("ValueError",), (6, 4), True),
    ("no_check_reshape", ("ValueError",), (), False),  # NumPy raised it, not the learner
    ("no_check_torch", ("RuntimeError",), (), False),
    ("checks_in_a_helper", ("TypeError",), (), True),
    ("empty_message", ("ValueError",), (), False),
])
def test_expect_error(name, kinds, sizes, passes):
    got = harness.outcome(NAMESPACE[name], X)
    if passes:
        harness.expect_error(got, kinds=kinds, sizes=sizes)
    else:
        with pytest.raises(AssertionError):
            harness.expect_error(got, kinds=kinds, sizes=sizes)


def test_a_library_error_is_accepted_where_the_task_does_not_ask_for_a_check():
    harness.expect_error(harness.outcome(NAMESPACE["no_check_reshape"], X), own=False)


def test_a_subclass_is_the_type():
    class ShapeError(ValueError):
        pass

    def learner():
        raise ShapeError("3 is not 4")
    harness.expect_error(harness.outcome(learner), kinds=("ValueError",), sizes=(3, 4))


def test_the_stub_is_not_attempted():
    def stub(x):
        raise NotImplementedError()
    with pytest.raises(NotImplementedError):
        harness.expect_error(harness.outcome(stub, X))


@pytest.mark.parametrize(("message", "number", "named"), [
    ("shape (3, 12)", 12, True), ("12x4", 12, True), ("d=12.", 12, True), ("120 keys", 12, False),
    ("1.5", 5, False), ("0.12", 12, False), ("-3", 3, True),
])
def test_a_size_is_named_as_a_number_of_its_own(message, number, named):
    assert harness._names_number(message, number) is named


def test_blocked_by_names_the_function_whose_own_check_failed(capsys, monkeypatch):
    monkeypatch.setattr(harness, "SELF_CHECK", {})
    wrong = {"value": 2.0}

    def inputs(rng):
        return {"x": rng.standard_normal(3)}

    def call_first(x):
        return x * wrong["value"]

    def call_second(x):
        return call_first(x) + 1

    def verdict_first(got, x):
        harness.check_close(got, x, atol=1e-12)

    def verdict_second(got, x):
        harness.check_close(got, x + 1, atol=1e-12)

    harness.run_check("first", inputs, call_first, verdict_first, seed=0)
    harness.run_check("second", inputs, call_second, verdict_second, seed=0,
                      needs={"first_function": "first"})
    passed, message = harness.SELF_CHECK["second"]
    assert not passed and message.startswith("blocked by `first_function` (check first)")
    harness.self_check_score({"first": 1, "second": 1})
    assert "blocked" in capsys.readouterr().out.splitlines()[-2]
    # Once the first is right the second is judged on its own again.
    wrong["value"] = 1.0
    harness.run_check("first", inputs, call_first, verdict_first, seed=0)
    harness.run_check("second", inputs, call_second, verdict_second, seed=0,
                      needs={"first_function": "first"})
    assert harness.SELF_CHECK["second"] == (True, "")


def _graded_cells(name):
    notebook = json.loads((SOLUTIONS / name).read_text(encoding="utf-8"))
    for cell in filter(is_graded, notebook["cells"]):
        grading = cell["metadata"]["nbgrader"]
        yield grading["grade_id"], grading["points"], "".join(cell["source"])


@pytest.mark.parametrize("name", solution_names())
def test_validation_share(name):
    """Input validation carries at most a fifth of a notebook's points: the ideas carry the rest.
    A validation cell is one whose verdict expects an error."""
    cells = list(_graded_cells(name))
    total = sum(points for _, points, _ in cells)
    validation = {grade_id: points for grade_id, points, source in cells if "expect_error(" in source}
    assert sum(validation.values()) <= 0.2 * total, (
        f"{name}: {sum(validation.values())} of {total} points check errors ({sorted(validation)})")



def test_an_error_in_the_learners_code_says_where(monkeypatch, capsys):
    monkeypatch.setattr(harness, "SELF_CHECK", {})

    def call(x):
        return NAMESPACE["no_check_matmul"](x)

    harness.run_check("where", lambda rng: {"x": np.zeros((2, 3))}, call, lambda got, x: None,
                      seed=0)
    passed, message = harness.SELF_CHECK["where"]
    assert not passed
    assert message.startswith("your code raised ValueError in `no_check_matmul`"), message
