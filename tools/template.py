"""Write the learners' template: the exercises, their self-check and its workflow; no solution.

    python -m tools.template OUT          # make template OUT=../attention-exercises

``OUT`` becomes the content of the repository you make into a *template repository* on GitHub
(or hand out any other way). It holds

- ``exercises/`` (the exercise notebooks and their grading manifest) and ``colab/exercises/``
  (their Colab-ready copies);
- the self-check: ``conftest.py``, ``pyproject.toml``, ``tools/nbgrade.py`` and what it
  imports, ``tools/grade_summary.py``, a ``Makefile`` with ``env`` and ``grade``, and a
  ``requirements.txt`` with only what the notebooks and the self-check need, at the course's pins;
- ``.github/workflows/self-check.yml`` (``tools/template/self-check.yml``): the self-check on
  every push, its environment cached, the score table on the run's page;
- a learners' ``README.md`` and ``.gitignore``.

Nothing else is copied: no ``solutions/``, no ``colab/solutions/``, no chapters' build, no
instructor's tools (the judge, the gradebooks). ``check(OUT)`` verifies that no solution region
of ``solutions/`` appears in any file of the template; ``main`` runs it and fails if one does.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "tools" / "template"
# What the self-check imports (conftest.py -> tools.nbgrade -> tools.conventions).
TOOLS = ["tools/__init__.py", "tools/nbgrade.py", "tools/conventions.py", "tools/grade_summary.py"]
LEARNER_PACKAGES = {"numpy", "torch", "triton", "matplotlib", "ipykernel", "nbformat", "nbclient",
                    "nbval", "pytest", "pytest-timeout", "pyyaml"}
SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.DOTALL)
MIN_CHARS = 40  # shorter regions ("return 2 * x") could appear by chance


def requirements() -> str:
    keep = []
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        name = re.split(r"[=<>!~ ]", line.strip(), maxsplit=1)[0].lower()
        if name in LEARNER_PACKAGES:
            keep.append(line.strip())
    missing = LEARNER_PACKAGES - {re.split(r"==", line)[0].lower() for line in keep}
    if missing:
        raise ValueError(f"requirements.txt pins no {', '.join(sorted(missing))}")
    return ("# What the exercises and their self-check need, at the course's pins.\n"
            + "\n".join(keep) + "\n")


def write(out: Path) -> Path:
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"{out} exists and is not empty: give a new folder")
    out.mkdir(parents=True, exist_ok=True)
    (out / "exercises").mkdir()
    for path in sorted((ROOT / "exercises").iterdir()):
        if path.suffix in (".ipynb", ".json"):
            shutil.copy(path, out / "exercises" / path.name)
    (out / "colab" / "exercises").mkdir(parents=True)
    for path in sorted((ROOT / "colab" / "exercises").glob("*.ipynb")):
        shutil.copy(path, out / "colab" / "exercises" / path.name)
    for name in [*TOOLS, "conftest.py", "pyproject.toml"]:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, out / name)
    (out / "requirements.txt").write_text(requirements(), encoding="utf-8")
    shutil.copy(HERE / "Makefile", out / "Makefile")
    shutil.copy(HERE / "README.md", out / "README.md")
    shutil.copy(HERE / "gitignore", out / ".gitignore")
    (out / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(HERE / "self-check.yml", out / ".github" / "workflows" / "self-check.yml")
    return out


def solution_regions() -> list[tuple[str, str]]:
    regions = []
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            for region in SOLUTION.findall(cell.source):
                body = "\n".join(line.strip() for line in region.splitlines() if line.strip())
                if len(body) >= MIN_CHARS:
                    regions.append((path.name, body))
    return regions


def check(out: Path) -> list[str]:
    """What in ``out`` gives a solution away (empty when nothing does)."""
    problems = []
    for path in sorted(out.rglob("*")):
        relative = path.relative_to(out).as_posix()
        if "solutions" in path.relative_to(out).parts:
            problems.append(f"{relative}: a solutions folder")
    texts = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".ipynb":
            text = "\n".join(cell.source for cell in nbformat.reads(text, as_version=4).cells)
        texts[path.relative_to(out).as_posix()] = "\n".join(
            line.strip() for line in text.splitlines() if line.strip())
        if "### BEGIN SOLUTION" in text and path.name != "make_exercises.py":
            problems.append(f"{path.relative_to(out).as_posix()}: holds a solution region")
    for notebook, body in solution_regions():
        for relative, text in texts.items():
            if body in text:
                problems.append(f"{relative}: holds a solution of {notebook}: {body[:60]!r}...")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.template",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path, help="a new folder for the learners' template")
    args = parser.parse_args(argv)
    try:
        out = write(args.out)
    except ValueError as error:
        print(f"template: {error}", file=sys.stderr)
        return 2
    problems = check(out)
    if problems:
        print("template: a solution would reach the learners:\n  " + "\n  ".join(problems),
              file=sys.stderr)
        return 1
    files = sum(1 for p in out.rglob("*") if p.is_file())
    print(f"template: wrote {files} files to {out} (no solution in them); make it a GitHub "
          "template repository, see instructors.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
