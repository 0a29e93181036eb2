"""Step 6, sandbox: where the runner (and with it the learner's code) runs, and its limits.

Three modes, chosen by ``detect``:

``bwrap`` (the default, Debian's ``bubblewrap``): new PID, network, IPC, UTS and cgroup
    namespaces (as an ordinary user also a user namespace: ``--unshare-all``); an empty root
    with read-only binds of /usr, the Python installation and the virtual environment, and the
    job folder (the runner, the rebuilt notebook, the inputs) read-only at /job; a size-limited
    tmpfs at /tmp is the only writable place; no network (only a loopback); ``--die-with-parent``
    and ``--new-session``. For the checks of NumPy-only tasks (``hide_torch``) PyTorch's package
    folders are replaced by an empty read-only tmpfs whose ``__init__.py`` raises. Run as root, the runner drops to an unprivileged uid inside the
    sandbox (from 64000 on: a block of 32 per grader process, one per job slot), so that the
    kernel's process limit applies to it.
``setpriv`` (fallback when root and bubblewrap cannot run): the runner runs as that
    unprivileged uid with the same resource limits in a fresh private folder; it can read what
    any user can read and reach the network, so the judge warns. It cannot hide PyTorch, so the
    judge refuses the graded cells of NumPy-only tasks (flag ``needs-review``).
``none`` (only with ``--unsafe-no-sandbox``): resource limits only; rows are flagged
    ``unsandboxed``, and PyTorch is not hidden from NumPy-only tasks. The runner is forked from a fork server that has imported PyTorch
    once (tools/grade/warm.py), which saves about 2 s a notebook.

In every mode ``prlimit`` (a warm runner: ``setrlimit``) limits each process's CPU time,
address space, file size and open files, and the processes of its uid; the memory and the
processes of all the sandbox's processes together are held by a cgroup v2 per run where the
machine allows one (tools/grade/cgroup.py), else by the judge's watchdog
(tools/grade/watchdog.py); the judge enforces the wall-clock limits (tools/grade/session.py);
and at the end the whole process group (in ``bwrap`` mode the whole PID namespace; with a
cgroup, the whole group) is killed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tools.grade.cgroup import Cgroups

BASE_UID = 64000
# Each grader process takes its own block of uids, so that two runs at once (two test workers)
# never share a process limit, and the setpriv fallback's final kill reaches only its own.
UID_BLOCK = 32
UID_BLOCKS = 1000
INSTALL_HINT = (
    "the sandbox needs Debian's bubblewrap: `sudo apt-get install bubblewrap` (or `make "
    "grader-deps`). Where it cannot run (no user namespaces, e.g. in some containers), run the "
    "grader as root to use the setpriv fallback, or pass --unsafe-no-sandbox to grade without a "
    "sandbox (rows are then flagged 'unsandboxed')."
)


# The runner's whole environment, in every mode (bubblewrap sets it with --setenv after
# --clearenv; the other modes start the runner with exactly this; setpriv and none then point
# HOME, MPLCONFIGDIR and TMPDIR at their private scratch folder).
ENVIRONMENT = {
    "HOME": "/tmp", "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg",
    "MPLCONFIGDIR": "/tmp/.matplotlib", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1", "PYTHONHASHSEED": "0",
    "LC_ALL": "C.UTF-8",
}


class SandboxUnavailable(RuntimeError):
    pass


@dataclass
class Limits:
    cpu_seconds: int = 900
    memory_bytes: int = 6 * 2**30  # address space, per process
    total_memory_bytes: int = 6 * 2**30  # resident memory of all the sandbox's processes
    processes: int = 256
    file_bytes: int = 64 * 2**20
    open_files: int = 256
    tmpfs_bytes: int = 256 * 2**20


@dataclass
class Sandbox:
    mode: str  # "bwrap", "setpriv" or "none"
    python: str  # the interpreter the runner uses (the virtual environment's)
    limits: Limits
    uid_base: int = BASE_UID + (os.getpid() % UID_BLOCKS) * UID_BLOCK
    cgroups: Cgroups | None = None  # where the machine allows one (tools/grade/cgroup.py)

    def uid(self, slot: int) -> str:
        return str(self.uid_base + slot % UID_BLOCK)

    @property
    def flags(self) -> list[str]:
        return ["unsandboxed"] if self.mode == "none" else []

    def rlimits(self) -> dict[str, int]:
        """The resource limits: ``prlimit`` sets them, a warm runner sets them itself."""
        lim = self.limits
        processes = lim.processes
        if os.geteuid() != 0:
            # Without root the runner keeps the instructor's uid, whose every thread counts
            # against RLIMIT_NPROC: allow those that exist now, plus the sandbox's share.
            processes += _tasks_of(os.getuid())
        return {"RLIMIT_CPU": lim.cpu_seconds, "RLIMIT_AS": lim.memory_bytes,
                "RLIMIT_NPROC": processes, "RLIMIT_FSIZE": lim.file_bytes,
                "RLIMIT_NOFILE": lim.open_files, "RLIMIT_CORE": 0}

    @property
    def memory_mechanism(self) -> str:
        """What bounds the memory of all the sandbox's processes together: "cgroup" (a cgroup
        v2 per run, tools/grade/cgroup.py) or "watchdog" (tools/grade/watchdog.py)."""
        return "cgroup" if self.cgroups is not None else "watchdog"

    @property
    def watches(self) -> bool:
        """Whether the judge's watchdog samples each run (wherever no cgroup holds it)."""
        return self.cgroups is None

    def watch_uid(self, slot: int) -> int | None:
        """The uid whose every process belongs to the run (the setpriv fallback: its processes
        can leave the runner's process tree, never its uid)."""
        return int(self.uid(slot)) if self.mode == "setpriv" else None

    def memory_breached(self, slot: int) -> bool:
        """Whether the run's cgroup killed it for memory (False under the watchdog, which
        reports a breach itself)."""
        return self.cgroups is not None and self.cgroups.breached(slot)

    def limits_header(self) -> str:
        """What bounds one learner's sandbox, for the run's header (and run.json)."""
        lim = self.limits
        mb = 2**20
        if self.cgroups is not None:
            how = (f"cgroup v2: memory.max in {self.cgroups.where}, no swap, pids.max "
                   f"{lim.processes}")
        else:
            how = ("watchdog: no cgroup v2 memory controller can be used here, so the judge "
                   "sums the resident memory and threads of the sandbox's processes every "
                   "0.1 s and kills them all past either limit")
        common = (f"CPU {lim.cpu_seconds} s per process, files up to {lim.file_bytes // mb} MB, "
                  f"{lim.open_files} open files, scratch {lim.tmpfs_bytes // mb} MB")
        if os.geteuid() == 0 and self.mode != "none":
            count = f"at most {lim.processes} processes and threads (its own uid)"
        else:
            count = f"at most {lim.processes} processes and threads beyond the instructor's own"
        return (f"memory {lim.total_memory_bytes // mb} MB for all its processes together "
                f"({how}); address space {lim.memory_bytes // mb} MB per process; {count}; "
                f"{common}")

    def prlimit(self) -> list[str]:
        flags = {"RLIMIT_CPU": "cpu", "RLIMIT_AS": "as", "RLIMIT_NPROC": "nproc",
                 "RLIMIT_FSIZE": "fsize", "RLIMIT_NOFILE": "nofile", "RLIMIT_CORE": "core"}
        return ["prlimit", *(f"--{flags[name]}={value}" for name, value in self.rlimits().items()),
                "--"]

    @property
    def hides_torch(self) -> bool:
        """Whether this sandbox can run a program where PyTorch's files are not there."""
        return self.mode == "bwrap"

    def command(self, job_dir: Path, attempt: str, slot: int,
                hide_torch: bool = False) -> tuple[list[str], dict, str]:
        """The argv, environment and working directory that start the runner (with
        ``hide_torch``, in a sandbox where PyTorch's package folders are empty)."""
        if hide_torch and not self.hides_torch:
            raise SandboxUnavailable(f"the {self.mode} sandbox cannot hide PyTorch")
        uid = self.uid(slot)
        drop = [
            "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--",
        ]
        environment = dict(ENVIRONMENT)
        if self.mode == "bwrap":
            runner = ["/job/runner.py", "/job", attempt]
            as_root = os.geteuid() == 0
            argv = self.prlimit() + ["bwrap"] + _bwrap_arguments(job_dir, self, as_root,
                                                                 hide_torch)
            argv += (drop if as_root else []) + [self.python, "-I", *runner]
            return argv, environment, "/"
        work = Path(tempfile.mkdtemp(prefix="judge-scratch-"))
        runner = [str(job_dir / "runner.py"), str(job_dir), attempt]
        environment.update(HOME=str(work), MPLCONFIGDIR=str(work / ".matplotlib"), TMPDIR=str(work))
        if self.mode == "setpriv":
            os.chown(work, int(uid), int(uid))
            return self.prlimit() + drop + [self.python, "-I", *runner], environment, str(work)
        return self.prlimit() + [self.python, "-I", *runner], environment, str(work)

    def start(self, job_dir: Path, attempt: str, slot: int, hide_torch: bool = False):
        """Start the runner: a ``Popen``, or without a sandbox a runner forked warm."""
        argv, environment, cwd = self.command(job_dir, attempt, slot, hide_torch)
        if self.mode == "none":
            from tools.grade.warm import WarmProcess

            return WarmProcess(str(job_dir / "runner.py"), str(job_dir), attempt, environment,
                               cwd, self.rlimits())
        if self.cgroups is not None:
            self.cgroups.prepare(slot)
            argv = self.cgroups.wrap(argv, slot)
        return subprocess.Popen(
            argv, env=environment, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True,
        )

    def kill(self, process, slot: int) -> None:
        """End the runner and everything it started."""
        if self.mode == "none":  # a warm runner (tools/grade/warm.py)
            process.kill()
        else:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self.mode == "setpriv":
            # Processes that left the group (setsid, double fork) still have the job's uid.
            uid = self.uid(slot)
            subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                            "kill", "-KILL", "-1"], capture_output=True, check=False)
        if self.cgroups is not None:
            self.cgroups.finish(slot)  # kills what is left in the run's group, and removes it
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not wait
            pass


