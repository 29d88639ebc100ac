"""The embedded default deployment: Airflow on SQLite under `<working dir>/.seed/airflow`, Spark local[*].

`environment()` returns the variables that must be set before Airflow is imported (by `seed run`,
`seed ui`, the tests). Values the user already set win, so the same commands work against a configured
Airflow too.
"""

from __future__ import annotations

import json
import os
import re
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


# ---------- is the Spark master there? ----------
# A master that nothing answers for makes spark-submit wait and retry for a minute or more per stage
# (standalone: three registration attempts 20 s apart; YARN: the client's connect retries), then fail with
# a JVM stack trace. A TCP connect with a short timeout, before any of that, says which master and which
# key, in seconds. The local masters (local, local[N], local[N,F], local-cluster[...]) need nothing.

SPARK_MASTER_PORT, YARN_RM_PORT = 7077, 8032
_MASTER_HELP = ("start it, or set spark_master (SEED_SPARK_MASTER) to a running master: local[N], "
                "spark://HOST:PORT, yarn or k8s://https://HOST:PORT")


def check_spark_master(master: str, environ: Mapping[str, str], timeout_s: float = 3.0,
                       connection: str | None = None) -> None:
    """Raise ConfigError naming the master and `spark_master` unless one of its addresses accepts a TCP
    connection within `timeout_s` (a host name that does not resolve fails at once). `connection`: the
    Airflow connection the master comes from, named in the message (spark-submit's)."""
    from seedlib.sections import ConfigError

    where = f"the Spark master {master}" + (f" (Airflow connection {connection})" if connection else "")
    endpoints, source = spark_master_endpoints(master, environ)
    if not endpoints:
        return
    reasons = []
    for host, port in endpoints:
        reason = _tcp_reason(host, port, timeout_s)
        if reason is None:
            return
        reasons.append(reason)
    via = f" (its ResourceManager from {source})" if source else ""
    raise ConfigError(f"spark_master: {where}{via} is not reachable: {'; '.join(reasons)}; {_MASTER_HELP}")


def spark_master_endpoints(master: str, environ: Mapping[str, str]) -> tuple[list[tuple[str, int]], str | None]:
    """(host, port) pairs a master URL is reached at (any one answering is enough: standalone HA lists
    several, YARN HA several ResourceManagers), and the file they came from for YARN; ([], None) for the
    local masters. ConfigError for a URL that is none of the forms Spark 4 accepts."""
    from seedlib.sections import ConfigError

    m = master.strip()
    if m == "local" or m.startswith(("local[", "local-cluster[")):
        return [], None
    if m.startswith("spark://"):
        hosts = m[len("spark://"):].split("/", 1)[0]
        return [_host_port(h, SPARK_MASTER_PORT, master) for h in hosts.split(",") if h], None
    if m.startswith("k8s://"):
        api = m[len("k8s://"):]
        scheme, _, rest = api.partition("://") if "://" in api else ("https", "", api)
        return [_host_port(rest.split("/", 1)[0], 443 if scheme == "https" else 80, master)], None
    if m in ("yarn", "yarn-client", "yarn-cluster"):
        return _yarn_resourcemanagers(environ)
    raise ConfigError(f"spark_master: {master!r} is not a Spark master URL: expected local[N], spark://HOST:PORT, "
                      "yarn or k8s://https://HOST:PORT")


def _host_port(text: str, default_port: int, master: str) -> tuple[str, int]:
    from seedlib.sections import ConfigError

    host, sep, port = text.rpartition(":") if not text.endswith("]") else (text, "", "")
    if not sep:
        host, port = text, ""
    host = host.strip("[]")
    if not host or (port and not port.isdigit()):
        raise ConfigError(f"spark_master: {master!r}: expected HOST:PORT after the scheme, got {text!r}")
    return host, int(port) if port else default_port


def _yarn_resourcemanagers(environ: Mapping[str, str]) -> tuple[list[tuple[str, int]], str | None]:
    """The ResourceManager addresses of yarn-site.xml in YARN_CONF_DIR or HADOOP_CONF_DIR (where
    spark-submit reads them from; without either it refuses master yarn)."""
    import xml.etree.ElementTree as ET

    from seedlib.sections import ConfigError

    folders = [environ[k] for k in ("YARN_CONF_DIR", "HADOOP_CONF_DIR") if environ.get(k)]
    if not folders:
        raise ConfigError("spark_master: yarn needs HADOOP_CONF_DIR or YARN_CONF_DIR set to the folder with "
                          "the cluster's yarn-site.xml (where spark-submit finds the ResourceManager)")
    site = next((Path(f) / "yarn-site.xml" for f in folders if (Path(f) / "yarn-site.xml").is_file()), None)
    if site is None:
        return [("0.0.0.0", YARN_RM_PORT)], f"Hadoop's default (no yarn-site.xml in {', '.join(folders)})"
    try:
        props = {p.findtext("name", "").strip(): p.findtext("value", "").strip()
                 for p in ET.parse(site).getroot().iter("property")}
    except (ET.ParseError, OSError) as e:
        raise ConfigError(f"spark_master: yarn: cannot read {site}: {e}") from None

    def value(name: str, default: str) -> str:
        text = props.get(name) or default
        for _ in range(5):  # Hadoop's ${name} substitution, e.g. ${yarn.resourcemanager.hostname}:8032
            text = re.sub(r"\$\{([^}]+)\}", lambda g: props.get(g.group(1), "0.0.0.0" if g.group(1).endswith(
                "hostname") else ""), text)
        return text

    ids = [i.strip() for i in props.get("yarn.resourcemanager.ha.rm-ids", "").split(",") if i.strip()]
    ha = props.get("yarn.resourcemanager.ha.enabled", "").lower() == "true" and ids
    suffixes = [f".{i}" for i in ids] if ha else [""]
    out = []
    for s in suffixes:
        host = value(f"yarn.resourcemanager.hostname{s}", value("yarn.resourcemanager.hostname", "0.0.0.0"))
        out.append(_host_port(value(f"yarn.resourcemanager.address{s}", f"{host}:{YARN_RM_PORT}"), YARN_RM_PORT,
                              "yarn"))
    return out, str(site)


def _tcp_reason(host: str, port: int, timeout_s: float) -> str | None:
    """None if host:port accepts a TCP connection within the timeout, else why not, in words."""
    import concurrent.futures
    import socket

    # getaddrinfo has no timeout of its own: resolve in a helper thread and stop waiting after timeout_s
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        addresses = pool.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM).result(timeout_s)
    except concurrent.futures.TimeoutError:
        return f"{host} did not resolve within {timeout_s:g} s"
    except socket.gaierror:
        return f"host {host} does not resolve"
    finally:
        pool.shutdown(wait=False)
    last = "no address"
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as s:
            s.settimeout(timeout_s)
            try:
                s.connect(address)
                return None
            except socket.timeout:
                last = f"{host}:{port} did not answer within {timeout_s:g} s"
            except OSError as e:
                last = f"{host}:{port}: {(e.strerror or str(e)).lower()}"
    return last
