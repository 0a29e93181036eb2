"""Copies that nothing else keeps in step stay equal to what they copy.

Notebooks are self-contained (a learner opens one in Colab), so a solution notebook repeats
chapter code (chapters 6 and 7 nearly all of theirs), and the attention benchmark repeats
chapter 5's implementations. Both are found by the syntax tree, so a change to one side that the other
lacks fails here instead of drifting.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from tests.helpers import ROOT, SOLUTIONS, solution_names

CHAPTERS = ROOT / "chapters"
BENCHMARK = ROOT / "benchmarks" / "attention_benchmark.py"
DEFINITION = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)

# Definitions that a solution shares by name with its chapter but writes its own way (the
# exercise's answer with its own docstring, validation or signature), as they were when this
# check was written. Every other shared definition is a copy and must equal the chapter's; an
# entry that becomes equal again fails too, so the list cannot go stale.
DIFFERENT = {
    "01_self_attention.ipynb": {
        "MultiHeadSelfAttention", "attention_entropy", "merge_heads", "multi_head_self_attention",
        "scaled_dot_product_attention", "softmax", "softmax_jacobian", "split_heads"},
    "02_cross_attention.ipynb": {
        "CrossAttention", "cross_attention", "padding_mask", "scaled_dot_product_attention",
        "softmax", "split_heads"},
    "03_causal_attention.ipynb": {
        "CausalSelfAttention", "causal_mask", "causal_self_attention",
        "scaled_dot_product_attention", "softmax"},
    "04_transformer.ipynb": {"decoder_layer_step", "greedy_decode", "positional_encoding"},
    "05_efficient_attention.ipynb": {
        "attention_backward", "causal_mask", "kv_cache_bytes", "naive_attention", "online_softmax",
        "repeat_kv", "tiled_attention"},
    "06_modern_attention.ipynb": {"quantize_int8", "yarn_frequencies"},
}


def _code(path: Path) -> list[str]:
    """The code cells of a notebook, IPython magics and shell lines left out."""
    notebook = nbformat.read(path, as_version=4)
    return ["\n".join(line for line in cell.source.split("\n") if not line.startswith(("%", "!")))
            for cell in notebook.cells if cell.cell_type == "code"]


def definitions(sources: list[str]) -> dict[str, tuple[ast.AST, str]]:
    """Each top-level function or class: its last definition (the one that runs) and its text."""
    found = {}
    for source in sources:
        for node in ast.parse(source).body:
            if isinstance(node, DEFINITION):
                found[node.name] = (node, ast.get_source_segment(source, node))
    return found


def copies(name: str) -> dict[str, tuple[ast.AST, ast.AST]]:
    """The solution's definitions that its chapter defines too, but for DIFFERENT: given code
    and answers alike (the solution markers are comments, outside the syntax tree)."""
    chapter = definitions(_code(CHAPTERS / name))
    solution = definitions(_code(SOLUTIONS / name))
    return {function: (node, chapter[function][0]) for function, (node, _) in solution.items()
            if function in chapter and function not in DIFFERENT.get(name, set())}


@pytest.mark.parametrize("name", solution_names())
def test_given_code_in_a_solution_equals_the_chapters(name):
    drifted = [function for function, (copy, original) in copies(name).items()
               if ast.dump(copy) != ast.dump(original)]
    assert not drifted, (
        f"solutions/{name} and chapters/{name} define {drifted} differently: copy the chapter's "
        f"definition into the solution (or, if it is the exercise's own version, list it in "
        f"DIFFERENT)")


def test_the_copies_of_chapters_6_and_7_are_checked():
    """The copies issue #24 found, chapter 6's and chapter 7's code in their solutions, are seen."""
    assert {"rope", "attention_with_lse", "merge_partials", "RollingKVCache",
            "paged_attention"} <= copies("06_modern_attention.ipynb").keys()
    assert {"flash_forward_kernel", "flash_forward", "flash_backward", "FlashAttentionTriton",
            "check_inputs"} <= copies("07_triton_flash_attention.ipynb").keys()


def test_the_copy_check_sees_a_drifted_copy():
    """The check can fail: one changed line in a copy makes the two syntax trees differ."""
    function, (copy, original) = next(iter(copies("06_modern_attention.ipynb").items()))
    text = ast.unparse(copy).replace("return", "return 1 +", 1)
    assert ast.dump(ast.parse(text).body[0]) != ast.dump(original), function


@pytest.mark.parametrize("name", sorted(DIFFERENT))
def test_each_listed_difference_is_still_one(name):
    """An entry of DIFFERENT that became a copy again (or went away) leaves the list."""
    chapter = definitions(_code(CHAPTERS / name))
    solution = definitions(_code(SOLUTIONS / name))
    for function in DIFFERENT[name]:
        assert function in chapter and function in solution, (name, function)
        assert ast.dump(chapter[function][0]) != ast.dump(solution[function][0]), (name, function)


# --------------------------------------------------------------------------- the benchmark


def _load(sources: list[str]) -> dict:
    """The imports and definitions of ``sources`` (nothing else runs: no demo, no timing)."""
    namespace: dict = {"__name__": "copies"}
    for source in sources:
        kept = [node for node in ast.parse(source).body
                if isinstance(node, (ast.Import, ast.ImportFrom, *DEFINITION))]
        exec(compile(ast.Module(kept, []), "<definitions>", "exec"), namespace)  # noqa: S102
    return namespace


@pytest.fixture(scope="module")
def implementations():
    chapter = _load(_code(CHAPTERS / "05_efficient_attention.ipynb"))
    benchmark = _load([BENCHMARK.read_text(encoding="utf-8")])
    return chapter, benchmark


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("n", [1, 7, 130])  # one tile, a partial tile, several with a remainder
def test_the_benchmark_times_chapter_5s_attention(implementations, n, causal):
    """benchmarks/attention_benchmark.py re-defines chapter 5's naive NumPy, tiled NumPy and
    naive PyTorch attention (it runs without the notebook): each must compute what the
    chapter's does, to float64 round-off (1e-12 on outputs of size ~1)."""
    chapter, benchmark = implementations
    rng = np.random.default_rng(n)
    q, k, v = (rng.standard_normal((n, 8)) for _ in range(3))
    mask = chapter["causal_mask"](n) if causal else None
    expected = chapter["naive_attention"](q, k, v, mask)
    np.testing.assert_allclose(benchmark["numpy_naive"](q, k, v, causal), expected, atol=1e-12)
    np.testing.assert_allclose(chapter["tiled_attention"](q, k, v, 64, 64, causal=causal),
                               expected, atol=1e-12)
    np.testing.assert_allclose(benchmark["numpy_tiled"](q, k, v, causal, block=64), expected,
                               atol=1e-12)
    qt, kt, vt = (torch.from_numpy(a) for a in (q, k, v))
    mask_t = torch.from_numpy(mask) if causal else None
    np.testing.assert_allclose(benchmark["torch_naive"](qt, kt, vt, causal).numpy(),
                               chapter["naive_attention_torch"](qt, kt, vt, mask_t).numpy(),
                               atol=1e-12)


def test_the_benchmark_check_sees_a_wrong_copy(implementations):
    """The check can fail: a benchmark copy that forgets the 1/sqrt(d_k) scale differs."""
    chapter, benchmark = implementations
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((7, 8)) for _ in range(3))
    wrong = benchmark["numpy_naive"](q * np.sqrt(8), k, v, False)
    assert not np.allclose(wrong, chapter["naive_attention"](q, k, v), atol=1e-12)
