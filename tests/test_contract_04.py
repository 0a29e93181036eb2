"""Chapter 4's public functions keep the course's contract (notation.md, "The contract every
function of the course keeps"): for every input, the right answer or an error naming the problem.

Each case below runs a function of solutions/04_transformer.ipynb on hostile input and checks
the answer against PyTorch's own layers (random weights and random biases, both wirings, a
layer's own eps, bias=False, GELU) or the exception type and its message. The last tests prove
that the table can fail: with one validation removed from the solution, its case fails.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.contract_helpers import load_solution, raises

NAME = "04_transformer"


@pytest.fixture(scope="module")
def ns():
    return load_solution(NAME)


# ---------------------------------------------------------------- helpers


def options(norm_first=False, eps=1e-5, activation="relu", bias=True):
    return {"norm_first": norm_first, "eps": eps, "activation": activation, "bias": bias}


def layer(ns, kind, opts, seed=0):
    built = ns["build_layer"](kind, opts)
    state = ns["random_state"](built, np.random.default_rng(seed))
    return ns["build_layer"](kind, opts, state)


def model(ns, opts, seed=0):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        built = ns["build_model"](opts)
        return ns["build_model"](opts, ns["random_state"](built, np.random.default_rng(seed)))


def randn(*shape, seed=0, dtype=torch.float64):
    return torch.from_numpy(np.random.default_rng(seed).standard_normal(shape)).to(dtype)


def close(got, expected, atol=1e-10):
    assert isinstance(got, torch.Tensor), f"expected a tensor, got {type(got).__name__}"
    assert got.shape == expected.shape, f"shape {tuple(got.shape)} != {tuple(expected.shape)}"
    assert got.dtype == expected.dtype, f"dtype {got.dtype} != {expected.dtype}"
    err = (got - expected).abs().max().item() if got.numel() else 0.0
    assert err <= atol, f"largest difference {err:.3g} > {atol:g}"


def causal(n):
    return torch.nn.Transformer.generate_square_subsequent_mask(n, dtype=torch.float64)


# ---------------------------------------------------------------- the table

CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


@case
def pe_closed_form_and_dtype(ns):
    for n, d in [(0, 4), (1, 2), (9, 6), (50, 16)]:
        pe = ns["positional_encoding"](n, d)
        p, j = np.arange(n)[:, None], np.arange(d)[None, :]
        angle = p / 10000.0 ** ((j - j % 2) / d)
        close(pe, torch.from_numpy(np.where(j % 2 == 0, np.sin(angle), np.cos(angle))), 1e-12)


@case
def pe_numpy_integer_sizes(ns):
    # NumPy's integers are integers: the same table as Python's.
    try:
        got = ns["positional_encoding"](np.int64(5), np.int32(6))
    except TypeError as error:
        raise AssertionError(f"NumPy integer sizes were rejected: {error}") from error
    close(got, ns["positional_encoding"](5, 6), 0.0)


@case
def pe_odd_width(ns):
    raises(ValueError, ns["positional_encoding"], 4, 5, words=("even", "odd"))


@case
def pe_zero_width(ns):
    raises(ValueError, ns["positional_encoding"], 4, 0, words=("d_model",))


@case
def pe_negative_length(ns):
    raises(ValueError, ns["positional_encoding"], -1, 4, words=("n",))


@case
def pe_non_integer_sizes(ns):
    for args in [(2.5, 4), (4, 4.0), ("3", 4), (True, 4), (None, 4)]:
        raises(TypeError, ns["positional_encoding"], *args, words=("integer",))


@case
def layer_norm_matches_torch(ns):
    x = 3 * randn(2, 3, 7) + 1
    w, b = 1 + 0.3 * randn(7, seed=1), randn(7, seed=2)
    keep = x.clone()
    for eps in (1e-5, 0.5):
        close(ns["layer_norm"](x, w, b, eps), F.layer_norm(x, (7,), w, b, eps))
        close(ns["layer_norm"](x, w, None, eps), F.layer_norm(x, (7,), w, None, eps))
    close(ns["layer_norm"](x[0, 0], w, b), F.layer_norm(x[0, 0], (7,), w, b))  # one token
    assert torch.equal(x, keep), "layer_norm modified x"


@case
def layer_norm_far_rows_and_float32(ns):
    far = 1e4 + 1e-3 * randn(4, 7)
    w, b = 1 + 0.3 * randn(7, seed=1), randn(7, seed=2)
    close(ns["layer_norm"](far, w, b), F.layer_norm(far, (7,), w, b), 1e-6)
    x32 = (3 * randn(5, 7) + 1).float()  # float32 in, float32 out
    got = ns["layer_norm"](x32, w.float(), b.float())
    close(got, F.layer_norm(x32, (7,), w.float(), b.float()), 1e-5)


@case
def layer_norm_bad_inputs(ns):
    w = torch.ones(7, dtype=torch.float64)
    raises(ValueError, ns["layer_norm"], randn(2, 7), w[:5], None, words=("(5,)",))
    raises(ValueError, ns["layer_norm"], randn(2, 7), w, w[:3], words=("(3,)",))
    raises(TypeError, ns["layer_norm"], torch.ones(2, 7, dtype=torch.long), w, None)


@case
def feed_forward_matches_torch(ns):
    x = randn(2, 5, 12)
    for opts in (options(), options(activation="gelu"), options(bias=False)):
        ref = layer(ns, "encoder", opts)
        with torch.no_grad():
            expected = ref._ff_block(x)
            close(ns["feed_forward"](x, ns["parts"](ref)), expected)
            close(ns["feed_forward"](x[1], ns["parts"](ref)), expected[1])


@case
def feed_forward_bad_width(ns):
    ref = layer(ns, "encoder", options())
    raises(ValueError, ns["feed_forward"], randn(2, 5, 11), ns["parts"](ref), words=("11",))


@case
def encoder_matches_torch(ns):
    x = randn(2, 5, 12)
    keep = x.clone()
    for opts in (
        options(),
        options(norm_first=True),
        options(eps=0.4, activation="gelu"),
        options(norm_first=True, eps=0.4, bias=False),
    ):
        ref = layer(ns, "encoder", opts, seed=3)
        with torch.no_grad():
            close(ns["encoder_layer"](x, ns["parts"](ref)), ref(x))
            close(ns["encoder_layer"](x, ref), ref(x))  # the PyTorch layer itself works too
    assert torch.equal(x, keep), "encoder_layer modified x"


@case
def encoder_unbatched_is_a_batch_of_one(ns):
    x = randn(6, 12)
    for norm_first in (False, True):
        ref = layer(ns, "encoder", options(norm_first, eps=0.3), seed=4)
        with torch.no_grad():
            got = ns["encoder_layer"](x, ns["parts"](ref))
            close(got, ref(x[None])[0])
            close(got, ref(x))  # PyTorch's unbatched path agrees


@case
def encoder_float32_keeps_dtype(ns):
    ref = layer(ns, "encoder", options(eps=0.3), seed=5).float()
    x = randn(2, 5, 12).float()
    with torch.no_grad():
        close(ns["encoder_layer"](x, ns["parts"](ref)), ref(x), 1e-4)


@case
def encoder_empty_sequence(ns):
    ref = layer(ns, "encoder", options(), seed=6)
    with torch.no_grad():
        out = ns["encoder_layer"](torch.zeros(2, 0, 12, dtype=torch.float64), ns["parts"](ref))
    assert out.shape == (2, 0, 12)


@case
def encoder_bad_shapes(ns):
    parts = ns["parts"](layer(ns, "encoder", options()))
    raises(ValueError, ns["encoder_layer"], randn(2, 5, 13), parts, words=("13",))
    raises(ValueError, ns["encoder_layer"], randn(1, 2, 5, 12), parts, words=("(1, 2, 5, 12)",))
    raises(ValueError, ns["encoder_layer"], randn(12), parts, words=("(12,)",))


@case
def decoder_matches_torch(ns):
    y, memory = randn(2, 4, 12), randn(2, 6, 12, seed=1)
    keep = (y.clone(), memory.clone())
    for opts in (
        options(),
        options(norm_first=True),
        options(eps=0.4, activation="gelu"),
        options(norm_first=True, eps=0.4, bias=False),
    ):
        ref = layer(ns, "decoder", opts, seed=7)
        with torch.no_grad():
            expected = ref(y, memory, tgt_mask=causal(4), tgt_is_causal=True)
            close(ns["decoder_layer"](y, memory, ns["parts"](ref)), expected)
    assert torch.equal(y, keep[0]) and torch.equal(memory, keep[1]), (
        "decoder_layer modified its input"
    )


@case
def decoder_unbatched_is_a_batch_of_one(ns):
    y, memory = randn(4, 12), randn(6, 12, seed=1)
    ref = layer(ns, "decoder", options(True, eps=0.3, activation="gelu"), seed=8)
    with torch.no_grad():
        expected = ref(y[None], memory[None], tgt_mask=causal(4), tgt_is_causal=True)[0]
        close(ns["decoder_layer"](y, memory, ns["parts"](ref)), expected)


@case
def decoder_bad_shapes(ns):
    parts = ns["parts"](layer(ns, "decoder", options()))
    fn = ns["decoder_layer"]
    raises(ValueError, fn, randn(2, 4, 12), randn(2, 6, 13), parts, words=("13",))
    raises(ValueError, fn, randn(2, 4, 12), randn(3, 6, 12), parts, words=("(3, 6, 12)",))
    raises(ValueError, fn, randn(4, 12), randn(1, 6, 12), parts, words=("(4, 12)",))
    raises(ValueError, fn, randn(1, 1, 4, 12), randn(1, 1, 6, 12), parts, words=("(1, 1, 4, 12)",))


def fresh_cache(ns, ref, memory):
    empty = torch.zeros(memory.shape[0], 3, 0, 4, dtype=torch.float64)
    return {
        "k": empty,
        "v": empty.clone(),
        "mem_k": ns["project"](memory, ref.multihead_attn, "k"),
        "mem_v": ns["project"](memory, ref.multihead_attn, "v"),
    }


@case
def step_chunks_bottom_right(ns):
    y, memory = randn(2, 8, 12), randn(2, 5, 12, seed=1)
    for opts in (options(eps=0.3, activation="gelu"), options(norm_first=True, bias=False)):
        ref = layer(ns, "decoder", opts, seed=9)
        cache, start = fresh_cache(ns, ref, memory), 0
        with torch.no_grad():
            for m in (1, 3, 2, 1, 1):
                out = ns["decoder_layer_step"](y[:, start : start + m], ns["parts"](ref), cache)
                end = start + m
                full = ref(y[:, :end], memory, tgt_mask=causal(end), tgt_is_causal=True)
                close(out, full[:, start:end])
                assert cache["k"].shape == (2, 3, end, 4) == cache["v"].shape
                start = end


@case
def step_bad_shapes(ns):
    ref = layer(ns, "decoder", options())
    cache = fresh_cache(ns, ref, randn(2, 5, 12))
    fn, parts = ns["decoder_layer_step"], ns["parts"](ref)
    raises(ValueError, fn, randn(1, 12), parts, cache, words=("(1, 12)",))
    raises(ValueError, fn, randn(3, 1, 12), parts, cache, words=("(3, 1, 12)",))
    raises(ValueError, fn, randn(2, 1, 13), parts, cache, words=("(2, 1, 13)",))
    assert cache["k"].shape[2] == 0, "a rejected step must leave the cache unchanged"


@case
def init_cache_shapes_and_errors(ns):
    net = model(ns, options(norm_first=True))
    src = torch.randint(0, 10, (3, 6), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        memory = net.encode(src)
        caches = ns["init_cache"](net, memory)
    assert len(caches) == 2
    for cache in caches:
        assert cache["k"].shape == cache["v"].shape == (3, 3, 0, 4)
        assert cache["mem_k"].shape == cache["mem_v"].shape == (3, 3, 6, 4)
    raises(ValueError, ns["init_cache"], net, memory[0], words=("(6, 12)",))


@case
def greedy_matches_no_cache(ns):
    src = torch.randint(0, 10, (3, 5), generator=torch.Generator().manual_seed(1))
    for opts in (options(activation="gelu"), options(norm_first=True, eps=0.3, bias=False)):
        net = model(ns, opts, seed=2)
        tokens, logits, caches = ns["greedy_decode"](net, src, 7)
        expected_tokens, expected_logits = ns["greedy_decode_no_cache"](net, src, 7)
        assert torch.equal(tokens, expected_tokens) and tokens.dtype == torch.long
        close(logits, expected_logits)
        for cache, expected in zip(caches, ns["reference_caches"](net, src, expected_tokens)):
            for name in ("k", "v", "mem_k", "mem_v"):
                close(cache[name], expected[name])


@case
def greedy_unbatched_and_zero_steps(ns):
    net = model(ns, options(), seed=3)
    src = torch.randint(0, 10, (6,), generator=torch.Generator().manual_seed(2))
    tokens, logits, _ = ns["greedy_decode"](net, src, 4)
    expected_tokens, expected_logits = ns["greedy_decode_no_cache"](net, src[None], 4)
    assert torch.equal(tokens, expected_tokens[0])
    close(logits, expected_logits[0])
    tokens, logits, caches = ns["greedy_decode"](net, src[None], 0)
    assert tokens.shape == (1, 0) and logits.shape == (1, 0, 11)
    assert caches[0]["k"].shape == (1, 3, 0, 4)


@case
def greedy_bad_inputs(ns):
    net = model(ns, options(), seed=3)
    src = torch.randint(0, 10, (2, 6), generator=torch.Generator().manual_seed(2))
    fn = ns["greedy_decode"]
    raises(TypeError, fn, net, src.double(), 3, words=("integer",))
    raises(TypeError, fn, net, src.tolist(), 3, words=("integer",))
    raises(TypeError, fn, net, src, 2.5, words=("steps",))
    raises(TypeError, fn, net, src, True, words=("steps",))
    raises(ValueError, fn, net, src, -1, words=("steps",))
    raises(ValueError, fn, net, src[None], 3, words=("(1, 2, 6)",))


@case
def greedy_numpy_integer_steps(ns):
    net = model(ns, options(), seed=3)
    src = torch.randint(0, 10, (2, 6), generator=torch.Generator().manual_seed(2))
    try:
        tokens, logits, _ = ns["greedy_decode"](net, src, np.int64(3))
    except TypeError as error:
        raise AssertionError(f"a NumPy integer steps was rejected: {error}") from error
    expected_tokens, expected_logits = ns["greedy_decode_no_cache"](net, src, 3)
    assert torch.equal(tokens, expected_tokens)
    close(logits, expected_logits)


@case
def init_cache_float32_model(ns):
    net = model(ns, options(), seed=4).float()
    src = torch.randint(0, 10, (2, 5), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        caches = ns["init_cache"](net, net.encode(src))
    for cache in caches:
        assert {cache[name].dtype for name in cache} == {torch.float32}


@case
def given_attend_fully_masked_and_empty(ns):
    q, k, v = randn(2, 3, 4, 4), randn(2, 3, 5, 4, seed=1), randn(2, 3, 5, 6, seed=2)
    mask = torch.ones(4, 5, dtype=torch.bool)
    mask[1] = False  # query 1 may attend to nothing
    out = ns["attend"](q, k, v, mask)
    assert torch.equal(out[:, :, 1], torch.zeros(2, 3, 6, dtype=torch.float64))
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    close(out, torch.nan_to_num(expected))
    empty = ns["attend"](q, k[:, :, :0], v[:, :, :0])
    assert torch.equal(empty, torch.zeros(2, 3, 4, 6, dtype=torch.float64))


@case
def decoder_empty_memory_gives_finite_output(ns):
    ref = layer(ns, "decoder", options(True), seed=10)
    with torch.no_grad():
        out = ns["decoder_layer"](
            randn(2, 3, 12), torch.zeros(2, 0, 12, dtype=torch.float64), ns["parts"](ref)
        )
    assert out.shape == (2, 3, 12) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", sorted(CASES))
def test_contract(ns, name):
    CASES[name](ns)


def test_table_is_broad():
    public = (
        "positional_encoding",
        "layer_norm",
        "feed_forward",
        "encoder_layer",
        "decoder_layer",
        "decoder_layer_step",
        "init_cache",
        "greedy_decode",
    )
    names = " ".join(CASES)
    for fn in public:
        stem = {
            "positional_encoding": "pe",
            "decoder_layer_step": "step",
            "greedy_decode": "greedy",
            "feed_forward": "feed_forward",
        }.get(fn, fn.split("_")[0])
        assert stem in names, f"no contract case for {fn}"
    assert len(CASES) >= 20


# ------------------------------------------- proof that the table can fail

REMOVED_VALIDATIONS = [
    ("if n < 0:", "if False:", "pe_negative_length"),
    ("if d_model <= 0 or d_model % 2:", "if d_model <= 0:", "pe_odd_width"),
    (
        "if isinstance(value, bool) or not isinstance(value, (int, np.integer)):",
        "if isinstance(value, bool):",
        "pe_non_integer_sizes",
    ),
    ("if x.dim() not in (2, 3) or x.shape[-1] != d_model:", "if False:", "encoder_bad_shapes"),
    ("        or y.shape[:-2] != memory.shape[:-2]\n", "\n", "decoder_bad_shapes"),
    (
        "return tokens[0], logits[0], caches",
        "return tokens, logits, caches",
        "greedy_unbatched_and_zero_steps",
    ),
    ("if steps < 0:", "if False:", "greedy_bad_inputs"),
    (
        "isinstance(steps, (int, np.integer))",
        "isinstance(steps, int)",
        "greedy_numpy_integer_steps",
    ),
    (
        "isinstance(value, (int, np.integer))",
        "isinstance(value, int)",
        "pe_numpy_integer_sizes",
    ),
    ('"k": empty,', '"k": empty.double(),', "init_cache_float32_model"),
    ("tril(diagonal=n_k - m)", "tril()", "step_chunks_bottom_right"),
    (
        "return normalised if bias is None else normalised + bias",
        "return normalised",
        "layer_norm_matches_torch",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "name"), REMOVED_VALIDATIONS, ids=[c[2] for c in REMOVED_VALIDATIONS]
)
def test_removing_a_validation_fails_the_table(old, new, name):
    broken = load_solution(NAME, edits=((old, new),))
    with pytest.raises(AssertionError):
        CASES[name](broken)


def test_table_passes_unedited_before_proof(ns):
    # The proof above means something only if the same cases pass on the real solution.
    for _, _, name in REMOVED_VALIDATIONS:
        CASES[name](ns)
