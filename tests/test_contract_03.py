"""Chapter 3's public functions keep the course's contract (notation.md, the last section).

Each row of the tables below is a hostile input and what the contract says must happen:
the right answer (checked against PyTorch or a closed form) or an exception of the right
type whose message names the problem. The last tests prove the tables can fail: with a
validation removed from the solution, the matching rows fail.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.attention.bias import causal_lower_right

from tests.contract_helpers import load_solution, raises

NAME = "03_causal_attention"
rng = np.random.default_rng(0)


@pytest.fixture(scope="module")
def ns():
    return load_solution(NAME)


def strictly(fn, *args, **kwargs):
    """Call fn with NumPy's floating-point warnings turned into errors."""
    with np.errstate(all="raise", under="ignore"), warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        return fn(*args, **kwargs)


def torch_masked_softmax(scores, mask, axis=-1):
    s = torch.from_numpy(np.asarray(scores, dtype=float)).movedim(axis, -1)
    m = torch.from_numpy(np.broadcast_to(mask, np.shape(scores)).copy()).movedim(axis, -1)
    s = s.masked_fill(~m, float("-inf"))
    alive = (s > float("-inf")).any(-1, keepdim=True)
    out = torch.softmax(s.masked_fill(~alive, 0.0), dim=-1).masked_fill(~m, 0.0)
    return torch.where(alive, out, torch.zeros_like(out)).movedim(-1, axis).numpy()


def sdpa_causal(x, w_q, w_k, w_v):
    xt = torch.from_numpy(np.asarray(x, dtype=float))
    q, k, v = (xt @ torch.from_numpy(w) for w in (w_q, w_k, w_v))
    return F.scaled_dot_product_attention(q, k, v, is_causal=True).numpy()


# ---------------------------------------------------------------- causal_mask
CAUSAL_MASK_VALUES = [(0, None), (0, 0), (0, 4), (1, None), (1, 1), (1, 9), (3, 3), (3, 8), (7, None),
                      (np.int64(2), np.int32(5))]


@pytest.mark.parametrize(("n_q", "n_k"), CAUSAL_MASK_VALUES)
def test_causal_mask_bottom_right(ns, n_q, n_k):
    mask = ns["causal_mask"](n_q) if n_k is None else ns["causal_mask"](n_q, n_k)
    n_k = n_q if n_k is None else n_k
    i, j = np.indices((n_q, n_k))
    assert mask.dtype == bool
    np.testing.assert_array_equal(mask, j <= n_k - n_q + i)
    if n_q and n_k:
        bias = causal_lower_right(int(n_q), int(n_k))
        q, k = torch.randn(1, n_q, 3, dtype=torch.float64), torch.randn(1, n_k, 3, dtype=torch.float64)
        torch.testing.assert_close(
            F.scaled_dot_product_attention(q, k, k, attn_mask=torch.from_numpy(mask)),
            F.scaled_dot_product_attention(q, k, k, attn_mask=bias), rtol=0, atol=1e-12)


@pytest.mark.parametrize(("args", "kind", "words"), [
    ((5, 3), ValueError, ["n_k >= n_q", "n_q=5"]),
    ((-1,), ValueError, ["n_q"]),
    ((2, -1), ValueError, ["n_k"]),
    ((2.5,), TypeError, ["n_q"]),
    ((2.0, 3), TypeError, ["n_q"]),
    ((2, 3.0), TypeError, ["n_k"]),
    ((True, 3), TypeError, ["n_q"]),
    ((2, False), TypeError, ["n_k"]),
    (("3",), TypeError, ["n_q"]),
    ((None,), TypeError, ["n_q"]),
    ((np.array([2]),), TypeError, ["n_q"]),
])
def test_causal_mask_rejects(ns, args, kind, words):
    raises(kind, lambda: ns["causal_mask"](*args), words=words)


# ---------------------------------------------------------------- causal_self_attention
def weights(d_model=6, d_k=4, d_v=5, scale=1.0):
    return (rng.standard_normal((d_model, d_k)) * scale, rng.standard_normal((d_model, d_k)) * scale,
            rng.standard_normal((d_model, d_v)))


