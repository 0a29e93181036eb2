"""Step 1, collect: who handed in what, from the layouts instructors actually download.

Three layouts are recognised, and may be mixed in one folder:

- **One folder per learner** (a clone per learner repository, nbgrader's ``submitted/``, Moodle's
  "download submissions in folders"): the folder's name is the learner's id. Moodle's folder
  suffix (``Ada Lovelace_1234_assignsubmission_file_``) is dropped: the learner is
  ``Ada Lovelace_1234``. A notebook may sit at any depth.
- **Canvas's flat download**: every file directly in the folder, named
  ``lastfirst[_LATE]_userid_submissionid_filename``; the learner is ``lastfirst_userid``
  (Canvas's user id is the gradebook's ``ID`` column).
- **Moodle's flat download**: ``Full Name_1234_assignsubmission_file_filename``.

A notebook is recognised by its file name, also as Colab and browsers rename copies:
``Copy of 01_self_attention.ipynb``, ``01_self_attention (1).ipynb`` and Canvas's resubmission
``01_self_attention-1.ipynb``. When a learner handed in several copies of one notebook, the most
complete one is graded (the most answer cells changed from the exercise's stub; then the
shallowest, then the exact name), and the row is flagged ``several-copies``.

Only a regular file with one link is read (``regular_file``): a symbolic or a hard link could be
the instructor's solution, and a file inside the instructor's checkout never is a submission;
nothing else in a learner's folder is read. A folder with no learner in it, or whose learners
hold no course notebook at all, is an error that says what was found (``NoLearners``): a wrong
folder must not become a class of silent zeros.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tools.conventions import normalise_source
from tools.grade import extract
from tools.grade.safe import printable

MAX_DEPTH = 8

COLAB_COPY = re.compile(r"^(?:Copy of |Copy_of_)+", re.IGNORECASE)
# "X (1).ipynb" (browsers, Colab, Jupyter), "X-1.ipynb" (Canvas resubmissions), "X-Copy1.ipynb"
# (JupyterLab's "Duplicate").
RENAMED = re.compile(r"^(?P<stem>.+?)(?: ?\(\d+\)|-\d+|-Copy\d+)$")
CANVAS = re.compile(r"^(?P<name>[^_]+?)(?:_(?i:late))?_(?P<user>\d+)_(?P<submission>\d+)_(?P<file>.+)$")
MOODLE = re.compile(r"^(?P<name>.+?_\d+)_(?:assignsubmission_file|onlinetext)_(?P<file>.*)$")
MOODLE_FOLDER = re.compile(r"^(?P<name>.+?_\d+)_(?:assignsubmission_file|onlinetext)_?$")


class NoLearners(ValueError):
    """The submissions folder holds no learner: grading it would give nobody a grade."""


@dataclass
class Submission:
    learner: str
    folder: Path
    notebooks: dict[str, Path] = field(default_factory=dict)  # file name -> path
    notes: dict[str, list[str]] = field(default_factory=dict)  # file name -> flags
    copies: dict[str, list[str]] = field(default_factory=dict)  # file name -> why this copy


def official_name(file_name: str, wanted: set[str]) -> str | None:
    """The course notebook ``file_name`` is a copy of, or None."""
    if file_name in wanted:
        return file_name
    if not file_name.lower().endswith(".ipynb"):
        return None
    stem = COLAB_COPY.sub("", file_name[: -len(".ipynb")]).strip()
    for _ in range(3):  # "Copy of X (1)-1" is still X
        if f"{stem}.ipynb" in wanted:
            return f"{stem}.ipynb"
        match = RENAMED.match(stem)
        if not match:
            break
        stem = match["stem"]
    return f"{stem}.ipynb" if f"{stem}.ipynb" in wanted else None


def regular_file(path: Path, course: Path | None = None) -> bool:
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


def learner_of_folder(name: str) -> str:
    match = MOODLE_FOLDER.match(name)
    return match["name"] if match else name


def learner_of_flat_file(name: str) -> tuple[str, str] | None:
    """(learner, original file name) for an LMS's flat download name, or None."""
    match = MOODLE.match(name)
    if match:
        return match["name"], match["file"]
    match = CANVAS.match(name)
    if match:
        return f"{match['name']}_{match['user']}", match["file"]
    return None


