"""How long the instructor's grader takes for a class: N learners x the course's notebooks.

Builds a class from this checkout's solutions and blank exercises (learner i hands in the
solution of notebook j when i + j is even, the blank exercise otherwise), grades it with
``python -m tools.grade --jobs J`` and prints the wall time, the scores it saw, the cost per
notebook (wall time x jobs / notebooks: the machine-seconds one notebook takes) and what that
cost means for 1,000 learners x 7 notebooks on a 10-way matrix of machines like this one.

    .venv/bin/python benchmarks/grade_class.py [--learners 20] [--jobs 2] [--keep DIR]
        [--notebook NN_topic.ipynb] [--sandbox auto|bwrap|setpriv|none]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.grade.official import official_exercises


def build_class(folder: Path, learners: int, names: list[str], course: Path = ROOT
                ) -> dict[tuple[str, str], str]:
    expected = {}
    for i in range(learners):
        learner = f"learner{i:02d}"
        for j, name in enumerate(names):
            solved = (i + j) % 2 == 0
            source = course / ("solutions" if solved else "exercises") / name
            target = folder / learner / "exercises" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
            expected[(learner, name)] = "solution" if solved else "blank"
    return expected


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep", type=Path, default=None, help="keep the class and results here")
    parser.add_argument("--notebook", action="append", default=None)
    parser.add_argument("--sandbox", default="auto", choices=["auto", "bwrap", "setpriv", "none"])
    parser.add_argument("--course", type=Path, default=ROOT,
                        help="a checkout with solutions/ and exercises/ (default: this one)")
    args = parser.parse_args(argv)
    officials = official_exercises(args.course, args.notebook)
    if not officials:
        print("no exercise to grade")
        return 1
    names = [official.name for official in officials]
    work = args.keep or Path(tempfile.mkdtemp(prefix="grade-class-"))
    expected = build_class(work / "submissions", args.learners, names, args.course)
    load = os.getloadavg()[0]
    started = time.monotonic()
    sandbox = ["--unsafe-no-sandbox"] if args.sandbox == "none" else ["--sandbox", args.sandbox]
    only = [argument for name in names for argument in ("--notebook", name)]
    done = subprocess.run(
        [sys.executable, "-m", "tools.grade", str(work / "submissions"), "--out",
         str(work / "results"), "--jobs", str(args.jobs), "--course", str(args.course),
         *sandbox, *only],
        cwd=ROOT, check=False,
    )
    seconds = time.monotonic() - started
    with (work / "results" / "grades.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    full = sum(1 for r in rows if expected[(r["learner"], r["notebook"])] == "solution"
               and r["earned"] == r["possible"])
    zero = sum(1 for r in rows if expected[(r["learner"], r["notebook"])] == "blank"
               and float(r["earned"]) == 0)
    print(f"{args.learners} learners x {len(names)} notebooks, --jobs {args.jobs}: "
          f"{seconds:.0f} s wall ({seconds / 60:.1f} min), exit {done.returncode}; "
          f"solutions at full marks {full}/{sum(v == 'solution' for v in expected.values())}, "
          f"blanks at 0 {zero}/{sum(v == 'blank' for v in expected.values())}; "
          f"load average before {load:.1f} on {os.cpu_count()} cores")
    mode = json.loads(next((work / "results" / "learners").glob("*.json")).read_text())[
        "grading"]["sandbox"]
    per = seconds * args.jobs / len(rows)
    hours = 1000 * 7 * per / args.jobs / 10 / 3600
    print(f"sandbox {mode}: {per:.1f} s per notebook (wall x jobs / notebooks); "
          f"1,000 learners x 7 notebooks on 10 such machines with --jobs {args.jobs}: "
          f"{hours:.2f} h; load average after {os.getloadavg()[0]:.1f}")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
