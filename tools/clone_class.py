"""Clone every learner repository of an assignment with GitHub's ``gh``, one folder per learner.

GitHub Classroom (and ``gh classroom clone``) was discontinued on 2026-08-28. Learner
repositories made from a template (``make template``) by hand, by Classroom 50 (named
``CLASSROOM-ASSIGNMENT-USERNAME``) or by any script live in your organisation; this finds them
by name prefix or by roster and clones each into ``OUT/LEARNER``:

    python -m tools.clone_class ORG --prefix attention-ps1- --out class
    python -m tools.clone_class ORG --prefix attention-ps1- --roster roster.csv --out class
    python -m tools.clone_class ORG --prefix attention-ps1- --deadline 2026-12-01T23:59:00Z --out class

- ``--prefix P``: every repository of ``ORG`` whose name starts with ``P``; the learner is the
  rest of the name (``attention-ps1-ada`` -> ``ada``).
- ``--roster FILE``: a CSV with a ``github`` column (or ``username``, ``login``, ``learner``):
  repository ``P + github``, or the ``repository`` column where there is one. A learner whose
  repository does not exist gets an **empty folder**, so the judge grades them ``missing``
  instead of forgetting them.
- ``--deadline T``: the last commit before ``T`` is graded (the clone keeps its history for that).

It needs ``gh`` logged in with a token that can read the organisation's repositories (in
Actions: a secret, see ``grade-class.yml``). ``--dry-run`` prints the commands and clones
nothing. The commands are built by ``plan()``, which runs nothing (``tests/test_classroom.py``
checks it without a network).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROSTER_COLUMNS = ["github", "GitHub", "username", "Username", "login", "learner"]
SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")  # GitHub's own rule for names


def list_command(org: str) -> list[str]:
    return ["gh", "repo", "list", org, "--limit", "100000", "--no-archived", "--json", "name"]


def clone_command(org: str, repository: str, target: Path, deadline: str | None) -> list[str]:
    depth = [] if deadline else ["--", "--depth", "1", "--quiet"]
    return ["gh", "repo", "clone", f"{org}/{repository}", str(target), *depth]


def checkout_command(target: Path, deadline: str) -> list[str]:
    # The last commit before the deadline on the default branch ("" when there is none).
    return ["git", "-C", str(target), "rev-list", "-1", f"--before={deadline}", "HEAD"]


def read_roster(path: Path, prefix: str) -> list[tuple[str, str]]:
    """(learner, repository) for each roster row."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        column = next((c for c in ROSTER_COLUMNS if c in (reader.fieldnames or [])), None)
        if column is None:
            raise ValueError(f"{path}: needs one of the columns {', '.join(ROSTER_COLUMNS)}")
        pairs = []
        for row in reader:
            learner = (row.get(column) or "").strip()
            if learner:
                pairs.append((learner, (row.get("repository") or "").strip() or prefix + learner))
        return pairs


def plan(org: str, prefix: str, existing: list[str], roster: list[tuple[str, str]] | None,
         out: Path, deadline: str | None) -> tuple[list[list[str]], list[str]]:
    """(clone commands, learners without a repository) - runs nothing."""
    if roster is None:
        roster = [(name[len(prefix):], name) for name in sorted(existing)
                  if name.startswith(prefix) and len(name) > len(prefix)]
    have = set(existing)
    commands, absent = [], []
    for learner, repository in roster:
        if not SAFE.match(learner) or not SAFE.match(repository):
            raise ValueError(f"not a GitHub name: {learner!r} / {repository!r}")
        if repository in have:
            commands.append(clone_command(org, repository, out / learner, deadline))
        else:
            absent.append(learner)
    return commands, absent


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.clone_class",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("org")
    parser.add_argument("--prefix", default="", help="the repositories' common name prefix")
    parser.add_argument("--roster", type=Path, help="CSV with a github column")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--deadline", help="grade the last commit before this time (ISO 8601)")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    if not args.prefix and not args.roster:
        parser.error("give --prefix, --roster or both")
    listed = subprocess.run(list_command(args.org), capture_output=True, text=True, check=False)
    if listed.returncode != 0:
        print(f"clone: gh repo list {args.org} failed: {listed.stderr.strip()}", file=sys.stderr)
        return 2
    existing = [entry["name"] for entry in json.loads(listed.stdout or "[]")]
    try:
        roster = read_roster(args.roster, args.prefix) if args.roster else None
        commands, absent = plan(args.org, args.prefix, existing, roster, args.out, args.deadline)
    except ValueError as error:
        print(f"clone: {error}", file=sys.stderr)
        return 2
    if not commands and not absent:
        print(f"clone: no repository of {args.org} starts with {args.prefix!r}", file=sys.stderr)
        return 2
    for learner in absent:
        print(f"clone: {learner}: no repository; an empty folder (graded 'missing')",
              file=sys.stderr)
        if not args.dry_run:
            (args.out / learner).mkdir(parents=True, exist_ok=True)
    failed = 0
    for command in commands:
        print(" ".join(command))
        if args.dry_run:
            continue
        if subprocess.run(command, check=False).returncode != 0:
            failed += 1
            continue
        if args.deadline:
            target = Path(command[4])
            commit = subprocess.run(checkout_command(target, args.deadline), capture_output=True,
                                    text=True, check=False).stdout.strip()
            if commit:
                subprocess.run(["git", "-C", str(target), "checkout", "--quiet", commit], check=True)
            else:  # nothing pushed before the deadline: an empty folder, graded 'missing'
                print(f"clone: {target.name}: no commit before {args.deadline}", file=sys.stderr)
                shutil.rmtree(target)
                target.mkdir()
    print(f"clone: {len(commands) - failed} cloned, {len(absent)} without a repository, "
          f"{failed} failed, into {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
