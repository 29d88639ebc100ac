"""Beyond one machine: `seed run` on a real Spark standalone cluster with S3 between the stages, and the
checks that make bad infrastructure fail in seconds with a message naming what is missing.

The cluster test (slow) starts a master and two one-core workers as JVMs of their own
(tests/spark_cluster.py), runs `seed run` against them with an s3:// root on moto, runs the same sources on
local[2] with a local root, and compares every published dataset row by row. The fail-fast tests are fast:
an unreachable master (spark://, k8s://, yarn), a missing bucket, and credentials S3 refuses (moto_server
with its IAM authentication switched on, so the errors are S3's own on the wire).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seedlib import manifest
from seedlib.config import ConfigError, load_config
from seedlib.embedded import check_spark_master, spark_master_endpoints
from seedlib.run import prepare_run, storage_for
from seedlib.storage import S3Settings, StorageError, open_storage, probe
from tests.repos import git, make_repo
from tests.s3 import DUMMY_ENV, _stop
from tests.spark_cluster import StandaloneCluster, free_port
from tests.test_cli import SEED, user_env

DATE = "2026-06-01"
SHARED = "def shared(x):\n    return x * 2\n"


def dead_master() -> str:
    """A spark:// URL on loopback where nothing listens (the port was free a moment ago)."""
    return f"spark://127.0.0.1:{free_port()}"


# ---------- an unreachable Spark master ----------

def test_unreachable_standalone_master_fails_in_seconds_naming_url_and_key():
    master = dead_master()
    started = time.monotonic()
    with pytest.raises(ConfigError) as e:
        check_spark_master(master, {}, timeout_s=2)
    assert time.monotonic() - started < 3
    message = str(e.value)
    assert message.startswith("spark_master: ") and master in message and "connection refused" in message


def test_master_host_that_does_not_resolve_fails_at_once():
    for master in ("k8s://https://kube-api.no-such-host.invalid:6443", "spark://spark-master.no-such-host.invalid:7077"):
        started = time.monotonic()
        with pytest.raises(ConfigError, match="does not resolve") as e:
            check_spark_master(master, {}, timeout_s=2)
        assert time.monotonic() - started < 3 and master in str(e.value) and "spark_master" in str(e.value)


def test_reachable_and_local_masters_pass():
    with socket.socket() as listener:  # anything accepting TCP is "there": spark-submit takes it from here
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        check_spark_master(f"spark://127.0.0.1:{port}", {})
        # standalone HA: one live master of the list is enough
        check_spark_master(f"spark://127.0.0.1:{free_port()},127.0.0.1:{port}", {})
    for local in ("local", "local[2]", "local[*]", "local[4,2]", "local-cluster[2,1,1024]"):
        check_spark_master(local, {})


def test_master_urls_parse_to_the_addresses_spark_connects_to():
    assert spark_master_endpoints("spark://a:7078,b", {}) == ([("a", 7078), ("b", 7077)], None)
    assert spark_master_endpoints("k8s://https://api.example:6443", {}) == ([("api.example", 6443)], None)
    assert spark_master_endpoints("k8s://api.example", {}) == ([("api.example", 443)], None)  # https by default
    assert spark_master_endpoints("k8s://http://127.0.0.1:8001", {}) == ([("127.0.0.1", 8001)], None)
    with pytest.raises(ConfigError, match="'mesos://m:5050' is not a Spark master URL"):
        spark_master_endpoints("mesos://m:5050", {})  # Spark 4 has no Mesos support


def test_yarn_master_needs_its_conf_dir_and_reads_the_resourcemanager_from_it(tmp_path):
    with pytest.raises(ConfigError, match="yarn needs HADOOP_CONF_DIR or YARN_CONF_DIR"):
        check_spark_master("yarn", {})
    (tmp_path / "yarn-site.xml").write_text(
        "<configuration>"
        "<property><name>yarn.resourcemanager.hostname</name><value>rm.no-such-host.invalid</value></property>"
        "</configuration>")
    env = {"HADOOP_CONF_DIR": str(tmp_path)}
    assert spark_master_endpoints("yarn", env) == ([("rm.no-such-host.invalid", 8032)], str(tmp_path / "yarn-site.xml"))
    with pytest.raises(ConfigError) as e:
        check_spark_master("yarn", env, timeout_s=2)
    assert "rm.no-such-host.invalid does not resolve" in str(e.value) and "yarn-site.xml" in str(e.value)
    (tmp_path / "yarn-site.xml").write_text(  # HA: every ResourceManager of rm-ids, in order
        "<configuration>"
        "<property><name>yarn.resourcemanager.ha.enabled</name><value>true</value></property>"
        "<property><name>yarn.resourcemanager.ha.rm-ids</name><value>rm1,rm2</value></property>"
        "<property><name>yarn.resourcemanager.hostname.rm1</name><value>h1</value></property>"
        "<property><name>yarn.resourcemanager.address.rm2</name><value>h2:9032</value></property>"
        "</configuration>")
    assert spark_master_endpoints("yarn", env)[0] == [("h1", 8032), ("h2", 9032)]