@pytest.mark.parametrize("shape", [(1, 6), (5, 6), (2, 5, 6), (2, 3, 4, 6), (3, 0, 6)])
@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_causal_self_attention_values(ns, shape, scale):
    x = rng.standard_normal(shape)
    x_before = x.copy()
    w_q, w_k, w_v = weights(scale=scale)
    y, w = strictly(ns["causal_self_attention"], x, w_q, w_k, w_v) if shape[-2] else \
        ns["causal_self_attention"](x, w_q, w_k, w_v)
    assert y.dtype == np.float64 and w.dtype == np.float64
    np.testing.assert_allclose(y, sdpa_causal(x, w_q, w_k, w_v), rtol=0, atol=1e-9)
    assert w.shape == (*shape[:-1], shape[-2])
    np.testing.assert_array_equal(x, x_before)


def test_causal_self_attention_accepts_integers_and_lists(ns):
    x = rng.integers(-3, 4, size=(4, 6))
    w_q, w_k, w_v = weights()
    y, _ = ns["causal_self_attention"](x, w_q, w_k, w_v)
    np.testing.assert_allclose(y, sdpa_causal(x, w_q, w_k, w_v), atol=1e-12)
    y_list, _ = ns["causal_self_attention"](x.tolist(), w_q, w_k, w_v)
    np.testing.assert_allclose(y_list, y, atol=0)


@pytest.mark.parametrize(("make", "kind", "words"), [
    (lambda w: (rng.standard_normal((2, 7, 5)), *w), ValueError, ["(2, 7, 5)"]),
    (lambda w: (rng.standard_normal(6), *w), ValueError, ["(6,)"]),
    (lambda w: (rng.standard_normal((7, 6)), w[0], rng.standard_normal((6, 3)), w[2]), ValueError, ["(6, 3)"]),
    (lambda w: (rng.standard_normal((7, 6)), w[0], w[1], rng.standard_normal((5, 5))), ValueError, ["(5, 5)"]),
    (lambda w: (np.full((3, 6), "a"), *w), TypeError, ["dtype"]),
    (lambda w: (np.ones((3, 6), dtype=complex), *w), TypeError, ["dtype"]),
])
def test_causal_self_attention_rejects(ns, make, kind, words):
    args = make(weights())
    raises(kind, lambda: ns["causal_self_attention"](*args), words=words)


# ---------------------------------------------------------------- mask conversions
@pytest.mark.parametrize("shape", [(1, 1), (4, 4), (2, 3, 5), (0, 3)])
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_mask_conversions_round_trip(ns, shape, dtype):
    mask = torch.from_numpy(rng.random(shape) < 0.5)
    before = mask.clone()
    additive = ns["to_additive"](mask, dtype=dtype)
    assert additive.dtype == dtype and additive.shape == mask.shape
    assert torch.equal(additive, torch.zeros(shape, dtype=dtype).masked_fill(~mask, float("-inf")))
    assert torch.equal(ns["from_additive"](additive), mask)
    blocked = ns["to_blocked"](mask)
    assert blocked.dtype == torch.bool and torch.equal(blocked, ~mask)
    assert torch.equal(mask, before)


def test_to_additive_matches_pytorch_and_from_additive_keeps_biases(ns):
    for n in (1, 5, 9):
        causal = torch.ones(n, n, dtype=torch.bool).tril()
        assert torch.equal(ns["to_additive"](causal), nn.Transformer.generate_square_subsequent_mask(n))
    bias = -0.3 * torch.arange(6.0)[None, :].expand(4, 6).clone()
    bias[:, -1] = float("-inf")
    expected = torch.ones(4, 6, dtype=torch.bool)
    expected[:, -1] = False
    assert torch.equal(ns["from_additive"](bias), expected)


@pytest.mark.parametrize("fn", ["to_additive", "to_blocked"])
@pytest.mark.parametrize("bad", [
    torch.ones(3, 3, dtype=torch.int64), torch.zeros(3, 3), torch.ones(3, 3, dtype=torch.uint8),
    np.ones((3, 3), dtype=bool), [[True]],
])
def test_bool_mask_conversions_reject(ns, fn, bad):
    raises(TypeError, lambda: ns[fn](bad), words=["bool"])


@pytest.mark.parametrize("bad", [torch.ones(3, 3, dtype=torch.bool), torch.zeros(3, 3, dtype=torch.int64),
                                 np.zeros((3, 3)), 0.0])
