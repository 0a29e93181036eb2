"""Project-wide promises: pinned and consistent requirements, one repository URL,
self-contained and reproducible notebooks, and a strict book configuration."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from tests.helpers import ROOT

NOTEBOOK_DIRS = ("chapters", "solutions", "exercises")
AUTHORED = sorted(p for d in ("chapters", "solutions") for p in (ROOT / d).glob("*.ipynb"))
PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s;#]+)")


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        match = PIN.match(line.strip())
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


def test_root_requirements_are_exact_pins():
    lines = [
        line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    loose = [line for line in lines if not PIN.match(line)]
    assert not loose, f"requirements.txt must pin exact versions, not {loose}"
    assert not any("extra-index-url" in line for line in lines), "the CPU wheel index belongs in binder/ only"
    assert pins(ROOT / "requirements.txt")["torch"] == "2.13.0"


def test_binder_agrees_with_the_root_requirements():
    root, binder = pins(ROOT / "requirements.txt"), pins(ROOT / "binder" / "requirements.txt")
    assert binder, "binder/requirements.txt pins nothing"
    for package, version in binder.items():
        assert package in root, f"binder pins {package}, which requirements.txt does not"
        assert version.split("+")[0] == root[package], f"{package}: binder {version} != root {root[package]}"
    assert "download.pytorch.org/whl/cpu" in (ROOT / "binder" / "requirements.txt").read_text()
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"


def test_repository_url_lives_in_one_place():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    url = config["repository"]["url"]
    assert config["repository"]["branch"] == "main"
    assert config["launch_buttons"]["binderhub_url"] and config["launch_buttons"]["colab_url"]
    slug = url.removeprefix("https://github.com/")
    tracked = [p for d in ("chapters", "solutions", "exercises", "tools", "tests") for p in (ROOT / d).rglob("*")]
    tracked += [ROOT / name for name in ("intro.md", "learners.md", "instructors.md", "Makefile")]
    for path in tracked:
        if path.is_file() and path.suffix in {".md", ".ipynb", ".py", ".yml", ".yaml", ""}:
            assert slug not in path.read_text(errors="ignore"), f"{path} repeats the repository URL; read _config.yml"


@pytest.mark.parametrize("path", AUTHORED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_is_clean_and_self_contained(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{path.name}: store notebooks without outputs"
    headings = [
        line for cell in notebook.cells if cell.cell_type == "markdown"
        for line in cell.source.splitlines() if re.match(r"^# ", line)
    ]
    assert len(headings) == 1, f"{path.name}: one H1 title per notebook, found {headings}"
    assert "shared/" not in json.dumps(notebook), f"{path.name} refers to the authors' shared folder"
    assert not re.search(r"^\s*(from|import)\s+(tools|tests)\b", code, re.MULTILINE), f"{path.name} imports the repo"
    assert "sys.path" not in code, f"{path.name} edits sys.path: notebooks must run alone in Colab"
    if "torch" in code:
        # torch.manual_seed(...), or manual_seed(...) imported from torch
        assert re.search(r"(?<![\w.])(torch\.)?manual_seed\(", code), f"{path.name} uses torch without torch.manual_seed"
    if "np.random" in code or "default_rng" in code:
        assert "default_rng(" in code, f"{path.name} uses NumPy randomness without a seeded default_rng"
        assert not re.search(r"np\.random\.(rand|randn|randint|normal|uniform|choice|seed)\(", code), (
            f"{path.name}: use the seeded generator rng, not the global np.random"
        )


def test_same_names_in_every_notebook_folder():
    names = {folder: sorted(p.name for p in (ROOT / folder).glob("*.ipynb")) for folder in ("solutions", "exercises")}
    assert names["solutions"] == names["exercises"]
    for name in names["solutions"]:
        assert re.match(r"^\d\d_[a-z0-9_]+\.ipynb$", name)


def test_every_toc_entry_exists_and_every_notebook_is_in_the_toc():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [entry["file"] for entry in part["chapters"]]
    for entry in files:
        assert any((ROOT / f"{entry}{suffix}").exists() for suffix in (".md", ".ipynb")), f"_toc.yml lists missing {entry}"
    for folder in NOTEBOOK_DIRS:
        for path in (ROOT / folder).glob("*.ipynb"):
            assert f"{folder}/{path.stem}" in files, f"{folder}/{path.name} is not in _toc.yml"


def test_nothing_reads_the_authors_shared_folder():
    offenders = []
    for path in ROOT.rglob("*"):
        if any(part in {".git", ".venv", "_build", "node_modules", "tests"} for part in path.relative_to(ROOT).parts):
            continue
        readable = path.is_file() and path.suffix in {".py", ".md", ".yml", ".yaml", ".ipynb", ".toml", ".txt", ""}
        if readable and re.search(r"\.\./shared|/work/shared", path.read_text(errors="ignore")):
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, f"these files refer to ../shared, which a learner's clone lacks: {offenders}"


def test_strict_book_build_configuration():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["allow_errors"] is False
    assert "exercises/*" in config["execute"]["exclude_patterns"]
    assert "sphinx-mathjax-offline" in config["sphinx"]["extra_extensions"]
    makefile = (ROOT / "Makefile").read_text()
    assert "-W" in makefile and "-n" in makefile and "--keep-going" in makefile


def test_the_slowest_first_list_names_real_files():
    """conftest.py starts these files first under xdist; a renamed file would silently lose
    its place (and the suite its balance)."""
    import conftest

    missing = [path for path in conftest.SLOWEST_FIRST if not (ROOT / path).is_file()]
    assert not missing, f"conftest.SLOWEST_FIRST names files that do not exist: {missing}"
    assert len(set(conftest.SLOWEST_FIRST)) == len(conftest.SLOWEST_FIRST)
