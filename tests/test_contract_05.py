"""Chapter 5's public functions keep the course's contract (notation.md, the last section).

Each row of the table is a hostile input for one solution function, with what the contract
demands: the right answer (compared with PyTorch or a closed form) or an exception of the right
type whose message names the problem. The last tests prove the table can fail: with a
validation removed from the solution, the matching row no longer holds.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.contract_helpers import load_solution

NAME = "05_efficient_attention"
RNG = np.random.default_rng(5)


def rand(*shape):
    return RNG.standard_normal(shape)


def bottom_right(n_q, n_k):
    return torch.from_numpy(np.tri(n_q, n_k, n_k - n_q, dtype=bool))


def sdpa(q, k, v, causal=False, **kwargs):
    """PyTorch's attention in float64; the contract's causal mask is bottom-right."""
    tensors = [torch.from_numpy(np.array(a, dtype=np.float64)) for a in (q, k, v)]
    mask = bottom_right(q.shape[-2], k.shape[-2]) if causal else None
    return F.scaled_dot_product_attention(*tensors, attn_mask=mask, **kwargs).numpy()


def autograd(q, k, v, d_out, causal=False):
    tensors = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    mask = bottom_right(q.shape[-2], k.shape[-2]) if causal else None
    F.scaled_dot_product_attention(*tensors, attn_mask=mask).backward(torch.from_numpy(d_out))
    return [t.grad.numpy() for t in tensors]


def softmax_zero_rows(x):
    return torch.softmax(torch.from_numpy(x), -1).nan_to_num(0.0).numpy()


Q, K, V = rand(2, 5, 4), rand(2, 7, 4), rand(2, 7, 3)
FAR_Q = 25 + 0.5 * rand(5, 4)  # with -FAR_K: every score near -1.2e3
FAR_K = 25 + 0.5 * rand(7, 4)
MASKED = rand(3, 6)
MASKED[0, :4] = -np.inf
MASKED[2] = -np.inf

# (function, args, kwargs, expected): expected is an array (the right answer) or
# (ExceptionType, words the message must contain).
ANSWERS = [
    ("online_softmax", (MASKED, 2), {}, softmax_zero_rows(MASKED)),
    ("online_softmax", (np.array([1e3, -1e3, 999.0]), 1), {}, softmax_zero_rows(np.array([1e3, -1e3, 999.0]))),
    ("online_softmax", (-FAR_Q @ FAR_K.T, 3), {}, softmax_zero_rows(-FAR_Q @ FAR_K.T)),
    ("online_softmax", (np.zeros((2, 0)), 3), {}, np.zeros((2, 0))),
    ("online_softmax", ([1, 2, 3], 2), {}, softmax_zero_rows(np.array([1.0, 2.0, 3.0]))),
    ("tiled_attention", (Q, K, V, 2, 3), {}, sdpa(Q, K, V)),
    ("tiled_attention", (Q, K[:, :0], V[:, :0], 2, 3), {}, np.zeros((2, 5, 3))),
    ("tiled_attention", (Q[:, :0], K, V, 2, 3), {}, np.zeros((2, 0, 3))),
    ("tiled_attention", (Q, K, V, 2, 3), {"causal": True}, sdpa(Q, K, V, causal=True)),
    ("tiled_attention", (K, Q, V[:, :5], 2, 2), {"causal": True}, sdpa(K, Q, V[:, :5], causal=True)),
    ("tiled_attention", (Q[:, -1:], K, V, 1, 4), {"causal": True}, sdpa(Q, K, V, causal=True)[:, -1:]),
    ("tiled_attention", (FAR_Q, -FAR_K, V[0], 2, 3), {}, sdpa(FAR_Q, -FAR_K, V[0])),
    ("tiled_attention", (FAR_Q, FAR_K, V[0], 2, 3), {"causal": True}, sdpa(FAR_Q, FAR_K, V[0], causal=True)),
    ("tiled_attention", (Q[0], K[0], V[0], 5, 7), {}, sdpa(Q[0], K[0], V[0])),
    ("grouped_query_attention", (rand(1, 4, 1, 4), rand(1, 2, 6, 4), rand(1, 2, 6, 3)), {"causal": True}, None),
    ("repeat_kv", (np.arange(6.0).reshape(2, 3, 1),), {"n_rep": 2}, np.repeat(np.arange(6.0).reshape(2, 3, 1), 2, axis=-3)),
    ("kv_cache_bytes", (32, 8, 128, 4096), {}, 2 * 32 * 8 * 128 * 4096 * 2),
    ("kv_cache_bytes", (32, 8, 128, 0), {}, 0),
    ("kv_cache_bytes", (np.int64(2), 1, 4, 3), {"bytes_per_number": 4}, 2 * 2 * 4 * 3 * 4),
]

ERRORS = [
    ("online_softmax", (np.ones(3), 0), {}, (ValueError, ["block_size", "0"])),
    ("online_softmax", (np.ones(3), 2.5), {}, (TypeError, ["block_size"])),
    ("online_softmax", (np.ones(3), True), {}, (TypeError, ["block_size"])),
    ("online_softmax", (np.array(1.0), 1), {}, (ValueError, ["axis"])),
    ("online_softmax", (np.array(["a"]), 1), {}, (TypeError, ["dtype"])),
    ("online_softmax", (np.ones(2, dtype=complex), 1), {}, (TypeError, ["dtype"])),
    ("tiled_attention", (Q, K[..., :3], V, 2, 2), {}, (ValueError, ["(2, 5, 4)", "(2, 7, 3)"])),
    ("tiled_attention", (Q, K, V[:, :6], 2, 2), {}, (ValueError, ["(2, 7, 4)", "(2, 6, 3)"])),
    ("tiled_attention", (Q, K, np.concatenate([V, V], 1), 2, 2), {}, (ValueError, ["(2, 14, 3)"])),
    ("tiled_attention", (Q[..., :0], K[..., :0], V, 2, 2), {}, (ValueError, ["d_k"])),
    ("tiled_attention", (Q, K, V, 0, 2), {}, (ValueError, ["block_q"])),
    ("tiled_attention", (Q, K, V, 2, 1.5), {}, (TypeError, ["block_k"])),
    ("tiled_attention", (Q.astype(str), K, V, 2, 2), {}, (TypeError, ["dtype"])),
    ("tiled_attention", (Q[0, 0], K, V, 2, 2), {}, (ValueError, ["(4,)"])),
    ("attention_backward", (Q, K, V, rand(2, 5, 2)), {}, (ValueError, ["(2, 5, 2)", "(2, 5, 3)"])),
    ("attention_backward", (Q, K, V[:, :6], rand(2, 5, 3)), {}, (ValueError, ["(2, 6, 3)"])),
    ("attention_backward", (Q, K[:1], V[:1], rand(2, 5, 3)), {}, (ValueError, ["(1, 7, 4)"])),
    ("attention_backward", (Q, K, V, rand(2, 5, 3).astype(object)), {}, (TypeError, ["dtype"])),
    ("repeat_kv", (rand(3, 4), 2), {}, (ValueError, ["(3, 4)"])),
    ("repeat_kv", (rand(2, 3, 4), 0), {}, (ValueError, ["n_rep"])),
    ("repeat_kv", (rand(2, 3, 4), 2.0), {}, (TypeError, ["n_rep"])),
    ("grouped_query_attention", (rand(1, 6, 3, 4), rand(1, 4, 3, 4), rand(1, 4, 3, 2)), {}, (ValueError, ["6", "4"])),
    ("grouped_query_attention", (rand(1, 6, 3, 4), rand(1, 0, 3, 4), rand(1, 0, 3, 2)), {}, (ValueError, ["h_kv = 0"])),
    ("grouped_query_attention", (rand(3, 4), rand(3, 4), rand(3, 2)), {}, (ValueError, ["(3, 4)"])),
    ("grouped_query_attention", (rand(1, 4, 3, 4), rand(1, 2, 3, 4), rand(1, 1, 3, 2)), {}, (ValueError, ["2", "1"])),
    ("grouped_query_attention", (rand(1, 4, 3, 4), rand(1, 2, 3, 5), rand(1, 2, 3, 2)), {}, (ValueError, ["(1, 2, 3, 5)"])),
    ("kv_cache_bytes", (32, 8, 128, 2.5), {}, (TypeError, ["n_tokens"])),
    ("kv_cache_bytes", (32.0, 8, 128, 2), {}, (TypeError, ["n_layers"])),
    ("kv_cache_bytes", (32, 8, -1, 2), {}, (ValueError, ["d_head"])),
    ("kv_cache_bytes", (32, 8, 128, 2), {"bytes_per_number": 0}, (ValueError, ["bytes_per_number"])),
    ("streaming_logsumexp", (np.ones(3), 0), {}, (ValueError, ["block_size"])),
    ("streaming_logsumexp", (np.array(["x"]), 1), {}, (TypeError, ["dtype"])),
]


def row_id(row):
    name, args, kwargs, _ = row
    shapes = ",".join(str(getattr(a, "shape", a)) for a in args)
    return f"{name}({shapes}{',' + str(kwargs) if kwargs else ''})"


@pytest.fixture(scope="module")
def ns():
    return load_solution(NAME)


@pytest.mark.parametrize("row", ANSWERS, ids=row_id)
def test_right_answer(ns, row):
    name, args, kwargs, expected = row
    before = [np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args]
    got = ns[name](*args, **kwargs)
    if name == "grouped_query_attention":  # one decoding step == last row of the full pass
        q, k, v = args
        full = sdpa(np.concatenate([rand(1, 4, 5, 4), q], axis=2), k, v, causal=True, enable_gqa=True)
        expected = full[..., -1:, :]
    if name == "kv_cache_bytes":
        assert type(got) is int and got == expected
    else:
        assert isinstance(got, np.ndarray) and got.dtype == np.float64, type(got)
        np.testing.assert_allclose(got, expected, atol=1e-9, rtol=0)
        assert not np.isnan(got).any()
    for old, new in zip(before, args):
        if isinstance(old, np.ndarray):
            np.testing.assert_array_equal(old, new, err_msg=f"{name} modified its input")


@pytest.mark.parametrize("row", ERRORS, ids=row_id)
def test_named_error(ns, row):
    name, args, kwargs, (kind, words) = row
    with pytest.raises(kind) as raised:
        ns[name](*args, **kwargs)
    assert type(raised.value) is kind or kind in type(raised.value).__mro__
    message = str(raised.value)
    for word in words:
        assert word in message, f"{name}: {message!r} should mention {word!r}"
    assert "core dimension" not in message, "NumPy's own error, not the course's"


def test_backward_contract(ns):
    """Gradients at extreme ranges and with fully masked rows equal autograd's."""
    backward = ns["attention_backward"]
    for q, k, v in [(FAR_Q, -FAR_K, V[0]), (FAR_Q, FAR_K, V[0]), (Q[0], K[0, :3], V[0, :3])]:
        d_out = rand(q.shape[0], v.shape[-1])
        for causal in [False, True]:
            mine = backward(q, k, v, d_out, causal=causal)
            for a, b in zip(mine, autograd(q, k, v, d_out, causal=causal)):
                np.testing.assert_allclose(a, b, atol=1e-9, rtol=0)
    dq, dk, dv = backward(Q, K[:, :0], V[:, :0], rand(2, 5, 3))  # n_k = 0: no gradient
    assert dq.shape == Q.shape and not dq.any() and dk.shape == (2, 0, 4) and dv.shape == (2, 0, 3)


