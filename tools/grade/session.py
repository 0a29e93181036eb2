"""One run of the runner in the sandbox: start it, read its frames, enforce the wall-clock
limits, and kill it (and all it started) at the end, whatever happened.

The runner's messages are untrusted. A frame is one JSON line (at most ``MAX_LINE`` bytes), then
``nbytes`` raw bytes when the line says so; anything malformed ends the reading (the run then
counts as a dead runner at the item it was on).
"""

from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tools.grade.sandbox import Sandbox

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
    notebook: float = 900.0  # all attempts of one notebook together


@dataclass
class RunOutcome:
    messages: list[tuple[dict, bytes]] = field(default_factory=list)
    end: str = "done"  # "done", "timeout", "died", "overflow", "budget"
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
                outcome.end = "timeout" if deadline <= hard_stop else "budget"
                break
            try:
                kind, message, payload = frames.get(timeout=wait)
            except queue.Empty:
                continue
            if kind == "eof":
                outcome.end = "died"
                break
            if kind in ("malformed", "overflow"):
                outcome.end = "died" if kind == "malformed" else "overflow"
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
                outcome.end = "done"
                outcome.at = None
                break
    finally:
        sandbox.kill(process, slot)
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
