"""Time the course's attention implementations against PyTorch's SDPA.

The implementations are the ones chapter 5 builds (re-defined here, so that the script runs
without the notebook, with batches and any dtype; tests/test_copies.py checks that each computes
what the chapter's does): naive NumPy attention, the tiled (FlashAttention-style) NumPy
forward pass, naive PyTorch attention, and PyTorch's fused
``torch.nn.functional.scaled_dot_product_attention`` (SDPA).

Examples::

    python benchmarks/attention_benchmark.py
    python benchmarks/attention_benchmark.py --lengths 1024 2048 4096 8192 --repeats 10
    python benchmarks/attention_benchmark.py --device cuda --dtype float16 --lengths 8192
    python benchmarks/attention_benchmark.py --impls numpy numpy-tiled torch --memory

Every timing is measured on the machine that runs the script; the header says which one.

By default every timing is single-threaded (``--threads 1``): with several threads on a
shared machine a time measures how the threads contend for cores, not the O(n^2) work.
On the CPU the clock is the process's CPU time (``time.process_time``), which other
programs cannot inflate; on a GPU it is the wall clock around synchronised calls. Each
measurement is one warm-up call, then ``--repeats`` runs: the table shows the median and
the minimum, and the last lines fit the log-log slope of the minimum times over the
lengths n >= 512, where the n^2 work dominates fixed costs.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time
import tracemalloc

# The profiler used by --memory prints start/stop lines on some builds: keep them quiet.
os.environ.setdefault("KINETO_LOG_LEVEL", "9")


def _limit_blas_threads(argv: list[str]) -> None:
    """Apply --threads (default 1) to NumPy's BLAS too, which reads it at import."""
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--threads", type=int, default=1)
    threads = early.parse_known_args(argv)[0].threads
    if threads > 0:
        for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[variable] = str(threads)


_limit_blas_threads(sys.argv[1:])

import numpy as np
import torch
import torch.nn.functional as F

DTYPES = {
    "float32": torch.float32,
    "float64": torch.float64,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
}
# Largest |difference| from SDPA that still counts as agreement, per dtype.
TOLERANCES = {"float32": 1e-4, "float64": 1e-10, "float16": 2e-2, "bfloat16": 5e-2}


# ----------------------------------------------------------------- implementations
def numpy_naive(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, causal: bool
) -> np.ndarray:
    """Naive attention; materialises the full (..., n_q, n_k) score matrix.

    q: (..., n_q, d_k), k: (..., n_k, d_k), v: (..., n_k, d_v) -> (..., n_q, d_v).
    """
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if causal:
        s = np.where(np.tril(np.ones(s.shape[-2:], dtype=bool)), s, -np.inf)
    p = np.exp(s - s.max(axis=-1, keepdims=True))
    return (p / p.sum(axis=-1, keepdims=True)) @ v


def numpy_tiled(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, causal: bool, block: int = 128
) -> np.ndarray:
    """Tiled attention with the online softmax: one (block, block) tile at a time."""
    n_q, n_k, d_v = q.shape[-2], k.shape[-2], v.shape[-1]
    batch = q.shape[:-2]
    scale = 1.0 / np.sqrt(q.shape[-1])
    out = np.empty(batch + (n_q, d_v), dtype=q.dtype)
    for q0 in range(0, n_q, block):
        q1 = min(q0 + block, n_q)
        q_blk = q[..., q0:q1, :] * scale
        row_max = np.full(batch + (q1 - q0,), -np.inf, dtype=q.dtype)
        row_sum = np.zeros(batch + (q1 - q0,), dtype=q.dtype)
        acc = np.zeros(batch + (q1 - q0, d_v), dtype=q.dtype)
        for k0 in range(0, n_k, block):
            if causal and k0 > q1 - 1:
                break
            k1 = min(k0 + block, n_k)
            s = q_blk @ np.swapaxes(k[..., k0:k1, :], -1, -2)
            if causal:
                s = np.where(
                    np.arange(k0, k1)[None, :] <= np.arange(q0, q1)[:, None], s, -np.inf
                )
            new_max = np.maximum(row_max, s.max(axis=-1))
            alpha = np.exp(row_max - new_max)
            p = np.exp(s - new_max[..., None])
            row_sum = row_sum * alpha + p.sum(axis=-1)
            acc = acc * alpha[..., None] + p @ v[..., k0:k1, :]
            row_max = new_max
        out[..., q0:q1, :] = acc / row_sum[..., None]
    return out


