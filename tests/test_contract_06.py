"""The contract (notation.md, last section) for the public functions of chapter 6 and its Triton
appendix: a table of hostile inputs, each answered with the right result or an error that names the
problem; and proof that the table can fail when a validation is removed."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.contract_helpers import load_solution
from tests.helpers import SOLUTIONS

NAME = "06_modern_attention"
rng = np.random.default_rng(6)


@pytest.fixture(scope="module")
def ns():
    return load_solution(NAME)


def sdpa(q, k, v, mask=None):
    q, k, v = (torch.from_numpy(np.asarray(a, dtype=np.float64)) for a in (q, k, v))
    m = None if mask is None else torch.from_numpy(mask)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=m).numpy()


def rope_complex(x, positions, base=10000.0):
    half = x.shape[-1] // 2
    z = (x[..., :half] + 1j * x[..., half:]) * np.exp(
        1j * np.outer(positions, base ** (-np.arange(half) * 2.0 / x.shape[-1]))
    )
    return np.concatenate([z.real, z.imag], axis=-1)


X = rng.standard_normal((3, 4))
Q, K, V = (
    rng.standard_normal((2, 5, 4)),
    rng.standard_normal((2, 7, 4)),
    rng.standard_normal((2, 7, 3)),
)

# (function, args, kwargs, exception type, words the message must contain)
ERRORS = [
    ("rope", (rng.standard_normal((3, 5)), np.arange(3)), {}, ValueError, "even"),
    ("rope", (X, np.array([0.0, 1.5, 2.0])), {}, TypeError, "integers"),
    ("rope", (X, np.array([True, False, True])), {}, TypeError, "integers"),
    ("rope", (X, np.arange(4)), {}, ValueError, "positions"),
    ("rope", (X, np.array([0, -1, 2])), {}, ValueError, ">= 0"),
    ("rope", (X, np.arange(3)), {"layout": "neox"}, ValueError, "layout"),
    ("rope", (np.array([["a", "b"]]), np.arange(1)), {}, TypeError, "real numbers"),
    ("rope", (X.astype(complex), np.arange(3)), {}, TypeError, "real numbers"),
    ("rope", (np.ones(4), np.arange(1)), {}, ValueError, "shape"),
    ("attention_with_lse", (Q, K, V, np.ones((5, 7))), {}, TypeError, "boolean"),
    (
        "attention_with_lse",
        (Q, K, V, np.ones((5, 7), dtype=int)),
        {},
        TypeError,
        "boolean",
    ),
    (
        "attention_with_lse",
        (Q, K, V, np.ones((4, 7), dtype=bool)),
        {},
        ValueError,
        "broadcast",
    ),
    ("attention_with_lse", (Q, K[..., :3], V), {}, ValueError, "d_k"),
    ("attention_with_lse", (Q, K, V[:, :6]), {}, ValueError, "n_k"),
    ("attention_with_lse", (Q.astype(str), K, V), {}, TypeError, "real numbers"),
    (
        "merge_partials",
        (np.zeros((5, 3)), np.zeros(5), np.zeros((4, 3)), np.zeros(4)),
        {},
        ValueError,
        "fit",
    ),
    (
        "merge_partials",
        (np.zeros((5, 3)), np.zeros(4), np.zeros((5, 3)), np.zeros(4)),
        {},
        ValueError,
        "fit",
    ),
    ("sliding_window_mask", (4, 4, 2.5), {}, TypeError, "integer"),
    ("sliding_window_mask", (4, 4, True), {}, TypeError, "integer"),
    ("sliding_window_mask", (4, 4, 0), {}, ValueError, "window"),
    ("sliding_window_mask", (4, 4, 2, -1), {}, ValueError, "n_sinks"),
    ("sliding_window_mask", (4.0, 4, 2), {}, TypeError, "n_q"),
    ("RollingKVCache", (0,), {}, ValueError, "window"),
    (
        "paged_attention",
        (np.ones((1, 4)), np.ones((3, 2, 4)), np.ones((3, 2, 4)), np.array([0]), 3),
        {},
        ValueError,
        "cannot hold",
    ),
    (
        "paged_attention",
        (np.ones((1, 4)), np.ones((3, 2, 4)), np.ones((3, 2, 4)), np.array([0, 5]), 3),
        {},
        ValueError,
        "outside",
    ),
    (
        "paged_attention",
        (np.ones((1, 4)), np.ones((3, 2, 4)), np.ones((3, 2, 4)), np.array([0, -1]), 3),
        {},
        ValueError,
        "outside",
    ),
    (
        "paged_attention",
        (
            np.ones((1, 4)),
            np.ones((3, 2, 4)),
            np.ones((3, 2, 4)),
            np.array([0.0, 1.0]),
            3,
        ),
        {},
        TypeError,
        "integers",
    ),
    ("kv_cache_numbers", ("mlx", 2, 10, 4, 8), {}, ValueError, "kind"),
    ("kv_cache_numbers", ("gqa", 2, 10, 4, 8), {}, ValueError, "n_kv_heads"),
    (
        "kv_cache_numbers",
        ("gqa", 2, 10, 4, 8),
        {"n_kv_heads": 3},
        ValueError,
        "n_kv_heads",
    ),
    ("kv_cache_numbers", ("mla", 2, 10, 4, 8), {}, ValueError, "d_latent"),
    ("kv_cache_numbers", ("mha", 2, 10.5, 4, 8), {}, TypeError, "n_tokens"),
    ("yarn_frequencies", (7, 1e4, 2.0, 4096), {}, ValueError, "even"),
    ("yarn_frequencies", (8.0, 1e4, 2.0, 4096), {}, ValueError, "even"),
    ("yarn_frequencies", (8, 1e4, 0.5, 4096), {}, ValueError, "factor"),
    ("yarn_frequencies", (8, 1e4, 2.0, 4096, 4.0, 4.0), {}, ValueError, "alpha"),
    ("streaming_rope_attention", (Q[0], K[0], V[0], 0, 1), {}, ValueError, "window"),
    ("streaming_rope_attention", (Q[0], K[0], V[0], 2, -1), {}, ValueError, "n_sinks"),
    ("quantize_int8", (X, "tokens"), {}, ValueError, "per"),
    ("quantize_int8", (np.ones(4), "token"), {}, ValueError, "shape"),
    ("quantize_int8", (X.astype(str), "token"), {}, TypeError, "real numbers"),
    (
        "mla_absorbed_attention",
        (Q.astype(str), Q, K, K, np.zeros((2, 7, 4)), np.zeros((2, 7, 3)), V),
        {},
        TypeError,
        "real numbers",
    ),
]


def check_row(ns, fn, args, kwargs, kind, words):
    """Raise AssertionError unless ns[fn](*args, **kwargs) raises `kind` mentioning `words`."""
    try:
        ns[fn](*args, **kwargs)
    except kind as error:
        message = str(error)
        assert words.lower() in message.lower(), (
            f"{fn}: the message {message!r} should mention {words!r}"
        )
    except Exception as error:
        raise AssertionError(
            f"{fn} raised {type(error).__name__}: {error}; the contract says {kind.__name__}"
        ) from error
    else:
        raise AssertionError(
            f"{fn} returned normally; the contract says {kind.__name__}"
        )


@pytest.mark.parametrize(
    "row", ERRORS, ids=[f"{row[0]}-{i}" for i, row in enumerate(ERRORS)]
)
def test_bad_input_is_named(ns, row):
    check_row(ns, *row)


def test_rope_answers(ns):
    x = rng.standard_normal((2, 6, 8)) * 10
    positions = np.array([0, 1, 7, 100, 4096, 131071])
    before = x.copy()
    np.testing.assert_allclose(
        ns["rope"](x, positions), rope_complex(x, positions), atol=1e-9
    )
    np.testing.assert_array_equal(x, before)  # never modified in place
    assert ns["rope"](x.astype(np.float32), positions).dtype == np.float64
    assert (
        ns["rope"](np.arange(8).reshape(2, 4), [0, 1]).dtype == np.float64
    )  # integers accepted
    assert ns["rope"](np.zeros((0, 4)), np.zeros(0, dtype=int)).shape == (
        0,
        4,
    )  # no rows
    xt = torch.from_numpy(x)
    for dtype in (torch.float32, torch.float64):
        got = ns["rope_torch"](xt.to(dtype), torch.from_numpy(positions))
        assert got.dtype == dtype
        np.testing.assert_allclose(
            got.double().numpy(),
            rope_complex(x, positions),
            atol=1e-4 if dtype == torch.float32 else 1e-9,
        )
    with pytest.raises(TypeError, match="integers"):
        ns["rope_torch"](xt, torch.arange(6.0))
    with pytest.raises(ValueError, match="even"):
        ns["rope_torch"](xt[..., :7], torch.arange(6))


def test_lse_and_merge_answers(ns):
    q = rng.standard_normal((3, 4)) * 40  # scores ~1e3
    k, v = rng.standard_normal((6, 4)), rng.standard_normal((6, 2))
    mask = np.ones((3, 6), dtype=bool)
    mask[0] = False  # fully masked
    out, lse = ns["attention_with_lse"](q, k, v, mask)
    expected = sdpa(q, k, v, mask)
    expected[0] = 0.0
    np.testing.assert_allclose(out, expected, atol=1e-10)
    assert lse[0] == -np.inf and np.isfinite(lse[1:]).all()
    empty_out, empty_lse = ns["attention_with_lse"](q, k[:0], v[:0])  # n_k = 0
    assert (
        empty_out.shape == (3, 2)
        and (empty_out == 0).all()
        and np.isneginf(empty_lse).all()
    )
    none_out, none_lse = ns["attention_with_lse"](q[:0], k, v)  # n_q = 0
    assert none_out.shape == (0, 2) and none_lse.shape == (0,)
    unbatched, _ = ns["attention_with_lse"](q, k, v)
    batched, _ = ns["attention_with_lse"](q[None], k[None], v[None])
    np.testing.assert_allclose(batched[0], unbatched, atol=0)
    # merge: every split, both parts possibly empty
    split = np.array([True, False, True, True, False, False])
    a = ns["attention_with_lse"](q, k[split], v[split], mask[:, split])
    b = ns["attention_with_lse"](q, k[~split], v[~split], mask[:, ~split])
    merged, merged_lse = ns["merge_partials"](*a, *b)
    np.testing.assert_allclose(merged, expected, atol=1e-10)
    np.testing.assert_allclose(merged_lse, lse, atol=1e-9)
    assert not np.isnan(merged).any()


def test_window_paged_cache_answers(ns):
    q = rng.standard_normal((5, 4))
    assert ns["sliding_window_mask"](0, 5, 2).shape == (0, 5)
    assert ns["sliding_window_mask"](3, 0, 2).shape == (3, 0)
    assert (
        ns["sliding_window_mask"](np.int64(3), 3, 1).tolist()
        == np.eye(3, dtype=bool).tolist()
    )
    cache = ns["RollingKVCache"](2, 1)
    for t in range(6):
        cache.append(np.full(3, t), np.full(2, t))
    assert cache.positions().tolist() == [0, 4, 5] and cache.keys().dtype == np.float64
    pages = rng.standard_normal((4, 2, 3))
    got = ns["paged_attention"](q[:1, :3], pages, pages, np.array([3, 1]), 3)
    np.testing.assert_allclose(
        got,
        sdpa(
            q[:1, :3], pages[[3, 1]].reshape(4, 3)[:3], pages[[3, 1]].reshape(4, 3)[:3]
        ),
        atol=1e-12,
    )
    assert (
        ns["kv_cache_numbers"]("gqa", np.int64(2), 10, 4, 8, n_kv_heads=2)
        == 2 * 10 * 2 * 2 * 8
    )


def test_streaming_yarn_int8_mla_answers(ns):
    # StreamingLLM: with a window covering everything, positions within the cache are
    # text positions, so the answer is plain causal RoPE attention.
    q, k, v = (rng.standard_normal((2, 6, 4)) for _ in range(3))
    full = sdpa(
        rope_complex(q, np.arange(6)), rope_complex(k, np.arange(6)), v,
        np.tril(np.ones((6, 6), dtype=bool)),
    )
    np.testing.assert_allclose(
        ns["streaming_rope_attention"](q, k, v, 6, 0), full, atol=1e-10
    )
    assert ns["streaming_rope_attention"](q[:, :0], k[:, :0], v[:, :0], 2, 1).shape == (
        2, 0, 4,
    )
    # YaRN with factor 1 changes nothing; NumPy integers are accepted.
    np.testing.assert_allclose(
        ns["yarn_frequencies"](np.int64(8), 1e4, 1.0, 4096),
        1e4 ** (-np.arange(4) / 4), rtol=1e-12,
    )
    # int8: float32 in, int8 codes and float64 scales out; no rows is no error.
    codes, scales = ns["quantize_int8"](X.astype(np.float32), "channel")
    assert codes.dtype == np.int8 and scales.dtype == np.float64 and scales.shape == (1, 4)
    codes, scales = ns["quantize_int8"](np.zeros((0, 4)), "channel")
    assert codes.shape == (0, 4) and (scales == 1).all()
    # MLA with a fully masked row gives zeros, not NaN.
    h, d_c = 2, 3
    mask = np.ones((5, 7), dtype=bool)
    mask[1] = False
    out = ns["mla_absorbed_attention"](
        rng.standard_normal((h, 5, 4)), rng.standard_normal((h, 5, 2)),
        rng.standard_normal((7, d_c)), rng.standard_normal((7, 2)),
        rng.standard_normal((h, d_c, 4)), rng.standard_normal((h, d_c, 3)),
        rng.standard_normal((h * 3, 6)), mask=mask,
    )
    assert out.shape == (5, 6) and (out[1] == 0).all() and np.isfinite(out).all()


def test_decode_step_keeps_the_callers_cache(ns):
    cache = {"k": np.zeros((0, 4)), "v": np.zeros((0, 3))}
    out, new = ns["rope_decode_step"](Q[0], K[0, :5], V[0, :5], cache)
    assert (
        cache["k"].shape == (0, 4) and new["k"].shape == (5, 4) and out.shape == (5, 3)
    )


@pytest.mark.parametrize(
    ("edit", "row"),
    [
        (("if d % 2 != 0:", "if False:"), 0),
        (("if mask.dtype != bool:", "if False:"), 9),
        (("if window < 1 or n_sinks < 0 or n_q < 0 or n_k < 0:", "if False:"), 19),
        (("if ((block_table < 0) | (block_table >= n_pages)).any():", "if False:"), 24),
        (("if not alpha < beta:", "if False:"), 35),
        (("if per not in axes:", "if False:"), 38),
    ],
)
def test_the_table_can_fail(edit, row):
    """Removing a validation makes the matching row of the table fail."""
    ns = load_solution(NAME, edits=(edit,))
    with pytest.raises(AssertionError):
        check_row(ns, *ERRORS[row])


# --- the Triton appendix: the launcher's contract (runs under the interpreter on a CPU) ---
@pytest.fixture(scope="module")
def triton_ns(tmp_path_factory):
    """Like load_solution, but from a real file: @triton.jit reads its function's source."""
    if importlib.util.find_spec("triton") is None:
        pytest.skip("triton is not installed")
    # Not importorskip: importing triton before the solution's setup cell sets
    # TRITON_INTERPRET would leave the interpreter off on a machine without a GPU.
    notebook = nbformat.read(
        SOLUTIONS / "07_triton_flash_attention.ipynb", as_version=4
    )
    cells = [
        cell.source
        for cell in notebook.cells
        if cell.cell_type == "code"
        and not cell.metadata.get("nbgrader", {}).get("grade")
        and not cell.source.startswith("self_check_score(")
    ]
    path = tmp_path_factory.mktemp("triton") / "solution_07.py"
    path.write_text("\n\n".join(cells))
    spec = importlib.util.spec_from_file_location("solution_07", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return vars(module)


CHILD = "CONTRACT_06_TRITON_CHILD"


def test_triton_launcher_contract_in_a_fresh_process():
    """Triton reads TRITON_INTERPRET once, at import: another test in this worker may have
    imported it already, so the launcher's contract runs in a process of its own."""
    if importlib.util.find_spec("triton") is None:
        pytest.skip("triton is not installed")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         f"{__file__}::test_triton_launcher_contract"],
        env={**os.environ, CHILD: "1", "TRITON_INTERPRET": "1"}, capture_output=True, text=True,
        timeout=600, check=False,
    )
    assert done.returncode == 0 and " passed" in done.stdout, done.stdout[-3000:] + done.stderr[-2000:]


@pytest.mark.skipif(os.environ.get(CHILD) != "1", reason="runs in the fresh process above")
def test_triton_launcher_contract(triton_ns):
    launch = triton_ns["flash_attention_triton"]
    q, k = torch.randn(1, 1, 5, 16), torch.randn(1, 1, 7, 16)
    with pytest.raises(TypeError, match="float32"):
        launch(q.double(), k, k)
    with pytest.raises(TypeError, match="float32"):
        launch(q.numpy(), k, k)
    with pytest.raises(ValueError, match="do not fit"):
        launch(q, k, k[:, :, :6])
    with pytest.raises(ValueError, match="do not fit"):
        launch(q, k[..., :8], k[..., :8])
    out, lse = launch(q, k[:, :, :0], k[:, :, :0])  # n_k = 0: zeros, lse -inf
    assert (out == 0).all() and torch.isneginf(lse).all()
    out, lse = launch(q[:, :, :0], k, k)  # n_q = 0
    assert out.shape == (1, 1, 0, 16) and lse.shape == (1, 1, 0)
    before = q.clone()
    out, _ = launch(q, k, k, causal=True)
    assert torch.equal(q, before)
