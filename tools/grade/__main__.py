"""``python -m tools.grade SUBMISSIONS_DIR --out RESULTS_DIR [--jobs N] [--seed S]``."""

from __future__ import annotations

import argparse
import resource
import secrets
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tools.grade import report
from tools.grade.collect import collect
from tools.grade.judge import NotebookResult, Options, grade_notebook, trusted_checks
from tools.grade.official import official_exercises
from tools.grade.rules import numpy_only_checks
from tools.grade.sandbox import Limits, SandboxUnavailable, detect
from tools.grade.session import Timeouts

ROOT = Path(__file__).resolve().parents[2]


def parse(argv):
    parser = argparse.ArgumentParser(
        prog="python -m tools.grade",
        description="Grade a class's exercise notebooks in a sandbox; verdicts are decided "
        "in this process, which never runs learner code.",
    )
    parser.add_argument("submissions", type=Path, help="one folder per learner (folder name = id)")
    parser.add_argument("--out", type=Path, required=True, help="where to write the results")
    parser.add_argument("--jobs", type=int, default=1, help="notebooks graded at once (default 1)")
    parser.add_argument("--seed", type=int, default=None,
                        help="base of the fresh seeds, to reproduce a run (default: random)")
    parser.add_argument("--course", type=Path, default=ROOT,
                        help="the trusted checkout whose exercises/ is graded (default: this one)")
    parser.add_argument("--notebook", action="append", default=None, metavar="NN_topic.ipynb",
                        help="grade only this notebook (repeatable)")
    parser.add_argument("--sandbox", choices=["auto", "bwrap", "setpriv"], default="auto",
                        help="auto: bubblewrap, else (as root) the setpriv fallback")
    parser.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="run learner code without a sandbox (rows flagged 'unsandboxed')")
    parser.add_argument("--cell-timeout", type=float, default=60.0, help="seconds per code cell")
    parser.add_argument("--check-timeout", type=float, default=30.0,
                        help="seconds per call of a graded check")
    parser.add_argument("--notebook-timeout", type=float, default=900.0,
                        help="seconds for one learner's notebook in all")
    parser.add_argument("--memory-mb", type=int, default=6144, help="address space per runner")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse(argv)
    if not args.submissions.is_dir():
        print(f"grade: {args.submissions} is not a folder", file=sys.stderr)
        return 2
    officials, skipped = official_exercises(args.course, args.notebook)
    for name, why in skipped.items():
        print(f"grade: skipping {name}: not in the graded-cell format ({why})", file=sys.stderr)
    if not officials:
        print("grade: no exercise to grade", file=sys.stderr)
        return 2
    try:
        sandbox, warnings = detect("none" if args.unsafe_no_sandbox else args.sandbox,
                                   Limits(memory_bytes=args.memory_mb * 2**20))
    except SandboxUnavailable as error:
        print(f"grade: {error}", file=sys.stderr)
        return 3
    for warning in warnings:
        print(f"grade: warning: {warning}", file=sys.stderr)
    print(f"grade: limits per learner: {sandbox.limits_header()}", file=sys.stderr)
    for official in officials:
        _, present = numpy_only_checks(official)
        if present:
            print(f"grade: note: {official.name}: {', '.join(sorted(present))} test NumPy-only "
                  "answers but call PyTorch themselves, so they run next to PyTorch: there the "
                  "from-scratch rule is only looked for", file=sys.stderr)
    for official in officials:  # an author's mistake stops the run before anyone is graded
        try:
            trusted_checks(official)
        except Exception as error:  # noqa: BLE001
            print(f"grade: {official.name}: its graded cells cannot run in the grader: "
                  f"{type(error).__name__}: {error}", file=sys.stderr)
            return 2
    seed = args.seed if args.seed is not None else secrets.randbits(63)
    options = Options(sandbox, Timeouts(cell=args.cell_timeout, check=args.check_timeout,
                                        notebook=args.notebook_timeout), seed)
    learners = collect(args.submissions, [official.name for official in officials], args.course)
    tasks = [(learner, official) for learner in learners for official in officials]
    progress = report.Progress(len(tasks))
    started = time.monotonic()
    slots = list(range(max(1, args.jobs)))

    def one(task):
        learner, official = task
        slot = slots.pop()
        try:
            return grade_notebook(official, learner.learner, learner.notebooks.get(official.name),
                                  options, slot, learner.notes.get(official.name, []))
        except Exception as error:  # noqa: BLE001 - one submission must not stop the class
            failed = NotebookResult(learner.learner, official.name, official.possible,
                                    flags=["grader-error"])
            failed.notes.append(f"the grader failed on this notebook: {type(error).__name__}: "
                                f"{error}")
            print(f"grade: {learner.learner} {official.name}: {type(error).__name__}: {error}",
                  file=sys.stderr)
            return failed
        finally:
            slots.append(slot)
            progress.step(f"{learner.learner} {official.name}")

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(one, tasks))
    meta = {"seed": seed, "sandbox": sandbox.mode, "seconds": round(time.monotonic() - started, 1),
            "notebooks": [official.name for official in officials], "skipped": skipped,
            "limits": sandbox.limits_header(),
            "judge_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    report.write(results, args.out, meta)
    print(f"grade: {len(learners)} learners x {len(officials)} notebooks graded in "
          f"{meta['seconds']} s (seed {seed}, sandbox {sandbox.mode}); "
          f"results in {args.out}/grades.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