def test_from_additive_rejects(ns, bad):
    raises(TypeError, lambda: ns["from_additive"](bad), words=["float"])


# ---------------------------------------------------------------- masked_softmax
def masked_softmax_cases():
    scores = rng.standard_normal((2, 3, 5, 7)) * 3
    mask = rng.random((5, 7)) < 0.5
    mask[2] = False
    yield "broadcast mask, a fully masked row", scores, mask, -1
    yield "scores near -1000", rng.standard_normal((4, 6)) - 1000.0, np.ones(6, dtype=bool), -1
    yield "scores near +1000", rng.standard_normal((4, 6)) + 1000.0, np.ones(6, dtype=bool), -1
    yield "huge blocked score", np.array([[1.0, 2.0, 1e6]]), np.array([True, True, False]), -1
    yield "allowed scores all -inf", np.array([[-np.inf, -np.inf, 0.0]]), np.array([True, True, False]), -1
    yield "every row masked", rng.standard_normal((3, 4)), np.zeros((3, 4), dtype=bool), -1
    yield "axis 0", rng.standard_normal((5, 3)), rng.random((5, 3)) < 0.6, 0
    yield "axis -2 of 3-D", rng.standard_normal((2, 6, 3)), rng.random((2, 6, 3)) < 0.6, -2
    yield "axis 1 with a masked column", rng.standard_normal((3, 4, 2)), np.zeros((3, 4, 2), dtype=bool), 1
    yield "scalar True mask", rng.standard_normal((2, 4)), np.True_, -1
    yield "integer scores", rng.integers(-5, 5, size=(3, 4)), rng.random((3, 4)) < 0.7, -1
    yield "float32 scores", rng.standard_normal((3, 4)).astype(np.float32), np.ones((3, 4), dtype=bool), -1


@pytest.mark.parametrize(("label", "scores", "mask", "axis"), list(masked_softmax_cases()),
                         ids=[case[0] for case in masked_softmax_cases()])
