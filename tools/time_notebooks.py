"""Execute notebooks one by one and report how long each takes.

Usage: python tools/time_notebooks.py [NOTEBOOK ...] [--threads 2] [--budget 60]

With no notebooks it times chapters/ and solutions/. The course promises that each notebook runs
in well under a minute on two CPU cores; ``--budget`` flags the ones that do not (exit 1).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def time_notebook(path: Path, timeout: int = 600) -> float:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads the kernels may use (default 2)")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds a notebook may take (default 60)")
    args = parser.parse_args(argv)
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[variable] = str(args.threads)
    paths = args.notebooks or sorted([*ROOT.glob("chapters/*.ipynb"), *ROOT.glob("solutions/*.ipynb")])
    over = []
    print(f"{'notebook':45s} {'seconds':>8s}")
    for path in paths:
        seconds = time_notebook(path)
        flag = "  over budget" if seconds > args.budget else ""
        name = str(path.relative_to(ROOT) if path.is_absolute() else path)
        print(f"{name:45s} {seconds:8.1f}{flag}", flush=True)
        if flag:
            over.append(path)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
