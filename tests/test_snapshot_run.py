"""The real seed_snapshot DAG run end to end with dag.test(): Airflow on SQLite, Spark local[2] (in-process).

Slow (each run starts Spark): a handful of runs share the embedded Airflow DB of this test session.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from seedlib import manifest
from seedlib.config import load_config
from seedlib.run import manifest_key, snapshot_prefix, storage_for
from tests.repos import make_repo

pytestmark = pytest.mark.slow

TOKEN = "ghp_" + "Zq9" * 12  # looks like a GitHub token; must never show up anywhere
DATE = "2026-03-04"
SHARED = "def shared(x):\n    return x * 2\n"


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> list[str]:
    base = tmp_path_factory.mktemp("sources")
    alpha = make_repo(base / "alpha", {
        "app.py": "import os\n\nprint(os.getcwd())\n",
        "lib/shared.py": SHARED,
        "lib/native.c": "int add(int a, int b) { return a + b; }\n",
        "blob.py": b"\x00\x00binary\x00",
        "README.md": "# alpha\n",
        "NOTICE": "no extension\n",
    })
    beta = make_repo(base / "beta", {"shared.py": SHARED, "Main.java": "class Main {}\n"})
    plain = base / "plain"
    plain.mkdir()
    (plain / "tool.sh").write_text("#!/bin/sh\necho hi\n")
    (plain / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    # nothing listens on port 9: the clone fails at once, and the repository is recorded as failed
    return [str(alpha), str(beta), str(plain), "http://127.0.0.1:9/missing.git"]


@pytest.fixture
def in_process_spark(monkeypatch, spark):
    """Spark stages inside the task's process, on this test session's Spark (no spark-submit per stage),
    and accelerate stages inside it too (no `accelerate launch`): for the tests that are about the DAG and
    publication, not about the engines' launchers."""
    monkeypatch.setenv("SEED_SPARK_SUBMIT", "false")
    monkeypatch.setenv("SEED_ACCELERATE_LAUNCH", "false")


def run_dag(conf: dict, quality: bool = False) -> "dagrun.RunOutcome":  # noqa: F821
    """One DAG run; without `quality` the quality stages are skipped (tests that score files use the
    `shared_scorer` fixture and pass quality=True)."""
    from seedlib import dagrun

    return dagrun.run_once(conf if quality or "skip_stages" in conf else {**conf, "skip_stages": ["quality"]})


def published(storage, name):
    return manifest.read_dataset(storage, DATE, name)


