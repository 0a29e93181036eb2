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
# Error tasks are graded on behaviour, never on wording: the exception's type,
# that a `raise` of yours raised it (not NumPy or PyTorch on their own), a
# message that says something, and the sizes the task asks it to name.
#
# In your notebook the three run in place with a fixed seed: a SELF-CHECK, for
# feedback. The official grade comes from your instructor's grader. It runs
# only `call` next to your code, on inputs drawn from seeds nobody can know in
# advance, and it decides every verdict in a separate process.
import copy
import dis
import linecache
import os
import re
import sysconfig

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


def _library_dirs():
    """Where NumPy, PyTorch and Python's own library live: an error raised in
    their files was not raised by a check of yours."""
    paths = [getattr(module, "__file__", None) for module in (np, torch, os)]
    dirs = [os.path.dirname(os.path.abspath(path)) for path in paths if path]
    dirs += [os.path.abspath(sysconfig.get_paths()[key])
             for key in ("stdlib", "purelib", "platlib")]
    return tuple(folder + os.sep for folder in dirs)


_LIBRARY_DIRS = _library_dirs()


def _raised_by_a_raise_statement(error):
    """True when `error` came from a `raise` in the notebook's own code.

    Decided from the traceback, never from the message: the innermost frame
    must be outside the libraries and stopped at a raise instruction (an error
    a library raises from C, like a failed reshape, stops at a call instead).
    """
    tb = error.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code
    if os.path.abspath(code.co_filename).startswith(_LIBRARY_DIRS):
        return False
    for instruction in dis.get_instructions(code):
        if instruction.offset == tb.tb_lasti:
            return instruction.opname == "RAISE_VARARGS" and instruction.arg > 0
    return False


def where_in_your_code(error):
    """" in `fn`, at `line`": the last line of the notebook's code the error passed
    through (not NumPy's, PyTorch's, or the check's own `call`), or ""."""
    found = ""
    tb = error.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        library = os.path.abspath(code.co_filename).startswith(_LIBRARY_DIRS)
        checks_own = code.co_name in ("call", "inputs", "verdict")
        if not library and not checks_own:
            line = linecache.getline(code.co_filename, tb.tb_lineno).strip()
            at = f", at `{line[:80]}`" if line else ""
            found = f" in `{code.co_name}`{at}"
        tb = tb.tb_next
    return found


def outcome(fn, *args, **kwargs):
    """Call fn; say as data whether it raised: {"raised", "mro", "message", "own"}.

    "own" is True when a `raise` statement of the notebook raised it, False when
    NumPy, PyTorch or Python raised it by themselves.
    """
    try:
        fn(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - the verdict decides what is right
        return {
            "raised": type(error).__name__,
            "mro": [cls.__name__ for cls in type(error).__mro__],
            "message": str(error)[:1000],
            "own": _raised_by_a_raise_statement(error),
        }
    return {"raised": None, "mro": [], "message": "", "own": False}


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


def _names_number(message, number):
    """True when `number` appears in `message` as a number of its own."""
    pattern = r"(?<![\d.])" + re.escape(str(number)) + r"(?![\d]|\.\d)"
    return re.search(pattern, message) is not None


def expect_error(
    got, kinds=("ValueError",), sizes=(), own=True, what="this call", hint=""
):
    """Assert an outcome(...) raised one of `kinds`, yourself, naming `sizes`.

    The rule for every error task: the exception's type (or a subclass), raised
    by a `raise` of yours when `own` (not by NumPy or PyTorch on their own), a
    message that says something, and each number in `sizes` in it. Wording is
    never graded.
    """
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
    if own and not got.get("own"):
        raise AssertionError(
            f"{what} raised {got['raised']} ({got['message']!r}) from inside "
            "NumPy, PyTorch or Python, before a check of yours: test the inputs "
            f"first and raise {wanted} yourself, saying what does not fit. {hint}"
        )
    if not got["message"].strip():
        raise AssertionError(
            f"{what} raised {got['raised']} with no message: say what is wrong."
        )
    missing = [str(n) for n in sizes if not _names_number(got["message"], n)]
    if missing:
        raise AssertionError(
            f"{what}: your message {got['message']!r} should name the sizes "
            f"involved ({', '.join(missing)} missing). {hint}"
        )


def blocked_message(needs, failed, own_message=""):
    """The message of a failed check that uses a function whose own check failed:
    that function first, then this check's own message (the learner may not have
    used it after all)."""
    names = [f"`{name}` (check {grade_id})" for name, grade_id in needs.items()
             if grade_id in failed]
    if not names:
        return None
    own = f" This check's own message: {own_message}" if own_message else ""
    return (f"blocked by {', '.join(names)}: this task builds on it, so fix that "
            f"first.{own}")


def run_check(grade_id, inputs, call, verdict, seed, needs=None):
    """Run one graded check in place (the self-check) and record the result.

    `needs` maps the earlier functions this check uses to the grade ids of their
    own checks: when both fail, the failure is reported as blocked by them.
    """
    given = inputs(np.random.default_rng(seed))
    try:
        got = to_data(call(**copy.deepcopy(given)))
    except NotImplementedError:
        passed = False
        message = "not attempted yet: the function raises NotImplementedError."
    except Exception as error:  # noqa: BLE001 - an error in your code fails
        passed = False
        message = (f"your code raised {type(error).__name__}"
                   f"{where_in_your_code(error)}: {error}")
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
    if not passed and needs and not message.startswith("not attempted"):
        failed = {gid for gid, (ok, _) in SELF_CHECK.items() if not ok}
        message = blocked_message(needs, failed, message) or message
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
        elif message == "did not run" or message.startswith("not attempted"):
            status = message.split(":")[0]
        elif message.startswith("blocked by"):
            status = "blocked"
        else:
            status = "failed"
        score = f"{possible if passed else 0:>2}/{possible:<3}"
        print(f"{grade_id:<44} {score}  {status}")
    total = sum(points.values())
    print(f"SELF-CHECK {earned}/{total}: feedback for you, not the official grade.")
    return earned
