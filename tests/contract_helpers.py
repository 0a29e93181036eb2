"""Load a solution notebook's public functions into a namespace, for the contract tests.

``load_solution("03_causal_attention")`` runs every code cell of the solution notebook
except the graded ones (and the final self-check score) and returns the resulting
namespace, so a test can call ``ns["masked_softmax"](...)`` directly. ``edits`` replaces
text in the source first (old -> new, each exactly once), which is how a test proves that
removing a validation makes the contract test fail.
"""

from __future__ import annotations

import contextlib
import io
from functools import cache

import matplotlib
import nbformat

from tests.helpers import SOLUTIONS
from tools.harness import _raised_by_a_raise_statement

matplotlib.use("Agg")


def _code_cells(name: str) -> list[str]:
    notebook = nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4)
    cells = []
    for cell in notebook.cells:
        if cell.cell_type != "code" or cell.metadata.get("nbgrader", {}).get("grade"):
            continue
        if cell.source.lstrip().startswith("self_check_score("):
            continue
        # IPython magics are not Python; the solutions need none of them to define functions.
        cells.append("\n".join(line for line in cell.source.split("\n") if not line.startswith("%")))
    return cells


def load_solution(name: str, edits: tuple[tuple[str, str], ...] = ()) -> dict:
    """The namespace after running the solution's non-graded code cells (cached when unedited)."""
    if not edits:
        return dict(_load_cached(name))
    return _load(name, edits)


@cache
def _load_cached(name: str) -> dict:
    return _load(name, ())


def _load(name: str, edits: tuple[tuple[str, str], ...]) -> dict:
    source = "\n\n".join(_code_cells(name))
    for old, new in edits:
        count = source.count(old)
        if count != 1:
            raise AssertionError(f"edit {old!r} occurs {count} times in {name}; it must occur once")
        source = source.replace(old, new)
    namespace: dict = {"__name__": f"solution_{name}"}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(source, f"solutions/{name}.ipynb", "exec"), namespace)  # noqa: S102
    return namespace


def raises(kind, fn, *args, words=(), names=(), own=False, **kwargs):
    """Assert ``fn(*args, **kwargs)`` raises ``kind`` (or a subclass) with a message; return it.

    The contract's named errors (notation.md): the type the course promises, with a message that
    says what is wrong. ``words``: the message names at least one of these (any case), e.g. the
    problem ("integer", "boolean"); ``names``: it names every one of these as written (``str``
    of each), e.g. the bad shape and axis; ``own``: a ``raise`` of the course's code raised it,
    not NumPy or PyTorch (decided from the traceback: the harness's rule, never the message's
    words). The one helper of every contract test: always this argument order.
    """
    try:
        fn(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - the type is what is checked
        assert isinstance(error, kind), f"expected {kind.__name__}, got {type(error).__name__}: {error}"
        message = str(error)
        assert message.strip(), f"{kind.__name__} with no message: say what is wrong"
        if words:
            assert any(word.lower() in message.lower() for word in words), (
                f"the {kind.__name__} should name the problem (one of {list(words)}); it says: {message}")
        for name in names:
            assert str(name) in message, f"the message {message!r} does not name {name!r}"
        if own:
            assert _raised_by_a_raise_statement(error), f"raised inside NumPy or PyTorch: {message}"
        return error
    raise AssertionError(f"expected {kind.__name__}, but the call returned normally")