def test_end_to_end_on_local_repositories(airflow_db, sources, tmp_path, monkeypatch, capfd, seed_home, shared_scorer):
    monkeypatch.setenv("SEED_GITHUB_TOKEN", TOKEN)
    # Spark stages on one in-process session (spark_submit auto on local[2], what `seed run` does; spark-submit
    # is tested in test_stage_model); `accelerate launch` in the rerun test.
    monkeypatch.setenv("SEED_ACCELERATE_LAUNCH", "false")
    monkeypatch.setenv("SEED_COMMIT_MIN_COMMITS", "1")  # these small repositories qualify for commits
    monkeypatch.setenv("SEED_COMMIT_MIN_DAYS", "0")
    storage_uri = (tmp_path / "data").as_uri()
    outcome = run_dag({"snapshot_date": DATE, "sources": sources, "storage": storage_uri}, quality=True)
    assert outcome.state == "success", outcome.failed_tasks
    storage = storage_for(load_config({"storage": storage_uri}, {}))
    m = manifest.read(storage, DATE)

    # Exact counts: 6 + 2 + 2 files seen in three repositories; the missing one is a failed repo. The
    # shared scorer scores the 6 files (no language has 10, so the bottom 10% is nobody); label and
    # train_scorer are skipped since a scorer is configured.
    SEQS = m["datasets"]["repo_sequences"]["rows"]  # repositories whose mean score passes repo_min_quality
    assert [(s["name"], s["rows_in"], s["rows_out"], s["dropped"], s["skipped"]) for s in m["stages"]] == [
        ("crawl", 10, 7, {"binary": 2, "unknown_language": 1}, False),
        ("exact_dedup", 7, 6, {"exact_duplicate": 1}, False), ("near_dedup", 6, 6, {}, False),
        ("syntax", 6, 6, {}, False), ("decontam", 6, 6, {}, False), ("label", 0, 0, {}, True),
        ("train_scorer", 0, 0, {}, True), ("score", 6, 6, {}, False), ("quality", 6, 6, {}, False),
        ("corpus", 6, 6, {}, False), ("repo_sequences", SEQS, SEQS, {}, False),
        ("commit_samples", 2, 0, {"trivial_message": 2}, False)]  # both commits say "init"
    assert m["scorer"] == shared_scorer.scorer["scorer"]
    assert m["stages"][0]["details"] == {"repos": {"ok": 3, "unreachable": 1}}
    assert m["stages"][3]["details"]["unparsed"] == {"Markdown": 1}
    assert {k: v["rows"] for k, v in m["datasets"].items()} == {
        "repos": 4, "files": 6, "dropped": 4, "commit_history": 2, "dedup_index": 6, "corpus_index": 6,
        "repo_sequences": SEQS, "commit_samples": 0, "commit_dropped": 2}
    # the sequences are those of the repositories whose files' mean quality_score passes the bar
    by_repo = {}
    for f in published(storage, "files").to_pylist():
        by_repo.setdefault(f["repo"], []).append(f["quality_score"])
    passing = sorted(r for r, s in by_repo.items() if sum(s) / len(s) >= 5.0)
    sequences = published(storage, "repo_sequences").to_pylist()
    assert sorted({r["repo"] for r in sequences}) == passing
    for seq in sequences:
        assert all(f"<[file-sep]>{path}\n" in seq["text"] for path in seq["paths"])
    assert all(s["resumed_parts"] == 0 for s in m["stages"])
    files = published(storage, "files")
    scores = files.column("quality_score").to_pylist()
    assert len(scores) == 6 and all(0 <= s <= 10 for s in scores)
    assert sorted(zip(files.column("repo").to_pylist(), files.column("path").to_pylist(),
                      files.column("lang").to_pylist())) == [
        ("local/alpha", "README.md", "Markdown"), ("local/alpha", "app.py", "Python"),
        ("local/alpha", "lib/native.c", "C"), ("local/alpha", "lib/shared.py", "Python"),
        ("local/beta", "Main.java", "Java"), ("local/plain", "tool.sh", "Shell")]
    [shared] = [r for r in files.to_pylist() if r["path"].endswith("shared.py")]
    shared_sha = hashlib.sha256(SHARED.encode()).hexdigest()
    assert shared["sha256"] == shared_sha and shared["content"] == SHARED
    dropped = published(storage, "dropped").to_pylist()
    assert sorted((d["repo"], d["path"], d["stage"], d["reason"], d["duplicate_of"]) for d in dropped) == [
        ("local/alpha", "NOTICE", "crawl", "unknown_language", None),
        ("local/alpha", "blob.py", "crawl", "binary", None),
        ("local/beta", "shared.py", "exact_dedup", "exact_duplicate", shared_sha),  # alpha < beta: kept
        ("local/plain", "image.png", "crawl", "binary", None)]
    repos = {r["repo"]: r for r in published(storage, "repos").to_pylist()}
    assert repos["remote/missing"]["status"] == "failed"
    assert repos["remote/missing"]["error"].startswith("unreachable: git clone failed: unable to access")
    assert repos["local/alpha"]["status"] == "ok" and len(repos["local/alpha"]["head_sha"]) == 40
    assert m["config"]["run"]["sources"] == sources and "github_token" not in json.dumps(m["config"])
    commits = published(storage, "commit_history").to_pylist()
    assert sorted((c["repo"], c["message"], len(c["files"])) for c in commits) == [
        ("local/alpha", "init", 6), ("local/beta", "init", 2)]

    # The secret appears nowhere: not in what was printed, not in any file the run wrote.
    out, err = capfd.readouterr()
    assert TOKEN not in out + err
    for root in (tmp_path / "data", seed_home / "airflow"):
        for path in Path(root).rglob("*"):
            if path.is_file():
                assert TOKEN.encode() not in path.read_bytes(), path


