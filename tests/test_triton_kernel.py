"""The Triton appendix's kernels under the interpreter, on the CPU: float16 and bfloat16 forward
and backward, causal and not, ragged lengths, fully masked rows, non-contiguous inputs.

The kernels are loaded from solutions/07 (the chapter holds the same code: a test below keeps the
two equal) with TRITON_INTERPRET=1 set while @triton.jit decorates them, which is when Triton 3.9
reads it. References are float64 computations on the same rounded inputs (SDPA, autograd).

Tolerances: the kernels round the weights (and dS) once to the input dtype before each matrix
product, and each result once at the store; every product of two half-precision numbers is exact
in the float32 accumulator. Each entry is therefore off by a few unit roundoffs u (2**-11 for
float16, 2**-8 for bfloat16) times the size of the entries; we allow 8 u max|reference|. A wrong
formula (a missing rescale, a wrong mask) is off by O(max|reference|). The lse is float32 from
exact products: 2e-4 absolute, as the chapter's float32 check.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest
import torch

from tests.helpers import ROOT
from tools.triton_report import _code_of, definitions, load_module

# Triton 3.9 reads TRITON_INTERPRET whenever @triton.jit decorates a function, its own library's
# functions (tl.zeros, ...) included, which it decorates at import. Another test in this worker
# may have imported triton without it, so these tests run in a process of their own.
CHILD = "TRITON_KERNEL_TESTS_CHILD"
in_child = pytest.mark.skipif(os.environ.get(CHILD) != "1", reason="runs in the child process")

SOLUTION = ROOT / "solutions" / "07_triton_flash_attention.ipynb"
CHAPTER = ROOT / "chapters" / "07_triton_flash_attention.ipynb"
# (B, H, n_q, n_k, d), causal: ragged sizes, n_q != n_k both ways, d below 16 and not a power
# of two, and causal n_q > n_k, whose first queries see no key at all (fully masked rows).
CASES = [
    ((1, 2, 37, 45, 16), False),
    ((2, 1, 33, 17, 24), False),
    ((1, 2, 21, 21, 32), True),
    ((1, 1, 9, 40, 8), True),
    ((1, 2, 30, 12, 16), True),
]
HALF = (torch.float16, torch.bfloat16)


@pytest.mark.skipif(os.environ.get(CHILD) == "1", reason="this is the child process")
def test_kernels_under_the_interpreter_in_a_fresh_process():
    if importlib.util.find_spec("triton") is None:
        pytest.skip("triton is not installed")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         "-p", "no:tools.nbgrade", __file__],
        env={**os.environ, CHILD: "1", "TRITON_INTERPRET": "1"}, capture_output=True,
        text=True, timeout=600, check=False, cwd=ROOT,
    )
    assert done.returncode == 0 and " passed" in done.stdout, (
        done.stdout[-4000:] + done.stderr[-2000:]
    )


@pytest.fixture(scope="module")
def kernels(tmp_path_factory, monkeypatch_module):
    """The solution's definitions (setup, given code, solutions), interpreted."""
    monkeypatch_module.setenv("TRITON_INTERPRET", "1")
    notebook_code = _code_of(SOLUTION)
    module = load_module(notebook_code, "solution_07_interpreted", interpret=True,
                         folder=tmp_path_factory.mktemp("triton"))
    from tools.triton_report import fix_interpreter_bf16_dot

    fix_interpreter_bf16_dot()
    return module


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def unit_roundoff(dtype):
    return torch.finfo(dtype).eps / 2


def reference(q, k, v, dout, causal):
    """out, lse, (dq, dk, dv) in float64 by autograd; fully masked rows give 0."""
    q, k, v = (t.detach().double().requires_grad_() for t in (q, k, v))
    n_q, n_k = q.shape[-2], k.shape[-2]
    scores = q @ k.mT / q.shape[-1] ** 0.5
    if causal:  # bottom-right: query i sees key j when j <= i + n_k - n_q
        allowed = torch.arange(n_k)[None, :] <= torch.arange(n_q)[:, None] + (n_k - n_q)
        scores = scores.masked_fill(~allowed, -torch.inf)
    out = torch.nan_to_num(torch.softmax(scores, -1)) @ v
    out.backward(dout.double())
    return out.detach(), torch.logsumexp(scores, -1).detach(), (q.grad, k.grad, v.grad)


def inputs(shape, dtype, seed, strided=False):
    b, h, n_q, n_k, d = shape
    generator = torch.Generator().manual_seed(seed)
    if strided:  # (B, n, H, d) memory seen as (B, H, n, d): the kernels read the strides
        q = (torch.randn(b, n_q, h, d, generator=generator) * 3).to(dtype).transpose(1, 2)
    else:
        q = (torch.randn(b, h, n_q, d, generator=generator) * 3).to(dtype)
    k, v = (torch.randn(b, h, n_k, d, generator=generator).to(dtype) for _ in range(2))
    dout = torch.randn(b, h, n_q, d, generator=generator).to(dtype)
    return q, k, v, dout


