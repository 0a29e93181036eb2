"""The judge's watchdog over one run of the sandbox: the limits per learner as a whole where no
cgroup v2 can hold them (see tools/grade/cgroup.py, and ``Sandbox.memory_mechanism``).

Every ``PERIOD`` seconds it reads /proc, finds every process of the sandbox (the descendants of
the process the judge started, which in bubblewrap's PID namespace includes every orphan, since
they are re-parented to the namespace's first process; with the setpriv fallback also every
process of the job's uid, which a double fork cannot leave) and sums their resident memory and
their threads. Past ``memory_bytes`` or ``tasks`` it reports a breach, and the session kills the
whole sandbox at once. A page two processes share counts once for each, so the true total is at
most the sum it compares; between two samples the total can grow by what the processes allocate
in ``PERIOD`` seconds, each still held by its own address-space limit.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

PERIOD = 0.1
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Usage:
    memory_bytes: int = 0  # resident memory of the sandbox's processes, summed
    tasks: int = 0  # their threads (what the kernel's process limit counts)
    processes: int = 0


def _stat(pid: str) -> tuple[int, int, int] | None:
    """(parent pid, threads, resident pages) of ``pid``, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            text = handle.read()
    except OSError:
        return None
    # The command name, in parentheses, may hold spaces and parentheses: split after the last.
    fields = text[text.rfind(b")") + 2:].split()
    try:
        return int(fields[1]), int(fields[17]), int(fields[21])
    except (IndexError, ValueError):
        return None


def usage(root: int, uid: int | None = None) -> Usage:
    """What the process tree under ``root`` (and, given ``uid``, every process of that uid)
    holds now."""
    parents: dict[int, int] = {}
    sizes: dict[int, tuple[int, int]] = {}
    members: set[int] = {root}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        found = _stat(entry.name)
        if found is None:
            continue
        pid = int(entry.name)
        parents[pid] = found[0]
        sizes[pid] = (found[1], found[2])
        if uid is not None:
            try:
                if entry.stat().st_uid == uid:
                    members.add(pid)
            except OSError:
                continue
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    stack = list(members)
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in members:
                members.add(child)
                stack.append(child)
    total = Usage()
    for pid in members:
        if pid in sizes:
            threads, pages = sizes[pid]
            total.tasks += threads
            total.memory_bytes += pages * PAGE
            total.processes += 1
    return total


class Watchdog:
    """Samples the sandbox's processes until stopped; calls ``breached("memory" or
    "processes", usage)`` once, at the first sample over a limit."""

    def __init__(self, root: int, memory_bytes: int, tasks: int, breached,
                 uid: int | None = None, period: float = PERIOD):
        self.root, self.memory_bytes, self.tasks, self.uid = root, memory_bytes, tasks, uid
        self.breached, self.period = breached, period
        self.peak = Usage()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> Watchdog:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _watch(self) -> None:
        while not self._stop.is_set():
            now = usage(self.root, self.uid)
            self.peak = Usage(max(self.peak.memory_bytes, now.memory_bytes),
                              max(self.peak.tasks, now.tasks),
                              max(self.peak.processes, now.processes))
            if now.memory_bytes > self.memory_bytes:
                self.breached("memory", now)
                return
            if now.tasks > self.tasks:
                self.breached("processes", now)
                return
            self._stop.wait(self.period)