def test_merge_and_streaming_lse(ns):
    merge, lse = ns["merge_softmax_stats"], ns["streaming_logsumexp"]
    m, total = merge(np.array([-np.inf, 1.0, -np.inf]), np.array([0.0, 2.0, 0.0]),
                     np.array([3.0, -np.inf, -np.inf]), np.array([1.5, 0.0, 0.0]))
    np.testing.assert_array_equal(m, [3.0, 1.0, -np.inf])
    np.testing.assert_array_equal(total, [1.5, 2.0, 0.0])
    for x in [np.array([-np.inf, -np.inf, 1e3, 2.0]), -1e3 + rand(9), np.zeros(0)]:
        expected = torch.logsumexp(torch.from_numpy(x), 0).item()
        assert lse(x, 2) == pytest.approx(expected, abs=1e-10) or expected == lse(x, 2) == -np.inf


# Removing a validation must break a row of the table: the table can fail.
def find(table, name, predicate):
    rows = [row for row in table if row[0] == name and predicate(*row[1:3])]
    assert len(rows) == 1, (name, len(rows))
    return rows[0]


WEAKENINGS = [
    ("if h_kv == 0 or h_q % h_kv != 0:", "if h_q % h_kv != 0:",
     find(ERRORS, "grouped_query_attention", lambda a, kw: a[1].shape[1] == 0)),
    ("offset = n_k - n_q", "offset = 0",
     find(ANSWERS, "tiled_attention", lambda a, kw: a[0].shape[1] == 1)),
    ("acc, total, out=np.zeros_like(acc), where=total > 0", "acc, total",
     find(ANSWERS, "tiled_attention", lambda a, kw: a[1].shape[1] == 0)),
    ('block_size = check_count(block_size, "block_size")\n    if x.ndim == 0', "if x.ndim == 0",
     find(ERRORS, "online_softmax", lambda a, kw: a[1] == 2.5)),
    ("p = np.divide(p, total, out=np.zeros_like(p), where=total > 0)", "p = p / total", None),
]


@pytest.mark.parametrize("weakening", WEAKENINGS, ids=lambda w: w[1][:40])
def test_the_table_fails_when_a_validation_is_removed(weakening):
    old, new, row = weakening
    weakened = load_solution(NAME, edits=((old, new),))
    with np.errstate(all="ignore"), pytest.raises((AssertionError, ZeroDivisionError)):
        if row is None:
            test_backward_contract(weakened)
        elif any(row is answer for answer in ANSWERS):
            test_right_answer(weakened, row)
        else:
            test_named_error(weakened, row)
