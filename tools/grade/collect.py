"""Step 1, collect: one folder per learner; each official notebook found by file name.

A learner's notebook may sit at any depth (``alice/exercises/01_self_attention.ipynb`` or
``bob/01_self_attention.ipynb``). Symbolic links are never followed: a link could point at the
instructor's solutions. Nothing else in a learner's folder is read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

MAX_DEPTH = 8


@dataclass
class Submission:
    learner: str
    folder: Path
    notebooks: dict[str, Path] = field(default_factory=dict)  # file name -> path
    notes: dict[str, list[str]] = field(default_factory=dict)  # file name -> flags


def collect(submissions: Path, names: list[str]) -> list[Submission]:
    """The learners (sorted by id) and, for each, where each wanted notebook is."""
    learners = []
    for folder in sorted(submissions.iterdir()):
        if folder.name.startswith(".") or folder.is_symlink() or not folder.is_dir():
            continue
        learners.append(_find(Submission(folder.name, folder), set(names)))
    return learners


def _find(submission: Submission, wanted: set[str]) -> Submission:
    candidates: dict[str, list[Path]] = {}
    top = len(submission.folder.parts)
    for here, dirs, files in os.walk(submission.folder, followlinks=False):
        depth = len(Path(here).parts) - top
        # .git, .ipynb_checkpoints and other hidden folders hold copies, not submissions.
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and depth < MAX_DEPTH)
        for name in files:
            path = Path(here) / name
            if name in wanted and not path.is_symlink() and path.is_file():
                candidates.setdefault(name, []).append(path)
    for name, paths in candidates.items():
        # The shallowest copy wins (then the first in sorted order); the row says there were more.
        paths.sort(key=lambda p: (len(p.parts), str(p)))
        submission.notebooks[name] = paths[0]
        if len(paths) > 1:
            submission.notes.setdefault(name, []).append("several-copies")
    return submission