def _tasks_of(uid: int) -> int:
    """How many threads the user ``uid`` runs now (what RLIMIT_NPROC counts)."""
    count = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines()
                          if ":" in line)
            if int(fields["Uid"].split()[0]) == uid:
                count += int(fields["Threads"])
        except (OSError, KeyError, ValueError):
            continue
    return count


def _real(path: str) -> str:
    return os.path.realpath(path)


# PyTorch's own top-level packages: hidden together, so that no part of PyTorch is importable.
TORCH_PACKAGES = ("torch", "functorch", "torchgen")
NO_TORCH = (
    'raise ModuleNotFoundError("PyTorch is not available here: this check grades a NumPy-only '
    'task, so it runs where PyTorch\'s files are not there", name=__name__)\n'
)


def torch_folders() -> list[str]:
    """The folders PyTorch's packages occupy on the runner's import path."""
    found = []
    for entry in sys.path:
        for name in TORCH_PACKAGES:
            folder = Path(entry or ".") / name
            if entry and folder.is_dir():
                found.append(_real(str(folder)))
    return sorted(set(found))


def _hide_torch_arguments(job_dir: Path) -> list[str]:
    """Each PyTorch package folder becomes an empty read-only tmpfs holding only an
    ``__init__.py`` that raises ModuleNotFoundError (an empty folder would import as a
    namespace package)."""
    stub = job_dir / "no_torch.py"
    stub.write_text(NO_TORCH, encoding="utf-8")
    stub.chmod(0o644)
    arguments = []
    for folder in torch_folders():
        arguments += ["--tmpfs", folder, "--ro-bind", str(stub), f"{folder}/__init__.py",
                      "--remount-ro", folder]
    return arguments


