"""The sandbox on its own: a probe program runs where the runner would and reports what it
can do; it must not read the checkout, write outside its scratch folder, reach the network,
see other processes, raise its limits, or leave a process behind."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.helpers import FIXTURES, ROOT
from tests.judge_helpers import run_judge, toy_course
from tools.grade import sandbox as sandbox_module
from tools.grade.sandbox import Limits, SandboxUnavailable, detect

PROBE = r'''
import json, os, resource, socket, subprocess, sys
report = {"uid": os.getuid(), "root": sorted(os.listdir("/"))}
report["sees_checkout"] = os.path.exists(sys.argv[1])
report["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
def can_write(path, size=1):
    try:
        with open(path, "wb") as handle:
            handle.write(b"x" * size)
        return True
    except OSError:
        return False
report["write_usr"] = can_write("/usr/judge-probe")
report["write_job"] = can_write("/job/judge-probe")
report["write_tmp"] = can_write("/tmp/judge-probe")
report["write_tmp_300mb"] = can_write("/tmp/big", 300 * 2**20)
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=2)
    report["network"] = True
except OSError:
    report["network"] = False
report["limits"] = {name: resource.getrlimit(getattr(resource, name))[0]
                    for name in ("RLIMIT_NPROC", "RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_FSIZE")}
try:
    resource.setrlimit(resource.RLIMIT_CPU, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    report["raised_limit"] = True
except (ValueError, OSError):
    report["raised_limit"] = False
subprocess.Popen(["/bin/sh", "-c", "sleep 600 # judge-probe-detached"], start_new_session=True)
print("PROBE " + json.dumps(report), flush=True)
'''


@pytest.fixture(scope="module")
def probe():
    try:
        box, _ = detect("bwrap")
    except SandboxUnavailable as error:
        pytest.skip(f"bubblewrap cannot run on this machine: {error}")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(0.2)
    job = Path(tempfile.mkdtemp(prefix="judge-probe-test-"))
    (job / "runner.py").write_text(PROBE)
    job.chmod(0o755)
    (job / "runner.py").chmod(0o644)
    argv, environment, cwd = box.command(job, "unused", 3)
    argv = argv[:-2] + [str(ROOT / "solutions"), str(server.getsockname()[1])]
    process = subprocess.Popen(argv, env=environment, cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    out, err = process.communicate(timeout=300)
    box.kill(process, 3)
    time.sleep(1)
    try:
        server.accept()
        connected = True
    except OSError:
        connected = False
    server.close()
    shutil.rmtree(job)
    lines = [line for line in out.splitlines() if line.startswith("PROBE ")]
    assert lines, f"the probe did not run: {err[-2000:]}"
    left = subprocess.run(["ps", "-eo", "args="], capture_output=True, text=True,
                          check=False).stdout
    return {"report": json.loads(lines[0][6:]), "connected": connected, "box": box,
            "left": [line for line in left.splitlines()
                     if "judge-probe-detached" in line and "ps -eo" not in line]}


def test_the_checkout_is_invisible(probe):
    report = probe["report"]
    assert report["sees_checkout"] is False
    # The Python installation and the virtual environment are bound at their own paths, so
    # their top folders appear (CI's checkout lives under /check, a laptop's under /home).
    pythons = {Path(os.path.realpath(prefix)).parts[1]
               for prefix in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    assert set(report["root"]) <= {"bin", "dev", "etc", "job", "lib", "lib32", "lib64", "libx32",
                                   "proc", "sbin", "tmp", "usr"} | pythons


def test_only_scratch_is_writable_and_it_is_bounded(probe):
    report = probe["report"]
    assert (report["write_usr"], report["write_job"], report["write_tmp"]) == (False, False, True)
    assert report["write_tmp_300mb"] is False


def test_no_network(probe):
    assert probe["report"]["network"] is False and probe["connected"] is False


def test_no_other_processes_and_an_unprivileged_user(probe):
    assert len(probe["report"]["pids"]) <= 4, probe["report"]["pids"]
    if os.geteuid() == 0:
        assert probe["report"]["uid"] != 0


def test_limits_hold_and_cannot_be_raised(probe):
    limits, wanted = probe["report"]["limits"], Limits()
    assert limits["RLIMIT_NPROC"] == wanted.processes
    assert limits["RLIMIT_AS"] == wanted.memory_bytes
    assert limits["RLIMIT_CPU"] == wanted.cpu_seconds
    assert probe["report"]["raised_limit"] is False


def test_nothing_outlives_the_sandbox(probe):
    assert probe["left"] == []


def test_a_clear_message_where_bubblewrap_is_missing(monkeypatch):
    real_which = shutil.which
    monkeypatch.setattr(sandbox_module.shutil, "which",
                        lambda name: None if name == "bwrap" else real_which(name))
    with pytest.raises(SandboxUnavailable) as raised:
        detect("bwrap")
    assert "apt-get install bubblewrap" in str(raised.value)
    assert "--unsafe-no-sandbox" in str(raised.value)


@pytest.mark.parametrize("output", ["pipes", "file"])
def test_unsandboxed_rows_say_so(tmp_path, output):
    """Also with the judge's output in a file: the warm runners are forked from a server whose
    own standard streams were that file, and once failed to start there ("Illegal seek")."""
    course = toy_course(tmp_path / "course")
    (tmp_path / "subs" / "ann").mkdir(parents=True)
    shutil.copy(FIXTURES / "00_toy.ipynb", tmp_path / "subs" / "ann" / "00_toy.ipynb")
    results = run_judge(tmp_path / "subs", tmp_path / "out", course, "--unsafe-no-sandbox",
                        jobs=1, log=tmp_path / "judge.log" if output == "file" else None)
    assert results.earned("ann", "00_toy.ipynb") == 5
    assert results.flags("ann", "00_toy.ipynb") == {"unsandboxed"}
    assert "unsafe" in results.output


HIDDEN_PROBE = r"""
import glob, importlib, json, os, sys
found = {}
for name in ("torch", "functorch", "torchgen", "torch.nn"):
    try:
        importlib.import_module(name)
        found[name] = "imported"
    except ImportError as error:
        found[name] = type(error).__name__
