"""Attacks on the judge's limits per learner as a whole (issue #19, class 5), as data.

The per-process limits (address space, CPU time) bound each process; these attacks stay under
every one of them and still cost the instructor's machine: several processes each holding
memory under the per-process limit, one process over the notebook's total but under its own
limit, and a submission whose every cell and call sleeps just under its own time limit.
Same shape as tests/attacks/toy_attacks.py: ``base`` is the honest notebook the attack starts
from (``half``: only ``double`` written, worth 3; ``blank``: worth 0), ``prelude`` goes at the
top of the mean_square answer cell, ``bodies`` replace answer functions' bodies.
Placeholders: {HOLD_MB} (what each process holds), {SLEEP_CELL}, {SLEEP_CALL} (seconds, just
under the cell's and the call's limits).
"""

# Five processes (the runner's children), each touching {HOLD_MB} MB and keeping it until all
# five hold theirs: each under the per-process address-space limit, together over the total.
FIVE_PROCESSES = """
import os
import time

import numpy as np

children = []
for _ in range(5):
    ready_read, ready_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(ready_read)
        held = np.ones({HOLD_MB} * 2**20 // 8)
        os.write(ready_write, b"x")
        time.sleep(6)
        os._exit(0)
    os.close(ready_write)
    children.append((pid, ready_read))
for pid, ready_read in children:
    os.read(ready_read, 1)
time.sleep(3)
for pid, _ in children:
    os.waitpid(pid, 0)
"""

# One process over the notebook's total, under its own address-space limit.
ONE_PROCESS = """
import time

import numpy as np

held = np.ones(5 * {HOLD_MB} * 2**20 // 8)
time.sleep(3)
del held
"""

SLOW_CELL = "import time\n\ntime.sleep({SLEEP_CELL})\n"
SLOW_CALL = "    import time\n\n    time.sleep({SLEEP_CALL})\n"

ATTACKS = [
    {"id": "memory-five-processes", "family": "five processes, each under the per-process "
     "memory limit, together over the total", "base": "half", "prelude": FIVE_PROCESSES},
    {"id": "memory-one-process", "family": "one process over the total, under its own limit",
     "base": "half", "prelude": ONE_PROCESS},
    {"id": "slow-everywhere", "family": "every cell and call sleeps just under its limit",
     "base": "half", "prelude": SLOW_CELL,
     "bodies": {"double": SLOW_CALL + "    return 2 * x",
                "mean_square": SLOW_CALL + "    raise NotImplementedError()"}},
]
