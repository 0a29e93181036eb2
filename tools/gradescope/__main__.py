"""Gradescope front door: grade one submission with the judge and write ``results.json``.

``run_autograder`` calls ``python -m tools.gradescope --root /autograder``. The submission's
notebooks (``$ROOT/submission``, any layout) are graded by ``python -m tools.grade`` exactly as
for a class; each graded cell becomes one Gradescope test (its points, and the hint the
learner's self-check gives as its output), and the flags go into the overall output.
``python -m tools.gradescope --build`` writes ``_build/gradescope/autograder.zip``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
LEARNER = "submission"
# What the zip carries: the trusted grader and the official exercises, nothing else.
PACKAGED = ["tools", "exercises", "requirements.txt"]


def results(learner_json: dict, seconds: float) -> dict:
    tests = []
    for number, notebook in enumerate(learner_json["notebooks"], start=1):
        for index, cell in enumerate(notebook["cells"], start=1):
            passed = cell["earned"] == cell["points"]
            tests.append({
                "name": f"{notebook['notebook']}: {cell['grade_id']}",
                "number": f"{number}.{index}",
                "score": cell["earned"],
                "max_score": cell["points"],
                "status": "passed" if passed else "failed",
                "output": "passed" if passed else (cell.get("message") or cell["status"]),
                "visibility": "visible",
            })
    lines = [f"{learner_json['earned']:g} / {learner_json['possible']:g} points."]
    for notebook in learner_json["notebooks"]:
        flags = ", ".join(notebook["flags"]) or "none"
        lines.append(f"{notebook['notebook']}: {notebook['earned']:g} / {notebook['possible']:g} (flags: {flags})")
    return {
        "score": learner_json["earned"],
        "execution_time": round(seconds),
        "output": "\n".join(lines),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def grade(root: Path) -> int:
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:
        submissions = Path(scratch) / "submissions"
        shutil.copytree(root / "submission", submissions / LEARNER, symlinks=False)
        out = Path(scratch) / "results"
        # A Gradescope assignment is graded on the notebooks handed in (one chapter, or several).
        official = {path.name for path in (ROOT / "exercises").glob("*.ipynb")}
        handed_in = sorted({path.name for path in (root / "submission").rglob("*.ipynb")} & official)
        (root / "results").mkdir(parents=True, exist_ok=True)
        if not handed_in:
            document = {
                "score": 0,
                "output": "No notebook of the course was found in the submission: upload your "
                "exercise notebooks under their own names, e.g. 01_self_attention.ipynb.",
                "visibility": "visible",
                "tests": [],
            }
            (root / "results" / "results.json").write_text(json.dumps(document, indent=2) + "\n")
            return 0
        only = [argument for name in handed_in for argument in ("--notebook", name)]
        done = subprocess.run(
            [sys.executable, "-m", "tools.grade", str(submissions), "--out", str(out), "--jobs", "1", *only],
            cwd=ROOT, capture_output=True, text=True, check=False,
        )
        learner_file = out / "learners" / f"{LEARNER}.json"
        if done.returncode != 0 or not learner_file.exists():
            document = {
                "score": 0,
                "output": "The grader could not run; please tell your instructor.\n"
                + (done.stderr or done.stdout)[-3000:],
                "visibility": "visible",
                "tests": [],
            }
        else:
            document = results(json.loads(learner_file.read_text(encoding="utf-8")), time.monotonic() - started)
    (root / "results" / "results.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 0


def build(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in ("setup.sh", "run_autograder"):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16  # executable, as Gradescope runs them directly
            archive.writestr(info, (HERE / name).read_bytes())
        for top in PACKAGED:
            path = ROOT / top
            files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
            for file in files:
                if "__pycache__" in file.parts:
                    continue
                archive.write(file, file.relative_to(ROOT).as_posix())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.gradescope", description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=Path("/autograder"), help="Gradescope's root folder")
    parser.add_argument("--build", action="store_true", help="write _build/gradescope/autograder.zip")
    args = parser.parse_args(argv)
    if args.build:
        print(f"wrote {build(ROOT / '_build' / 'gradescope' / 'autograder.zip')}")
        return 0
    return grade(args.root)


if __name__ == "__main__":
    sys.exit(main())
