"""The runner started warm: only with ``--unsafe-no-sandbox``, for code the instructor trusts.

Most of a runner's start-up is importing PyTorch (about 2 s of the 3 s a notebook takes). Without
a sandbox nothing forces a fresh interpreter per run, so a fork server that has imported NumPy,
Matplotlib and PyTorch (``PRELOAD``) once forks each runner from that clean image: every run still
gets its own process (its own namespace, limits and session, killed at the end), and
the fork server itself never runs learner code. PyTorch is loaded in every such runner, so this
mode cannot grade a NumPy-only task without PyTorch: there the from-scratch rule is only looked
for (the judge's warning says so). The course's tests use it to grade its hundreds
of mutants; the sandbox itself is what the attack suite tests, with ``bwrap``.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import runpy
import signal
import subprocess
import sys
import threading

_lock = threading.Lock()
_context = None
# What the course's set-up cells and checks import that is slow: PyTorch itself (about 1.6 s), its
# attention-bias module (chapter 3; it pulls in torch._dynamo, about 2.5 s) and its FLOP counter
# (chapter 2's checks, about 1.8 s). Not Triton: chapter 7 must set TRITON_INTERPRET before it.
PRELOAD = ["numpy", "matplotlib", "torch", "torch.nn.attention.bias", "torch.utils.flop_counter"]


def _fork_server():
    global _context
    with _lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
            _context = context
        return _context


class WarmProcess:
    """A runner forked from the fork server; what session.run needs of a ``Popen``."""

    def __init__(self, runner: str, job_dir: str, attempt: str, environment: dict, cwd: str,
                 limits: dict[str, int]):
        context = _fork_server()
        out_read, out_write = context.Pipe(duplex=False)
        err_read, err_write = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_child, daemon=False,
            args=(runner, job_dir, attempt, environment, cwd, limits, out_write, err_write))
        with _lock:  # one start at a time: the fork server reads one request at a time
            self._process.start()
        out_write.close()
        err_write.close()
        self.pid = self._process.pid
        self.stdout = os.fdopen(os.dup(out_read.fileno()), "rb")
        self.stderr = os.fdopen(os.dup(err_read.fileno()), "rb")
        out_read.close()
        err_read.close()

    def kill(self) -> None:
        for signal_to in (os.killpg, os.kill):  # the group, and the runner if not yet its leader
            try:
                signal_to(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired("warm runner", timeout)
        return self._process.exitcode


def _child(runner, job_dir, attempt, environment, cwd, limits, out_write, err_write) -> None:
    os.setsid()  # its own process group, which the judge kills at the end
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out_write.fileno(), 1)
    os.dup2(err_write.fileno(), 2)
    # The fork server's sys.stdout and sys.stderr were made for its own fds 1 and 2 (a file, when
    # the judge's output is redirected to one): new streams on the pipes, as a fresh interpreter
    # would have (the runner's reconfigure() of the old ones fails with "Illegal seek").
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115 - for the runner's life
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    for name, value in limits.items():
        resource.setrlimit(getattr(resource, name), (value, value))
    os.environ.clear()
    os.environ.update(environment)
    os.chdir(cwd)
    sys.argv = [runner, job_dir, attempt]
    sys.path[0] = os.path.dirname(runner)
    runpy.run_path(runner, run_name="__main__")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # no multiprocessing clean-up: the runner's channel is already flushed
