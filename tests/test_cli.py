"""The `seed` command as a user runs it: a subprocess in a fresh working directory (its own ./.seed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.repos import make_repo

SEED = str(Path(sys.executable).parent / "seed")


def user_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: none of the test session's Airflow/Seed settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIRFLOW", "SEED_", "PYSPARK", "SPARK_"))}
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"  # the venv is not activated
    env.update(extra)
    return env


def seed(*args: str, cwd: Path, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([SEED, *args], cwd=cwd, env=env or user_env(), capture_output=True, text=True,
                          timeout=timeout)


def test_help_lists_commands(tmp_path):
    out = seed("--help", cwd=tmp_path)
    assert out.returncode == 0
    for command in ("run", "ui", "airflow", "status", "gc"):
        assert command in out.stdout
    run_help = seed("run", "--help", cwd=tmp_path)
    assert "--source" in run_help.stdout and "--date" in run_help.stdout


@pytest.mark.parametrize("args,env,message", [
    (["run", "--date", "2026-02-30"], {}, "--date: '2026-02-30' is not a real calendar date"),
    (["status"], {"SEED_MAX_FILE_BYTES": "abc"}, "max_file_bytes (from environment SEED_MAX_FILE_BYTES)"),
    (["status", "--storage", "ftp://x"], {}, "storage: expected file:///abs/path"),
    (["run", "--source", "github:stars:>10"], {}, "sources: 'github:stars:>10'"),
])
def test_bad_input_exits_2_naming_the_key(tmp_path, args, env, message):
    out = seed(*args, cwd=tmp_path, env=user_env(**env))
    assert out.returncode == 2, out.stderr
    assert message in out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / ".seed" / "airflow").exists()  # failed before starting Airflow


@pytest.mark.slow
def test_run_status_gc_in_a_fresh_directory(tmp_path):
    repo = make_repo(tmp_path / "src" / "proj", {"main.py": "print(1)\n", "x.bin": b"\x00\x01"})
    work = tmp_path / "work"
    work.mkdir()
    run = seed("run", "--source", str(repo), "--date", "2026-04-01", cwd=work, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "snapshot 2026-04-01 published" in run.stdout
    assert "[crawl] local/proj: ok, 1 files kept, 1 dropped" in run.stdout + run.stderr
    manifest = work / ".seed" / "data" / "snapshots" / "dt=2026-04-01" / "_MANIFEST.json"
    assert manifest.is_file()

    status = seed("status", cwd=work)
    assert status.returncode == 0
    [row] = [line for line in status.stdout.splitlines() if line.startswith("2026-04-01")]
    assert row.split()[2:5] == ["1", "1", "1"]  # files, dropped, repos
    detail = seed("status", "--date", "2026-04-01", cwd=work)
    assert "crawl" in detail.stdout and "binary=1" in detail.stdout

    gc = seed("gc", "--older-than-hours", "0", cwd=work)
    assert gc.returncode == 0 and gc.stdout.startswith("nothing to delete"), gc.stdout