def test_rerun_of_a_date_publishes_identical_datasets(airflow_db, sources, tmp_path, monkeypatch, shared_scorer):
    """The first run submits each Spark stage and launches the accelerate stages (two scoring processes),
    the rerun runs them all in-process (one): the same bytes, scores included."""
    storage_uri = (tmp_path / "data").as_uri()
    storage = storage_for(load_config({"storage": storage_uri}, {}))
    conf = {"snapshot_date": DATE, "sources": sources, "storage": storage_uri}
    assert run_dag(conf, quality=True).state == "success"
    first = manifest.read(storage, DATE)
    monkeypatch.setenv("SEED_SPARK_SUBMIT", "false")
    monkeypatch.setenv("SEED_ACCELERATE_LAUNCH", "false")
    assert run_dag(conf, quality=True).state == "success"
    second = manifest.read(storage, DATE)
    assert first["datasets"]["files"]["paths"] != second["datasets"]["files"]["paths"]  # a new run prefix
    for name in ("files", "dropped", "repos"):
        a = [storage.read_bytes(f"{snapshot_prefix(DATE)}/{p}") for p in first["datasets"][name]["paths"]]
        b = [storage.read_bytes(f"{snapshot_prefix(DATE)}/{p}") for p in second["datasets"][name]["paths"]]
        assert a == b, name
    assert [s | {"seconds": 0} for s in first["stages"]] == [s | {"seconds": 0} for s in second["stages"]]


def test_run_killed_before_publish_leaves_previous_publication_and_resumes(airflow_db, sources, tmp_path, in_process_spark):
    from seedlib import cleanup, dagrun

    storage_uri = (tmp_path / "data").as_uri()
    storage = storage_for(load_config({"storage": storage_uri}, {}))
    assert run_dag({"snapshot_date": DATE, "sources": sources[:1], "storage": storage_uri}).state == "success"
    before = storage.read_bytes(manifest_key(DATE))

    # A second run does all its work but never publishes (as if killed right before publish).
    conf = {"snapshot_date": DATE, "sources": sources, "storage": storage_uri, "skip_stages": ["quality"]}
    dag = dagrun.load_dag()
    dag.test(run_conf=conf, mark_success_pattern="publish")
    assert storage.read_bytes(manifest_key(DATE)) == before
    assert published(storage, "repos").num_rows == 1
    runs = storage.list_dirs(f"{snapshot_prefix(DATE)}/runs/")
    assert len(runs) == 2

    # The next run with the same inputs resumes it: its finished stages are kept, only publish runs.
    [interrupted] = [r for r in runs if not storage.exists(f"{snapshot_prefix(DATE)}/runs/{r}/_DONE.json")]
    assert run_dag(conf).state == "success"
    m = manifest.read(storage, DATE)
    assert all(p.startswith(f"runs/{interrupted}/") for p in m["datasets"]["files"]["paths"])
    assert len(storage.list_dirs(f"{snapshot_prefix(DATE)}/runs/")) == 2
    assert published(storage, "repos").num_rows == 4

    # gc deletes the superseded run and keeps the published one.
    garbage = cleanup.find_garbage(storage, older_than_hours=0)
    assert [g.run_id for g in garbage] == [r for r in runs if r != interrupted]
    cleanup.collect(storage, garbage)
    assert storage.list_dirs(f"{snapshot_prefix(DATE)}/runs/") == [interrupted]
    assert published(storage, "files").num_rows == 6