def assert_close(got, expected, dtype, what):
    u = unit_roundoff(dtype)
    atol = 8 * u * expected.abs().max().item() if dtype in HALF else 2e-5
    torch.testing.assert_close(got.double(), expected, atol=atol, rtol=0, msg=what)


@in_child
@pytest.mark.parametrize("dtype", HALF, ids=["fp16", "bf16"])
@pytest.mark.parametrize(("shape", "causal"), CASES, ids=[str(c) for c in CASES])
def test_forward_and_backward_equal_autograd(kernels, dtype, shape, causal):
    q, k, v, dout = inputs(shape, dtype, seed=sum(shape), strided=shape[1] > 1)
    out, lse = kernels.flash_attention_triton(q, k, v, causal=causal)
    expected_out, expected_lse, expected_grads = reference(q, k, v, dout, causal)
    assert out.dtype == dtype and lse.dtype == torch.float32
    assert_close(out, expected_out, dtype, f"out {shape} causal={causal}")
    torch.testing.assert_close(lse.double(), expected_lse, atol=2e-4, rtol=1e-6)
    if causal and shape[2] > shape[3]:  # the first n_q - n_k queries see nothing
        assert (out[..., : shape[2] - shape[3], :] == 0).all()
        assert torch.isneginf(lse[..., : shape[2] - shape[3]]).all()
    leaves = [t.detach().clone().requires_grad_() for t in (q, k, v)]
    kernels.flash_attention_autograd(*leaves, causal).backward(dout)
    for name, leaf, expected in zip(("dq", "dk", "dv"), leaves, expected_grads):
        assert leaf.grad.dtype == dtype
        assert_close(leaf.grad, expected, dtype, f"{name} {shape} causal={causal}")


@in_child
@pytest.mark.parametrize("blocks", [(32, 16), (16, 32)])
def test_other_tile_sizes_and_causal_skipping(kernels, blocks):
    """Tiles of unequal sizes move the causal diagonal inside them: the skip bounds must still
    visit every tile a query sees (float16, n_q < n_k and n_q > n_k)."""
    for shape in ((1, 1, 40, 70, 16), (1, 1, 70, 40, 16)):
        q, k, v, dout = inputs(shape, torch.float16, seed=7)
        out, lse = kernels.flash_attention_triton(q, k, v, causal=True, block_q=blocks[0],
                                                  block_k=blocks[1])
        expected_out, _, expected_grads = reference(q, k, v, dout, True)
        assert_close(out, expected_out, torch.float16, f"out {shape} blocks {blocks}")
        grads = kernels.flash_backward(q, k, v, out, lse, dout, True, *blocks)
        for name, got, expected in zip(("dq", "dk", "dv"), grads, expected_grads):
            assert_close(got, expected, torch.float16, f"{name} {shape} blocks {blocks}")


@in_child
def test_the_tolerance_catches_a_missing_rescale(kernels, tmp_path):
    """The half-precision tolerance is tight enough to fail a realistic mistake: the
    accumulator not rescaled by alpha, loaded from an edited copy of the solution."""
    code = _code_of(SOLUTION)
    old = "acc * alpha[:, None]"
    assert code.count(old) == 1
    broken = load_module(code.replace(old, "acc"), "solution_07_broken", interpret=True,
                         folder=tmp_path)
    q, k, v, dout = inputs((1, 2, 37, 45, 16), torch.float16, seed=1)
    out, _ = broken.flash_attention_triton(q, k, v)
    expected_out, _, _ = reference(q, k, v, dout, False)
    with pytest.raises(AssertionError):
        assert_close(out, expected_out, torch.float16, "out")


def test_chapter_and_solution_hold_the_same_kernels():
    """The chapter teaches the kernels the exercise grades: their @triton.jit code is one."""
    chapter, solution = definitions(_code_of(CHAPTER)), definitions(_code_of(SOLUTION))
    def jit_functions(code):
        import ast

        return {node.name: ast.dump(node) for node in ast.parse(code).body
                if isinstance(node, ast.FunctionDef)}

    ours, theirs = jit_functions(chapter), jit_functions(solution)
    shared = {"online_softmax_update", "causal_tile_mask", "softmax_backward_tile",
              "load_tile", "key_range", "flash_forward_kernel",
              "flash_backward_dkdv_kernel", "flash_backward_dq_kernel"}
    assert shared <= ours.keys() and shared <= theirs.keys()
    for name in sorted(shared):
        assert ours[name] == theirs[name], f"{name} differs between the chapter and the solution"
