"""The runner: the only program that runs next to the learner's code, inside the sandbox.

It is plain Python, not a Jupyter kernel (no IPython hooks, no input transformers, no cell
magics). Usage: ``python runner.py JOB_DIR ATTEMPT`` where JOB_DIR holds ``program.json``
(the rebuilt notebook's code cells and the graded checks) and the encoded inputs, and ATTEMPT
names ``attempt-N.json`` (the cells and checks to skip after a timeout or a crash).

It executes the code cells in order in one namespace (trusted cells, the learner's answers,
the graded cells in self-check mode), then for every graded check it gets the trusted ``call``
by executing the trusted graded cell with ``run_check`` bound to a recorder, calls it on the
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
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import codec  # after sys.path points here

    os.environ.pop("ATTENTION_SELF_CHECK", None)  # run_check prints; it never raises here
    os.environ.setdefault("MPLBACKEND", "Agg")

    def send(message: dict, payload: bytes = b"") -> None:
        if payload:
            message["nbytes"] = len(payload)
        channel.write(json.dumps(message).encode("ascii") + b"\n" + payload)

    with open(os.path.join(job_dir, "program.json"), encoding="utf-8") as handle:
        program = json.load(handle)
    with open(os.path.join(job_dir, attempt_name), encoding="utf-8") as handle:
        attempt = json.load(handle)
    skip_cells, skip_checks = set(attempt["skip_cells"]), set(attempt["skip_checks"])
    # The slow imports happen before "hello", under the judge's start-up limit, so that a
    # cell's time limit counts only the cell.
    import matplotlib

    matplotlib.use("Agg")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover - the course always has torch
        pass
    send({"type": "hello"})

    namespace = {"__name__": "__main__", "__builtins__": builtins}
    for cell in program["cells"]:
        if cell["index"] in skip_cells:
            continue
        send({"type": "cell", "index": cell["index"]})
        try:
            exec(compile(cell["source"], f"<cell {cell['index']}>", "exec"), namespace)  # noqa: S102 - in the sandbox
        except BaseException as error:  # noqa: BLE001 - SystemExit too: the cell failed
            send({"type": "cell-error", "index": cell["index"], "error": _describe(error)})
        _close_figures()
    send({"type": "self-check", "results": _self_check(namespace)})

    for check in program["checks"]:
        grade_id = check["grade_id"]
        if grade_id in skip_checks:
            continue
        send({"type": "check", "grade_id": grade_id})
        recorded = {}

        def recorder(grade_id_, inputs, call, verdict, seed, _recorded=recorded):
            _recorded["call"] = call

        namespace["run_check"] = recorder
        try:
            exec(compile(check["source"], f"<graded {grade_id}>", "exec"), namespace)  # noqa: S102 - in the sandbox
            call = recorded["call"]
        except BaseException as error:  # noqa: BLE001
            for which in check["inputs"]:
                send({"type": "call", "grade_id": grade_id, "which": which})
                send({"type": "result", "grade_id": grade_id, "which": which,
                      "error": _describe(error)})
            continue
        for which, file_name in check["inputs"].items():
            send({"type": "call", "grade_id": grade_id, "which": which})
            with open(os.path.join(job_dir, file_name), "rb") as handle:
                given = codec.decode(handle.read())
            try:
                payload = codec.encode(call(**given), result=True)
            except BaseException as error:  # noqa: BLE001
                send({"type": "result", "grade_id": grade_id, "which": which,
                      "error": _describe(error)})
            else:
                send({"type": "result", "grade_id": grade_id, "which": which}, payload)
            _close_figures()
    send({"type": "done"})
    channel.flush()


def _describe(error: BaseException) -> dict:
    lines = traceback.format_exception_only(type(error), error)
    return {
        "raised": type(error).__name__,
        "mro": [cls.__name__ for cls in type(error).__mro__][:20],
        "message": str(error)[:MESSAGE_LIMIT],
        "text": "".join(lines)[-MESSAGE_LIMIT:],
    }


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