def torch_naive(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool
) -> torch.Tensor:
    """Naive attention in PyTorch: materialises the full (n_q, n_k) score matrix."""
    s = q @ k.mT / math.sqrt(q.shape[-1])
    if causal:
        mask = torch.ones(s.shape[-2:], dtype=torch.bool, device=s.device).tril()
        s = s.masked_fill(~mask, float("-inf"))
    return torch.softmax(s, dim=-1) @ v


def torch_sdpa(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool
) -> torch.Tensor:
    """PyTorch's scaled_dot_product_attention: the reference for every ratio."""
    return F.scaled_dot_product_attention(q, k, v, is_causal=causal)


IMPLEMENTATIONS = {
    "numpy": ("NumPy naive", numpy_naive, "numpy"),
    "numpy-tiled": ("NumPy tiled", numpy_tiled, "numpy"),
    "torch": ("PyTorch naive", torch_naive, "torch"),
    "sdpa": ("PyTorch SDPA", torch_sdpa, "torch"),
}


# ----------------------------------------------------------------------- measuring
def synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def time_runs(fn, args, repeats: int, device: str) -> list[float]:
    """Seconds of `repeats` runs after one warm-up run.

    CPU time of this process on the CPU (other programs do not inflate it, and with
    one thread it is the work done); wall-clock time around synchronised calls on a GPU.
    """
    clock = time.perf_counter if device == "cuda" else time.process_time
    fn(*args)
    synchronize(device)
    times = []
    for _ in range(repeats):
        synchronize(device)
        start = clock()
        fn(*args)
        synchronize(device)
        times.append(clock() - start)
    return times


def fitted_slope(lengths: list[int], times: list[float]) -> float | None:
    """Log-log slope of time against n for n >= 512 (None with fewer than 2 points)."""
    points = [(n, t) for n, t in zip(lengths, times) if n >= 512 and t > 0]
    if len(points) < 2:
        return None
    xs, ys = zip(*points)
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


def peak_bytes(fn, args, kind: str, device: str) -> float:
    """Peak extra memory of one call, in bytes.

    tracemalloc for NumPy, CUDA allocator statistics on a GPU, the profiler on the CPU.
    """
    if kind == "numpy":
        tracemalloc.start()
        try:
            fn(*args)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        fn(*args)
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - before
    activities = [torch.profiler.ProfilerActivity.CPU]
    with torch.profiler.profile(activities=activities, profile_memory=True) as prof:
        fn(*args)
    changes = []
    for event in prof.events():
        change = event.self_cpu_memory_usage
        # An operation allocates as it starts; its temporaries go when it returns.
        changes.append(
            (event.time_range.start if change > 0 else event.time_range.end, change)
        )
    live = peak = 0
    for _, change in sorted(changes):
        live += change
        peak = max(peak, live)
    return peak


# -------------------------------------------------------------------- command line
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time naive NumPy, tiled NumPy and naive PyTorch attention against "
        "torch.nn.functional.scaled_dot_product_attention across sequence lengths.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--lengths",
        type=int,
        nargs="+",
        default=[256, 512, 724, 1024, 1448, 2048],
        help="sequence lengths n (queries = keys = n)",
    )
    parser.add_argument(
        "--dtype",
        choices=sorted(DTYPES),
        default="float32",
        help="floating-point type (NumPy runs only float32 and float64)",
    )
    parser.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default="auto",
        help="device for the PyTorch implementations; auto picks cuda when available. "
        "NumPy always runs on the CPU",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=5,
        help="timed runs per measurement, after one warm-up",
    )
    parser.add_argument("--batch", type=int, default=1, help="batch size")
    parser.add_argument("--heads", type=int, default=1, help="number of heads")
    parser.add_argument(
        "--head-dim", type=int, default=64, help="width of each head, d_k = d_v"
    )
    parser.add_argument(
        "--impls",
        nargs="+",
        choices=list(IMPLEMENTATIONS),
        default=["numpy", "torch", "sdpa"],
        help="implementations to time; sdpa is always added, as the reference",
    )
    parser.add_argument("--causal", action="store_true", help="use the causal mask")
    parser.add_argument(
        "--memory",
        action="store_true",
        help="also measure peak extra memory (one extra run each)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads for PyTorch and NumPy's BLAS; 0 lets the libraries choose "
        "(timings then measure thread contention too)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="random seed for the inputs"
    )
    args = parser.parse_args(argv)
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error(
            "--device cuda was requested, but torch.cuda.is_available() is False"
        )
    if args.threads < 0:
        parser.error("--threads must be 0 (the libraries choose) or positive")
    if (
        min(args.lengths) < 1
        or args.repeats < 1
        or args.batch < 1
        or args.heads < 1
        or args.head_dim < 1
    ):
        parser.error("lengths, repeats, batch, heads and head-dim must all be positive")
    if "sdpa" not in args.impls:
        args.impls.append("sdpa")
    return args


