"""Step 1, collect: one folder per learner; each official notebook found by file name.

A learner's notebook may sit at any depth (``alice/exercises/01_self_attention.ipynb`` or
``bob/01_self_attention.ipynb``). Only a regular file with one link is read (``readable``):
a symbolic link or a hard link could be the instructor's solution, and a file inside the
instructor's checkout never is a submission. Nothing else in a learner's folder is read.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

MAX_DEPTH = 8


@dataclass
class Submission:
    learner: str
    folder: Path
    notebooks: dict[str, Path] = field(default_factory=dict)  # file name -> path
    notes: dict[str, list[str]] = field(default_factory=dict)  # file name -> flags


def readable(path: Path, course: Path | None = None) -> bool:
    """Whether the judge may read ``path`` as a learner's file: a regular file (not a link)
    with exactly one name, so that it is no other file's hard link, and not inside the
    instructor's checkout ``course``."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
        return False
    if course is not None:
        real, home = os.path.realpath(path), os.path.realpath(course)
        if os.path.commonpath([real, home]) == home:
            return False
    return True


def collect(submissions: Path, names: list[str], course: Path | None = None) -> list[Submission]:
    """The learners (sorted by id) and, for each, where each wanted notebook is."""
    learners = []
    for folder in sorted(submissions.iterdir()):
        if folder.name.startswith(".") or folder.is_symlink() or not folder.is_dir():
            continue
        learners.append(_find(Submission(folder.name, folder), set(names), course))
    return learners


def _find(submission: Submission, wanted: set[str], course: Path | None = None) -> Submission:
    candidates: dict[str, list[Path]] = {}
    top = len(submission.folder.parts)
    for here, dirs, files in os.walk(submission.folder, followlinks=False):
        depth = len(Path(here).parts) - top
        # .git, .ipynb_checkpoints and other hidden folders hold copies, not submissions.
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and depth < MAX_DEPTH)
        for name in files:
            path = Path(here) / name
            if name in wanted and readable(path, course):
                candidates.setdefault(name, []).append(path)
    for name, paths in candidates.items():
        # The shallowest copy wins (then the first in sorted order); the row says there were more.
        paths.sort(key=lambda p: (len(p.parts), str(p)))
        submission.notebooks[name] = paths[0]
        if len(paths) > 1:
            submission.notes.setdefault(name, []).append("several-copies")
    return submission
