"""Step 6, session: one run of the runner in the sandbox: start it, read its frames, enforce
the wall-clock limits and the limits on all its processes together (tools/grade/watchdog.py),
and kill it (and all it started) at the end, whatever happened. How the run ended is an
``End``.

The runner's messages are untrusted. A frame is one JSON line (at most ``MAX_LINE`` bytes), then
``nbytes`` raw bytes when the line says so; anything malformed ends the reading (the run then
counts as a dead runner at the item it was on).
"""

from __future__ import annotations

import enum
import json
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tools.grade.sandbox import Sandbox
from tools.grade.watchdog import Watchdog

MAX_LINE = 1_000_000
MAX_PAYLOAD = 300 * 2**20
MAX_TOTAL = 1024 * 2**20
# What the judge accepts from one learner's notebook, all runs together (every result of a
# course check is far smaller); past it the notebook is flagged huge-output.
NOTEBOOK_BYTES = 320 * 2**20
STDERR_KEEP = 20_000


@dataclass
class Timeouts:
    startup: float = 120.0  # until the runner says hello (imports of numpy and torch)
    cell: float = 60.0  # per code cell
    check: float = 30.0  # per call of a graded check
    notebook: float = 300.0  # all attempts of one notebook together


class End(enum.Enum):
    """How one run of the runner ended."""

    DONE = "done"  # the runner said "done"
    TIMEOUT = "timeout"  # a cell, a check or the start-up ran past its own limit
    BUDGET = "budget"  # the notebook's total time ran out
    DIED = "died"  # the runner stopped (a crash, os._exit) or sent a malformed frame
    OVERFLOW = "overflow"  # more bytes than the judge accepts
    MEMORY = "memory"  # its processes together held more memory than the notebook's total
    PROCESSES = "processes"  # more processes and threads than allowed


@dataclass
class RunOutcome:
    messages: list[tuple[dict, bytes]] = field(default_factory=list)
    end: End = End.DONE
    at: tuple[str, object] | None = None  # ("cell", index) or ("check", grade_id)
    stderr: str = ""
    seconds: float = 0.0
    received: int = 0  # bytes of the frames accepted


def _read_frames(stream, out: queue.Queue, allowance: int) -> None:
    """Frames from the runner. Only a ``result`` right after the ``call`` with the same key,
    once per key, may carry a payload: any other payload is malformed, so the judge never
    holds bytes it did not ask for. All the lines and payloads accepted together stay within
    ``allowance`` (what is left of the notebook's), or the run ends as an overflow."""
    total = 0
    expected = None
    delivered = set()
    try:
        while True:
            line = stream.readline(MAX_LINE + 1)
            if not line:
                break
            if len(line) > MAX_LINE or not line.endswith(b"\n"):
                out.put(("malformed", None, b""))
                return
            try:
                message = json.loads(line)
            except (ValueError, RecursionError):
                out.put(("malformed", None, b""))
                return
            if not isinstance(message, dict):
                out.put(("malformed", None, b""))
                return
            size = message.get("nbytes", 0)
            if not isinstance(size, int) or size < 0 or size > MAX_PAYLOAD:
                out.put(("overflow", None, b""))
                return
            key = (str(message.get("grade_id")), str(message.get("which")))
            kind = message.get("type")
            if size and not (kind == "result" and key == expected and key not in delivered):
                out.put(("malformed", None, b""))
                return
            expected = key if kind == "call" else None
            if kind == "result":
                delivered.add(key)
            total += len(line) + size
            if total > min(MAX_TOTAL, allowance):
                out.put(("overflow", None, b""))
                return
            payload = stream.read(size) if size else b""
            if len(payload) != size:
                break
            out.put(("message", message, payload))
    except (OSError, ValueError):
        pass
    out.put(("eof", None, b""))


# What the readers and the watchdog put in the queue to end a run, and how the run ends then.
ENDS = {"eof": End.DIED, "malformed": End.DIED, "overflow": End.OVERFLOW,
        "memory": End.MEMORY, "processes": End.PROCESSES}


def _keep_stderr(stream, kept: list) -> None:
    try:
        while chunk := stream.read(65536):
            kept.append(chunk)
            while sum(map(len, kept)) > 2 * STDERR_KEEP and len(kept) > 1:
                kept.pop(0)
    except (OSError, ValueError):
        pass


def run(sandbox: Sandbox, job_dir: Path, attempt: str, slot: int, timeouts: Timeouts,
        budget: float, hide_torch: bool = False, allowance: int = MAX_TOTAL) -> RunOutcome:
    """Run the runner once; stop it at the first timeout, death or broken frame.
    ``allowance``: the bytes the judge still accepts for this notebook."""
    started = time.monotonic()
    outcome = RunOutcome()
    process = sandbox.start(job_dir, attempt, slot, hide_torch)
    frames: queue.Queue = queue.Queue()
    watchdog = None
    if sandbox.watches:
        # A breach lands in the same queue as the frames: the loop below ends the run at once.
        watchdog = Watchdog(process.pid, sandbox.limits.total_memory_bytes,
                            sandbox.limits.processes,
                            lambda what, usage: frames.put((what, None, b"")),
                            uid=sandbox.watch_uid(slot)).start()
    kept: list[bytes] = []
    readers = [
        threading.Thread(target=_read_frames, args=(process.stdout, frames, allowance),
                         daemon=True),
        threading.Thread(target=_keep_stderr, args=(process.stderr, kept), daemon=True),
    ]
    for reader in readers:
        reader.start()
    deadline = started + timeouts.startup
    hard_stop = started + budget
    try:
        while True:
            now = time.monotonic()
            wait = min(deadline, hard_stop) - now
            if wait <= 0:
                outcome.end = End.TIMEOUT if deadline <= hard_stop else End.BUDGET
                break
            try:
                kind, message, payload = frames.get(timeout=wait)
            except queue.Empty:
                continue
            if kind in ENDS:
                outcome.end = ENDS[kind]
                break
            outcome.messages.append((message, payload))
            outcome.received += len(json.dumps(message)) + len(payload)
            what = message.get("type")
            now = time.monotonic()
            if what == "cell":
                outcome.at = ("cell", message.get("index"))
                deadline = now + timeouts.cell
            elif what in ("check", "call"):
                outcome.at = ("check", message.get("grade_id"))
                deadline = now + timeouts.check
            elif what in ("self-check", "result", "cell-error", "hello"):
                deadline = now + (timeouts.check if what != "hello" else timeouts.cell)
            elif what == "done":
                outcome.end = End.DONE
                outcome.at = None
                break
    finally:
        if watchdog is not None:
            watchdog.stop()
        sandbox.kill(process, slot)
        if outcome.end is End.DIED and sandbox.memory_breached(slot):
            outcome.end = End.MEMORY  # the cgroup's limit killed it
        for reader in readers:
            reader.join(timeout=5)
        for stream in (process.stdout, process.stderr):
            try:
                stream.close()
            except OSError:
                pass
    outcome.stderr = b"".join(kept).decode("utf-8", "replace")[-STDERR_KEEP:]
    outcome.seconds = time.monotonic() - started
    return outcome
