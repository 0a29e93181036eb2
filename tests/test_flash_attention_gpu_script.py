"""benchmarks/flash_attention_gpu.py runs end to end without a GPU (--dry-run: interpreter, tiny
sizes, no timings), and its table's arithmetic is right where a GPU fills it in."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from tests.helpers import ROOT

SCRIPT = ROOT / "benchmarks" / "flash_attention_gpu.py"


def load_script():
    spec = importlib.util.spec_from_file_location("flash_attention_gpu", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="triton is not installed")
def test_dry_run_end_to_end():
    # A process of its own: the script imports triton under the interpreter.
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--dry-run", "--lengths", "1024,4096", "--head-dims", "64"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "correctness: 32 comparisons with float64 references passed" in done.stdout
    # 2 lengths x 1 head dim x causal and not x forward and backward
    assert done.stdout.count("skipped (dry run: no GPU timing)") == 8


def test_without_a_gpu_and_without_dry_run_it_says_so():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is here: the script would run for real")
    done = subprocess.run([sys.executable, str(SCRIPT)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 2 and "--dry-run" in done.stderr


def test_flops_and_table():
    script = load_script()
    # 4 B H n^2 d: 4 * 4 * 32 * 4096**2 * 64 = 549,755,813,888 (worked out by hand).
    assert script.flops(4, 32, 4096, 64, causal=False) == 549_755_813_888
    assert script.flops(4, 32, 4096, 64, causal=True) == 549_755_813_888 / 2
    assert script.flops(4, 32, 4096, 64, causal=False, backward=True) == 549_755_813_888 * 2.5
    row = {"pass": "forward", "causal": False, "d": 64, "n": 4096, "B": 4, "H": 32,
           "ours": 2.0, "sdpa": 1.0, "flops": 549_755_813_888}
    text = script.table([row])
    assert "2.000" in text and " 275 " in text and " 550 " in text and "2.00x" in text
    assert script.targets([row]) == [
        "forward d=64 causal=False: 2.00x SDPA (target <= 1.5x): MISSED"
    ]
