"""Chapter 1's public functions keep the course's contract (notation.md, the last section).

A broad table of hostile inputs goes through every function the solution notebook defines:
each case must give the right answer (compared with PyTorch or a closed form) or the right
exception type, raised by the solution's own check, with a message that names the problem. The
last tests prove that the table can fail: with a validation removed from the solution, the
relevant checks do.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tests import contract_helpers
from tests.contract_helpers import load_solution

NAME = "01_self_attention"
# Every named error of this chapter must be raised by the course's own code (the harness's rule).
raises = partial(contract_helpers.raises, own=True)


def returns(fn, *args, **kwargs):
    """fn(*args): the contract wants an answer here, not an exception."""
    try:
        return fn(*args, **kwargs)
    except Exception as error:  # reported as a contract failure
        raise AssertionError(f"expected an answer, got {type(error).__name__}: {error}") from error


def close(got, expected, atol=1e-12):
    got = got.detach().numpy() if isinstance(got, torch.Tensor) else np.asarray(got)
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else np.asarray(expected)
    assert got.shape == expected.shape, f"shape {got.shape} != {expected.shape}"
    assert not np.isnan(got).any(), "NaN in the result"
    np.testing.assert_allclose(got, expected, rtol=0, atol=atol)


def rand(*shape, seed=0):
    return np.random.default_rng(seed + sum(shape)).standard_normal(shape)


def sdpa_reference(q, k, v, allowed=None):
    """Weights and output from PyTorch: SDPA's output (zeros on fully masked rows), and
    torch.softmax's weights with their NaN rows set to 0 (the contract)."""
    qt, kt, vt = (torch.from_numpy(np.asarray(a, dtype=np.float64)) for a in (q, k, v))
    mask = None if allowed is None else torch.from_numpy(np.asarray(allowed))
    scores = qt @ kt.mT / math.sqrt(qt.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, -math.inf)
    weights = torch.nan_to_num(torch.softmax(scores, dim=-1), nan=0.0)
    return F.scaled_dot_product_attention(qt, kt, vt, attn_mask=mask), weights


# ---------------------------------------------------------------- softmax
def softmax_all_inf_slices_give_zeros(ns):
    x = np.array([[-np.inf, -np.inf, -np.inf], [0.0, -np.inf, 1.0]])
    close(ns["softmax"](x), [[0, 0, 0], [1 / (1 + math.e), 0, math.e / (1 + math.e)]])
    close(ns["softmax"](x.T, axis=0), [[0, 1 / (1 + math.e)], [0, 0], [0, math.e / (1 + math.e)]])
    close(ns["softmax"](np.full(4, -np.inf)), np.zeros(4))


def softmax_matches_torch_far_from_zero(ns):
    x = rand(4, 5, 6) * 300 + np.array([0, 3000, -3000, 700])[:, None, None]
    for axis in (-1, 0, 1, 2, -3):
        close(ns["softmax"](x, axis=axis), torch.softmax(torch.from_numpy(x), dim=axis))
    close(ns["softmax"](np.array([1e308, -1e308])), [1.0, 0.0])
    close(ns["softmax"](x, axis=np.int64(1)), torch.softmax(torch.from_numpy(x), dim=1))  # a NumPy axis


def softmax_empty_slices(ns):
    assert returns(ns["softmax"], np.zeros((3, 0))).shape == (3, 0)
    assert returns(ns["softmax"], np.zeros((0, 3)), axis=0).shape == (0, 3)
    assert returns(ns["softmax"], np.zeros(0)).shape == (0,)


def softmax_dtypes_and_no_writes(ns):
    x32 = rand(3, 4).astype(np.float32)
    assert ns["softmax"](x32).dtype == np.float64
    assert ns["softmax"](np.arange(5)).dtype == np.float64
    assert ns["softmax"]([1, 2, 3]).dtype == np.float64
    x = rand(3, 4)
    before = x.copy()
    ns["softmax"](x, axis=0)
    np.testing.assert_array_equal(x, before)


def softmax_refuses_non_numbers_and_bad_axes(ns):
    raises(TypeError, ns["softmax"], np.array(["a", "b"]))
    raises(TypeError, ns["softmax"], np.array([1 + 2j, 3j]))
    raises(TypeError, ns["softmax"], np.array([True, False]))
    raises(ValueError, ns["softmax"], rand(3, 4), axis=2, names=["2", "(3, 4)"])
    raises(ValueError, ns["softmax"], np.float64(3.0))
    raises(TypeError, ns["softmax"], rand(3, 4), axis=1.0)


