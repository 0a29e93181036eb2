"""``python -m tools.grade SUBMISSIONS_DIR --out RESULTS_DIR [--jobs N] [--seed S]``.

Also ``--shard K/N`` (grade every N-th learner, from the K-th: one job of a matrix),
``--learner NAME`` (regrade one learner and merge into an existing RESULTS_DIR), and
``python -m tools.grade merge RESULTS_1 RESULTS_2 ... --out RESULTS_DIR`` (join shards).
"""

from __future__ import annotations

import argparse
import re
import resource
import secrets
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tools.grade import report
from tools.grade.collect import NoLearners, answered_counter, collect
from tools.grade.judge import NotebookResult, Options, grade_notebook, trusted_checks
from tools.grade.merge import merge_results
from tools.grade.official import NotInGradedCellFormat, official_exercises
from tools.grade.rules import numpy_only_checks
from tools.grade.safe import printable
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
    parser.add_argument("--notebook-timeout", type=float, default=300.0,
                        help="seconds for one learner's notebook, all its runs together "
                        "(default 300: the course's solutions take under 30 s each on a "
                        "loaded 2-core machine)")
    parser.add_argument("--memory-mb", type=int, default=6144,
                        help="address space of each of the sandbox's processes")
    parser.add_argument("--total-memory-mb", type=int, default=6144,
                        help="resident memory of all one notebook's sandbox processes together")
    parser.add_argument("--shard", type=shard, default=(1, 1), metavar="K/N",
                        help="grade only the K-th of N equal shares of the learners (sorted by "
                        "id); join the shards with `python -m tools.grade merge`")
    parser.add_argument("--learner", action="append", default=None, metavar="NAME",
                        help="grade only this learner (repeatable) and merge the result into "
                        "--out, replacing that learner's earlier rows")
    return parser.parse_args(argv)


def shard(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise argparse.ArgumentTypeError(f"expected K/N with 1 <= K <= N, got {text!r}")
    return int(match[1]), int(match[2])


def parse_merge(argv):
    parser = argparse.ArgumentParser(
        prog="python -m tools.grade merge",
        description="Join the results folders of several runs (shards, or a regraded learner) "
        "into one; for a learner and notebook graded twice the later folder wins.")
    parser.add_argument("sources", type=Path, nargs="+", help="results folders, oldest first")
    parser.add_argument("--out", type=Path, required=True)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["merge"]:
        merged = parse_merge(argv[1:])
        try:
            count = merge_results(merged.sources, merged.out)
        except ValueError as error:
            print(f"grade merge: {error}", file=sys.stderr)
            return 2
        print(f"grade merge: {count} rows from {len(merged.sources)} folders in "
              f"{merged.out}/grades.csv")
        return 0
    args = parse(argv)
    if not args.submissions.is_dir():
        print(f"grade: {args.submissions} is not a folder", file=sys.stderr)
        return 2
    try:
        officials = official_exercises(args.course, args.notebook)
    except NotInGradedCellFormat as error:  # an author's mistake: nobody is graded without it
        print(f"grade: {error} (docs/graded-cells.md says how a graded cell is written)",
              file=sys.stderr)
        return 2
    if not officials:
        print("grade: no exercise to grade", file=sys.stderr)
        return 2
    try:
        learners = collect(args.submissions, [official.name for official in officials],
                           answered_counter(officials),
                           lambda text: print(f"grade: warning: {text}", file=sys.stderr),
                           course=args.course)
    except NoLearners as error:
        print(f"grade: {error}", file=sys.stderr)
        return 2
    if args.learner:
        known = {learner.learner for learner in learners}
        unknown = [name for name in args.learner if name not in known]
        if unknown:
            print(f"grade: no learner {printable(', '.join(map(repr, unknown)))} in "
                  f"{args.submissions} (learners there: {printable(', '.join(sorted(known)[:10]))}"
                  f"{', ...' if len(known) > 10 else ''})", file=sys.stderr)
            return 2
        learners = [learner for learner in learners if learner.learner in args.learner]
    try:
        sandbox, warnings = detect("none" if args.unsafe_no_sandbox else args.sandbox,
                                   Limits(memory_bytes=args.memory_mb * 2**20,
                                          total_memory_bytes=args.total_memory_mb * 2**20))
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
    part, parts = args.shard
    learners = learners[part - 1::parts]
    tasks = [(learner, official) for learner in learners for official in officials]
    progress = report.Progress(len(tasks))
    started = time.monotonic()
    slots = list(range(max(1, args.jobs)))

    def one(task):
        learner, official = task
        slot = slots.pop()
        try:
            result = grade_notebook(official, learner.learner,
                                    learner.notebooks.get(official.name), options, slot,
                                    learner.notes.get(official.name, []))
            copies = learner.copies.get(official.name)
            if copies:
                result.notes.append("copies handed in: " + "; ".join(copies))
            return result
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
            "notebooks": [official.name for official in officials],
            "shard": f"{part}/{parts}", "limits": sandbox.limits_header(),
            "judge_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    if args.learner and (args.out / "grades.csv").exists():
        fresh = Path(tempfile.mkdtemp(prefix="grade-learner-"))
        try:
            report.write(results, fresh, meta)
            merge_results([args.out, fresh], args.out)
        finally:
            shutil.rmtree(fresh, ignore_errors=True)
    else:
        report.write(results, args.out, meta)
    print(f"grade: {len(learners)} learners x {len(officials)} notebooks graded in "
          f"{meta['seconds']} s (seed {seed}, sandbox {sandbox.mode}); "
          f"results in {args.out}/grades.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
