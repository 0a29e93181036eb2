"""Peak memory of one Gradescope submission: what the assignment's container must hold.

Builds the bundle for the given notebooks (all by default), lays out a folder like Gradescope's
``/autograder`` with this environment as the bundle's ``.venv``, uploads the solutions of those
notebooks, runs ``run_autograder`` and samples, every 50 ms, the resident memory of its whole
process tree (the judge, its runner in the sandbox, their children). It prints the peak of that
proportional set size (PSS: a page shared by k processes counts 1/k in each, so the sum is
what the tree holds), the peak of the plain RSS sum (which counts shared pages, PyTorch's
libraries above all, once per process: an upper bound), and the largest single process.

    .venv/bin/python benchmarks/gradescope_memory.py [--notebook NN_topic.ipynb ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.gradescope.__main__ import build


def pss(pid: int) -> int:
    """Proportional set size: each shared page counted once across the processes sharing it."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) * 1024 for line in text.splitlines()
                 if line.startswith("Pss:")), 0)


def tree_rss(root_pid: int) -> tuple[int, int, int]:
    """(RSS sum, largest RSS, PSS sum) in bytes of ``root_pid`` and its descendants."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        pid, parent = int(entry), int(fields.get("PPid", "0").strip() or 0)
        children.setdefault(parent, []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
    total = largest = proportional = 0
    stack = [root_pid]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        largest = max(largest, rss.get(pid, 0))
        proportional += pss(pid)
        stack += children.get(pid, [])
    return total, largest, proportional


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--notebook", action="append", default=None)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="gradescope-memory-"))
    source = work / "autograder" / "source"
    zipfile.ZipFile(build(work / "autograder.zip", args.notebook)).extractall(source)
    (source / "run_autograder").chmod(0o755)
    (source / ".venv").symlink_to(Path(sys.prefix))
    names = args.notebook or sorted(p.name for p in (ROOT / "exercises").glob("*.ipynb"))
    (work / "autograder" / "submission").mkdir()
    for name in names:
        (work / "autograder" / "submission" / name).write_bytes((ROOT / "solutions" / name).read_bytes())
    started = time.monotonic()
    process = subprocess.Popen([str(source / "run_autograder")],
                               env={**os.environ, "AUTOGRADER_ROOT": str(work / "autograder")})
    peak_sum = peak_one = peak_pss = 0
    while process.poll() is None:
        total, largest, proportional = tree_rss(process.pid)
        peak_sum, peak_one = max(peak_sum, total), max(peak_one, largest)
        peak_pss = max(peak_pss, proportional)
        time.sleep(0.05)
    seconds = time.monotonic() - started
    document = json.loads((work / "autograder" / "results" / "results.json").read_text())
    print(f"{len(names)} notebook(s): score {document['score']:g}; peak memory of the process "
          f"tree {peak_pss / 2**20:.0f} MiB (PSS: shared pages counted once), "
          f"{peak_sum / 2**20:.0f} MiB (RSS sum, an upper bound), largest process "
          f"{peak_one / 2**20:.0f} MiB; {seconds:.0f} s; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