def test_prepare_refuses_an_unreachable_master_before_any_stage(tmp_path):
    repo = make_repo(tmp_path / "src", {"a.py": "print(1)\n"})
    master = dead_master()
    root = (tmp_path / "data").as_uri()
    with pytest.raises(ConfigError) as e:
        prepare_run({"storage": root, "snapshot_date": DATE, "sources": [str(repo)]}, None, "manual__t",
                    {"SEED_SPARK_MASTER": master})
    assert master in str(e.value) and "spark_master" in str(e.value)
    assert not (tmp_path / "data").exists()  # no run was recorded


def test_spark_submit_is_not_started_against_an_unreachable_master(tmp_path, monkeypatch):
    """The connection spark-submit would use (here pointing elsewhere than spark_master, as a deployment's
    own AIRFLOW_CONN_SPARK_LOCAL can) is checked before the JVM starts."""
    from seedlib.embedded import spark_connection
    from seedlib.runner import launch

    repo = make_repo(tmp_path / "src", {"a.py": "print(1)\n"})
    master = dead_master()
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_LOCAL", spark_connection(master))
    spec = prepare_run({"storage": (tmp_path / "data").as_uri(), "snapshot_date": DATE, "sources": [str(repo)],
                        "spark_submit": "true"}, None, "manual__t", {})
    started = time.monotonic()
    with pytest.raises(ConfigError) as e:
        launch("snapshots", "crawl", spec.ref())
    assert time.monotonic() - started < 10  # no spark-submit: it would take a minute to give up
    assert master in str(e.value) and "Airflow connection spark_local" in str(e.value)


# ---------- a missing bucket, refused credentials ----------

def test_missing_bucket_is_named_with_its_endpoint_at_prepare(tmp_path, s3_server):
    repo = make_repo(tmp_path / "src", {"a.py": "print(1)\n"})
    started = time.monotonic()
    with pytest.raises(StorageError) as e:
        prepare_run({"storage": "s3://no-such-bucket-x/seed", "snapshot_date": DATE, "sources": [str(repo)]}, None,
                    "manual__t", {"SEED_S3_ENDPOINT_URL": s3_server})
    assert time.monotonic() - started < 10
    assert f"bucket no-such-bucket-x does not exist at {s3_server}" in str(e.value) and e.value.retry is False