# ---------------------------------------------------------------- Jacobian and entropy
def jacobian_and_entropy(ns):
    s = torch.softmax(torch.from_numpy(rand(2, 3, 5)), dim=-1).numpy()
    jac = ns["softmax_jacobian"](s)
    expected = torch.stack([
        torch.autograd.functional.jacobian(lambda t: torch.softmax(t, -1), r) for r in torch.log(torch.from_numpy(s)).reshape(-1, 5)
    ]).reshape(2, 3, 5, 5)
    close(jac, expected)
    close(jac.sum(-1), np.zeros((2, 3, 5)))  # rows sum to zero: shift invariance
    raises(ValueError, ns["softmax_jacobian"], np.float64(0.5))
    w = np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    before = w.copy()
    close(ns["attention_entropy"](w), [math.log(2), 0.0, 0.0])
    np.testing.assert_array_equal(w, before)


# ---------------------------------------------------------------- scaled dot-product attention
def sdpa_fully_masked_rows_give_zeros(ns):
    q, k, v = rand(2, 5, 4), rand(2, 7, 4), rand(2, 7, 3) + 4
    mask = np.random.default_rng(1).random((2, 5, 7)) < 0.5
    mask[..., 0] = True
    mask[0, 2] = False
    mask[1, 3:] = False
    out, weights = ns["scaled_dot_product_attention"](q, k, v, mask)
    ref_out, ref_w = sdpa_reference(q, k, v, mask)
    close(out, ref_out)
    close(weights, ref_w)
    assert np.all(out[0, 2] == 0) and np.all(weights[1, 3:] == 0)
    out, weights = ns["scaled_dot_product_attention"](q, k, v, np.zeros((5, 7), dtype=bool))
    assert np.all(out == 0) and np.all(weights == 0)


def sdpa_empty_sequences(ns):
    sdpa = ns["scaled_dot_product_attention"]
    out, weights = returns(sdpa, rand(2, 5, 4), np.zeros((2, 0, 4)), np.zeros((2, 0, 3)))
    assert out.shape == (2, 5, 3) and np.all(out == 0) and weights.shape == (2, 5, 0)
    out, weights = returns(sdpa, np.zeros((0, 4)), rand(7, 4), rand(7, 3))
    assert out.shape == (0, 3) and weights.shape == (0, 7)


def sdpa_unbatched_equals_batch_of_one(ns):
    q, k, v = rand(5, 4), rand(7, 4), rand(7, 3)
    mask = np.random.default_rng(2).random((5, 7)) < 0.7
    mask[:, 1] = True
    out, weights = ns["scaled_dot_product_attention"](q, k, v, mask)
    out_b, weights_b = ns["scaled_dot_product_attention"](q[None], k[None], v[None], mask[None])
    close(out, out_b[0])
    close(weights, weights_b[0])
    close(out, sdpa_reference(q, k, v, mask)[0])


def sdpa_large_scores_and_dtypes(ns):
    q, k, v = rand(2, 3, 5, 4) * 40, rand(2, 3, 7, 4) * 40, rand(2, 3, 7, 6)  # scores ~1e3
    out, weights = ns["scaled_dot_product_attention"](q, k, v)
    ref_out, ref_w = sdpa_reference(q, k, v)
    close(out, ref_out, atol=1e-9)
    close(weights, ref_w, atol=1e-9)
    out32, _ = ns["scaled_dot_product_attention"](*(a.astype(np.float32) for a in (q, k, v)))
    assert out32.dtype == np.float64
    out_int, _ = ns["scaled_dot_product_attention"](np.eye(3, dtype=int), np.eye(3, dtype=int), np.eye(3, dtype=int))
    close(out_int, sdpa_reference(np.eye(3), np.eye(3), np.eye(3))[0])


def sdpa_never_writes_its_inputs(ns):
    q, k, v = rand(2, 5, 4), rand(2, 7, 4), rand(2, 7, 3)
    mask = np.ones((5, 7), dtype=bool)
    mask[:, 3] = False
    copies = [a.copy() for a in (q, k, v, mask)]
    ns["scaled_dot_product_attention"](q, k, v, mask)
    for after, before in zip((q, k, v, mask), copies):
        np.testing.assert_array_equal(after, before)


