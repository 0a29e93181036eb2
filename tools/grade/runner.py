"""The runner: the only program that runs next to the learner's code, inside the sandbox.

It is plain Python, not a Jupyter kernel (no IPython hooks, no input transformers, no cell
magics). Usage: ``python runner.py JOB_DIR ATTEMPT`` where JOB_DIR holds the programs
(``program.json``, and ``program-numpy.json`` for the checks of NumPy-only tasks, run where
PyTorch's files are hidden): the rebuilt notebook's code cells and the graded checks, and the
encoded inputs; ATTEMPT names ``attempt-N.json`` (which program, and the cells and checks to
skip after a timeout or a crash).

It executes the code cells in order in one namespace (trusted cells, the learner's answers,
the graded cells in self-check mode), then for every graded check it gets the trusted ``call``
by executing the trusted graded cell with ``run_check`` bound to a recorder, in globals where
every trusted name and builtin is bound as it was before learner code ran, calls it on the
judge's inputs (the notebook's seed and a fresh one) and sends the result, encoded as data.
It decides nothing: every message it sends is untrusted, and the judge treats it so.

Messages go to the judge on the stdout this process started with, as frames: one JSON line,
then ``nbytes`` raw bytes when the line says so. The learner's own prints go to stderr.
"""

from __future__ import annotations

import builtins
import json
import os
import sys
import traceback

MESSAGE_LIMIT = 2000


def main(job_dir: str, attempt_name: str) -> None:
    channel = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # print() in the learner's code lands on stderr, not on the channel
    # Whatever a message holds (a lone surrogate), printing it never raises.
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False, errors="backslashreplace")
    sys.stderr.reconfigure(errors="backslashreplace")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import codec  # after sys.path points here

    os.environ.pop("ATTENTION_SELF_CHECK", None)  # run_check prints; it never raises here
    os.environ.setdefault("MPLBACKEND", "Agg")

    def send(message: dict, payload: bytes = b"") -> None:
        if payload:
            message["nbytes"] = len(payload)
        channel.write(json.dumps(message).encode("ascii") + b"\n" + payload)

    with open(os.path.join(job_dir, attempt_name), encoding="utf-8") as handle:
        attempt = json.load(handle)
    with open(os.path.join(job_dir, attempt.get("program", "program.json")),
              encoding="utf-8") as handle:
        program = json.load(handle)
    skip_cells, skip_checks = set(attempt["skip_cells"]), set(attempt["skip_checks"])
    # A NumPy-only program runs where PyTorch's files are hidden: the trusted cells run one
    # statement at a time, and a statement that needs PyTorch is left out; the graded cells'
    # self-checks are the other runner's business.
    numpy_only = bool(program.get("numpy_only"))
    # The slow imports happen before "hello", under the judge's start-up limit, so that a
    # cell's time limit counts only the cell.
    import matplotlib

    matplotlib.use("Agg")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # hidden from a NumPy-only program
        pass
    # What the trusted `call`s use, bound before any learner code runs: the builtins as they
    # are now, and each name a trusted cell binds, as it bound it.
    trusted_builtins = dict(vars(builtins))
    trusted: dict = {}
    learner_names = set(program.get("learner_names", ()))
    send({"type": "hello"})

    namespace = {"__name__": "__main__", "__builtins__": builtins}
    if numpy_only:
        # The harness asks `isinstance(a, torch.Tensor)`: a stand-in that is not PyTorch, with
        # a Tensor type nothing is an instance of and nothing else (it is not in sys.modules,
        # so `import torch` still fails).
        namespace["torch"] = _no_torch()
    for cell in program["cells"]:
        if cell["index"] in skip_cells or (numpy_only and cell["kind"] == "graded"):
            continue
        send({"type": "cell", "index": cell["index"]})
        before = dict(namespace)
        try:
            if numpy_only and cell["kind"] != "answer":
                _exec_tolerant(cell["source"], f"<cell {cell['index']}>", namespace)
            else:
                exec(compile(cell["source"], f"<cell {cell['index']}>", "exec"), namespace)  # noqa: S102 - in the sandbox
        except BaseException as error:  # noqa: BLE001 - SystemExit too: the cell failed
            send({"type": "cell-error", "index": cell["index"], "error": _describe(error)})
        if cell["kind"] not in ("answer", "graded"):
            trusted.update({name: value for name, value in namespace.items()
                            if name not in before or before[name] is not value})
        _close_figures()
    send({"type": "self-check", "results": {} if numpy_only else _self_check(namespace)})

    for check in program["checks"]:
        grade_id = check["grade_id"]
        if grade_id in skip_checks:
            continue
        send({"type": "check", "grade_id": grade_id})
        recorded = {}

        def recorder(grade_id_, inputs, call, verdict, seed, needs=None, _recorded=recorded):
            _recorded["call"] = call

        # The graded cell runs in its own globals: the learner's names, then every trusted
        # binding on top (except the names the answers are asked to define), and the
        # builtins as they were before any learner code ran.
        own = {name: value for name, value in namespace.items()
               if name not in trusted_builtins or name in trusted or name in learner_names}
        own.update({name: value for name, value in trusted.items() if name not in learner_names})
        own["__builtins__"] = dict(trusted_builtins)
        own["run_check"] = recorder
        try:
            if numpy_only:
                _exec_tolerant(check["source"], f"<graded {grade_id}>", own)
            else:
                exec(compile(check["source"], f"<graded {grade_id}>", "exec"), own)  # noqa: S102 - in the sandbox
            call = recorded["call"]
        except BaseException as error:  # noqa: BLE001
            for which in check["inputs"]:
                send({"type": "call", "grade_id": grade_id, "which": which})
                send({"type": "result", "grade_id": grade_id, "which": which,
                      "error": _describe(error)})
            continue
        for which, file_name in check["inputs"].items():
            send({"type": "call", "grade_id": grade_id, "which": which})
            try:
                with open(os.path.join(job_dir, file_name), "rb") as handle:
                    given = codec.decode(handle.read())
                payload = codec.encode(call(**given), result=True)
            except BaseException as error:  # noqa: BLE001
                send({"type": "result", "grade_id": grade_id, "which": which,
                      "error": _describe(error, trusted.get("where_in_your_code"))})
            else:
                send({"type": "result", "grade_id": grade_id, "which": which}, payload)
            _close_figures()
    send({"type": "done"})
    channel.flush()


