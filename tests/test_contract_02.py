"""Chapter 2's public functions keep the course's contract (notation.md, last section).

Each case feeds one hostile input to a solution function and asserts either the right answer
(against nn.MultiheadAttention / F.scaled_dot_product_attention with random weights and biases,
or a closed form) or the right exception type with a message that names the problem. The last
tests prove that the table can fail: with a validation removed, the matching case fails.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tests.contract_helpers import load_solution, raises

NAME = "02_cross_attention"


# ----------------------------------------------------------------------------- references
def random_params(rng, d_model, d_mem):
    params = {
        "w_q": rng.standard_normal((d_model, d_model)) / np.sqrt(d_model),
        "w_k": rng.standard_normal((d_mem, d_model)) / np.sqrt(d_mem),
        "w_v": rng.standard_normal((d_mem, d_model)) / np.sqrt(d_mem),
        "w_o": rng.standard_normal((d_model, d_model)) / np.sqrt(d_model),
    }
    for name in ("b_q", "b_k", "b_v", "b_o"):
        params[name] = rng.uniform(0.5, 2.0, d_model) * rng.choice([-1.0, 1.0], d_model)
    return params


def reference(params, h, x, memory, real=None, bias=True):
    """nn.MultiheadAttention holding `params`; rows with no real key get the contract's answer."""
    d_model, d_mem = params["w_q"].shape[0], params["w_k"].shape[0]
    mha = nn.MultiheadAttention(d_model, h, bias=bias, kdim=d_mem, vdim=d_mem, batch_first=True,
                                dtype=torch.float64).eval()
    t = {k: torch.as_tensor(v, dtype=torch.float64) for k, v in params.items()}
    with torch.no_grad():
        if mha.in_proj_weight is not None:
            mha.in_proj_weight.copy_(torch.cat([t["w_q"].T, t["w_k"].T, t["w_v"].T]))
        else:
            mha.q_proj_weight.copy_(t["w_q"].T)
            mha.k_proj_weight.copy_(t["w_k"].T)
            mha.v_proj_weight.copy_(t["w_v"].T)
        mha.out_proj.weight.copy_(t["w_o"].T)
        if bias:
            mha.in_proj_bias.copy_(torch.cat([t["b_q"], t["b_k"], t["b_v"]]))
            mha.out_proj.bias.copy_(t["b_o"])
        xt = torch.as_tensor(x, dtype=torch.float64)
        mt = torch.as_tensor(memory, dtype=torch.float64)
        ignore = None if real is None else ~torch.as_tensor(real)
        out, w = mha(xt, mt, mt, key_padding_mask=ignore, average_attn_weights=False)
        if real is not None:
            empty = ~torch.as_tensor(real).any(-1)
            w[empty] = 0.0
            out[empty] = t["b_o"] if bias else 0.0
    return out.numpy(), w.numpy()


def load_into(module, params, bias=True):
    with torch.no_grad():
        for proj, w, b in [(module.q_proj, "w_q", "b_q"), (module.k_proj, "w_k", "b_k"),
                           (module.v_proj, "w_v", "b_v"), (module.out_proj, "w_o", "b_o")]:
            proj.weight.copy_(torch.as_tensor(params[w].T, dtype=proj.weight.dtype))
            if bias:
                proj.bias.copy_(torch.as_tensor(params[b], dtype=proj.bias.dtype))
    return module


RNG = np.random.default_rng(2026)
X = RNG.standard_normal((2, 3, 8))
MEMORY = RNG.standard_normal((2, 5, 6))
PARAMS = random_params(RNG, 8, 6)
REAL = np.array([[True, True, True, False, False], [True] * 5])


def close(got, want, atol=1e-12):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"shape {got.shape}, expected {want.shape}"
    np.testing.assert_allclose(got, want, rtol=0, atol=atol)


