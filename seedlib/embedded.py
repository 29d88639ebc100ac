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


def environment(base: Mapping[str, str], *, home: Path, spark_master: str = "local[*]",
                api_port: int | None = None) -> dict[str, str]:
    """The environment for an embedded Airflow + Spark, layered over `base` (user settings win)."""
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
