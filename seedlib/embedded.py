"""The embedded default deployment: Airflow on SQLite under `<working dir>/.seed/airflow`, Spark local[*].

`environment()` returns the variables that must be set before Airflow is imported (by `seed run`,
`seed ui`, the tests). Values the user already set win, so the same commands work against a configured
Airflow too.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Mapping

from seedlib.sources.defaults import project_root


def seed_home(environ: Mapping[str, str], cwd: str | None = None) -> Path:
    """SEED_HOME if set, else `<working dir>/.seed`: Airflow's files and the default storage root."""
    return Path(environ.get("SEED_HOME") or Path(cwd or os.getcwd()) / ".seed").resolve()


def spark_connection(master: str) -> str:
    return json.dumps({"conn_type": "spark", "host": master, "extra": {"deploy-mode": "client"}})


# What `seed ui` runs (`airflow ARGS`): the components `airflow standalone` starts. Their own log servers
# are turned off: Airflow 3.3 binds them to all interfaces with no setting for the address
# (airflow/utils/serve_logs/core.py passes host=""). `seed ui` runs Airflow's log server app on 127.0.0.1
# instead (log_server_command), and every component names this machine 127.0.0.1 (loopback_hostname),
# which is where the API server then fetches a running task's log from.
UI_COMPONENTS = {
    "scheduler": ["scheduler", "--skip-serve-logs"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer", "--skip-serve-logs"],
    "api-server": ["api-server"],
}


def log_server_command(port: int) -> list[str]:
    """Airflow's log server (worker and trigger logs: both are files in the local log folder) on loopback."""
    uvicorn = str(Path(sys.executable).parent / "uvicorn")
    return [uvicorn, "airflow.utils.serve_logs.log_server:get_app", "--factory", "--host", "127.0.0.1",
            "--port", str(port), "--no-access-log"]


def loopback_hostname() -> str:
    """[core] hostname_callable of the embedded deployment: one machine, reached on loopback."""
    return "127.0.0.1"


def environment(base: Mapping[str, str], *, home: Path, spark_master: str = "local[*]",
                api_port: int | None = None, log_port: int | None = None) -> dict[str, str]:
    """The environment for an embedded Airflow + Spark, layered over `base` (user settings win).

    api_port/log_port (`seed ui`): the API server's port, and the port of the loopback log server.
    """
    venv_bin = str(Path(sys.executable).parent)
    defaults = {
        "AIRFLOW_HOME": str(home / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(project_root() / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        # timeout: wait up to 60 s for SQLite's lock instead of failing after 5 s when the scheduler, the
        # dag-processor and an `airflow backfill create` write at the same moment.
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow' / 'airflow.db'}?timeout=60",
        "AIRFLOW_CONN_SPARK_LOCAL": spark_connection(spark_master),
        # LocalExecutor forks [core] parallelism worker processes up front (Airflow's default: 32); size
        # it to the machine. Every listener on loopback: also the scheduler's health check server, which
        # binds 0.0.0.0 by default when a user enables it ([scheduler] enable_health_check).
        "AIRFLOW__CORE__PARALLELISM": str(max(2, os.cpu_count() or 2)),
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": "127.0.0.1",
        "SEED_HOME": str(home),
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYTHONUNBUFFERED": "1",
    }
    if api_port is not None:
        base_url = f"http://127.0.0.1:{api_port}"
        defaults.update({
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(api_port),
            "AIRFLOW__API__BASE_URL": base_url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
            # Local, loopback-only UI: everyone who can reach it is the admin (no generated password).
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        })
    if log_port is not None:
        defaults.update({"AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(log_port),
                         "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(log_port),
                         # the host the API server fetches a running task's log from
                         "AIRFLOW__CORE__HOSTNAME_CALLABLE": f"{__name__}.loopback_hostname"})
    env = dict(base)
    for key, value in defaults.items():
        env.setdefault(key, value)
    # spark-submit must be found on PATH (the provider runs it by name): put this venv's bin first.
    path = env.get("PATH", "")
    if venv_bin not in path.split(os.pathsep):
        env["PATH"] = venv_bin + (os.pathsep + path if path else "")
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    return env


def apply(env: Mapping[str, str]) -> None:
    """Set the environment in this process (before importing airflow)."""
    os.environ.update(env)