# ----------------------------------------------------------------------------- padding_mask
def pm_values(ns):
    got = ns["padding_mask"]([3, 1, 0], max_len=4)
    assert got.dtype == bool and isinstance(got, np.ndarray)
    close(got, np.array([[1, 1, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]], bool))
    close(ns["padding_mask"](torch.tensor([2, 3])), np.array([[1, 1, 0], [1, 1, 1]], bool))
    close(ns["padding_mask"](np.array([2, 0], dtype=np.int32)), np.array([[1, 1], [0, 0]], bool))


def pm_numpy_max_len(ns):
    try:
        got = ns["padding_mask"](np.array([2, 0], dtype=np.int32), max_len=np.int64(3))
    except (TypeError, ValueError) as error:
        raise AssertionError(f"a NumPy max_len is a valid size: {error}") from error
    close(got, np.array([[1, 1, 0], [0, 0, 0]], bool))


def pm_empty(ns):
    assert ns["padding_mask"]([]).shape == (0, 0)
    assert ns["padding_mask"]([0, 0]).shape == (2, 0)


def pm_unchanged(ns):
    lengths = np.array([2, 1])
    ns["padding_mask"](lengths, max_len=3)
    close(lengths, np.array([2, 1]))


def pm_fraction(ns):
    raises(TypeError, ns["padding_mask"], [2, 2.5], words=["integer"])


def pm_float_dtype(ns):
    raises(TypeError, ns["padding_mask"], np.array([2.0, 3.0]), words=["integer"])


def pm_bool(ns):
    raises(TypeError, ns["padding_mask"], [True, False], words=["integer"])


def pm_strings(ns):
    raises(TypeError, ns["padding_mask"], ["2", "3"], words=["integer"])


def pm_max_len_float(ns):
    raises(TypeError, ns["padding_mask"], [2, 3], max_len=4.0, words=["integer", "max_len"])


def pm_max_len_bool(ns):
    raises(TypeError, ns["padding_mask"], [1, 0], max_len=True, words=["integer", "max_len"])


def pm_negative(ns):
    raises(ValueError, ns["padding_mask"], [2, -1], words=[">= 0", "negative"])


def pm_too_long(ns):
    raises(ValueError, ns["padding_mask"], [3, 1], max_len=2, words=["max_len", "longest"])


def pm_two_d(ns):
    raises(ValueError, ns["padding_mask"], [[1, 2], [3, 4]], words=["1-d", "shape"])


# ----------------------------------------------------------------------------- cross_attention
def ca_vs_mha(ns):
    for real in (None, REAL):
        out, w = ns["cross_attention"](X, MEMORY, PARAMS, 2, memory_mask=real)
        want_out, want_w = reference(PARAMS, 2, X, MEMORY, real)
        close(w, want_w)
        close(out, want_out)
        assert out.dtype == np.float64 and w.dtype == np.float64


def ca_numpy_heads(ns):
    try:
        out, w = ns["cross_attention"](X, MEMORY, PARAMS, np.int64(2), memory_mask=REAL)
    except (TypeError, ValueError) as error:
        raise AssertionError(f"a NumPy num_heads is a valid size: {error}") from error
    want_out, want_w = reference(PARAMS, 2, X, MEMORY, REAL)
    close(w, want_w)
    close(out, want_out)


def ca_self(ns):
    params = random_params(np.random.default_rng(1), 8, 8)
    out, _ = ns["cross_attention"](X, X, params, 4)
    close(out, reference(params, 4, X, X)[0])


def ca_unbatched(ns):
    out, w = ns["cross_attention"](X[0], MEMORY[0], PARAMS, 2, memory_mask=REAL[0])
    want_out, want_w = reference(PARAMS, 2, X[:1], MEMORY[:1], REAL[:1])
    close(out, want_out[0])
    close(w, want_w[0])


def ca_float32_in(ns):
    out, w = ns["cross_attention"](X.astype(np.float32), MEMORY.astype(np.float32), PARAMS, 2)
    assert out.dtype == np.float64 and w.dtype == np.float64, (out.dtype, w.dtype)