def test_prepare_task_fails_without_retries_on_a_missing_bucket(tmp_path, s3_server, monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException

    from seedlib.airflow_support import prepare_task

    repo = make_repo(tmp_path / "src", {"a.py": "print(1)\n"})
    monkeypatch.setenv("SEED_S3_ENDPOINT_URL", s3_server)
    with pytest.raises(AirflowFailException, match="bucket no-such-bucket-y does not exist"):
        prepare_task("snapshots", {"storage": "s3://no-such-bucket-y/seed", "snapshot_date": DATE,
                                   "sources": [str(repo)]}, None, "manual__t")


@pytest.fixture(scope="module")
def authenticating_s3(tmp_path_factory):
    """A moto_server that checks signatures against its IAM (INITIAL_NO_AUTH_ACTION_COUNT: the first 6
    requests, which set it up, pass unchecked): bucket `seed-auth`, user `writer` allowed s3:*, user
    `nobody` with no policy. Yields (endpoint, {name: (access key id, secret)})."""
    import boto3

    log = tmp_path_factory.mktemp("moto-auth") / "moto.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**user_env(), "INITIAL_NO_AUTH_ACTION_COUNT": "6"}
    with open(log, "ab") as out:
        proc = subprocess.Popen([str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"moto_server did not start: {log.read_text()[-2000:]}") from None
                time.sleep(0.1)
        setup = {"endpoint_url": url, "region_name": "us-east-1", "aws_access_key_id": "AKIASETUPONLY",
                 "aws_secret_access_key": "setup"}
        boto3.client("s3", **setup).create_bucket(Bucket="seed-auth")  # 1
        iam = boto3.client("iam", **setup)
        keys = {}
        for user in ("writer", "nobody"):  # 2-5
            iam.create_user(UserName=user)
            k = iam.create_access_key(UserName=user)["AccessKey"]
            keys[user] = (k["AccessKeyId"], k["SecretAccessKey"])
        iam.put_user_policy(UserName="writer", PolicyName="s3", PolicyDocument=json.dumps(  # 6
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        yield url, keys
    finally:
        _stop(proc)


def _s3_as(monkeypatch, key_id: str, secret: str):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)


@pytest.mark.parametrize("who,code", [("unknown", "InvalidAccessKeyId"), ("wrong-secret", "SignatureDoesNotMatch"),
                                      ("nobody", "AccessDenied")])
def test_refused_credentials_are_named_never_printed(authenticating_s3, monkeypatch, who, code):
    url, keys = authenticating_s3
    key_id, secret = {"unknown": ("AKIANOSUCHKEY0000000", "s3cr3t-unknown-9f2"),
                      "wrong-secret": (keys["writer"][0], "s3cr3t-wrong-4c1"), "nobody": keys["nobody"]}[who]
    _s3_as(monkeypatch, key_id, secret)
    storage = open_storage("s3://seed-auth/seed", S3Settings(endpoint_url=url, max_attempts=2))
    with pytest.raises(StorageError) as e:
        storage.check()
    message = str(e.value)
    assert f"S3 refused the credentials for bucket seed-auth ({code}) at {url}" in message, message
    assert e.value.retry is False
    assert secret not in message and key_id not in message
    with pytest.raises(StorageError, match=rf"\({code}\)"):  # the write probe `seed run` does says the same
        probe(storage)


def test_accepted_credentials_pass_the_same_checks(authenticating_s3, monkeypatch):
    url, keys = authenticating_s3
    _s3_as(monkeypatch, *keys["writer"])
    storage = open_storage("s3://seed-auth/seed", S3Settings(endpoint_url=url, max_attempts=2))
    storage.check()
    probe(storage)
    with pytest.raises(StorageError, match=f"bucket seed-missing does not exist at {url}"):
        open_storage("s3://seed-missing/seed", S3Settings(endpoint_url=url, max_attempts=2)).check()


def test_seed_run_refuses_bad_credentials_before_airflow_starts(authenticating_s3, tmp_path):
    url, keys = authenticating_s3
    secret = "s3cr3t-never-shown-77"
    env = user_env(SEED_S3_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID=keys["writer"][0], AWS_SECRET_ACCESS_KEY=secret,
                   AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    out = subprocess.run([SEED, "run", "--storage", "s3://seed-auth/seed"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr
    assert "S3 refused the credentials for bucket seed-auth (SignatureDoesNotMatch)" in out.stderr
    assert secret not in out.stdout + out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / ".seed" / "airflow").exists()


# ---------- the same run on a standalone cluster with S3, and on local[2] ----------

@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> list[str]:
    base = tmp_path_factory.mktemp("cluster-sources")
    alpha = make_repo(base / "alpha", {
        "app.py": "import os\n\nprint(os.getcwd())\n",
        "lib/shared.py": SHARED,
        "lib/native.c": "int add(int a, int b) { return a + b; }\n",
        "blob.py": b"\x00\x00binary\x00",
        "README.md": "# alpha\n",
    }, message="Add the application and its library")
    (alpha / "app.py").write_text("import os\nimport sys\n\nprint(os.getcwd(), sys.argv)\n")
    git(alpha, "commit", "-qam", "Print the arguments as well as the working directory")
    beta = make_repo(base / "beta", {"shared.py": SHARED, "Main.java": "class Main {}\n",
                                     "broken.py": "def f(:\n    return\n"}, message="Start beta")
    plain = base / "plain"
    plain.mkdir()
    (plain / "tool.sh").write_text("#!/bin/sh\necho hi\n")
    (plain / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    return [str(alpha), str(beta), str(plain), "http://127.0.0.1:9/missing.git"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, s3_server):
    # s3_server first: its dummy credentials are in os.environ, which the worker JVMs inherit and pass to
    # their executors (on a real cluster: instance roles or the workers' environment, docs/cluster.md)
    c = StandaloneCluster(tmp_path_factory.mktemp("spark-cluster"), workers=2, cores=1, memory="1g")
    c.start()
    try:
        yield c
    finally:
        pids = c.pids()
        c.stop()
        assert pids and not [p for p in pids if _alive(p)], "Spark JVMs left running"


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _seed_run(work: Path, sources: list[str], storage: str, **env: str) -> subprocess.CompletedProcess:
    work.mkdir(parents=True, exist_ok=True)
    args = [SEED, "run", "--date", DATE, "--storage", storage, "--skip", "quality"]
    for s in sources:
        args += ["--source", s]
    shell = user_env(SEED_COMMIT_MIN_COMMITS="1", SEED_COMMIT_MIN_DAYS="0", SEED_ACCELERATE_LAUNCH="false",
                     SEED_PARTITIONS="2", **env)
    return subprocess.run(args, cwd=work, env=shell, capture_output=True, text=True, timeout=900)


def _rows(storage, name: str, roots: tuple[str, ...]) -> list[str]:
    """A published dataset's rows as sorted JSON lines, storage roots (absolute) replaced by <root>."""
    out = []
    for row in manifest.read_dataset(storage, DATE, name).to_pylist():
        text = json.dumps(row, sort_keys=True, default=repr)
        for root in roots:
            text = text.replace(root, "<root>")
        out.append(text)
    return sorted(out)


@pytest.mark.slow
def test_run_on_a_standalone_cluster_with_s3_publishes_what_local_mode_does(cluster, s3_server, sources, tmp_path):
    import boto3

    bucket = "seed-cluster"
    boto3.client("s3", endpoint_url=s3_server, region_name=DUMMY_ENV["AWS_REGION"]).create_bucket(Bucket=bucket)
    s3_root = f"s3://{bucket}/seed"
    # One Spark application for the run (spark_submit=false: the stages share the task process's session,
    # whose executors are the two workers'): the JVM and executor start once, not once per stage.
    on_cluster = _seed_run(tmp_path / "cluster-work", sources, s3_root, SEED_SPARK_MASTER=cluster.url,
                           SEED_S3_ENDPOINT_URL=s3_server, SEED_SPARK_SUBMIT="false")
    assert on_cluster.returncode == 0, on_cluster.stdout[-3000:] + on_cluster.stderr[-3000:]
    local_root = (tmp_path / "local-data").as_uri()
    local = _seed_run(tmp_path / "local-work", sources, local_root, SEED_SPARK_MASTER="local[2]")
    assert local.returncode == 0, local.stdout[-3000:] + local.stderr[-3000:]

    # The stages ran on the workers: the application finished on the master with both workers' cores, and
    # each worker's executor ran tasks (its stderr under the worker's own work dir).
    deadline = time.monotonic() + 30
    while not (apps := cluster.state()["completedapps"]) and time.monotonic() < deadline:
        time.sleep(0.5)  # the master marks the application finished once the driver has gone
    assert [(a["name"], a["cores"]) for a in apps] == [("seed-in-process", 2)], apps
    executors = cluster.executor_dirs()
    for worker, dirs in executors.items():
        assert [d.parent.name for d in dirs] == [apps[0]["id"]], (worker, dirs)
        finished = sum((d / "stderr").read_text(errors="replace").count("Finished task") for d in dirs)
        assert finished > 0, f"{worker}'s executor ran no task"

    cluster_storage = storage_for(load_config({"storage": s3_root, "s3_endpoint_url": s3_server}, {}))
    local_storage = storage_for(load_config({"storage": local_root}, {}))
    m_cluster, m_local = manifest.read(cluster_storage, DATE), manifest.read(local_storage, DATE)
    assert sorted(m_cluster["datasets"]) == sorted(m_local["datasets"])
    counts = {name: ds["rows"] for name, ds in m_local["datasets"].items()}
    assert counts["files"] >= 6 and counts["dropped"] >= 3 and counts["commit_history"] >= 3, counts
    assert counts["commit_samples"] >= 1, counts  # a commit with a real message in alpha
    stage_counts = [[(s["name"], s["rows_in"], s["rows_out"], s["dropped"], s["skipped"]) for s in m["stages"]]
                    for m in (m_cluster, m_local)]
    assert stage_counts[0] == stage_counts[1]
    roots = (cluster_storage.root, local_storage.root)
    for name in m_local["datasets"]:
        assert _rows(cluster_storage, name, roots) == _rows(local_storage, name, roots), name
    # nothing of the cluster run was written to a local disk root
    assert not (tmp_path / "cluster-work" / ".seed" / "data").exists()