def sdpa_refuses_non_boolean_masks(ns):
    q, k, v = rand(5, 4), rand(7, 4), rand(7, 3)
    additive = np.where(np.random.default_rng(3).random((5, 7)) < 0.5, 0.0, -np.inf)
    raises(TypeError, ns["scaled_dot_product_attention"], q, k, v, additive, names=["bool"])
    raises(TypeError, ns["scaled_dot_product_attention"], q, k, v, (additive == 0).astype(np.float32), names=["bool"])
    raises(TypeError, ns["scaled_dot_product_attention"], q, k, v, (additive == 0).astype(int), names=["bool"])
    raises(TypeError, ns["scaled_dot_product_attention"], q, k, v, np.ones((5, 7), dtype=np.uint8), names=["bool"])


def sdpa_refuses_shapes_that_do_not_fit(ns):
    sdpa = ns["scaled_dot_product_attention"]
    raises(ValueError, sdpa, rand(5, 4), rand(7, 3), rand(7, 6), names=["(5, 4)", "(7, 3)"])
    raises(ValueError, sdpa, rand(5, 4), rand(7, 4), rand(6, 6), names=["(7, 4)", "(6, 6)"])
    raises(ValueError, sdpa, rand(2, 5, 4), rand(3, 7, 4), rand(3, 7, 6))
    raises(ValueError, sdpa, np.zeros((5, 0)), np.zeros((7, 0)), rand(7, 6))
    raises(ValueError, sdpa, rand(4), rand(7, 4), rand(7, 6))
    raises(ValueError, sdpa, rand(5, 4), rand(7, 4), rand(7, 6), np.ones((5, 6), dtype=bool), names=["(5, 6)", "(5, 7)"])
    raises(ValueError, sdpa, rand(5, 4), rand(7, 4), rand(7, 6), np.ones((7,), dtype=bool)[:5])
    raises(TypeError, sdpa, np.array([["a"] * 4] * 5), rand(7, 4), rand(7, 6))
    raises(TypeError, sdpa, rand(5, 4) * 1j, rand(7, 4), rand(7, 6))


# ---------------------------------------------------------------- heads
def heads_split_and_merge(ns):
    x = rand(2, 5, 12)
    heads = ns["split_heads"](x, 3)
    close(heads, np.stack([x[..., 4 * i : 4 * i + 4] for i in range(3)], axis=-3))
    close(ns["merge_heads"](heads), x)
    close(ns["split_heads"](x, np.int64(4)), np.stack([x[..., 3 * i : 3 * i + 3] for i in range(4)], axis=-3))
    raises(ValueError, ns["split_heads"], rand(5, 10), 3, names=["10", "3"])
    raises(ValueError, ns["split_heads"], rand(5, 10), 0)
    raises(ValueError, ns["split_heads"], rand(5, 10), -2)
    raises(TypeError, ns["split_heads"], rand(5, 10), 2.5)
    raises(TypeError, ns["split_heads"], rand(5, 10), True)
    raises(ValueError, ns["split_heads"], rand(10), 2)
    raises(ValueError, ns["merge_heads"], rand(5, 4))


# ---------------------------------------------------------------- multi-head self-attention (NumPy)
def numpy_weights(seed=0, d_model=12):
    return list(np.random.default_rng(seed).standard_normal((4, d_model, d_model)) / np.sqrt(d_model))


def mhsa_numpy_matches_torch_and_edges(ns):
    mhsa = ns["multi_head_self_attention"]
    w_q, w_k, w_v, w_o = numpy_weights()
    x = rand(2, 6, 12)
    mha = nn.MultiheadAttention(12, 3, bias=False, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.from_numpy(np.vstack([w_q.T, w_k.T, w_v.T])))
        mha.out_proj.weight.copy_(torch.from_numpy(w_o.T))
        ref, ref_w = mha(*[torch.from_numpy(x)] * 3, average_attn_weights=False)
    out, weights = mhsa(x, w_q, w_k, w_v, w_o, 3)
    close(out, ref)
    close(weights, ref_w)
    close(mhsa(x[1], w_q, w_k, w_v, w_o, 3)[0], ref[1])  # unbatched
    holes = np.ones((6, 6), dtype=bool)
    holes[2] = False
    out, weights = mhsa(x, w_q, w_k, w_v, w_o, 3, mask=holes)
    assert np.all(out[:, 2] == 0) and np.all(weights[..., 2, :] == 0)
    before = x.copy()
    mhsa(x, w_q, w_k, w_v, w_o, 3)
    np.testing.assert_array_equal(x, before)


def mhsa_numpy_refuses(ns):
    mhsa = ns["multi_head_self_attention"]
    w = numpy_weights()[0]
    x = rand(2, 5, 12)
    raises(ValueError, mhsa, x, rand(12, 6), w, w, w, 3, names=["w_q", "(12, 6)"])
    raises(ValueError, mhsa, x, w, w, rand(6, 12), w, 3, names=["w_v"])
    raises(ValueError, mhsa, x, w, w, w, w, 5, names=["12", "5"])
    raises(ValueError, mhsa, rand(12), w, w, w, w, 3)
    raises(TypeError, mhsa, x, w, w, w, w, 3, np.zeros((5, 5)), names=["bool"])