def ca_large_scores(ns):
    out, w = ns["cross_attention"](40 * X, 40 * MEMORY, PARAMS, 2)
    want_out, want_w = reference(PARAMS, 2, 40 * X, 40 * MEMORY)
    assert np.isfinite(out).all()
    close(w, want_w, atol=1e-9)
    close(out, want_out, atol=1e-9 * np.abs(want_out).max())


def ca_fully_masked(ns):
    real = np.array([[True, False, False, False, False], [False] * 5])
    out, w = ns["cross_attention"](X, MEMORY, PARAMS, 2, memory_mask=real)
    assert (w[1] == 0).all(), "a sentence with no real key gets zero weights"
    close(out[1], np.broadcast_to(PARAMS["b_o"], (3, 8)))
    close(out, reference(PARAMS, 2, X, MEMORY, real)[0])


def ca_no_keys(ns):
    out, w = ns["cross_attention"](X, MEMORY[:, :0], PARAMS, 2)
    assert w.shape == (2, 2, 3, 0)
    close(out, np.broadcast_to(PARAMS["b_o"], (2, 3, 8)))


def ca_no_queries(ns):
    out, w = ns["cross_attention"](X[:, :0], MEMORY, PARAMS, 2)
    assert out.shape == (2, 0, 8) and w.shape == (2, 2, 0, 5)


def ca_unchanged(ns):
    x, memory, real = X.copy(), MEMORY.copy(), REAL.copy()
    params = {k: v.copy() for k, v in PARAMS.items()}
    ns["cross_attention"](x, memory, params, 2, memory_mask=real)
    close(x, X)
    close(memory, MEMORY)
    assert (real == REAL).all()
    for key, value in PARAMS.items():
        close(params[key], value)


def ca_additive_mask(ns):
    # The issue-12 case: an additive 0/-inf mask used to be silently inverted.
    additive = np.where(REAL, 0.0, -np.inf)
    raises(TypeError, ns["cross_attention"], X, MEMORY, PARAMS, 2, additive, words=["bool"])


def ca_float01_mask(ns):
    raises(TypeError, ns["cross_attention"], X, MEMORY, PARAMS, 2, REAL.astype(float), words=["bool"])


def ca_int_mask(ns):
    raises(TypeError, ns["cross_attention"], X, MEMORY, PARAMS, 2, REAL.astype(int), words=["bool"])


def ca_string_input(ns):
    raises(TypeError, ns["cross_attention"], X.astype(str), MEMORY, PARAMS, 2, words=["dtype", "number"])


def ca_complex_input(ns):
    raises(TypeError, ns["cross_attention"], X + 0j, MEMORY, PARAMS, 2, words=["dtype", "number"])


def ca_mask_batch_one(ns):
    raises(ValueError, ns["cross_attention"], X, MEMORY, PARAMS, 2, np.ones((1, 5), bool), words=["shape", "(b, n_src)"])


def ca_mask_over_queries(ns):
    raises(ValueError, ns["cross_attention"], X, MEMORY, PARAMS, 2, np.ones((2, 3), bool), words=["shape"])


def ca_batch_mismatch(ns):
    raises(ValueError, ns["cross_attention"], X, MEMORY[:1], PARAMS, 2, words=["batch"])


def ca_width_mismatch(ns):
    raises(ValueError, ns["cross_attention"], X, MEMORY[..., :4], PARAMS, 2, words=["width", "w_k"])


def ca_zero_heads(ns):
    raises(ValueError, ns["cross_attention"], X, MEMORY, PARAMS, 0, words=["heads"])


def ca_heads_not_dividing(ns):
    raises(ValueError, ns["cross_attention"], X, MEMORY, PARAMS, 3, words=["heads"])


