"""Classroom 50's autograder for the course: the learner's self-check, as Classroom 50 results.

Classroom 50 (https://github.com/foundation50/classroom50, the Fifty Foundation's open-source
alternative to GitHub Classroom) runs an assignment's ``autograder.py`` once per submission, in a GitHub Actions job
of the learner's repository, with the learner's checkout as the working directory, and reads
``./result.json`` (schema ``classroom50/result/v1``: ``score``, ``max-score`` and one entry per
test). To use it, copy this file to ``CLASSROOM/autograders/ASSIGNMENT/autograder.py`` in your
``classroom50`` repository, make the assignment's template from ``make template``, and set the
assignment's runtime to ``{"python": "3.11"}``. Set ``NOTEBOOKS`` below (or the environment
variable ``COURSE_NOTEBOOKS``, space-separated) to the assignment's notebooks.

It installs the template's ``requirements.txt`` (CPU-only PyTorch), runs the self-check on
those notebooks (``pytest --nbval-lax``, the course's plugin) and turns its report into one
Classroom 50 test per graded cell with its points. Exit 0 when grading ran (pass or fail is in
``result.json``); anything else is an infrastructure error for Classroom 50.

Like any learner-side check, it runs in the learner's repository with the learner's notebooks
and tools: **its score is feedback**. The official grade is the judge on your side
(``python -m tools.grade`` on the cloned repositories, instructors.md).
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

NOTEBOOKS: list[str] = []  # e.g. ["01_self_attention.ipynb"]; empty: every notebook of exercises/
REPORT = Path("grading-report.json")
CPU_TORCH = "https://download.pytorch.org/whl/cpu"


def notebooks(checkout: Path) -> list[str]:
    chosen = os.environ.get("COURSE_NOTEBOOKS", "").split() or NOTEBOOKS
    return chosen or sorted(p.name for p in (checkout / "exercises").glob("*.ipynb"))


def _utc(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def commit_time() -> str:
    """The graded commit's committer date: the submission instant, the same on a regrade."""
    done = subprocess.run(["git", "log", "-1", "--format=%ct"], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0 or not done.stdout.strip():
        return ""
    return _utc(datetime.datetime.fromtimestamp(int(done.stdout.strip()), datetime.UTC))


def result(report: dict, wanted: list[str], manifest: dict, environ: dict) -> dict:
    """``result.json`` from the self-check's report; a notebook not reported scores 0."""
    reported = {Path(entry["notebook"]).name: entry for entry in report.get("notebooks", [])}
    tests = []
    for name in wanted:
        cells = {row["grade_id"]: row for row in reported.get(name, {}).get("cells", [])}
        for cell in manifest["notebooks"][name]["cells"]:
            row = cells.get(cell["grade_id"], {})
            earned = row.get("earned", 0) if row.get("earned") == cell["points"] else 0
            tests.append({"test-name": f"{name}: {cell['grade_id']}",
                          "passed": earned == cell["points"], "score": earned,
                          "max-score": cell["points"],
                          "message": row.get("message", "not run: the notebook did not run")[:500]})
    return {
        "schema": "classroom50/result/v1",
        "classroom": environ.get("CLASSROOM", ""),
        "assignment": environ.get("ASSIGNMENT", ""),
        "submission": environ.get("SUBMISSION_TAG", ""),
        "commit": environ.get("COMMIT_URL", ""),
        "release": environ.get("RELEASE_URL", ""),
        "review": environ.get("REVIEW_URL") or environ.get("COMMIT_URL", ""),
        "datetime": environ.get("COMMIT_TIME") or _utc(datetime.datetime.now(datetime.UTC)),
        "graded_at": _utc(datetime.datetime.now(datetime.UTC)),
        "score": sum(test["score"] for test in tests),
        "max-score": sum(test["max-score"] for test in tests),
        "tests": tests,
    }


def main() -> int:
    checkout = Path.cwd()
    wanted = notebooks(checkout)
    python = sys.executable
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--extra-index-url", CPU_TORCH,
                    "-r", "requirements.txt"], check=True)
    subprocess.run([python, "-m", "pytest", "--nbval-lax", f"--grade-report={REPORT}",
                    *[f"exercises/{name}" for name in wanted]], check=False)
    report = json.loads(REPORT.read_text(encoding="utf-8")) if REPORT.exists() else {}
    manifest = json.loads((checkout / "exercises" / "grading_manifest.json").read_text())
    document = result(report, wanted, manifest, {**os.environ, "COMMIT_TIME": commit_time()})
    Path("result.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"self-check: {document['score']}/{document['max-score']} (feedback; the official "
          "grade is your instructor's)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