# ---------------------------------------------------------------- the PyTorch module
def random_mha(d_model=12, heads=3, dtype=torch.float64, bias=True, seed=0):
    torch.manual_seed(seed)
    mha = nn.MultiheadAttention(d_model, heads, bias=bias, batch_first=True, dtype=dtype)
    if bias:
        with torch.no_grad():  # PyTorch starts these at 0, which would hide a bias bug
            mha.in_proj_bias.normal_()
            mha.out_proj.bias.normal_()
    return mha


def module_matches_torch(ns):
    module = ns["MultiHeadSelfAttention"]
    for bias in (True, False):
        mha = random_mha(bias=bias)
        mine = module(12, 3, bias=bias).double().load_from_torch(mha)
        assert sum(p.numel() for p in mine.parameters()) == 4 * 144 + (48 if bias else 0)
        x = torch.from_numpy(rand(2, 6, 12))
        for inp, atol in ((x, 1e-12), (x * 20, 1e-9), (x[0], 1e-12)):  # *20: scores ~1e3
            with torch.no_grad():
                ref, ref_w = mha(inp, inp, inp, average_attn_weights=False)
                out, weights = mine(inp)
            close(out, ref, atol)
            close(weights, ref_w, atol)


def module_dtypes(ns):
    mha = random_mha(dtype=torch.float32)
    mine = ns["MultiHeadSelfAttention"](12, 3).load_from_torch(mha)
    out, weights = mine(torch.randn(2, 5, 12))
    assert out.dtype == torch.float32 and weights.dtype == torch.float32
    out, _ = mine.double()(torch.randn(2, 5, 12, dtype=torch.float64))
    assert out.dtype == torch.float64


def module_fully_masked_rows(ns):
    mha = random_mha()
    mine = ns["MultiHeadSelfAttention"](12, 3).double().load_from_torch(mha)
    x = torch.from_numpy(rand(2, 6, 12)).requires_grad_()
    allowed = torch.ones(2, 1, 6, 6, dtype=torch.bool)
    allowed[0, 0, 2] = False
    allowed[1, 0, 4:] = False
    out, weights = mine(x, allowed)
    assert torch.all(weights[0, :, 2] == 0) and torch.all(weights[1, :, 4:] == 0)
    close(out[0, 2], mha.out_proj.bias)  # no key: heads 0, so the output is W_O's bias
    assert not torch.isnan(out).any() and not torch.isnan(weights).any()
    (grad,) = torch.autograd.grad(out.sum(), x)
    assert not torch.isnan(grad).any(), "NaN gradient through a fully masked row"
    with torch.no_grad():
        ref, _ = mha(x, x, x, attn_mask=~allowed[:, 0].repeat_interleave(3, dim=0))
    rows = allowed.any(-1)[:, 0]  # rows with at least one key: nn.MultiheadAttention agrees
    close(out.detach()[rows], ref[rows])


def module_refuses(ns):
    module = ns["MultiHeadSelfAttention"]
    raises(ValueError, module, 10, 3, names=["10", "3"])
    raises(ValueError, module, 12, 0)
    raises(TypeError, module, 12, 2.5)
    raises(TypeError, module, 12.0, 3)
    mine = module(12, 3)
    raises(ValueError, mine, torch.randn(2, 5, 8), names=["8", "12"])
    raises(TypeError, mine, torch.ones(2, 5, 12, dtype=torch.long))
    x = torch.randn(2, 5, 12)
    additive = torch.zeros(5, 5).masked_fill(torch.eye(5, dtype=torch.bool), -math.inf)
    raises(TypeError, mine, x, additive, names=["bool"])
    raises(TypeError, mine, x, torch.ones(5, 5, dtype=torch.long), names=["bool"])
    raises(ValueError, mine, x, torch.ones(5, 4, dtype=torch.bool), names=["(5, 4)"])
    raises(ValueError, mine, x, torch.ones(7, 5, 5, dtype=torch.bool))


