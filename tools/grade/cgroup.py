"""A cgroup v2 per run of the sandbox, where the machine lets the judge make one: the kernel then
bounds the memory of all the run's processes together (``memory.max``, no swap; at the limit
it kills the whole group, ``memory.oom.group``) and their number (``pids.max``), and the judge
kills the group as one (``cgroup.kill``).

The judge can make one when /sys/fs/cgroup is cgroup v2, its own group offers the memory and
pids controllers, it may write there (as root, or in a delegated group: ``systemd-run --user
--scope python -m tools.grade ...``), and no other process shares its group (the kernel lets a
group hand controllers to its children only when no process sits in it; the judge then moves
itself into a child ``judge-PID``, and touches nothing that holds anyone else). Otherwise
``find`` returns None and the watchdog (tools/grade/watchdog.py) holds the limits; the run's
header says which.
"""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "pids")


def _own_group(root: Path = ROOT) -> Path | None:
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("0::"):
            return root / line[3:].lstrip("/")
    return None


def _write(path: Path, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


class Cgroups:
    """The run groups under ``parent`` (a cgroup v2 folder whose children get memory and pids)."""

    def __init__(self, parent: Path, memory_bytes: int, tasks: int):
        self.parent, self.memory_bytes, self.tasks = parent, memory_bytes, tasks
        self.where = str(parent)
        self._count = itertools.count()
        self._current: dict[int, Path] = {}
        self._breached: dict[int, bool] = {}

    @classmethod
    def find(cls, memory_bytes: int, tasks: int, root: Path = ROOT) -> Cgroups | None:
        """The judge's cgroups, or None where the machine does not allow them."""
        own = _own_group(root)
        if own is None or not (root / "cgroup.controllers").exists():
            return None  # not cgroup v2 (v1, or a hybrid whose v2 half has no controller)
        try:
            offered = (own / "cgroup.controllers").read_text().split()
            if not set(CONTROLLERS) <= set(offered) or not os.access(own, os.W_OK):
                return None
            if own != root:
                members = (own / "cgroup.procs").read_text().split()
                if members != [str(os.getpid())]:
                    return None  # someone else's processes live here: leave it alone
                leaf = own / f"judge-{os.getpid()}"
                leaf.mkdir(exist_ok=True)
                _write(leaf / "cgroup.procs", str(os.getpid()))
            _write(own / "cgroup.subtree_control", " ".join(f"+{c}" for c in CONTROLLERS))
        except OSError:
            return None
        found = cls(own, memory_bytes, tasks)
        try:
            found.prepare(0)
            found.finish(0)
        except OSError:
            return None
        return found

    def prepare(self, slot: int) -> Path:
        """A fresh group for the next run of ``slot``, with the limits written."""
        group = self.parent / f"judge-{os.getpid()}-run-{slot}-{next(self._count)}"
        group.mkdir()
        _write(group / "memory.max", str(self.memory_bytes))
        if (group / "memory.swap.max").exists():
            _write(group / "memory.swap.max", "0")
        _write(group / "memory.oom.group", "1")
        _write(group / "pids.max", str(self.tasks))
        self._current[slot] = group
        return group

    def wrap(self, argv: list[str], slot: int) -> list[str]:
        """``argv`` started inside the run's group: a shell moves itself in, then execs it."""
        procs = self._current[slot] / "cgroup.procs"
        return ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', str(procs), *argv]

    def finish(self, slot: int) -> bool:
        """Kill everything in the run's group, remove it, and say whether its memory limit
        killed something."""
        group = self._current.pop(slot, None)
        if group is None:
            return False
        breached = False
        try:
            if (group / "cgroup.kill").exists():
                _write(group / "cgroup.kill", "1")
            else:
                for pid in (group / "cgroup.procs").read_text().split():
                    try:
                        os.kill(int(pid), 9)
                    except (ProcessLookupError, PermissionError):
                        pass
            events = dict(line.split() for line in
                          (group / "memory.events").read_text().splitlines())
            breached = int(events.get("oom_kill", 0)) + int(events.get("oom_group_kill", 0)) > 0
        except OSError:
            pass
        self._breached[slot] = breached
        for _ in range(100):  # the kernel frees the group once its processes are gone
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.05)
        return breached

    def breached(self, slot: int) -> bool:
        return self._breached.get(slot, False)