def _no_torch():
    import types

    class NoTorch(types.ModuleType):
        Tensor = type("Tensor", (), {})

        def __getattr__(self, name):
            raise AttributeError(f"torch.{name}: PyTorch is not available here (this check "
                                 "grades a NumPy-only task)")

    return NoTorch("torch")


def _exec_tolerant(source: str, name: str, namespace: dict) -> None:
    """Trusted code, one top-level statement at a time; one that fails (it needs PyTorch,
    which a NumPy-only program hides) is left out and the next runs."""
    import ast

    for statement in ast.parse(source).body:
        try:
            exec(compile(ast.Module([statement], []), name, "exec"), namespace)  # noqa: S102 - trusted text
        except Exception:  # noqa: BLE001, S112 - what needs PyTorch cannot run here
            continue


def _describe(error: BaseException, where=None) -> dict:
    """The error as data; ``where``: the harness's ``where_in_your_code``, so that the judge's
    message says where, as the self-check's does (untrusted text, like the rest)."""
    lines = traceback.format_exception_only(type(error), error)
    described = {
        "raised": type(error).__name__,
        "mro": [cls.__name__ for cls in type(error).__mro__][:20],
        "message": str(error)[:MESSAGE_LIMIT],
        "text": "".join(lines)[-MESSAGE_LIMIT:],
    }
    if where is not None:
        try:
            described["where"] = str(where(error))[:MESSAGE_LIMIT]
        except Exception:  # noqa: BLE001, S110 - where is a courtesy
            pass
    return described


def _self_check(namespace) -> dict:
    """The notebook's SELF_CHECK as plain data (untrusted: informational only)."""
    found = {}
    try:
        for number, (grade_id, value) in enumerate(dict(namespace.get("SELF_CHECK", {})).items()):
            if number >= 500:
                break
            passed, message = value
            found[str(grade_id)[:200]] = [passed is True, str(message)[:MESSAGE_LIMIT]]
    except Exception:  # noqa: BLE001 - a mangled SELF_CHECK says nothing
        return {}
    return found


def _close_figures() -> None:
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        try:
            plt.close("all")
        except Exception:  # noqa: BLE001, S110 - figures are only memory
            pass


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
