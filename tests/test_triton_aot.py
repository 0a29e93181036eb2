"""The Triton appendix's kernels compiled ahead of time for an A100 (sm_80) and an H100 (sm_90),
with no GPU: tensor-core instructions in the machine code, no spill, shared memory within each
target's limit, for float16 and bfloat16, causal and not, at every tile configuration the
autotuner may pick (tools/triton_report.py). Compilations are cached in Triton's cache folder,
so a second run takes seconds; the first takes one to three minutes on 2 cores.

Each report runs in a process of its own: Triton 3.9 decorates its library functions when it is
imported, compiled or interpreted, and other tests in this worker use the interpreter.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import subprocess
import sys

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("triton") is None, reason="triton is not installed"
)
SOLUTION = ROOT / "solutions" / "07_triton_flash_attention.ipynb"
EXERCISE = ROOT / "exercises" / "07_triton_flash_attention.ipynb"
ENV = {key: value for key, value in os.environ.items() if key != "TRITON_INTERPRET"}


def run_python(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=ENV, capture_output=True,
                          text=True, timeout=timeout, check=False)


def test_every_kernel_uses_tensor_cores_without_spill_on_sm80_and_sm90():
    done = run_python("-m", "tools.triton_report", str(SOLUTION), "--json", "--jobs", "2")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = json.loads(done.stdout)
    for row in rows:
        assert not row["problems"], row
        assert row["tensor_core_instructions"] > 0 and row["stack_bytes"] == 0
        assert row["local_bytes"] == 0 and 0 < row["shared_bytes"] <= row["shared_limit"]
    covered = {(r["kernel"], r["target"], r["dtype"], r["causal"], r["head_d"]) for r in rows}
    kernels = ("flash_forward_kernel", "flash_backward_dkdv_kernel", "flash_backward_dq_kernel")
    wanted = set(itertools.product(kernels, (80, 90), ("float16", "bfloat16"), (False, True),
                                   (64, 128)))
    assert wanted <= covered, sorted(wanted - covered)


CHECKS_CAN_FAIL = """
import json, sys
from tools.triton_report import Row, compile_row, load_kernels
solution, exercise = load_kernels(sys.argv[1]), load_kernels(sys.argv[2])
fp32 = compile_row(solution.flash_forward_kernel,
                   Row("flash_forward_kernel", 80, "float32", False, 64, 64, 64, 4, 2))
unwritten = compile_row(exercise.flash_forward_kernel,
                        Row("flash_forward_kernel", 90, "float16", True, 64, 128, 64, 4, 3))
print(json.dumps({"fp32": fp32.problems, "unwritten": unwritten.problems}))
"""


def test_the_checks_can_fail():
    """The float32 "ieee" teaching path has no tensor cores and spills, and the exercise's
    unwritten functions do not compile: the report says so for each."""
    done = run_python("-c", CHECKS_CAN_FAIL, str(SOLUTION), str(EXERCISE))
    assert done.returncode == 0, done.stderr[-3000:]
    problems = json.loads(done.stdout.strip().splitlines()[-1])
    assert "no tensor-core instruction" in problems["fp32"]
    assert any(problem.startswith("spills") for problem in problems["fp32"])
    assert problems["unwritten"] == ["not written yet (NotImplementedError)"]
