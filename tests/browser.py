"""Helpers for tests that use the Airflow UI in a real browser: Debian's Chromium (installed when absent),
`seed ui` as a user starts it, and its REST API for waiting on runs.

The browser is driven with Playwright's Python package, which bundles its driver; it is pointed at the
system's Chromium binary, so nothing is downloaded when the tests run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from tests.test_cli import SEED, user_env
from tests.test_ui import free_port, running, tree

# Settings of these tests, not of the pipeline, so not SEED_*: seedlib.config refuses an unknown SEED_*
# variable by name, and tests/conftest.py removes every SEED_* variable but SEED_HOME before tests run.
SKIP_ENV = "SKIP_BROWSER_TESTS"  # =1: skip the browser tests instead of failing when no Chromium can be had
CHROMIUM_ENV = "BROWSER_CHROMIUM"  # a Chromium binary to use instead of `chromium` on PATH
SCREENSHOTS_ENV = "BROWSER_SCREENSHOTS"  # a folder for the screenshots (default: the test's tmp_path)
APT_TIMEOUT_S = 900


def _found() -> str | None:
    if path := os.environ.get(CHROMIUM_ENV):
        if not os.access(path, os.X_OK):
            pytest.fail(f"{CHROMIUM_ENV}={path} is not an executable file", pytrace=False)
        return path
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _apt_get(*args: str) -> subprocess.CompletedProcess:
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Wait for another apt/dpkg (a parallel test run, unattended upgrades) instead of failing at once.
    return subprocess.run([*sudo, "apt-get", "-o", "DPkg::Lock::Timeout=300", *args], env=env,
                          capture_output=True, text=True, timeout=APT_TIMEOUT_S)


def _can_apt() -> str | None:
    """None when apt-get can install packages here, else why not."""
    if not shutil.which("apt-get"):
        return "apt-get is not available (not a Debian/Ubuntu machine)"
    if os.geteuid() != 0:
        if not shutil.which("sudo"):
            return "not running as root and sudo is not available"
        if subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode != 0:
            return "not running as root and sudo needs a password"
    return None


def chromium() -> str:
    """The path of a Chromium binary; Debian's `chromium` package is installed when none is found.

    Fails (never skips silently) when it cannot be had, unless SKIP_BROWSER_TESTS=1 is set."""
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"{SKIP_ENV}=1: the browser tests are skipped")
    if path := _found():
        return path
    why_not = _can_apt()
    if why_not is None:
        started = time.monotonic()
        install = ("install", "-y", "--no-install-recommends", "chromium")
        out = _apt_get(*install)
        if out.returncode != 0:  # stale or missing package lists on a fresh machine: update, then retry
            update = _apt_get("update")
            out = _apt_get(*install) if update.returncode == 0 else update
        if out.returncode == 0 and (path := _found()):
            print(f"browser tests: installed Debian's chromium in {time.monotonic() - started:.0f} s")
            return path
        why_not = f"`apt-get install chromium` failed (exit {out.returncode}):\n{(out.stdout + out.stderr)[-2000:]}"
    pytest.fail(f"the browser tests need Chromium and none could be installed: {why_not}\n"
                f"Install it (Debian: `apt-get install chromium`), point {CHROMIUM_ENV} at a Chromium binary, "
                f"or set {SKIP_ENV}=1 to skip these tests.", pytrace=False)


def screenshots_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def get_json(url: str, timeout: float = 10) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.load(r)


class SeedUI:
    """A running `seed ui`: its URL, its log, and what it has printed so far."""

    def __init__(self, proc: subprocess.Popen, url: str, log: Path):
        self.proc, self.url, self.log = proc, url, log

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def api(self, path: str, retry_s: float = 120) -> dict:
        """GET /api/v2/PATH; a busy API server (SQLite locked by the scheduler, a loaded machine) is
        asked again for up to retry_s. HTTP errors are answers and are raised at once."""
        deadline = time.monotonic() + retry_s
        while True:
            try:
                return get_json(f"{self.url}/api/v2/{path.lstrip('/')}", timeout=30)
            except urllib.error.HTTPError:
                raise
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise
                time.sleep(1)

    def wait_ready(self, dag_id: str, timeout: float = 240) -> None:
        """Every component healthy and `dag_id` parsed (the UI then lists it)."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while True:
            assert self.proc.poll() is None, f"seed ui exited ({self.proc.returncode}):\n{self.log_tail()}"
            try:
                health = self.api("monitor/health", retry_s=0)
                if all(health[c]["status"] == "healthy"
                       for c in ("metadatabase", "scheduler", "triggerer", "dag_processor")):
                    self.api(f"dags/{dag_id}", retry_s=0)  # 404 until the dag-processor has parsed it
                    return
                last = json.dumps(health)
            except urllib.error.HTTPError as e:
                last = f"HTTP {e.code} for {e.url}"
            except (OSError, ValueError, KeyError) as e:
                last = repr(e)
            assert time.monotonic() < deadline, (f"Airflow not ready with {dag_id} in {timeout:.0f} s "
                                                 f"(last: {last}):\n{self.log_tail()}")
            time.sleep(1)

    def wait_run(self, dag_id: str, run_id: str, timeout: float) -> dict:
        """The run once it has finished (success or failed), polled through the REST API the UI reads."""
        quoted = urllib.parse.quote(run_id, safe="")
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc.poll() is None, f"seed ui exited ({self.proc.returncode}):\n{self.log_tail()}"
            run = self.api(f"dags/{dag_id}/dagRuns/{quoted}")
            if run["state"] in ("success", "failed"):
                return run
            assert time.monotonic() < deadline, (f"run {run_id} still {run['state']} after {timeout:.0f} s: "
                                                 f"{self.task_states(dag_id, run_id)}\n{self.log_tail()}")
            time.sleep(2)

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        quoted = urllib.parse.quote(run_id, safe="")
        tis = self.api(f"dags/{dag_id}/dagRuns/{quoted}/taskInstances")["task_instances"]
        return {t["task_id"]: t["state"] for t in tis}


