"""seedlib.processes.Group, in a child Python (it makes its process a subreaper and owns all descendants)."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil

SCRIPT = """
import time, psutil
from seedlib.processes import Group

env = {"PATH": "/usr/bin:/bin"}
with Group(grace_s=1, label="test") as group:
    # Ignores SIGTERM (and so do its children), and starts one that leaves the group (a new session).
    group.start("stubborn", ["sh", "-c", "trap '' TERM; setsid sleep 300 & sleep 300"], env)
    group.start("polite", ["sleep", "300"], env, last=True)
    while len(psutil.Process().children(recursive=True)) < 4:
        time.sleep(0.05)
    print(" ".join(str(p.pid) for p in psutil.Process().children(recursive=True)), flush=True)
print("stopped", flush=True)
"""


def test_stop_leaves_nothing_behind_even_processes_that_ignore_sigterm_or_leave_the_group():
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - start
    assert out.returncode == 0, out.stderr
    pids_line, *rest = out.stdout.splitlines()
    assert "test: stopping stubborn, polite (SIGTERM, then SIGKILL after 1 s)" in rest and rest[-1] == "stopped"
    pids = [int(p) for p in pids_line.split()]
    assert len(pids) == 4  # sh, its two sleeps, the polite sleep
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    assert alive == []
    assert elapsed < 15  # SIGKILL after the 1 s grace, not a hang