def test_skipped_stage_passes_its_input_through(airflow_db, sources, tmp_path, in_process_spark):
    storage_uri = (tmp_path / "data").as_uri()
    outcome = run_dag({"snapshot_date": DATE, "sources": sources[:2], "storage": storage_uri,
                       "skip_stages": ["near_dedup", "quality"]})
    assert outcome.state == "success", outcome.failed_tasks
    storage = storage_for(load_config({"storage": storage_uri}, {}))
    m = manifest.read(storage, DATE)
    stages = {s["name"]: s for s in m["stages"]}
    assert stages["near_dedup"]["skipped"] is True and stages["near_dedup"]["dropped"] == {}
    assert stages["near_dedup"]["rows_in"] == stages["near_dedup"]["rows_out"] == stages["exact_dedup"]["rows_out"]
    assert stages["syntax"]["rows_in"] == stages["exact_dedup"]["rows_out"]
    assert [s["name"] for s in m["stages"] if s["skipped"]] == ["near_dedup", "label", "train_scorer", "score",
                                                               "quality"]
    index = manifest.read_dataset(storage, DATE, "dedup_index")  # from the final files, without signatures
    assert index.num_rows == m["datasets"]["files"]["rows"] and index.column("sig").null_count == index.num_rows


def test_every_repository_failing_stops_the_run_and_publishes_nothing(airflow_db, tmp_path, in_process_spark):
    from seedlib import airflow_support

    storage_uri = (tmp_path / "data").as_uri()
    outcome = run_dag({"snapshot_date": DATE, "sources": ["http://127.0.0.1:9/a.git", "http://127.0.0.1:9/b.git"],
                       "storage": storage_uri})
    assert outcome.state == "failed"
    assert outcome.task_states["crawl"] == "failed" and outcome.task_states["exact_dedup"] == "upstream_failed"
    reason = airflow_support.FAILURES[outcome.run_id]["crawl"]
    assert reason.startswith("StageError: every repository failed (2): remote/a: unreachable: git clone failed")
    storage = storage_for(load_config({"storage": storage_uri}, {}))
    assert manifest.list_snapshots(storage) == []


def test_bad_source_fails_the_run_fast_and_publishes_nothing(airflow_db, tmp_path):
    storage_uri = (tmp_path / "data").as_uri()
    outcome = run_dag({"snapshot_date": DATE, "sources": ["github:language:python"], "storage": storage_uri})
    assert outcome.state == "failed"
    assert "prepare" in outcome.failed_tasks
    storage = storage_for(load_config({"storage": storage_uri}, {}))
    assert manifest.list_snapshots(storage) == []


def test_end_to_end_on_s3(airflow_db, sources, s3_root, monkeypatch, in_process_spark, shared_scorer):
    """On S3 with the quality stages: scoring reads and writes its shards through S3."""
    uri, settings = s3_root
    monkeypatch.setenv("SEED_S3_ENDPOINT_URL", settings.endpoint_url)
    outcome = run_dag({"snapshot_date": DATE, "sources": sources[:2], "storage": uri}, quality=True)
    assert outcome.state == "success", outcome.failed_tasks
    storage = storage_for(load_config({"storage": uri}, {"SEED_S3_ENDPOINT_URL": settings.endpoint_url}))
    assert storage.root.startswith("s3://")
    m = manifest.read(storage, DATE)
    seqs = m["datasets"]["repo_sequences"]["rows"]
    assert {k: v["rows"] for k, v in m["datasets"].items()} == {
        "repos": 2, "files": 5, "dropped": 3, "commit_history": 0, "dedup_index": 5, "corpus_index": 5,
        "repo_sequences": seqs, "commit_samples": 0, "commit_dropped": 0}
    assert published(storage, "files").num_rows == 5
    # the sequences stage read the files' contents through S3 on the executors
    assert published(storage, "repo_sequences").num_rows == seqs and all(
        t.startswith("<[repo-name]>") for t in published(storage, "repo_sequences").column("text").to_pylist())
    assert published(storage, "files").column("quality_score").null_count == 0
    assert m["scorer"]["version"] == shared_scorer.scorer["scorer"]["version"]
    assert m["config"]["s3"]["endpoint_url"] == settings.endpoint_url
    assert os.environ["AWS_SECRET_ACCESS_KEY"] not in storage.read_bytes(manifest_key(DATE)).decode()