def test_masked_softmax_values(ns, label, scores, mask, axis):
    before = np.array(scores, copy=True)
    got = strictly(ns["masked_softmax"], scores, mask, axis=axis)
    assert got.dtype == np.float64, label
    np.testing.assert_allclose(got, torch_masked_softmax(scores, mask, axis), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(scores, before)


@pytest.mark.parametrize("shape", [(2, 3, 0), (0, 4), (0, 0)])
def test_masked_softmax_empty(ns, shape):
    got = strictly(ns["masked_softmax"], np.zeros(shape), np.ones(shape, dtype=bool))
    assert got.shape == shape and got.dtype == np.float64


@pytest.mark.parametrize(("scores", "mask", "kind", "words"), [
    (np.zeros((3, 4)), np.where(rng.random((3, 4)) < 0.5, 0.0, -np.inf), TypeError, ["bool", "additive == 0"]),
    (np.zeros((3, 4)), np.ones((3, 4)), TypeError, ["bool"]),
    (np.zeros((3, 4)), np.ones((3, 4), dtype=np.int64), TypeError, ["astype(bool)"]),
    (np.zeros((3, 4)), [[0, 1, 1, 0]], TypeError, ["bool"]),
    (np.zeros((3, 4)), np.ones((2, 4), dtype=bool), ValueError, ["(2, 4)"]),
    (np.zeros((3, 4)), np.ones((4, 3), dtype=bool), ValueError, ["(4, 3)"]),
    (np.full((3, 4), "x"), np.ones((3, 4), dtype=bool), TypeError, ["dtype"]),
    (np.ones((3, 4), dtype=complex), np.ones((3, 4), dtype=bool), TypeError, ["dtype"]),
])
def test_masked_softmax_rejects(ns, scores, mask, kind, words):
    raises(kind, lambda: ns["masked_softmax"](scores, mask), words=words)


# ---------------------------------------------------------------- kv_cache_step
@pytest.mark.parametrize("batch", [(), (2,), (2, 3)])
@pytest.mark.parametrize("schedule", [[1] * 6, [3, 2, 1], [6], [0, 2, 0, 4], [2, 0, 0, 4]])
def test_kv_cache_step_equals_recomputation(ns, batch, schedule):
    x = rng.standard_normal((*batch, 6, 6))
    w_q, w_k, w_v = weights(scale=3.0)
    cache_k, cache_v = np.zeros((*batch, 0, 4)), np.zeros((*batch, 0, 5))
    outputs, start = [], 0
    for size in schedule:
        k_before = cache_k.copy()
        y, new_k, new_v = strictly(ns["kv_cache_step"], x[..., start : start + size, :], cache_k, cache_v,
                                   w_q, w_k, w_v)
        np.testing.assert_array_equal(cache_k, k_before)
        assert y.shape == (*batch, size, 5) and y.dtype == np.float64
        outputs.append(y)
        cache_k, cache_v, start = new_k, new_v, start + size
    np.testing.assert_allclose(np.concatenate(outputs, axis=-2), sdpa_causal(x, w_q, w_k, w_v), atol=1e-10)
    np.testing.assert_allclose(cache_k, x @ w_k, atol=1e-12)


def test_kv_cache_empty_everything(ns):
    w_q, w_k, w_v = weights()
    y, k, v = strictly(ns["kv_cache_step"], np.zeros((0, 6)), np.zeros((0, 4)), np.zeros((0, 5)), w_q, w_k, w_v)
    assert y.shape == (0, 5) and k.shape == (0, 4) and v.shape == (0, 5)


@pytest.mark.parametrize(("make", "words"), [
    (lambda: (np.zeros((2, 1, 5)), np.zeros((2, 3, 4)), np.zeros((2, 3, 5))), ["(2, 1, 5)"]),
    (lambda: (np.zeros((2, 1, 6)), np.zeros((2, 3, 4)), np.zeros((2, 2, 5))), ["(2, 2, 5)"]),
    (lambda: (np.zeros((1, 1, 6)), np.zeros((2, 3, 4)), np.zeros((2, 3, 5))), ["(2, 3, 4)"]),
    (lambda: (np.zeros((2, 1, 6)), np.zeros((2, 3, 3)), np.zeros((2, 3, 5))), ["(2, 3, 3)"]),
    (lambda: (np.zeros((2, 1, 6)), np.zeros((2, 3, 4)), np.zeros((2, 3, 4))), ["(2, 3, 4)"]),
    (lambda: (np.zeros(6), np.zeros((0, 4)), np.zeros((0, 5))), ["(6,)"]),
])
def test_kv_cache_step_rejects(ns, make, words):
    w_q, w_k, w_v = weights()
    raises(ValueError, lambda: ns["kv_cache_step"](*make(), w_q, w_k, w_v), words=words)


# ---------------------------------------------------------------- CausalSelfAttention
def reference_module(module, x):
    """The module's own weights through nn.MultiheadAttention with a causal float mask."""
    d, h = module.d_model, module.n_heads
    bias = module.w_q.bias is not None
    mha = nn.MultiheadAttention(d, h, bias=bias, batch_first=True, dtype=x.dtype).eval()
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([module.w_q.weight, module.w_k.weight, module.w_v.weight]))
        mha.out_proj.weight.copy_(module.w_o.weight)
        if bias:
            mha.in_proj_bias.copy_(torch.cat([module.w_q.bias, module.w_k.bias, module.w_v.bias]))
            mha.out_proj.bias.copy_(module.w_o.bias)
        mask = nn.Transformer.generate_square_subsequent_mask(x.shape[1], dtype=x.dtype)
        return mha(x, x, x, attn_mask=mask, need_weights=False)[0]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize(("d", "h", "n"), [(8, 2, 5), (12, 3, 7), (6, 6, 1), (4, 1, 3)])
def test_module_matches_multihead_attention(ns, bias, d, h, n):
    torch.manual_seed(d * 10 + n)
    module = ns["CausalSelfAttention"](d, h, bias=bias, dtype=torch.float64)
    with torch.no_grad():
        for p in module.parameters():
            p.normal_()  # random, non-zero biases too
        x = torch.randn(3, n, d, dtype=torch.float64)
        x_before = x.clone()
        torch.testing.assert_close(module(x), reference_module(module, x), rtol=0, atol=1e-9)
    assert torch.equal(x, x_before)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_module_keeps_dtype(ns, dtype):
    module = ns["CausalSelfAttention"](8, 2, dtype=dtype)
    with torch.no_grad():
        assert module(torch.randn(2, 4, 8, dtype=dtype)).dtype == dtype


