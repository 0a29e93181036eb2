"""Join results folders: the shards of a matrix, or a regraded learner into a class's results.

``python -m tools.grade merge RESULTS_1 RESULTS_2 ... --out RESULTS`` reads each folder's
``grades.csv``, ``learners/*.json`` and ``feedback/``; a (learner, notebook) graded in more than
one folder keeps the later folder's row, JSON entry and feedback page. ``--out`` may be one of
the sources (that is how ``--learner`` merges a regrade). Rows are copied as written (they are
already safe CSV cells, so nothing is escaped twice).
"""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
from pathlib import Path

from tools.conventions import GRADES_HEADER


def read_rows(folder: Path) -> list[list[str]]:
    path = folder / "grades.csv"
    if not path.exists():
        raise ValueError(f"{folder} has no grades.csv: is it a results folder?")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    if not rows or rows[0] != list(GRADES_HEADER):
        raise ValueError(f"{path}: expected the header {','.join(GRADES_HEADER)}")
    return rows[1:]


def merge_results(sources: list[Path], out: Path) -> int:
    """Merge ``sources`` (oldest first) into ``out``; the number of rows written."""
    rows: dict[tuple[str, str], list[str]] = {}
    for source in sources:
        for row in read_rows(source):
            rows[(row[0], row[1])] = row
    # Build in a scratch folder first: ``out`` may be a source that is still being read.
    staging = Path(tempfile.mkdtemp(prefix="grade-merge-"))
    try:
        documents: dict[str, dict] = {}
        for source in sources:
            for path in sorted((source / "learners").glob("*.json")):
                document = json.loads(path.read_text(encoding="utf-8"))
                documents[path.name] = _merge_document(documents.get(path.name), document)
            feedback = source / "feedback"
            if feedback.is_dir():
                shutil.copytree(feedback, staging / "feedback", dirs_exist_ok=True)
        (staging / "learners").mkdir()
        (staging / "feedback").mkdir(exist_ok=True)
        for name, document in documents.items():
            (staging / "learners" / name).write_text(json.dumps(document, indent=2) + "\n",
                                                    encoding="utf-8")
        with (staging / "grades.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(GRADES_HEADER)
            writer.writerows(rows[key] for key in sorted(rows))
        out.mkdir(parents=True, exist_ok=True)
        for part in ("grades.csv", "learners", "feedback"):
            target = out / part
            if target.is_dir():
                shutil.rmtree(target)
            shutil.move(str(staging / part), str(target))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return len(rows)


def _merge_document(old: dict | None, new: dict) -> dict:
    """One learner's JSON: notebooks graded again replace their earlier entries."""
    if old is None:
        return new
    notebooks = {entry["notebook"]: entry for entry in old.get("notebooks", [])}
    notebooks.update({entry["notebook"]: entry for entry in new.get("notebooks", [])})
    merged = dict(new)
    merged["notebooks"] = [notebooks[name] for name in sorted(notebooks)]
    merged["earned"] = sum(entry["earned"] for entry in merged["notebooks"])
    merged["possible"] = sum(entry["possible"] for entry in merged["notebooks"])
    merged["earlier_gradings"] = old.get("earlier_gradings", []) + [old.get("grading")]
    return merged
