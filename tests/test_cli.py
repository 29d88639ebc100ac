"""The `seed` command as a user runs it: a subprocess in a fresh working directory (its own ./.seed)."""

from __future__ import annotations

import json

import os
import subprocess
import sys
import time
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


def test_unusable_storage_fails_fast_naming_endpoint_and_reason(tmp_path, s3_server):
    cases = [
        ({"SEED_S3_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"},
         "s3://bucket/seed", "could not connect to http://127.0.0.1:9"),
        ({"SEED_S3_ENDPOINT_URL": s3_server, "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
          "AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_SESSION_TOKEN": None},
         "s3://bucket/seed", "no credentials found"),
        ({"SEED_S3_ENDPOINT_URL": s3_server, "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"},
         "s3://no-such-bucket/seed", "bucket no-such-bucket does not exist"),
    ]
    for env, root, message in cases:
        started = time.monotonic()
        shell = {k: v for k, v in user_env(**{k: v for k, v in env.items() if v}).items() if env.get(k, "") is not None}
        out = seed("run", "--storage", root, cwd=tmp_path, env=shell, timeout=60)
        assert time.monotonic() - started < 30  # the probe's few attempts and short timeouts, not minutes
        assert out.returncode == 2, out.stderr
        assert f"storage {root} (endpoint {env['SEED_S3_ENDPOINT_URL']}) is not usable" in out.stderr
        assert message in out.stderr and "Traceback" not in out.stderr
        assert not (tmp_path / ".seed" / "airflow").exists()


@pytest.mark.slow
def test_run_status_gc_in_a_fresh_directory(tmp_path):
    repo = make_repo(tmp_path / "src" / "proj", {"main.py": "print(1)\n", "x.bin": b"\x00\x01"})
    work = tmp_path / "work"
    work.mkdir()
    # the scorer and the samples are left out to save time (the end-to-end DAG tests run them)
    skips = [arg for stage in ("quality", "repo_sequences", "commit_samples") for arg in ("--skip", stage)]
    run = seed("run", "--source", str(repo), "--date", "2026-04-01", *skips, cwd=work, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "snapshot 2026-04-01 published" in run.stdout
    # the compact view: one line per stage, Airflow's and Spark's output only in the log file
    [crawl_line] = [line for line in run.stdout.splitlines() if line.split()[:1] == ["crawl"] and " in " in line]
    assert crawl_line.split()[1:5] == ["2", "in", "1", "out"] and "binary=1" in crawl_line
    assert "INFO" not in run.stdout and "spark-submit" not in run.stdout
    [log] = (work / ".seed" / "logs").glob("run-*.log")
    assert f"full log: {log}" in run.stdout
    assert "[crawl] local/proj: ok, 1 files kept, 1 dropped" in log.read_text()
    manifest = work / ".seed" / "data" / "snapshots" / "dt=2026-04-01" / "_MANIFEST.json"
    assert manifest.is_file()
    published = manifest.read_bytes()
    # the DAG's publish step wrote the report and the dataset card beside the manifest; seed run names it
    report = manifest.parent / "report.html"
    assert f"report: {report}" in run.stdout and (manifest.parent / "README.md").is_file()
    assert "id=\"report-data\"" in report.read_text()

    # Bad input is refused before Airflow starts, and the published snapshot stays as it was.
    for args, message in [(["--source", str(tmp_path / "no-such-repo")], "no-such-repo does not exist"),
                          (["--language", "Pyhton"], "unknown language 'Pyhton'; did you mean 'Python'"),
                          (["--skip", "crawl"], "crawl cannot be skipped")]:
        bad = seed("run", *args, "--date", "2026-04-01", cwd=work, timeout=60)
        assert bad.returncode == 2 and message in bad.stderr and "Traceback" not in bad.stderr, bad.stderr
        assert manifest.read_bytes() == published
    assert len(list((work / ".seed" / "logs").glob("run-*.log"))) == 1  # no run was started

    status = seed("status", cwd=work)
    assert status.returncode == 0
    [row] = [line for line in status.stdout.splitlines() if line.startswith("2026-04-01")]
    assert row.split()[3:7] == ["1", "1", "1", "1"]  # new files, corpus, dropped, repos (after the age)
    again = seed("report", cwd=work)  # the latest snapshot's report, written again
    assert again.returncode == 0 and again.stdout.strip().splitlines()[-1] == str(report), again.stderr
    as_json = json.loads(seed("status", "--json", cwd=work).stdout)
    [snap] = as_json["snapshots"]
    assert (snap["snapshot"], snap["files"], snap["corpus"], snap["dropped"], snap["repos"]) == ("2026-04-01", 1, 1, 1, 1)
    assert [s["name"] for s in snap["stages"]][0] == "crawl" and snap["age_hours"] >= 0
    assert as_json["unfinished"] == [] and "latest" in as_json["scorer"]
    detail = seed("status", "--date", "2026-04-01", cwd=work)
    assert "crawl" in detail.stdout and "binary=1" in detail.stdout
    assert "files: 1 new in this snapshot, 1 in the corpus as of it" in detail.stdout

    gc = seed("gc", "--older-than-hours", "0", cwd=work)
    assert gc.returncode == 0 and gc.stdout.startswith("nothing to delete"), gc.stdout