def ca_rank_mismatch(ns):
    raises(ValueError, ns["cross_attention"], X, MEMORY[0], PARAMS, 2, words=["memory", "batched"])


# ----------------------------------------------------------------------------- combine_masks
KPM = torch.tensor([[False, False, True, True], [False, False, False, False]])
AM = torch.tensor([[False, True, True, True], [False, False, True, True], [False, False, False, True]])


def cm_values(ns):
    got = ns["combine_masks"](KPM, AM)
    want = torch.zeros(2, 1, 3, 4, dtype=torch.bool)
    for b in range(2):
        for i in range(3):
            for j in range(4):
                want[b, 0, i, j] = (not KPM[b, j]) and (not AM[i, j])
    assert got.dtype == torch.bool and torch.equal(got, want)
    assert torch.equal(ns["combine_masks"](KPM), ~KPM[:, None, None, :])


def cm_vs_mha(ns):
    rng = np.random.default_rng(3)
    params = random_params(rng, 8, 8)
    q, m = torch.from_numpy(rng.standard_normal((2, 3, 8))), torch.from_numpy(rng.standard_normal((2, 4, 8)))
    mask = ns["combine_masks"](KPM, AM)
    t = {k: torch.from_numpy(v) for k, v in params.items()}

    def split(a):
        return a.view(2, -1, 2, 4).transpose(1, 2)

    heads = F.scaled_dot_product_attention(split(q @ t["w_q"] + t["b_q"]), split(m @ t["w_k"] + t["b_k"]),
                                           split(m @ t["w_v"] + t["b_v"]), attn_mask=mask)
    out = heads.transpose(1, 2).reshape(2, 3, 8) @ t["w_o"] + t["b_o"]
    mha = nn.MultiheadAttention(8, 2, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([t["w_q"].T, t["w_k"].T, t["w_v"].T]))
        mha.in_proj_bias.copy_(torch.cat([t["b_q"], t["b_k"], t["b_v"]]))
        mha.out_proj.weight.copy_(t["w_o"].T)
        mha.out_proj.bias.copy_(t["b_o"])
        want = mha(q, m, m, key_padding_mask=KPM, attn_mask=AM)[0]
    close(out.detach().numpy(), want.numpy())


def cm_unchanged(ns):
    kpm, am = KPM.clone(), AM.clone()
    ns["combine_masks"](kpm, am)
    assert torch.equal(kpm, KPM) and torch.equal(am, AM)


def cm_additive(ns):
    additive = torch.zeros(2, 4).masked_fill(KPM, float("-inf"))
    raises(TypeError, ns["combine_masks"], additive, words=["bool"])


def cm_int(ns):
    raises(TypeError, ns["combine_masks"], KPM.long(), words=["bool"])


def cm_float_attn(ns):
    raises(TypeError, ns["combine_masks"], KPM, AM.float(), words=["bool"])


def cm_numpy(ns):
    raises(TypeError, ns["combine_masks"], KPM.numpy(), words=["bool"])


def cm_one_d(ns):
    raises(ValueError, ns["combine_masks"], KPM[0], words=["(b, n_src)", "shape"])


def cm_columns(ns):
    raises(ValueError, ns["combine_masks"], KPM, AM[:, :3], words=["n_src"])


def cm_three_d_attn(ns):
    raises(ValueError, ns["combine_masks"], KPM, AM[None], words=["n_tgt", "n_src"])


# ----------------------------------------------------------------------------- CrossAttention
XT = torch.from_numpy(X)
MT = torch.from_numpy(MEMORY)
REALT = torch.from_numpy(REAL)


def module(ns, bias=True, dtype=torch.float64, heads=2, d_memory=6):
    return load_into(ns["CrossAttention"](8, heads, d_memory=d_memory, bias=bias).to(dtype), PARAMS, bias)


def mod_vs_mha(ns):
    ours = module(ns)
    with torch.no_grad():
        for real in (None, REALT):
            close(ours(XT, MT, memory_mask=real).numpy(), reference(PARAMS, 2, X, MEMORY, real)[0])