def _bwrap_arguments(job_dir: Path, sandbox: Sandbox, as_root: bool,
                     hide_torch: bool = False) -> list[str]:
    if as_root:
        # A user namespace created by root keeps uid 0 outside, which the process limit
        # ignores; so every other namespace, and the runner drops to an unprivileged uid.
        arguments = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                     "--unshare-cgroup-try", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        arguments = ["--unshare-all"]
    arguments += ["--die-with-parent", "--new-session", "--hostname", "sandbox", "--clearenv"]
    arguments += ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            arguments += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            arguments += ["--ro-bind", str(path), str(path)]
    for name in ("/etc/ld.so.cache", "/etc/fonts", "/etc/localtime", "/etc/alternatives"):
        arguments += ["--ro-bind-try", name, name]
    # The scratch tmpfs comes before the Python binds: a checkout under /tmp (a CI clone) puts
    # the virtual environment there, and a tmpfs mounted after it would hide it.
    arguments += ["--perms", "1777", "--size", str(sandbox.limits.tmpfs_bytes), "--tmpfs", "/tmp"]
    made = {"/", "/usr", "/tmp", "/proc", "/dev", "/job"}
    binds = sorted({_real(sys.prefix), _real(sys.base_prefix), _real(sys.exec_prefix),
                    _real(sys.base_exec_prefix)})
    for path in binds:
        if path.startswith("/usr/") or path == "/usr":
            continue
        parts = Path(path).parts
        for depth in range(2, len(parts)):
            parent = str(Path(*parts[:depth]))
            if parent not in made:
                made.add(parent)
                arguments += ["--perms", "0755", "--dir", parent]
        arguments += ["--ro-bind", path, path]
    if hide_torch:
        arguments += _hide_torch_arguments(job_dir)
    arguments += ["--ro-bind", str(job_dir), "/job", "--proc", "/proc", "--dev", "/dev"]
    arguments += ["--chdir", "/tmp"]
    for key, value in ENVIRONMENT.items():
        arguments += ["--setenv", key, value]
    arguments += ["--"]
    return arguments