found["files"] = [path for entry in sys.path if entry
                  for path in glob.glob(os.path.join(entry, "torch", "**", "*.so*"),
                                        recursive=True)]
print("PROBE " + json.dumps(found))
"""


def test_pytorch_is_not_there_for_a_numpy_only_program():
    try:
        box, _ = detect("bwrap")
    except SandboxUnavailable as error:
        pytest.skip(f"bubblewrap cannot run on this machine: {error}")
    job = Path(tempfile.mkdtemp(prefix="judge-hidden-test-"))
    try:
        (job / "runner.py").write_text(HIDDEN_PROBE)
        job.chmod(0o755)
        (job / "runner.py").chmod(0o644)
        seen = {}
        for hide in (False, True):
            argv, environment, cwd = box.command(job, "unused", 4, hide_torch=hide)
            done = subprocess.run(argv, env=environment, cwd=cwd, capture_output=True,
                                  text=True, timeout=300, check=False)
            lines = [line for line in done.stdout.splitlines() if line.startswith("PROBE ")]
            assert lines, done.stderr[-2000:]
            seen[hide] = json.loads(lines[0][6:])
    finally:
        shutil.rmtree(job, ignore_errors=True)
    assert seen[False]["torch"] == "imported" and seen[False]["files"]  # the control
    assert {seen[True][name] for name in ("torch", "functorch", "torchgen", "torch.nn")} == {
        "ModuleNotFoundError"}
    assert seen[True]["files"] == []  # no library of PyTorch's to load by hand either


def test_setpriv_refuses_the_numpy_only_checks(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("the setpriv fallback needs root")
    course = toy_course(tmp_path / "course")
    (tmp_path / "subs" / "ann").mkdir(parents=True)
    shutil.copy(FIXTURES / "00_toy.ipynb", tmp_path / "subs" / "ann" / "00_toy.ipynb")
    results = run_judge(tmp_path / "subs", tmp_path / "out", course, "--sandbox", "setpriv",
                        jobs=1)
    cells = results.cells("ann", "00_toy.ipynb")
    assert cells["double-value"]["earned"] == 3
    assert cells["mean-square-value"]["earned"] == 0, "setpriv cannot hide PyTorch"
    assert "needs-review" in results.flags("ann", "00_toy.ipynb")
    assert "NumPy-only" in cells["mean-square-value"]["message"]