def mod_no_bias(ns):
    ours = module(ns, bias=False)
    assert not any(name.endswith("bias") for name, _ in ours.named_parameters())
    with torch.no_grad():
        close(ours(XT, MT, REALT).numpy(), reference(PARAMS, 2, X, MEMORY, REAL, bias=False)[0])


def mod_unbatched(ns):
    with torch.no_grad():
        got = module(ns)(XT[0], MT[0], REALT[0])
    close(got.numpy(), reference(PARAMS, 2, X[:1], MEMORY[:1], REAL[:1])[0][0])


def mod_dtype(ns):
    with torch.no_grad():
        got = module(ns, dtype=torch.float32)(XT.float(), MT.float())
    assert got.dtype == torch.float32
    close(got.numpy(), reference(PARAMS, 2, X, MEMORY)[0], atol=1e-4)


def mod_fully_masked(ns):
    real = torch.tensor([[True, False, False, False, False], [False] * 5])
    with torch.no_grad():
        got = module(ns)(XT, MT, real)
    close(got.numpy(), reference(PARAMS, 2, X, MEMORY, real.numpy())[0])


def mod_no_keys(ns):
    with torch.no_grad():
        got = module(ns)(XT, MT[:, :0], torch.zeros(2, 0, dtype=torch.bool))
    close(got.numpy(), np.broadcast_to(PARAMS["b_o"], (2, 3, 8)))


def mod_unchanged(ns):
    x, m, real = XT.clone(), MT.clone(), REALT.clone()
    with torch.no_grad():
        module(ns)(x, m, real)
    assert torch.equal(x, XT) and torch.equal(m, MT) and torch.equal(real, REALT)


def mod_float01_mask(ns):
    # The issue-12 case: a float 0/1 mask used to become a +1 score bias.
    with torch.no_grad():
        raises(TypeError, module(ns), XT, MT, REALT.double(), words=["bool"])


def mod_additive_mask(ns):
    additive = torch.zeros(2, 5, dtype=torch.float64).masked_fill(~REALT, float("-inf"))
    with torch.no_grad():
        raises(TypeError, module(ns), XT, MT, additive, words=["bool"])


def mod_int_mask(ns):
    with torch.no_grad():
        raises(TypeError, module(ns), XT, MT, REALT.long(), words=["bool"])


def mod_mask_shape(ns):
    with torch.no_grad():
        raises(ValueError, module(ns), XT, MT, REALT[:, :4], words=["(b, n_src)", "shape"])


def mod_batch(ns):
    with torch.no_grad():
        raises(ValueError, module(ns), XT, MT[:1], words=["memory"])


def mod_heads(ns):
    raises(ValueError, ns["CrossAttention"], 8, 3, words=["num_heads", "heads"])
    raises(ValueError, ns["CrossAttention"], 8, 0, words=["num_heads", "heads"])


def mod_autograd(ns):
    ours = module(ns)
    x, m = XT.clone().requires_grad_(), MT.clone().requires_grad_()
    ours(x, m, REALT).sum().backward()
    assert (m.grad[0, 3:] == 0).all(), "padded memory positions get no gradient"
    assert x.grad.abs().sum() > 0


# ----------------------------------------------------------------------------- exercise helpers
def diag_fixed(ns):
    rng = np.random.default_rng(5)
    x, memory = rng.standard_normal((2, 5, 6)), rng.standard_normal((2, 4, 5))
    w_q, w_k, w_v = rng.standard_normal((6, 3)), rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    real = np.array([[True] * 4, [True, False, False, False]])
    out, w = ns["single_head_cross_attention"](x, memory, w_q, w_k, w_v, real)
    q, k, v = (torch.from_numpy(a) for a in (x @ w_q, memory @ w_k, memory @ w_v))
    close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=torch.from_numpy(real)[:, None, :]).numpy())
    assert (w[1, :, 1:] == 0).all()
    raises(TypeError, ns["single_head_cross_attention"], x, memory, w_q, w_k, w_v, real.astype(float), words=["bool"])


