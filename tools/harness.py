# The course's grading harness: the same cell in every notebook. Read it when
# a message puzzles you.
#
# Each graded cell defines three small functions and hands them to run_check:
#   inputs(rng)            a dict of data drawn from a seeded NumPy generator
#   call(**inputs)         runs YOUR functions on them; only its result is judged
#   verdict(got, **inputs) compares `got` with independent references and
#                          raises AssertionError, with a hint, when they differ
# "Data" is numbers, strings, None, NumPy arrays, tensors, and lists, tuples
# and dicts of them.
#
# In your notebook the three run in place with a fixed seed: a SELF-CHECK, for
# feedback. The official grade comes from your instructor's grader. It runs
# only `call` next to your code, on inputs drawn from seeds nobody can know in
# advance, and it decides every verdict in a separate process.
import copy
import os

import numpy as np
import torch

SELF_CHECK = {}  # grade_id -> (passed, message), filled in by run_check


def as_numpy(a):
    """A NumPy copy of an array, tensor, number or nested list."""
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu()
        return (a.float() if a.dtype == torch.bfloat16 else a).numpy()
    return np.asarray(a)


def to_data(obj, _depth=0):
    """What a graded call may return: tensors detached, NumPy scalars 0-d."""
    if _depth > 20:
        raise TypeError("a graded call returned data nested over 20 deep")
    if obj is None or isinstance(obj, (bool, int, float, complex, str)):
        return obj
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().clone()
    if isinstance(obj, (np.ndarray, np.generic)):
        array = np.array(obj)
        if array.dtype.hasobject:
            raise TypeError("a graded call returned an array of Python objects")
        return array
    if isinstance(obj, (list, tuple)):
        items = [to_data(item, _depth + 1) for item in obj]
        return items if isinstance(obj, list) else tuple(items)
    if isinstance(obj, dict) and all(isinstance(key, str) for key in obj):
        return {key: to_data(value, _depth + 1) for key, value in obj.items()}
    raise TypeError(
        f"a graded call returned a {type(obj).__name__}; it must return data "
        "(numbers, strings, arrays, tensors, and lists, tuples, dicts of them)"
    )


def outcome(fn, *args, **kwargs):
    """Call fn; say as data whether it raised: {"raised", "mro", "message"}."""
    try:
        fn(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - the verdict decides what is right
        return {
            "raised": type(error).__name__,
            "mro": [cls.__name__ for cls in type(error).__mro__],
            "message": str(error)[:1000],
        }
    return {"raised": None, "mro": [], "message": ""}


def check_close(got, expected, atol, rtol=0.0, what="your result", hint=""):
    """Assert got == expected within atol + rtol * |expected|, or explain."""
    if got is None:
        raise AssertionError(f"{what}: got None. Did you forget to return? {hint}")
    got, expected = as_numpy(got), as_numpy(expected)
    if got.shape != expected.shape:
        raise AssertionError(
            f"{what}: expected shape {expected.shape}, got {got.shape}. {hint}"
        )
    if not (np.issubdtype(got.dtype, np.number) or got.dtype == bool):
        raise AssertionError(
            f"{what}: expected numbers, got an array of dtype {got.dtype}. {hint}"
        )
    bad = ~np.isclose(got, expected, atol=atol, rtol=rtol, equal_nan=True)
    if bad.any():
        i = tuple(int(j) for j in np.argwhere(bad)[0])
        raise AssertionError(
            f"{what}: {int(bad.sum())} of {bad.size} entries are off "
            f"(atol={atol:g}, rtol={rtol:g}); the first at index {i}: "
            f"expected {expected[i].item()!r}, got {got[i].item()!r}. {hint}"
        )


def check_equal(got, expected, what="your result", hint=""):
    """Assert exact equality (shapes, integers, booleans, strings), or explain."""
    if isinstance(expected, (np.ndarray, torch.Tensor)):
        got_array, expected_array = as_numpy(got), as_numpy(expected)
        if got_array.shape != expected_array.shape:
            raise AssertionError(
                f"{what}: expected shape {expected_array.shape}, "
                f"got {got_array.shape}. {hint}"
            )
        if not np.array_equal(got_array, expected_array):
            raise AssertionError(
                f"{what}: expected {expected_array!r}, got {got_array!r}. {hint}"
            )
    elif got != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {got!r}. {hint}")


def expect_error(got, kinds=("ValueError",), what="this call", hint=""):
    """Assert an outcome(...) raised one of `kinds`, with a message."""
    wanted = " or ".join(kinds)
    stub = got["raised"] == "NotImplementedError"
    if stub and "NotImplementedError" not in kinds:
        # Still the stub: this check is not attempted yet, rather than failed.
        raise NotImplementedError(f"{what}: the function is still the stub.")
    if got["raised"] is None:
        raise AssertionError(
            f"{what} should raise {wanted}, but it returned normally. {hint}"
        )
    if not set(kinds) & set(got["mro"]):
        raise AssertionError(
            f"{what} should raise {wanted}, but it raised {got['raised']}: "
            f"{got['message']} {hint}"
        )
    if not got["message"].strip():
        raise AssertionError(
            f"{what} raised {got['raised']} with no message: say what is wrong."
        )


def run_check(grade_id, inputs, call, verdict, seed):
    """Run one graded check in place (the self-check) and record the result."""
    given = inputs(np.random.default_rng(seed))
    try:
        got = to_data(call(**copy.deepcopy(given)))
    except NotImplementedError:
        passed = False
        message = "not attempted yet: the function raises NotImplementedError."
    except Exception as error:  # noqa: BLE001 - an error in your code fails
        passed, message = False, f"your code raised {type(error).__name__}: {error}"
    else:
        try:
            verdict(got, **given)
        except AssertionError as failure:
            passed, message = False, str(failure)
        except NotImplementedError:  # expect_error met a stub
            passed = False
            message = "not attempted yet: the function raises NotImplementedError."
        except Exception as error:  # noqa: BLE001 - e.g. a result of the wrong type
            passed = False
            message = (
                f"the result could not be checked: {type(error).__name__}: {error}"
            )
        else:
            passed, message = True, ""
    SELF_CHECK[grade_id] = (passed, message)
    result = "PASSED" if passed else "FAILED"
    print(f"{result} {grade_id} (self-check)" + (f": {message}" if message else ""))
    if not passed and os.environ.get("ATTENTION_SELF_CHECK") == "raise":
        raise AssertionError(message)


def self_check_score(points):
    """Print points per graded cell and the total, from the checks that ran."""
    earned = 0
    print(f"{'graded cell':<44} points  result")
    for grade_id, possible in points.items():
        passed, message = SELF_CHECK.get(grade_id, (False, "did not run"))
        earned += possible if passed else 0
        if passed:
            status = "passed"
        elif message in ("did not run",) or message.startswith("not attempted"):
            status = message.split(":")[0]
        else:
            status = "failed"
        score = f"{possible if passed else 0:>2}/{possible:<3}"
        print(f"{grade_id:<44} {score}  {status}")
    total = sum(points.values())
    print(f"SELF-CHECK {earned}/{total}: feedback for you, not the official grade.")
    return earned