# ---------------------------------------------------------------- the measurements and the exercises
def score_variance_contract(ns):
    sv = ns["score_variance"]
    assert sv(16, seed=1) == sv(16, seed=1) != sv(16, seed=2)
    assert abs(sv(64, n_samples=20_000, seed=3) / 64 - 1) < 5 * math.sqrt((2 + 6 / 64) / 20_000)
    assert isinstance(sv(np.int64(4)), float)
    raises(ValueError, sv, 0)
    raises(ValueError, sv, -3)
    raises(ValueError, sv, 4, n_samples=1)
    raises(TypeError, sv, 2.5)
    raises(TypeError, sv, 4, n_samples=100.0)
    for d_k, var_q, var_k in ((1, 1.0, 1.0), (64, 0.5, 3.0), (7, 2.0, 2.0)):
        assert math.isclose(ns["score_variance_formula"](d_k, var_q, var_k), d_k * var_q * var_k)


def padded_attention_contract(ns):
    pa = ns["padded_attention"]
    q, k, v = rand(2, 3, 2, 4), rand(2, 3, 6, 4), rand(2, 3, 6, 5)
    lengths = np.array([4, 0])  # the second sequence is all padding: zeros (fully masked)
    real = torch.from_numpy(np.arange(6) < lengths[:, None])[:, None, None, :]
    close(pa(q, k, v, lengths), F.scaled_dot_product_attention(*(torch.from_numpy(a) for a in (q, k, v)), attn_mask=real))
    assert np.all(pa(q, k, v, lengths)[1] == 0)
    close(pa(q, k, v, [4, 0]), pa(q, k, v, lengths))  # lengths as a Python list
    raises(TypeError, pa, q, k, v, np.array([2.5, 1.0]))
    raises(ValueError, pa, q, k, v, np.array([7, 1]), names=["6"])
    raises(ValueError, pa, q, k, v, np.array([-1, 1]))
    raises(ValueError, pa, q, k, v, np.array([1, 2, 3]))


TABLE = [
    softmax_all_inf_slices_give_zeros,
    softmax_matches_torch_far_from_zero,
    softmax_empty_slices,
    softmax_dtypes_and_no_writes,
    softmax_refuses_non_numbers_and_bad_axes,
    jacobian_and_entropy,
    sdpa_fully_masked_rows_give_zeros,
    sdpa_empty_sequences,
    sdpa_unbatched_equals_batch_of_one,
    sdpa_large_scores_and_dtypes,
    sdpa_never_writes_its_inputs,
    sdpa_refuses_non_boolean_masks,
    sdpa_refuses_shapes_that_do_not_fit,
    heads_split_and_merge,
    mhsa_numpy_matches_torch_and_edges,
    mhsa_numpy_refuses,
    module_matches_torch,
    module_dtypes,
    module_fully_masked_rows,
    module_refuses,
    score_variance_contract,
    padded_attention_contract,
]


@pytest.fixture(scope="module")
def solution():
    return load_solution(NAME)


@pytest.mark.parametrize("check", TABLE, ids=[check.__name__ for check in TABLE])
def test_contract(solution, check):
    check(solution)


# Each edit removes one validation or guard from the solution; the named check must then fail.
BROKEN = [
    ("if mask.dtype != bool:", "if False:", sdpa_refuses_non_boolean_masks),
    ("return np.divide(e, total, out=np.zeros_like(e), where=total > 0)", "return e / total",
     softmax_all_inf_slices_give_zeros),
    ("return np.divide(e, total, out=np.zeros_like(e), where=total > 0)", "return e / total",
     sdpa_fully_masked_rows_give_zeros),
    ("keepdims=True, initial=-np.inf)", "keepdims=True)", sdpa_empty_sequences),
    ("if k.shape[-1] != d_k:", "if False:", sdpa_refuses_shapes_that_do_not_fit),
    # np.asarray does not copy a float64 array, so the in-place division reaches the caller's q.
    ("arrays.append(a.astype(np.float64))",
     "arrays.append(np.asarray(a, dtype=np.float64))\n        arrays[-1] /= 1.0 + (len(arrays) == 1)",
     sdpa_never_writes_its_inputs),
    ("    if num_heads < 1 or d_model % num_heads != 0:\n        raise", "    if d_model % num_heads != 0:\n        raise",
     heads_split_and_merge),
    ("            weights = weights.masked_fill(empty, 0.0)", "            pass", module_fully_masked_rows),
    ("if mask is not None and mask.dtype != torch.bool:", "if False:", module_refuses),
    ("if d_k < 1:", "if False:", score_variance_contract),
]


@pytest.mark.parametrize(("old", "new", "check"), BROKEN, ids=[f"{c.__name__}-{i}" for i, (_, _, c) in enumerate(BROKEN)])
def test_the_table_can_fail(old, new, check):
    broken = load_solution(NAME, edits=((old, new),))
    with pytest.raises(AssertionError):
        check(broken)
