"""The load benchmark (issue #25) reports a failing cell, passes a good notebook, and never
leaves its CPU-bound processes behind."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("loaded_notebooks",
                                              ROOT / "benchmarks" / "loaded_notebooks.py")
loaded = importlib.util.module_from_spec(spec)
spec.loader.exec_module(loaded)


def notebook(path: Path, source: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    return path


def test_a_failing_cell_fails_the_run_and_the_hogs_stop(tmp_path, monkeypatch, capsys):
    started = []
    original = loaded.start_hogs

    def recording_start(count):
        hogs = original(count)
        started.extend(hogs)
        return hogs

    monkeypatch.setattr(loaded, "start_hogs", recording_start)
    good = notebook(tmp_path / "good.ipynb", "x = 1 + 1\nassert x == 2")
    bad = notebook(tmp_path / "bad.ipynb", "assert 1 > 2, 'slope out of band'")
    report = tmp_path / "runs.json"
    code = loaded.main([str(good), str(bad), "--repeats", "2", "--hogs", "1", "--json",
                        str(report)])
    out = capsys.readouterr().out
    assert code == 1
    assert "slope out of band" in out
    assert "2 of 4 executions passed" in out
    assert len(started) == 1 and all(hog.poll() is not None for hog in started)
    assert report.exists()


def test_good_notebooks_pass(tmp_path, capsys):
    good = notebook(tmp_path / "good.ipynb", "import math\nassert math.pi > 3")
    assert loaded.main([str(good), "--repeats", "1", "--hogs", "1"]) == 0
    assert "1 of 1 executions passed" in capsys.readouterr().out
