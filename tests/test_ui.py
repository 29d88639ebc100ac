"""`seed ui` as a user runs it: every Airflow listener on loopback, and SIGTERM to `seed` stops all it started."""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request

import psutil
import pytest

from tests.test_cli import SEED, user_env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree(pid: int) -> list[psutil.Process]:
    """The process and all its descendants (seed ui is a subreaper: orphans stay in its tree)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def running(procs: list[psutil.Process]) -> list[str]:
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(f"{p.pid} {' '.join(p.cmdline())[:120]}")
        except psutil.NoSuchProcess:
            pass
    return out


def test_seed_ui_refuses_a_taken_port_before_starting_airflow(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run([SEED, "ui", "--port", str(port)], cwd=tmp_path, env=user_env(),
                             capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert f"seed ui: error: --port: 127.0.0.1:{port} is taken" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / ".seed" / "airflow").exists()  # refused before setting anything up


@pytest.mark.slow
def test_seed_ui_listens_on_loopback_only_and_sigterm_stops_everything(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    port = free_port()
    log = tmp_path / "ui.log"
    with open(log, "w") as out:
        ui = subprocess.Popen([SEED, "ui", "--port", str(port)], cwd=work, env=user_env(), stdout=out,
                              stderr=subprocess.STDOUT, start_new_session=True)
    seen: list[psutil.Process] = []
    try:
        # All four components up: the scheduler and the triggerer would have started their log servers.
        health = f"http://127.0.0.1:{port}/api/v2/monitor/health"
        deadline = time.monotonic() + 120
        while True:
            assert ui.poll() is None, f"seed ui exited ({ui.returncode}):\n{log.read_text()[-4000:]}"
            assert time.monotonic() < deadline, f"Airflow not healthy in 120 s:\n{log.read_text()[-4000:]}"
            try:
                with urllib.request.urlopen(health, timeout=5) as r:
                    body = json.load(r)
                if all(body[c]["status"] == "healthy"
                       for c in ("metadatabase", "scheduler", "triggerer", "dag_processor")):
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(1)

        seen = tree(ui.pid)
        groups = {os.getpgid(p.pid) for p in seen[1:]}
        assert os.getpgid(ui.pid) not in groups  # Airflow runs in a group of its own, not seed's
        listeners = []
        for p in seen:
            try:
                listeners += [(p.pid, p.name(), c.laddr.ip, c.laddr.port)
                              for c in p.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
            except psutil.NoSuchProcess:
                pass
        assert any(lport == port for *_, lport in listeners), listeners  # the API server, found
        log_servers = [p for p in seen if "serve_logs.log_server" in " ".join(p.cmdline())]
        assert log_servers and all(p.net_connections(kind="inet") for p in log_servers), listeners
        assert [lst for lst in listeners if not ipaddress.ip_address(lst[2]).is_loopback] == []
        # LocalExecutor forks [core] parallelism workers: sized to the machine, not Airflow's 32.
        workers = [p for p in seen if "LocalExecutor" in " ".join(p.cmdline())]
        assert 0 < len(workers) <= max(2, os.cpu_count() or 2)

        ui.send_signal(signal.SIGTERM)  # to seed only, as `kill PID` or a service manager would
        assert ui.wait(timeout=30) == 0, log.read_text()[-4000:]
        gone_by = time.monotonic() + 5  # everything was stopped before seed exited; allow for reaping
        while running(seen) and time.monotonic() < gone_by:
            time.sleep(0.2)
        assert running(seen) == []
        for pgid in groups:
            with pytest.raises(ProcessLookupError):
                os.killpg(pgid, 0)
        assert "Airflow stopped" in log.read_text()
    finally:
        for p in [*seen, *tree(ui.pid)]:
            try:
                p.kill()
            except psutil.Error:
                pass
        ui.kill()
        ui.wait(timeout=30)