def test_module_empty_sequence(ns):
    module = ns["CausalSelfAttention"](8, 2)
    with torch.no_grad():
        assert module(torch.randn(2, 0, 8)).shape == (2, 0, 8)


@pytest.mark.parametrize(("shape", "words"), [((5, 8), ["(5, 8)"]), ((2, 5, 7), ["(2, 5, 7)"]),
                                              ((1, 2, 5, 8), ["(1, 2, 5, 8)"])])
def test_module_rejects_shapes(ns, shape, words):
    module = ns["CausalSelfAttention"](8, 2)
    raises(ValueError, lambda: module(torch.zeros(shape)), words=words)


@pytest.mark.parametrize(("d", "h"), [(10, 3), (8, 0), (8, -2)])
def test_module_rejects_head_counts(ns, d, h):
    raises(ValueError, lambda: ns["CausalSelfAttention"](d, h), words=[f"n_heads={h}"])


# ---------------------------------------------------------------- exercises 7 and 9
def test_fixed_cached_step_any_schedule(ns):
    x, pos = rng.standard_normal((2, 8, 6)), rng.standard_normal((16, 6))
    w_q, w_k, w_v = weights(scale=2.0)
    cache_k, cache_v, outputs, start = np.zeros((2, 0, 4)), np.zeros((2, 0, 5)), [], 0
    for size in [3, 1, 0, 4]:
        y, cache_k, cache_v = ns["fixed_cached_step"](x[:, start : start + size], pos, cache_k, cache_v,
                                                      w_q, w_k, w_v)
        outputs.append(y)
        start += size
    np.testing.assert_allclose(np.concatenate(outputs, axis=1), sdpa_causal(x + pos[:8], w_q, w_k, w_v),
                               atol=1e-10)


def test_dot_products_closed_forms(ns):
    for n in [0, 1, 2, 3, 10, 1000]:
        assert ns["dot_products"](n, cached=True) == sum(range(1, n + 1))
        assert ns["dot_products"](n, cached=False) == sum(t * t for t in range(1, n + 1))


# ---------------------------------------------------------------- the tables can fail
VALIDATIONS_REMOVED = [
    # (edit of the solution, a contract check that must then fail)
    (("if mask.dtype != bool:", "if mask.dtype == object:"),
     lambda ns: test_masked_softmax_rejects(ns, np.zeros((3, 4)), np.zeros((3, 4)), TypeError, ["bool"])),
    (("if scores.shape[axis] == 0:", "if False:"),
     lambda ns: test_masked_softmax_empty(ns, (2, 3, 0))),
    (("isinstance(size, (bool, np.bool_)) or not isinstance(", "False and not isinstance("),
     lambda ns: test_causal_mask_rejects(ns, (True, 3), TypeError, ["n_q"])),
    (("or cache_k.shape != (*batch, cache_k.shape[-2], d_k):", ":"),
     lambda ns: test_kv_cache_step_rejects(
         ns, lambda: (np.zeros((2, 1, 6)), np.zeros((2, 3, 3)), np.zeros((2, 3, 5))), ["(2, 3, 3)"])),
    (("if not isinstance(additive, torch.Tensor) or not additive.is_floating_point():",
      "if not isinstance(additive, torch.Tensor):"),
     lambda ns: test_from_additive_rejects(ns, torch.ones(3, 3, dtype=torch.bool))),
    (("if x.dim() != 3 or x.shape[-1] != self.d_model:", "if x.shape[-1] != self.d_model:"),
     lambda ns: test_module_rejects_shapes(ns, (5, 8), ["(5, 8)"])),
]


@pytest.mark.parametrize(("edit", "check"), VALIDATIONS_REMOVED, ids=[e[0][0][:40] for e in VALIDATIONS_REMOVED])
def test_removing_a_validation_breaks_the_contract_test(edit, check):
    broken = load_solution(NAME, edits=(edit,))
    try:
        check(broken)
    except (AssertionError, pytest.fail.Exception):
        return  # the contract check failed, as it must
    except Exception as error:  # noqa: BLE001 - a wrong exception type is a failure too
        assert not isinstance(error, (SyntaxError, NameError, KeyError)), f"the edit broke the notebook: {error!r}"
        return
    pytest.fail(f"the contract check still passes with {edit[0]!r} removed")
