"""A real Spark standalone cluster for tests: one master and N workers, each its own JVM, from the
installed pyspark (`bin/spark-class org.apache.spark.deploy.master.Master` / `...worker.Worker`).

    with StandaloneCluster(tmp_path, workers=2) as cluster:
        cluster.url          # spark://127.0.0.1:PORT, for spark_master
        cluster.state()      # the master's JSON (workers, active and completed applications)
        cluster.executor_dirs()   # worker -> the executor folders (app-ID/EXECUTOR) under its work dir

Everything listens on 127.0.0.1 only; each worker has its own work dir (SPARK_WORKER_DIR) under the
given folder, where its executors' stdout/stderr land. `stop()` (also on any failure while starting, and
when the `with` block ends) stops every JVM it started and the executors under them: SIGTERM to each
process group, SIGKILL after a grace period, then a check that none of them is left.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Mapping

import psutil

def spark_class() -> Path:
    """bin/spark-class of the installed pyspark (found without importing pyspark)."""
    import importlib.util

    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pyspark is not installed in this environment")
    path = Path(next(iter(spec.submodule_search_locations))) / "bin" / "spark-class"
    if not path.is_file():
        raise RuntimeError(f"{path} not found: this pyspark has no launcher scripts")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StandaloneCluster:
    """A Spark standalone master with `workers` workers of `cores` cores and `memory` each."""

    def __init__(self, folder: Path, workers: int = 2, cores: int = 1, memory: str = "1g",
                 env: Mapping[str, str] | None = None, start_timeout_s: float = 120.0) -> None:
        self.folder = Path(folder)
        self.workers, self.cores, self.memory = workers, cores, memory
        self.start_timeout_s = start_timeout_s
        self.port, self.webui_port = free_port(), free_port()
        self.url = f"spark://127.0.0.1:{self.port}"
        self.webui = f"http://127.0.0.1:{self.webui_port}"
        self.worker_dirs = [self.folder / f"worker-{i}" for i in range(workers)]
        self.logs = self.folder / "logs"
        base = dict(os.environ if env is None else env)
        # The JVMs and the executors they start inherit this: loopback only, the driver's Python for the
        # executors' Python workers, no REST submission server (Spark 4 starts one on port 6066 by default:
        # it would collide with another cluster on the machine and is not needed).
        self.env = {**base, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_MASTER_HOST": "127.0.0.1",
                    "PYSPARK_PYTHON": base.get("PYSPARK_PYTHON", sys.executable),
                    "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false",
                    "SPARK_WORKER_OPTS": "-Dspark.worker.cleanup.enabled=false"}
        self.procs: list[subprocess.Popen] = []

    # ---------- lifecycle ----------

    def __enter__(self) -> "StandaloneCluster":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        launcher = str(spark_class())
        try:
            self._spawn("master", [launcher, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                                   "--port", str(self.port), "--webui-port", str(self.webui_port)], self.env)
            for i, work in enumerate(self.worker_dirs):
                work.mkdir(parents=True, exist_ok=True)
                self._spawn(f"worker-{i}", [launcher, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                                            "--cores", str(self.cores), "--memory", self.memory,
                                            "--webui-port", str(free_port()), "--work-dir", str(work), self.url],
                            {**self.env, "SPARK_WORKER_DIR": str(work)})
            self._wait_for_workers()
        except BaseException:
            self.stop()
            raise

    def _spawn(self, name: str, cmd: list[str], env: Mapping[str, str]) -> None:
        with open(self.logs / f"{name}.log", "ab") as out:
            # a session of its own: stop() signals the whole group (the JVM and any executor it forked)
            self.procs.append(subprocess.Popen(cmd, env=dict(env), stdout=out, stderr=subprocess.STDOUT,
                                               stdin=subprocess.DEVNULL, start_new_session=True))

    def _wait_for_workers(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        alive = 0
        while time.monotonic() < deadline:
            for proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"a Spark daemon exited with {proc.returncode} while starting: "
                                       f"{' '.join(proc.args[1:3])}\n{self.log_tail()}")
            try:
                alive = sum(w.get("state") == "ALIVE" for w in self.state().get("workers", []))
            except OSError:
                alive = 0
            if alive >= self.workers:
                return
            time.sleep(0.5)
        raise RuntimeError(f"{alive} of {self.workers} Spark workers registered with {self.url} within "
                           f"{self.start_timeout_s:.0f} s\n{self.log_tail()}")

    def stop(self, grace_s: float = 15.0) -> None:
        """Stop every daemon and what runs under it; raise if a process is still alive afterwards."""
        tree: list[psutil.Process] = []
        for proc in self.procs:
            try:
                parent = psutil.Process(proc.pid)
                tree += [parent, *parent.children(recursive=True)]
            except psutil.NoSuchProcess:
                pass
        for proc in reversed(self.procs):  # workers first, then the master
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        _, alive = psutil.wait_procs(tree, timeout=grace_s)
        for p in alive:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        _, still = psutil.wait_procs(alive, timeout=5)
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.procs.clear()
        if still:
            raise RuntimeError(f"Spark processes still running after SIGKILL: {[p.pid for p in still]}")

    def pids(self) -> list[int]:
        """The daemons and every process under them that is running now."""
        out = []
        for proc in self.procs:
            try:
                parent = psutil.Process(proc.pid)
                out += [parent.pid, *(c.pid for c in parent.children(recursive=True))]
            except psutil.NoSuchProcess:
                pass
        return out

    # ---------- what the cluster did ----------

    def state(self) -> dict:
        """The master's JSON view (http://127.0.0.1:W/json/): workers, activeapps, completedapps."""
        with urllib.request.urlopen(f"{self.webui}/json/", timeout=5) as r:
            return json.load(r)

    def executor_dirs(self) -> dict[str, list[Path]]:
        """Worker work dir name -> its executor folders (`app-ID/EXECUTOR_ID`, holding stdout/stderr)."""
        return {work.name: sorted(p for p in work.glob("app-*/*") if p.is_dir()) for work in self.worker_dirs}

    def log_tail(self, chars: int = 3000) -> str:
        parts = []
        for log in sorted(self.logs.glob("*.log")):
            parts.append(f"--- {log.name}\n{log.read_text(errors='replace')[-chars:]}")
        return "\n".join(parts)