def _python() -> str:
    """The virtual environment's interpreter, by its real path (the sandbox has no symlinked
    checkout)."""
    executable = Path(sys.prefix) / "bin" / "python"
    if not executable.exists():
        executable = Path(sys.executable)
    parent = _real(str(executable.parent))
    return str(Path(parent) / executable.name)


def _probe(sandbox: Sandbox) -> str | None:
    """Run a trivial program in the sandbox; None when it works, else what went wrong."""
    job = Path(tempfile.mkdtemp(prefix="judge-probe-"))
    try:
        (job / "runner.py").write_text("import numpy\nprint('sandbox-ok')\n")
        job.chmod(0o755)
        (job / "runner.py").chmod(0o644)
        argv, environment, cwd = sandbox.command(job, "none", 0)
        done = subprocess.run(argv, env=environment, cwd=cwd, capture_output=True, text=True,
                              timeout=120, check=False, stdin=subprocess.DEVNULL)
        if "sandbox-ok" in done.stdout:
            return None
        return (done.stderr or done.stdout).strip()[-500:] or f"exit status {done.returncode}"
    except (OSError, subprocess.TimeoutExpired) as error:
        return str(error)
    finally:
        shutil.rmtree(job, ignore_errors=True)


def _with_cgroups(sandbox: Sandbox) -> Sandbox:
    """A cgroup v2 per run where the machine allows it (else the watchdog holds the limits)."""
    sandbox.cgroups = Cgroups.find(sandbox.limits.total_memory_bytes, sandbox.limits.processes)
    return sandbox


def detect(requested: str = "auto", limits: Limits | None = None) -> tuple[Sandbox, list[str]]:
    """The sandbox to use and the warnings to print; SandboxUnavailable when there is none."""
    limits = limits or Limits()
    python = _python()
    warnings: list[str] = []
    if shutil.which("prlimit") is None:
        raise SandboxUnavailable("prlimit (util-linux) is missing; " + INSTALL_HINT)
    if requested == "none":
        return Sandbox("none", python, limits), [
            (
                "--unsafe-no-sandbox: the learners' code runs with resource limits only, in "
                "runners forked from a process that has imported PyTorch, so PyTorch is not "
                "hidden from NumPy-only tasks (their from-scratch rule is only looked for); "
                "every row is flagged 'unsandboxed'. Use this only for code you trust."
            )
        ]
    if requested in ("auto", "bwrap"):
        if shutil.which("bwrap") is None:
            problem = "bwrap is not installed"
        else:
            problem = _probe(Sandbox("bwrap", python, limits))
        if problem is None:
            return _with_cgroups(Sandbox("bwrap", python, limits)), warnings
        if requested == "bwrap" or os.geteuid() != 0:
            raise SandboxUnavailable(f"bubblewrap cannot run here ({problem}); {INSTALL_HINT}")
        warnings.append(f"bubblewrap cannot run here ({problem}); falling back to setpriv.")
    if os.geteuid() != 0:
        raise SandboxUnavailable("the setpriv fallback needs root; " + INSTALL_HINT)
    sandbox = Sandbox("setpriv", python, limits)
    problem = _probe(sandbox)
    if problem is not None:
        raise SandboxUnavailable(f"the setpriv fallback cannot run either ({problem}); "
                                 + INSTALL_HINT)
    _with_cgroups(sandbox)
    warnings.append(
        "sandbox: setpriv fallback (an unprivileged uid and resource limits, no namespaces): "
        "the learners' code can read world-readable files and reach the network, and "
        "PyTorch cannot be hidden, so the graded cells of NumPy-only tasks are refused "
        "(0 points, flagged 'needs-review')."
    )
    return sandbox, warnings
