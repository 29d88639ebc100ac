"""Processes this process owns, in process groups of their own: what `seed ui` runs Airflow in.

Commands started through a :class:`Group` join new process groups (never this process's, so a Ctrl-C in
the terminal reaches only `seed`, which then stops them in order). Commands started with `last=True`
share a second group that is stopped only after the first is gone: `seed ui` puts the API server there,
because stopping tasks report their final state through it. `stop()` sends SIGTERM to the first group
(once to each member: a second SIGTERM makes Airflow's components skip their graceful shutdown), waits,
then to the last group, and after the grace period SIGKILLs whatever is left: in either group or
anywhere below this process. This process is made a child subreaper (Linux), so processes whose parent
died are re-parented to it rather than to init and stay "below" it; that matters because Airflow's task
supervisor moves each task into a process group of its own. Use a Group in a process that starts nothing
else: all of the process's descendants are taken as the group's.
"""

from __future__ import annotations

import collections
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Mapping, Sequence

import psutil  # a dependency of Airflow, so always in the environment that runs Airflow

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>


class Stop(Exception):
    """Raised in the main thread when this process receives one of STOP_SIGNALS (see raise_stop)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def raise_stop(signum: int, frame: object) -> None:
    """A signal handler: turn the signal into a Stop exception in the main thread."""
    raise Stop(signum)


class Group:
    """Commands stopped together, in order; use as a context manager (leaving it stops them)."""

    def __init__(self, grace_s: float = 10.0, out=None, label: str = "seed") -> None:
        self.grace_s, self.label = grace_s, label
        self.out = out or sys.stdout
        self.procs: dict[str, subprocess.Popen] = {}
        self.tails: dict[str, collections.deque[str]] = {}
        self.pgids: dict[bool, int] = {}  # last? -> process group id (that of its first command)
        self._lock = threading.Lock()
        if sys.platform.startswith("linux"):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

    def __enter__(self) -> Group:
        return self

    def __exit__(self, *exc: object) -> None:
        hurry = False
        while True:  # a signal that arrives before stop() has taken over the handlers: start again, faster
            try:
                return self.stop(hurry)
            except Stop:
                hurry = True

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str], echo: bool = True,
              last: bool = False) -> None:
        """Start argv; its output goes to `out` prefixed with name (echo), the last lines to tail(name)."""
        proc = subprocess.Popen(list(argv), env=dict(env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, process_group=self.pgids.get(last, 0))
        self.pgids.setdefault(last, proc.pid)  # the first command leads its group; the others join it
        self.procs[name] = proc
        self.tails[name] = collections.deque(maxlen=40)
        threading.Thread(target=self._pump, args=(name, proc, echo), daemon=True).start()

    def _pump(self, name: str, proc: subprocess.Popen, echo: bool) -> None:
        for raw in proc.stdout:  # until the command and everything sharing its stdout exit
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.tails[name].append(line)
            if echo:
                with self._lock:
                    try:
                        print(f"{name:<13} | {line}", file=self.out, flush=True)
                    except (OSError, ValueError):  # our stdout is gone: keep draining the pipe
                        pass

    def tail(self, name: str) -> str:
        return "\n".join(self.tails[name])

    def wait(self, name: str) -> int:
        return self.procs[name].wait()

    def exited(self) -> tuple[str, int] | None:
        """(name, exit code) of a command that has exited, if any."""
        self._reap()
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                return name, proc.returncode
        return None

    # --- stopping ---------------------------------------------------------------------------------

    def _reap(self) -> None:
        """Collect exited children: ours through Popen, adopted orphans directly."""
        ours = {p.pid for p in self.procs.values()}
        for proc in self.procs.values():
            proc.poll()
        try:
            children = psutil.Process().children()
        except psutil.Error:
            children = []
        for child in children:
            if child.pid not in ours:
                try:
                    os.waitpid(child.pid, os.WNOHANG)
                except ChildProcessError:
                    pass

    @staticmethod
    def _descendants() -> list[psutil.Process]:
        try:
            return [p for p in psutil.Process().children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE]
        except psutil.Error:
            return []

    @staticmethod
    def _group_alive(pgid: int) -> bool:
        try:
            os.killpg(pgid, 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:  # a member we may not signal is still a member
            return True

    def alive(self, last: bool | None = None) -> bool:
        """Whether a process of the group (`last` or not; None: either, or any descendant) still runs."""
        self._reap()
        pgids = list(self.pgids.values()) if last is None else [self.pgids[last]] if last in self.pgids else []
        if any(self._group_alive(pgid) for pgid in pgids):
            return True
        return last is None and bool(self._descendants())

    def _killpg(self, sig: signal.Signals, last: bool) -> None:
        if last in self.pgids:
            try:
                os.killpg(self.pgids[last], sig)
            except (ProcessLookupError, PermissionError):
                pass

    def stop(self, hurry_now: bool = False) -> None:
        """SIGTERM to the first group, then to the last; SIGKILL to everything left after grace_s (at
        once on a second signal)."""
        hurry = threading.Event()
        if hurry_now:
            hurry.set()
        previous = {}
        if threading.current_thread() is threading.main_thread():
            previous = {s: signal.signal(s, lambda *_: hurry.set()) for s in STOP_SIGNALS}

        def wait_until_gone(last: bool | None, deadline: float) -> None:
            while self.alive(last) and time.monotonic() < deadline and not hurry.is_set():
                time.sleep(0.1)

        try:
            running = [name for name, proc in self.procs.items() if proc.poll() is None]
            if running:
                try:
                    print(f"{self.label}: stopping {', '.join(running)} (SIGTERM, then SIGKILL after "
                          f"{self.grace_s:g} s)", file=self.out, flush=True)
                except (OSError, ValueError):  # no terminal any more (SIGHUP): stop all the same
                    pass
            deadline = time.monotonic() + self.grace_s
            for last in (False, True):
                self._killpg(signal.SIGTERM, last)
                wait_until_gone(last, deadline)
            wait_until_gone(None, deadline)  # e.g. tasks, in groups of their own, still finishing
            if self.alive():
                for last in (False, True):
                    self._killpg(signal.SIGKILL, last)
                for p in self._descendants():
                    try:
                        p.kill()
                    except psutil.Error:
                        pass
                deadline = time.monotonic() + 5
                while self.alive() and time.monotonic() < deadline:
                    time.sleep(0.05)
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
