"""`seed ui` starts a real Airflow (api-server, scheduler, dag-processor, triggerer on SQLite); a backfill
created with `airflow backfill create` over two dates publishes two snapshots. The README documents the
same commands."""

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

import pytest

from tests.repos import make_repo
from tests.test_cli import user_env

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
# The scheduling is under test here, not the stages: only crawl and exact_dedup (whose use of the dedup index
# shows whether the first date was published before the second read it) run; the others pass their input on.
SKIP = ["near_dedup", "syntax", "decontam", "quality", "repo_sequences", "commit_samples"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"seed ui exited ({proc.returncode}) while waiting for {what}:\n"
                                 + log.read_text()[-4000:])
        try:
            if predicate():
                return
        except (OSError, ValueError):
            pass
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {what}:\n" + log.read_text()[-4000:])


def test_backfill_two_dates_publishes_two_snapshots(tmp_path):
    repo = make_repo(tmp_path / "src" / "tiny", {"a.py": "a = 1\n", "b.py": "b = 2\n"})
    work = tmp_path / "work"
    work.mkdir()
    port = free_port()
    env = user_env(SEED_SOURCES=str(repo),
                   AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
                   AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(free_port()))
    log = tmp_path / "ui.log"
    with open(log, "w") as out:
        ui = subprocess.Popen([str(BIN / "seed"), "ui", "--port", str(port)], cwd=work, env=env,
                              stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        health = f"http://127.0.0.1:{port}/api/v2/monitor/health"

        def healthy() -> bool:
            with urllib.request.urlopen(health, timeout=5) as r:
                body = json.load(r)
            return all(body[c]["status"] == "healthy" for c in ("metadatabase", "scheduler", "dag_processor"))

        wait_for(healthy, 180, "Airflow to be healthy", ui, log)

        def airflow(*args: str) -> subprocess.CompletedProcess:  # as the README says: `seed airflow ...`
            return subprocess.run([str(BIN / "seed"), "airflow", *args], env=env, cwd=work,
                                  capture_output=True, text=True, timeout=120)

        # Snapshot dates 2026-05-01 and 2026-05-02: runs whose logical date lies in [from, to). The backfill
        # is created while the DAG is still paused (fewer concurrent writers on SQLite), then the DAG is
        # unpaused and the scheduler runs it. Until the dag-processor has parsed the DAG the command fails
        # ("not found"); on SQLite it can also meet "database is locked": both are retried.
        def create_backfill() -> bool:
            created = airflow("backfill", "create", "--dag-id", "seed_snapshot",
                              "--from-date", "2026-05-01", "--to-date", "2026-05-03",
                              "--dag-run-conf", json.dumps({"skip_stages": SKIP}))
            return created.returncode == 0 or "Another backfill is running" in created.stderr

        wait_for(create_backfill, 180, "the backfill to be created", ui, log)
        wait_for(lambda: airflow("dags", "unpause", "seed_snapshot").returncode == 0, 120,
                 "the DAG to be unpaused", ui, log)

        data = work / ".seed" / "data" / "snapshots"
        wanted = [data / f"dt={d}" / "_MANIFEST.json" for d in ("2026-05-01", "2026-05-02")]
        wait_for(lambda: all(p.is_file() for p in wanted), 900, "two backfilled snapshots", ui, log)
        first, second = (json.loads(p.read_text()) for p in wanted)
        assert first["stages"][0]["name"] == "crawl" and first["datasets"]["files"]["rows"] == 2
        # Backfill runs may overlap (a backfill has its own max_active_runs), so 05-02 saw 05-01 in the dedup
        # index only if 05-01 was published before 05-02's exact_dedup read it: then it holds nothing new.
        exact = next(s for s in second["stages"] if s["name"] == "exact_dedup")
        if exact["details"]["published_index"]["snapshots"] == 1:
            assert second["datasets"]["files"]["rows"] == 0 and exact["dropped"] == {"exact_duplicate": 2}
        else:
            assert second["datasets"]["files"]["rows"] == 2 and exact["dropped"] == {}
    finally:
        stop_group(ui)


def stop_group(proc: subprocess.Popen) -> None:
    """Stop `seed ui` and everything Airflow started under it (they share its process group)."""
    os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.5)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