def kv_cost(ns):
    fn = ns["kv_projection_macs"]
    assert fn(5, 6, 8, 10, cached=False) == 10 * 2 * 5 * 6 * 8
    assert fn(5, 6, 8, 10, cached=True) == 2 * 5 * 6 * 8


CASES = {fn.__name__: fn for fn in [
    pm_values, pm_numpy_max_len, pm_empty, pm_unchanged, pm_fraction, pm_float_dtype, pm_bool, pm_strings,
    pm_max_len_float, pm_max_len_bool, pm_negative, pm_too_long, pm_two_d,
    ca_vs_mha, ca_numpy_heads, ca_self, ca_unbatched, ca_float32_in, ca_large_scores, ca_fully_masked, ca_no_keys,
    ca_no_queries, ca_unchanged, ca_additive_mask, ca_float01_mask, ca_int_mask, ca_string_input,
    ca_complex_input, ca_mask_batch_one, ca_mask_over_queries, ca_batch_mismatch, ca_width_mismatch,
    ca_zero_heads, ca_heads_not_dividing, ca_rank_mismatch,
    cm_values, cm_vs_mha, cm_unchanged, cm_additive, cm_int, cm_float_attn, cm_numpy, cm_one_d,
    cm_columns, cm_three_d_attn,
    mod_vs_mha, mod_no_bias, mod_unbatched, mod_dtype, mod_fully_masked, mod_no_keys, mod_unchanged,
    mod_float01_mask, mod_additive_mask, mod_int_mask, mod_mask_shape, mod_batch, mod_heads,
    mod_autograd, diag_fixed, kv_cost,
]}


def failing_cases(ns) -> set[str]:
    failed = set()
    for name, case in CASES.items():
        try:
            case(ns)
        except AssertionError:
            failed.add(name)
    return failed


@pytest.fixture(scope="module")
def solution():
    return load_solution(NAME)


@pytest.mark.parametrize("case", list(CASES))
def test_contract(solution, case):
    CASES[case](solution)


# Each edit removes one validation from the solution; the named cases must then fail.
BROKEN = [
    ("if lengths.size and not np.issubdtype(lengths.dtype, np.integer):", "if False:",
     {"pm_fraction", "pm_float_dtype", "pm_bool"}),
    ("if B_mem != B:", "if False:", {"ca_batch_mismatch"}),
    ("if memory_mask.shape != (B, n_src):", "if False:", {"ca_mask_batch_one"}),
    ("if memory_mask.dtype != torch.bool:", "if False:", {"mod_float01_mask"}),
    ("isinstance(mask, torch.Tensor) and mask.dtype == torch.bool", "isinstance(mask, torch.Tensor)",
     {"cm_int"}),
    ("if num_heads <= 0 or d_model % num_heads != 0:", "if d_model % num_heads != 0:", {"mod_heads"}),
    # Valid inputs refused by a check that is too strict.
    ("not isinstance(max_len, (int, np.integer))", "not isinstance(max_len, int)",
     {"pm_numpy_max_len"}),
    ('if num_heads <= 0 or params["w_q"].shape[1] % num_heads:',
     'if not isinstance(num_heads, int) or params["w_q"].shape[1] % num_heads:', {"ca_numpy_heads"}),
]


@pytest.mark.parametrize(("old", "new", "expected"), BROKEN, ids=[edit[0][:40] for edit in BROKEN])
def test_the_table_can_fail(old, new, expected):
    broken = load_solution(NAME, edits=((old, new),))
    failed = failing_cases(broken)
    missed = expected - failed
    assert not missed, f"with {old!r} removed, the contract table should fail {sorted(missed)}"
