"""The watchdog on its own (tools/grade/watchdog.py): it finds every process of a tree, including
one whose parent has exited (the double fork that escapes a process group), sums their memory
and threads, and reports the first sample over a limit. No sandbox: a plain Python tree."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from tools.grade.watchdog import Watchdog, usage

HOLD_MB = 60
TREE = textwrap.dedent(f"""
    import os, sys, time
    def hold():
        held = bytearray({HOLD_MB} * 2**20)
        for i in range(0, len(held), 4096):
            held[i] = 1
        time.sleep(60)
    for _ in range(3):
        if os.fork() == 0:
            if os.fork() == 0:  # a grandchild whose parent exits: reparented, still ours
                hold()
            os._exit(0)
    print("ready", flush=True)
    time.sleep(60)
""")


def _start_tree(prefix=()):
    process = subprocess.Popen([*prefix, sys.executable, "-c", TREE], stdout=subprocess.PIPE,
                               start_new_session=True)
    assert process.stdout.readline().strip() == b"ready"
    time.sleep(1.0)  # the grandchildren touch their memory
    return process


def _kill(process):
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@pytest.mark.skipif(os.geteuid() != 0, reason="runs the tree as a uid of its own (root only)")
def test_usage_sees_orphans_of_the_tree_only_when_they_keep_its_uid():
    uid = 64999  # as the setpriv fallback runs a job: a uid nothing else uses
    process = _start_tree(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"])
    try:
        # Orphans are re-parented outside the tree (in bubblewrap, to the namespace's first
        # process, which is in it): the tree alone does not see their memory, the uid does.
        alone = usage(process.pid)
        with_uid = usage(process.pid, uid=uid)
        assert alone.memory_bytes < HOLD_MB * 2**20
        assert with_uid.memory_bytes >= 3 * HOLD_MB * 2**20
        assert with_uid.processes == 1 + 3 + 3  # the top, its 3 exited children, 3 orphans
    finally:
        subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                        "kill", "-KILL", "-1"], check=False)
        process.wait()


def test_a_tree_over_the_memory_limit_is_reported_once():
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import os, time
            children = []
            for _ in range(3):
                pid = os.fork()
                if pid == 0:
                    held = bytearray({HOLD_MB} * 2**20)
                    for i in range(0, len(held), 4096):
                        held[i] = 1
                    time.sleep(60)
                    os._exit(0)
            time.sleep(60)
        """)], start_new_session=True)
    breaches = []
    done = threading.Event()

    def breached(what, now):
        breaches.append((what, now))
        done.set()

    watchdog = Watchdog(process.pid, 2 * HOLD_MB * 2**20, 10_000, breached).start()
    try:
        assert done.wait(20), f"no breach; peak {watchdog.peak}"
        time.sleep(0.5)
        assert [what for what, _ in breaches] == ["memory"]
        assert breaches[0][1].processes == 4
        assert breaches[0][1].memory_bytes > 2 * HOLD_MB * 2**20
    finally:
        watchdog.stop()
        _kill(process)


def test_too_many_threads_are_reported():
    process = subprocess.Popen(
        [sys.executable, "-c", ("import threading, time\n"
         "for _ in range(20):\n    threading.Thread(target=time.sleep, args=(60,)).start()\n"
         "time.sleep(60)\n")], start_new_session=True)
    breaches = []
    watchdog = Watchdog(process.pid, 2**40, 10, lambda what, now: breaches.append(what)).start()
    try:
        deadline = time.monotonic() + 20
        while not breaches and time.monotonic() < deadline:
            time.sleep(0.1)
        assert breaches == ["processes"]
    finally:
        watchdog.stop()
        _kill(process)
