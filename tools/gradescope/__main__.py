"""Gradescope front door: grade one submission with the judge and write ``results.json``.

``run_autograder`` calls ``python -m tools.gradescope --root /autograder``. The submission's
notebooks (``$ROOT/submission``, any layout, Colab's "Copy of ..." names too) are graded by
``python -m tools.grade`` exactly as for a class.

One bundle per assignment: ``python -m tools.gradescope --build --notebook 01_self_attention.ipynb``
(``make gradescope NOTEBOOKS=...``) writes ``_build/gradescope/autograder-01_self_attention.zip``
holding only that notebook's exercise and a ``gradescope.json`` that says which notebooks the
assignment grades; a notebook of the course that is not in the assignment is ignored, one that
is in it and was not uploaded scores 0 (with a message saying so). Without ``--notebook`` the
bundle grades every notebook of the course.

Each graded cell becomes **two tests**, so that their visibility can differ:

- ``NB: grade_id``, on the notebook's own (visible) inputs: the self-check's points
  (``--visible-visibility``, default ``visible``);
- ``NB: grade_id, fresh inputs``, the official check on inputs drawn for this grading: worth 0,
  with ``-points`` when the cell passed on the notebook's inputs but not on fresh ones
  (``--fresh-visibility``, e.g. ``after_due_date``).

The tests' scores add up to the official score (a cell earns its points only if both pass),
which is also the top-level ``score``. Gradescope hides the total from learners while any test
is hidden, so ``--fresh-visibility after_due_date`` holds back everything the fresh inputs say
until the due date. The overall output names the sandbox the judge ran in.
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

from tools.grade.collect import official_name

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
LEARNER = "submission"
CONFIG = "gradescope.json"
VISIBILITY = ["visible", "after_due_date", "after_published", "hidden"]
# "hidden" is not offered for the fresh-input tests: Gradescope keeps showing the total while only
# "hidden" tests are hidden, so a deduction would change the total and never be explained.
FRESH_VISIBILITY = ["visible", "after_due_date", "after_published"]
# What the zip carries: the trusted grader and the official exercises, nothing else.
PACKAGED = ["tools", "requirements.txt"]
SANDBOX_TEXT = {
    "bwrap": "bubblewrap (namespaces: no network, an empty file system)",
    "setpriv": "the setpriv fallback (an unprivileged user without namespaces: bubblewrap "
    "could not run in this container)",
    "none": "NO SANDBOX (--unsafe-no-sandbox)",
}


def read_config(source: Path) -> dict:
    path = source / CONFIG
    config = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    official = sorted(p.name for p in (source / "exercises").glob("*.ipynb"))
    config.setdefault("notebooks", official)
    config.setdefault("visible_visibility", "visible")
    config.setdefault("fresh_visibility", "visible")
    return config


def results(learner_json: dict, seconds: float, config: dict | None = None,
            missing_message: str = "") -> dict:
    config = config or {"visible_visibility": "visible", "fresh_visibility": "visible"}
    tests = []
    for number, notebook in enumerate(learner_json["notebooks"], start=1):
        missing = "missing" in notebook["flags"]
        for index, cell in enumerate(notebook["cells"], start=1):
            name = f"{notebook['notebook']}: {cell['grade_id']}"
            # Passed on the notebook's own inputs: the judge's verdict on the visible seed
            # passed (what went wrong, if anything, was on fresh inputs), unless the answer
            # breaks the from-scratch rules, which costs the points whatever the inputs.
            on_visible = cell["points"] if (
                cell["earned"] == cell["points"]
                or (cell.get("visible") is True and cell["status"] != "forbidden-call")) else 0
            passed = on_visible == cell["points"]
            why = missing_message if missing else (cell.get("message") or cell["status"])
            tests.append({
                "name": name,
                "number": f"{number}.{index}",
                "score": on_visible,
                "max_score": cell["points"],
                "status": "passed" if passed else "failed",
                "output": "passed on your notebook's inputs" if passed else why,
                "visibility": config["visible_visibility"],
            })
            deduction = cell["earned"] - on_visible
            tests.append({
                "name": f"{name}, fresh inputs",
                "number": f"{number}.{index}f",
                "score": deduction,
                "max_score": 0,
                "status": "passed" if deduction == 0 else "failed",
                "output": ("passed on fresh inputs too" if cell["earned"] == cell["points"]
                           else "not passed on your notebook's inputs, so nothing to take back"
                           if deduction == 0 else
                           "passed on your notebook's inputs but not on fresh ones: "
                           + (cell.get("message") or cell["status"])),
                "visibility": config["fresh_visibility"],
            })
    mode = learner_json.get("grading", {}).get("sandbox", "unknown")
    lines = [f"{learner_json['earned']:g} / {learner_json['possible']:g} points.",
             f"Graded by the course's judge in {SANDBOX_TEXT.get(mode, mode)}."]
    for notebook in learner_json["notebooks"]:
        flags = ", ".join(notebook["flags"]) or "none"
        lines.append(f"{notebook['notebook']}: {notebook['earned']:g} / {notebook['possible']:g} (flags: {flags})")
    return {
        "score": learner_json["earned"],
        "execution_time": round(seconds),
        "output": "\n".join(lines),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {"sandbox": mode, "seed": learner_json.get("grading", {}).get("seed")},
        "tests": tests,
    }


def grade(root: Path) -> int:
    started = time.monotonic()
    config = read_config(ROOT)
    wanted = set(config["notebooks"])
    (root / "results").mkdir(parents=True, exist_ok=True)
    uploaded = [path for path in (root / "submission").rglob("*.ipynb") if not path.is_symlink()]
    handed_in = sorted({official_name(path.name, wanted) for path in uploaded} - {None})
    if not handed_in:
        others = sorted({path.name for path in uploaded})
        document = {
            "score": 0,
            "output": "No notebook of this assignment was found in the submission: upload "
            f"{', '.join(sorted(wanted))} under its own name."
            + (f" (Found: {', '.join(others[:5])}.)" if others else ""),
            "visibility": "visible",
            "tests": [],
        }
        (root / "results" / "results.json").write_text(json.dumps(document, indent=2) + "\n")
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        submissions = Path(scratch) / "submissions"
        shutil.copytree(root / "submission", submissions / LEARNER, symlinks=True)
        out = Path(scratch) / "results"
        only = [argument for name in sorted(wanted) for argument in ("--notebook", name)]
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
            document = results(json.loads(learner_file.read_text(encoding="utf-8")),
                               time.monotonic() - started, config,
                               "This notebook was not in your upload: upload it under its own "
                               "name (e.g. 01_self_attention.ipynb).")
    (root / "results" / "results.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 0


def bundle_name(notebooks: list[str] | None) -> str:
    if not notebooks:
        return "autograder.zip"
    return "autograder-" + "+".join(Path(name).stem for name in sorted(notebooks)) + ".zip"


def build(out: Path, notebooks: list[str] | None = None, visible_visibility: str = "visible",
          fresh_visibility: str = "visible") -> Path:
    available = sorted(p.name for p in (ROOT / "exercises").glob("*.ipynb"))
    chosen = sorted(notebooks) if notebooks else available
    unknown = sorted(set(chosen) - set(available))
    if unknown:
        raise ValueError(f"not a course notebook: {', '.join(unknown)} (the notebooks: "
                         f"{', '.join(available)})")
    config = {"notebooks": chosen, "visible_visibility": visible_visibility,
              "fresh_visibility": fresh_visibility}
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in ("setup.sh", "run_autograder"):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16  # executable, as Gradescope runs them directly
            archive.writestr(info, (HERE / name).read_bytes())
        archive.writestr(CONFIG, json.dumps(config, indent=2) + "\n")
        files = [ROOT / "exercises" / name for name in chosen]
        files.append(ROOT / "exercises" / "grading_manifest.json")
        for top in PACKAGED:
            path = ROOT / top
            files += [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            if "__pycache__" in file.parts:
                continue
            archive.write(file, file.relative_to(ROOT).as_posix())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.gradescope", description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=Path("/autograder"), help="Gradescope's root folder")
    parser.add_argument("--build", action="store_true",
                        help="write the assignment's bundle into _build/gradescope/")
    parser.add_argument("--notebook", action="append", default=None, metavar="NN_topic.ipynb",
                        help="a notebook this assignment grades (repeatable; default: all)")
    parser.add_argument("--visible-visibility", choices=VISIBILITY, default="visible",
                        help="when learners see the checks on their notebook's own inputs")
    parser.add_argument("--fresh-visibility", choices=FRESH_VISIBILITY, default="visible",
                        help="when learners see the checks on fresh inputs (and, while hidden, "
                        "their total), e.g. after_due_date")
    args = parser.parse_args(argv)
    if args.build:
        notebooks = [name for item in args.notebook or [] for name in item.split() if name]
        try:
            out = build(ROOT / "_build" / "gradescope" / bundle_name(notebooks), notebooks,
                        args.visible_visibility, args.fresh_visibility)
        except ValueError as error:
            print(f"gradescope: {error}", file=sys.stderr)
            return 2
        print(f"wrote {out}")
        return 0
    return grade(args.root)


if __name__ == "__main__":
    sys.exit(main())