def describe_machine(args: argparse.Namespace) -> list[str]:
    lines = [
        f"platform: {platform.platform()} ({platform.machine()}), {os.cpu_count()} CPU cores",
        (
            f"python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}"
            f" ({torch.get_num_threads()} CPU threads)"
        ),
    ]
    if args.device == "cuda":
        lines.append(f"GPU: {torch.cuda.get_device_name()}")
    lines.append(
        f"shapes: batch {args.batch}, heads {args.heads}, head dim {args.head_dim}; dtype {args.dtype};"
        f" causal {args.causal}; {args.repeats} timed runs after a warm-up"
    )
    clock = "wall clock (synchronised)" if args.device == "cuda" else "CPU time"
    lines.append(f"clock: {clock}; threads: {args.threads or 'library default'}")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    torch_dtype = DTYPES[args.dtype]
    numpy_ok = args.dtype in ("float32", "float64")

    print("Attention benchmark: times measured on this machine")
    for line in describe_machine(args):
        print("  " + line)
    print()
    header = f"{'n':>7}  {'implementation':<14} {'device':<6} {'median ms':>10} {'min ms':>9} {'vs SDPA':>8}"
    header += f" {'max |diff|':>11}"
    if args.memory:
        header += f" {'peak MiB':>9}"
    print(header)
    print("-" * len(header))

    all_agree = True
    minimum_times: dict[str, list[float]] = {key: [] for key in args.impls}
    for n in args.lengths:
        shape = (args.batch, args.heads, n, args.head_dim)
        arrays = [rng.standard_normal(shape).astype(np.float64) for _ in range(3)]
        tensors = [
            torch.from_numpy(a).to(device=args.device, dtype=torch_dtype)
            for a in arrays
        ]
        reference = torch_sdpa(*tensors, args.causal).double().cpu().numpy()
        rows = {}
        for key in args.impls:
            name, fn, kind = IMPLEMENTATIONS[key]
            if kind == "numpy":
                if not numpy_ok:
                    rows[key] = (name, "cpu", None, None, None, None)
                    continue
                inputs = [a.astype(args.dtype) for a in arrays]
                device = "cpu"
            else:
                inputs = tensors
                device = args.device
            call_args = (*inputs, args.causal)
            times = time_runs(fn, call_args, args.repeats, device)
            out = fn(*call_args)
            out = (
                out.double().cpu().numpy()
                if kind == "torch"
                else np.asarray(out, dtype=np.float64)
            )
            error = float(np.abs(out - reference).max())
            memory = peak_bytes(fn, call_args, kind, device) if args.memory else None
            minimum_times[key].append(min(times))
            rows[key] = (
                name,
                device,
                statistics.median(times),
                min(times),
                error,
                memory,
            )
        sdpa_median = rows["sdpa"][2]
        for key in args.impls:
            name, device, median, best, error, memory = rows[key]
            if median is None:
                print(
                    f"{n:>7}  {name:<14} {device:<6} {'skipped: NumPy runs float32 and float64 only':>46}"
                )
                continue
            agree = error <= TOLERANCES[args.dtype]
            all_agree &= agree
            line = (
                f"{n:>7}  {name:<14} {device:<6} {median * 1e3:>10.2f} {best * 1e3:>9.2f}"
                f" {median / sdpa_median:>7.2f}x {error:>11.1e}{'' if agree else ' MISMATCH'}"
            )
            if args.memory:
                line += f" {memory / 2**20:>9.2f}"
            print(line)
        print()
    for key in args.impls:
        slope = fitted_slope(args.lengths, minimum_times[key])
        if slope is not None and len(minimum_times[key]) == len(args.lengths):
            name = IMPLEMENTATIONS[key][0]
            print(f"fitted log-log slope of the minimum times, n >= 512, {name}: {slope:.2f}")
    print(
        "vs SDPA: median time divided by SDPA's median time (above 1 = slower than SDPA)."
    )
    print(
        f"max |diff|: largest difference from SDPA's output (agreement tolerance for {args.dtype}:"
        f" {TOLERANCES[args.dtype]:g})."
    )
    if not all_agree:
        print(
            "Some implementation disagreed with SDPA beyond the tolerance.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