@contextmanager
def seed_ui(work: Path, log: Path, **env: str) -> Iterator[SeedUI]:
    """`seed ui` on a free port in `work` (its own ./.seed), as a user starts it; stopped with SIGTERM on
    the way out, whatever happened, and anything it left is killed."""
    port = free_port()
    with open(log, "w") as out:
        proc = subprocess.Popen([SEED, "ui", "--port", str(port)], cwd=work, env=user_env(**env), stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    failed = False
    try:
        yield SeedUI(proc, f"http://127.0.0.1:{port}", log)
    except BaseException:
        failed = True
        raise
    finally:
        seen = tree(proc.pid)
        problem = None
        if proc.poll() is not None:
            problem = f"seed ui exited on its own (code {proc.returncode})"
        else:
            proc.send_signal(signal.SIGTERM)  # to seed only: it stops everything it started, then exits
            try:
                if (rc := proc.wait(timeout=60)) != 0:
                    problem = f"seed ui exited with code {rc} on SIGTERM"
            except subprocess.TimeoutExpired:
                problem = "seed ui did not exit within 60 s of SIGTERM"
            gone_by = time.monotonic() + 5  # everything was stopped before seed exited; allow for reaping
            while running(seen) and time.monotonic() < gone_by:
                time.sleep(0.2)
            if not problem and (left := running(seen)):
                problem = f"seed ui left processes behind after SIGTERM: {left}"
        for p in [*seen, *tree(proc.pid)]:  # whatever is left, the test's failure or not
            try:
                p.kill()
            except Exception:  # psutil.Error: already gone
                pass
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        if problem and not failed:  # never hide the test's own failure behind this one
            raise AssertionError(f"{problem}:\n{log.read_text(errors='replace')[-4000:]}")
