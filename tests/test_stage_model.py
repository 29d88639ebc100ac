"""The stage model: declarations, skipping, one stage of each engine, resume per part, two pipelines.

The engine tests run the toy pipeline of tests/pipelines.py (python -> spark -> accelerate) through the
same `launch` the DAG's tasks call, and kill its Spark and accelerate stages halfway with SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from seedlib import manifest, pipelines
from seedlib.config import ConfigError, load_config
from seedlib.pipelines import AS_IS, CHAIN, FILES_STAGE, INTERNAL, LEDGER, SCORER, SNAPSHOTS, Pipeline, Stage
from seedlib.publish import publish_run
from seedlib.run import RunSpec, prepare_run
from seedlib.runner import launch
from seedlib.stage import PARTS_DIR, read_report
from tests.pipelines import toy_file
from tests.stages import pipeline_of, write_crawl

ROOT = Path(__file__).resolve().parents[1]
TOY_REF = "tests.pipelines:TOY"
DATE = "2026-05-06"


# ---------- declarations (fast) ----------

def test_snapshot_pipeline_is_declared_in_order_with_its_publications():
    assert SNAPSHOTS.names == ["crawl", "exact_dedup", "near_dedup", "syntax", "decontam", "label", "train_scorer",
                               "score", "quality", "corpus", "repo_sequences", "commit_samples"]
    assert [(s.engine, s.chain) for s in SNAPSHOTS.stages] == [("spark", True)] * 5 + [
        ("python", False), ("accelerate", False), ("accelerate", False), ("python", True),
        ("python", False), ("spark", False), ("spark", False)]
    assert SNAPSHOTS.stage("commit_samples").writes == {"commit_samples": AS_IS, "commit_dropped": LEDGER}
    assert SNAPSHOTS.chain_input("repo_sequences") == "quality"
    assert SNAPSHOTS.stage("score").writes == {"scores": INTERNAL}
    assert SNAPSHOTS.stage("train_scorer").writes == {"scorer": SCORER}
    assert SNAPSHOTS.chain_input("quality") == "decontam" and SNAPSHOTS.chain_input("label") == "decontam"
    assert SNAPSHOTS.skipped(["quality"]) == {"quality", "score"}  # scores only feed quality
    assert pipelines.get("scorers").names == ["label", "train_scorer"] and pipelines.get("scorers").chain == []
    assert SNAPSHOTS.stage("crawl").writes == {"files": CHAIN, "dropped": LEDGER, "repos": AS_IS,
                                               "commit_history": AS_IS}
    assert SNAPSHOTS.chain_input("syntax") == "near_dedup" and SNAPSHOTS.chain_input("crawl") is None
    assert pipelines.get("snapshots") is SNAPSHOTS and pipelines.get(TOY_REF).prefix == "toy"


def test_declarations_are_checked():
    with pytest.raises(ValueError, match="engine must be one of"):
        Stage("x", engine="gpu", body="m:f", writes=FILES_STAGE)
    with pytest.raises(ValueError, match="must write a CHAIN dataset"):
        Stage("x", engine="python", body="m:f", writes={"dropped": LEDGER})
    with pytest.raises(ValueError, match="reads a.nothing, which no earlier stage writes"):
        Pipeline("p", "p", "p", (Stage("a", "python", "m:f", writes=FILES_STAGE),
                                 Stage("b", "python", "m:f", reads=("a.nothing",), writes=FILES_STAGE)))


def test_skip_semantics():
    feed = Stage("label", "python", "m:f", reads=("files",), writes={"labels": LEDGER}, chain=False)
    train = Stage("train", "python", "m:f", reads=("label.labels",), writes={"model": AS_IS}, chain=False)
    pipe = Pipeline("p", "p", "p", (Stage("src", "python", "m:f", writes=FILES_STAGE), feed, train,
                                    Stage("filt", "python", "m:f", reads=("files",), writes=FILES_STAGE)))
    assert pipe.skipped(["filt"]) == {"filt"}
    assert pipe.skipped(["train"]) == {"train", "label"}  # label only feeds train: skipped too
    with pytest.raises(ValueError, match="src cannot be skipped"):
        pipe.skipped(["src"])
    with pytest.raises(ValueError, match="train reads label.labels, which a skipped stage would write"):
        pipe.skipped(["label"])
    with pytest.raises(ValueError, match="unknown stage 'nope'; stages: src, label, train, filt"):
        pipe.skipped(["nope"])
    assert SNAPSHOTS.skipped(["near_dedup", "syntax"]) == {"near_dedup", "syntax"}


def test_unknown_seed_variable_is_refused_by_name():
    with pytest.raises(ConfigError, match="environment SEED_MINHASH_THRESHOLD: not a configuration key"):
        load_config({}, {"SEED_MINHASH_THRESHOLD": "0.7"})
    with pytest.raises(ConfigError, match="did you mean SEED_NEAR_DEDUP_THRESHOLD"):
        load_config({}, {"SEED_NEAR_DEDUP_TRESHOLD": "0.7"})
    assert load_config({}, {"SEED_HOME": "/tmp/x", "SEED_GITHUB_TOKEN": "t"}).run.storage == "file:///tmp/x/data"


# ---------- the toy pipeline on its engines (slow) ----------

def toy_run(tmp_path, run_id: str, **params) -> RunSpec:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    return prepare_run({"storage": (tmp_path / "data").as_uri(), "sources": [str(src)], "snapshot_date": DATE,
                        **params}, None, run_id, {}, pipeline=TOY_REF)


def stage_files(spec: RunSpec, stage: str) -> dict[str, bytes]:
    """Every output object of a stage, by its name inside the stage's prefix (markers excluded)."""
    storage, prefix = spec.storage(), spec.stage_prefix(stage)
    return {k[len(prefix):]: storage.read_bytes(k) for k in storage.list(prefix)
            if k.endswith(".parquet")}