def collect(submissions: Path, names: list[str],
            answered: Callable[[str, Path], int] | None = None,
            warn: Callable[[str], None] | None = None,
            course: Path | None = None) -> list[Submission]:
    """The learners (sorted by id) and, for each, which copy of each notebook to grade.

    ``answered(name, path)`` counts the answer cells a copy has changed (negative when it
    cannot be read); it chooses between several copies. ``warn`` hears about top-level files
    that belong to nobody. ``course``: the instructor's checkout, whose files are never read.
    Raises ``NoLearners``.
    """
    wanted = set(names)
    found: dict[str, Submission] = {}
    candidates: dict[str, dict[str, list[tuple[Path, int]]]] = {}
    ignored: list[str] = []
    for entry in sorted(submissions.iterdir()):
        if entry.name.startswith(".") or entry.is_symlink():
            continue
        if entry.is_dir():
            learner = learner_of_folder(entry.name)
            submission = found.setdefault(learner, Submission(learner, entry))
            for path, depth in _walk(entry, course):
                name = official_name(path.name, wanted)
                if name:
                    candidates.setdefault(learner, {}).setdefault(name, []).append((path, depth))
            continue
        flat = learner_of_flat_file(entry.name) if regular_file(entry, course) else None
        name = official_name(flat[1], wanted) if flat else None
        if flat is None or name is None:
            ignored.append(entry.name)
            continue
        learner = flat[0]
        found.setdefault(learner, Submission(learner, submissions))
        candidates.setdefault(learner, {}).setdefault(name, []).append((entry, 0))
    if not found:
        raise NoLearners(_why_empty(submissions, ignored, names))
    if not candidates:
        raise NoLearners(
            f"{submissions} holds {len(found)} learner folder(s) ({_some(sorted(found))}) but "
            f"none holds a course notebook ({_some(sorted(wanted))}): is this the right "
            "folder, one level too high or too low?")
    stray = [name for name in ignored if official_name(name, wanted)]
    if stray and warn:
        warn(f"{len(stray)} course notebook(s) directly in {submissions} belong to no learner "
             f"(not in a learner's folder, not named as an LMS names downloads), so they are "
             f"not graded: {_some(stray)}")
    for learner, submission in found.items():
        for name, paths in candidates.get(learner, {}).items():
            _choose(submission, name, paths, answered)
    _too_high(submissions, found, candidates, warn)
    return [found[learner] for learner in sorted(found)]


def _too_high(submissions: Path, found: dict[str, Submission],
              candidates: dict[str, dict[str, list[tuple[Path, int]]]], warn) -> None:
    """A "learner" whose copies of one notebook sit in several subfolders is likely a class:
    SUBMISSIONS was given one level too high. Alone, it is an error; beside others, a warning."""
    for learner, notebooks in candidates.items():
        folder = found[learner].folder
        if folder == submissions:
            continue
        for name, paths in notebooks.items():
            tops = sorted({path.relative_to(folder).parts[0] for path, depth in paths if depth})
            if len(tops) < 3:
                continue
            text = (f"the folder {folder.name!r} holds {len(paths)} copies of {name} in "
                    f"{len(tops)} subfolders ({_some(tops, 3)}): if those are learners, give "
                    f"{folder} as the submissions folder")
            if len(found) == 1:
                raise NoLearners(f"{submissions} seems to be one level too high: {text}")
            if warn:
                warn(text)
            break


def _walk(folder: Path, course: Path | None = None):
    top = len(folder.parts)
    for here, dirs, files in os.walk(folder, followlinks=False):
        depth = len(Path(here).parts) - top
        # .git, .ipynb_checkpoints and other hidden folders hold copies, not submissions.
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and depth < MAX_DEPTH)
        for name in sorted(files):
            path = Path(here) / name
            if regular_file(path, course):
                yield path, depth


def _choose(submission: Submission, name: str, paths: list[tuple[Path, int]],
            answered: Callable[[str, Path], int] | None) -> None:
    scored = [((answered(name, path) if answered else 0), depth, path.name != name, str(path),
               path) for path, depth in paths]
    # Most answers first; then the shallowest, the exact name, the first in sorted order.
    scored.sort(key=lambda item: (-item[0], item[1], item[2], item[3]))
    best = scored[0]
    submission.notebooks[name] = best[4]
    if len(scored) > 1:
        submission.notes.setdefault(name, []).append("several-copies")
        root = submission.folder
        submission.copies[name] = [
            f"{_relative(item[4], root)}: {item[0]} answer cell(s) changed"
            + (" (graded)" if item is best else "") for item in scored]


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


def _some(items: list[str], most: int = 5) -> str:
    shown = printable(", ".join(items[:most]))
    return shown + (f" and {len(items) - most} more" if len(items) > most else "")


def _why_empty(submissions: Path, ignored: list[str], names: list[str]) -> str:
    if not ignored:
        return (f"{submissions} is empty: it should hold one folder per learner, or an LMS's "
                "download (Canvas: name_userid_submissionid_file; Moodle: "
                "Full Name_1234_assignsubmission_file_...)")
    return (
        f"{submissions} holds no learner folder and no file named as an LMS download names them "
        f"(Canvas: name_userid_submissionid_file; Moodle: Full Name_1234_assignsubmission_file_"
        f"file), so nobody can be graded. Found {len(ignored)} other file(s): {_some(ignored)}. "
        f"Put each learner's notebooks ({_some(sorted(names), 2)}, ...) in a folder named "
        "after the learner.")


def answered_counter(officials):
    """How many answer cells a copy of a notebook has changed (-1: unreadable)."""
    by_name = {official.name: official for official in officials}

    def answered(name, path):
        official = by_name[name]
        try:
            answers = extract.extract(official, extract.read_code_cells(path))
        except extract.Unreadable:
            return -1
        return sum(normalise_source(answers[cell.index]) != normalise_source(cell.source)
                   for cell in official.answers)

    return answered
