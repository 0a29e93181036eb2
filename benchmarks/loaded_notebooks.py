"""Execute the book's notebooks again and again while other processes keep every core busy.

Usage: python benchmarks/loaded_notebooks.py [NOTEBOOK ...] [--repeats 10] [--hogs N] [--json PATH]

Why: `make book` executes every chapter and solution, so a cell that asserts something about
time or memory can fail on a slow or loaded machine, and one such failure stops a newcomer's
first command and a whole CI run (issue #25). This script is the proof that no cell does: it
starts ``--hogs`` CPU-bound processes (one per core by default), executes each notebook
``--repeats`` times in a row in a fresh kernel, exactly as the book's executor does (nbclient, the
notebook's folder as working directory), stops the hogs, and prints one row per notebook. It exits
1 if any run failed, naming the cell and the error.

It is a benchmark, not a test: it takes tens of minutes (every chapter and solution, 10 times).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.time_notebooks import time_notebook

HOG = "while True: pass"


def start_hogs(count: int) -> list[subprocess.Popen]:
    """``count`` processes that each keep one core at 100 % until they are killed."""
    return [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(count)]


def stop_hogs(hogs: list[subprocess.Popen]) -> None:
    for hog in hogs:
        hog.kill()
    for hog in hogs:
        hog.wait()


def execute(path: Path, timeout: int) -> tuple[float, str | None]:
    """Seconds one execution took, and None or a one-line description of the failure."""
    start = time.perf_counter()
    try:
        time_notebook(path, timeout)  # the book's executor: nbclient, the notebook's folder
    except CellExecutionError as error:
        lines = [line for line in str(error).splitlines() if line.strip()]
        return time.perf_counter() - start, lines[-1][:300] if lines else "cell failed"
    except Exception as error:  # noqa: BLE001 - a dead kernel or a timeout is a failure too
        return time.perf_counter() - start, f"{type(error).__name__}: {error}"[:300]
    return time.perf_counter() - start, None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="default: every notebook in chapters/ and solutions/")
    parser.add_argument("--repeats", type=int, default=10, help="executions per notebook")
    parser.add_argument("--hogs", type=int, default=os.cpu_count() or 2,
                        help="CPU-bound processes kept running meanwhile (default: one per core)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    parser.add_argument("--json", type=Path, help="also write every run's result here")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted([*ROOT.glob("chapters/*.ipynb"),
                                      *ROOT.glob("solutions/*.ipynb")])
    hogs = start_hogs(args.hogs)
    runs: dict[str, list[dict]] = {}
    try:
        print(f"{len(hogs)} CPU-bound processes running; {args.repeats} runs per notebook",
              flush=True)
        print(f"{'notebook':45s} {'failed':>7s} {'median s':>9s} {'max s':>7s}", flush=True)
        for path in paths:
            name = str(path.resolve().relative_to(ROOT)) if path.resolve().is_relative_to(ROOT) \
                else str(path)
            results = []
            for _ in range(args.repeats):
                seconds, failure = execute(path.resolve(), args.timeout)
                results.append({"seconds": round(seconds, 2), "failure": failure})
            runs[name] = results
            times = [run["seconds"] for run in results]
            failures = [run["failure"] for run in results if run["failure"]]
            print(f"{name:45s} {len(failures):>3d}/{len(results):<3d} "
                  f"{statistics.median(times):9.1f} {max(times):7.1f}", flush=True)
            for failure in dict.fromkeys(failures):
                print(f"    {failure}", flush=True)
    finally:
        stop_hogs(hogs)
    if args.json:
        args.json.write_text(json.dumps({"hogs": args.hogs, "runs": runs}, indent=2) + "\n")
    failed = sum(1 for results in runs.values() for run in results if run["failure"])
    total = sum(len(results) for results in runs.values())
    print(f"{total - failed} of {total} executions passed with {len(hogs)} cores kept busy")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