@pytest.fixture
def toy_env(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # spark-submit and accelerate processes import tests.pipelines
    monkeypatch.setenv("SEED_SPARK_SUBMIT", "true")  # local[...] would run Spark stages in-process (auto)


@pytest.mark.slow
def test_one_stage_of_each_engine_and_two_pipelines_on_one_date(tmp_path, toy_env):
    # the snapshot pipeline publishes the same date first, in the same storage
    snap = RunSpec(snapshot=DATE, run_id="manual__snap", config=load_config(
        {"storage": (tmp_path / "data").as_uri()}, {}).public_dict())
    write_crawl(snap, [toy_file(i) for i in range(4)])
    publish_run(snap, pipeline_of(snap, ["crawl"]))
    snapshot_manifest = snap.storage().read_bytes(f"snapshots/dt={DATE}/_MANIFEST.json")

    spec = toy_run(tmp_path, "manual__toy")
    for stage in pipelines.get(TOY_REF).stages:
        launch(TOY_REF, stage.name, spec.ref())
    published = publish_run(spec)
    counts = [(s["name"], s["rows_in"], s["rows_out"], s["dropped"]) for s in published["stages"]]
    assert counts[:2] == [("make", 30, 30, {}), ("tag", 30, 20, {"low_quality": 10})]
    assert counts[2][0:2] == ("score", 20) and counts[2][2] + counts[2][3]["low_quality"] == 20
    assert published["stages"][2]["details"]["ranks"] == {"0": 3, "1": 3}  # two accelerate processes
    storage = spec.storage()
    files = manifest.read_dataset(storage, DATE, "files", publications="toy")
    assert files.num_rows == counts[2][2] and {"tagged", "quality_score"} <= set(files.column_names)
    assert min(files.column("quality_score").to_pylist()) >= 0.5
    assert storage.exists(f"toy/dt={DATE}/_MANIFEST.json")
    # each pipeline owns its publications: the snapshot of that date is untouched, and each reads its own
    assert storage.read_bytes(f"snapshots/dt={DATE}/_MANIFEST.json") == snapshot_manifest
    assert manifest.read_dataset(storage, DATE, "files").num_rows == 4
    assert manifest.list_snapshots(storage) == [DATE] == manifest.list_snapshots(storage, "toy")


def start_killable(cmd: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=env, cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kill_after_parts(proc: subprocess.Popen, spec: RunSpec, stage: str, parts: int, timeout_s: float = 180) -> None:
    """SIGKILL the whole process group once `parts` parts of the stage are finished."""
    storage, markers = spec.storage(), f"{spec.stage_prefix(stage)}/{PARTS_DIR}"
    deadline = time.monotonic() + timeout_s
    try:
        while len(storage.list(markers)) < parts:
            assert proc.poll() is None, f"{stage} exited ({proc.returncode}) before it could be killed"
            assert time.monotonic() < deadline, f"{stage} did not finish {parts} parts in {timeout_s}s"
            time.sleep(0.2)
    finally:
        # the whole tree at once: torchrun starts its workers in sessions of their own
        tree = [proc.pid] + [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        for pid in tree:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        psutil.wait_procs([p for p in map(_process, tree) if p], timeout=10)


def _process(pid: int):
    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None


def finished(spec: RunSpec, stage: str) -> dict[str, tuple[int, int]]:
    """(inode, mtime_ns) of every file of the stage's finished parts and their markers."""
    root = Path(spec.storage().root.removeprefix("file://"))
    storage, prefix = spec.storage(), spec.stage_prefix(stage)
    out = {}
    for key in storage.list(f"{prefix}/{PARTS_DIR}"):
        for row in storage.read_json(key)["rows"] + [{"key": key}]:
            st = (root / row["key"]).stat()
            out[row["key"]] = (st.st_ino, st.st_mtime_ns)
    return out


@pytest.mark.slow
def test_spark_and_accelerate_stages_killed_halfway_resume_only_unfinished_parts(tmp_path, toy_env):
    clean = toy_run(tmp_path, "manual__clean")
    for stage in ("make", "tag", "score"):
        launch(TOY_REF, stage, clean.ref())
    expected = {s: stage_files(clean, s) for s in ("tag", "score")}
    publish_run(clean)
    expected_published = {name: manifest.read_dataset(clean.storage(), DATE, name, publications="toy")
                          for name in ("files", "dropped")}

    spec = toy_run(tmp_path, "manual__killed", fresh=True)
    assert spec.run_id == "manual__killed"
    launch(TOY_REF, "make", spec.ref())
    env = {**os.environ, "TOY_PART_DELAY": "1.5"}
    args = ["--pipeline", TOY_REF, "--run", spec.ref()]
    spark = start_killable([str(Path(sys.executable).parent / "spark-submit"), "--master", "local[1]",
                            str(ROOT / "spark_jobs" / "stage.py"), "--stage", "tag", *args], env)
    kill_after_parts(spark, spec, "tag", 2)
    kept = finished(spec, "tag")
    done = len([k for k in kept if k.endswith(".json")])
    assert 2 <= done < 6
    report = launch(TOY_REF, "tag", spec.ref())
    assert report.resumed_parts == done
    assert {k: v for k, v in finished(spec, "tag").items() if k in kept} == kept  # none rewritten
    assert stage_files(spec, "tag") == expected["tag"]

    accelerate = start_killable([sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu",
                                 "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
                                 "--dynamo_backend", "no", "-m", "seedlib.runner", "--stage", "score", *args], env)
    kill_after_parts(accelerate, spec, "score", 2)
    kept = finished(spec, "score")
    done = len([k for k in kept if k.endswith(".json")])
    assert 2 <= done < 6
    assert not spec.storage().exists(f"toy/dt={DATE}/runs/{spec.run_id}/_DONE.json")
    report = launch(TOY_REF, "score", spec.ref())
    assert report.resumed_parts == done
    assert {k: v for k, v in finished(spec, "score").items() if k in kept} == kept
    assert stage_files(spec, "score") == expected["score"]

    published = publish_run(spec)
    assert [s["resumed_parts"] for s in published["stages"]] == [0, read_report(
        spec.storage(), spec.stage_prefix("tag")).resumed_parts, report.resumed_parts]
    for name, table in expected_published.items():
        assert manifest.read_dataset(spec.storage(), DATE, name, publications="toy").equals(table)


@pytest.mark.slow
def test_a_killed_task_stops_the_engine_processes_it_started(tmp_path, toy_env, monkeypatch):
    """What a task's on_kill does (StageOperator.on_kill -> runner.stop_engine): no worker survives."""
    import threading

    from seedlib.runner import StageFailed, stop_engine

    spec = toy_run(tmp_path, "manual__stopped")
    launch(TOY_REF, "make", spec.ref())
    launch(TOY_REF, "tag", spec.ref())
    monkeypatch.setenv("TOY_PART_DELAY", "30")
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    outcome = {}

    def run():
        try:
            launch(TOY_REF, "score", spec.ref())
        except StageFailed as e:
            outcome["failed"] = e

    thread = threading.Thread(target=run)
    thread.start()
    plan = f"{spec.stage_prefix('score')}/_PLAN.json"
    deadline = time.monotonic() + 120
    while not spec.storage().exists(plan):  # both ranks are up and in the slow first part
        assert time.monotonic() < deadline and thread.is_alive()
        time.sleep(0.2)
    started = {p.pid for p in psutil.Process().children(recursive=True)} - before
    assert len(started) >= 3  # the launcher and two ranks
    stop_engine()
    thread.join(timeout=60)
    assert not thread.is_alive() and "failed" in outcome
    assert not [p for p in map(_process, started) if p and p.status() != psutil.STATUS_ZOMBIE]
