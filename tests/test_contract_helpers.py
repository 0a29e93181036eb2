"""The contract tests' one error helper (tests/contract_helpers.py ``raises``) fails on each
way a named error can be wrong, so a contract test that uses it can fail."""

from __future__ import annotations

import numpy as np
import pytest

from tests.contract_helpers import raises


def _fails_with(message: str, *args, **kwargs) -> None:
    with pytest.raises(AssertionError, match=message):
        raises(*args, **kwargs)


def _raise(kind, message):
    def fn(*args, **kwargs):
        raise kind(message)
    return fn


def test_the_promised_error_passes_and_is_returned():
    error = raises(ValueError, _raise(ValueError, "x has shape (3, 4); axis 2 is out of range"),
                   1, key=2, words=["axis", "dimension"], names=["(3, 4)", 2], own=True)
    assert isinstance(error, ValueError)


def test_each_wrong_error_fails():
    _fails_with("returned normally", ValueError, lambda: None)
    _fails_with("expected ValueError, got TypeError", ValueError, _raise(TypeError, "boolean"))
    _fails_with("with no message", ValueError, _raise(ValueError, "  "))
    _fails_with("should name the problem", TypeError, _raise(TypeError, "bad input"),
                words=["integer"])
    _fails_with("does not name '\\(3, 4\\)'", ValueError, _raise(ValueError, "bad shape"),
                names=["(3, 4)"])
    _fails_with("raised inside NumPy or PyTorch", ValueError,
                lambda: np.zeros(6).reshape(4, 5), own=True)


def test_a_subclass_of_the_promised_type_passes():
    class ShapeError(ValueError):
        pass

    raises(ValueError, _raise(ShapeError, "q must be 2-D"))
