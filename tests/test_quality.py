"""The quality scorer: labels, a scorer that really learns, sharded scoring that resumes, the bottom-share cut,
the scorer's publication, which scorer a run uses, and `seed score`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow.compute as pc
import pytest

from seedlib import manifest
from seedlib.config import ConfigError, load_config
from seedlib.quality import scorers
from seedlib.quality.filter import cut
from seedlib.quality.models import token_batches
from seedlib.quality.train import class_balanced_mae, mae
from seedlib.run import prepare_run
from seedlib.runner import launch
from seedlib.storage import open_storage
from tests.conftest import ORACLE_KEY, SCORER_DATE
from tests.quality import QUALITY

REF = "tests.quality:QUALITY"


def test_the_scorer_learns_from_the_oracle_labels(trained_scorer):
    block = trained_scorer.scorer["scorer"]
    assert block["version"] == SCORER_DATE and block["oracle"] == "rubric-v1" and block["base_model"] == "minilm-l6"
    assert block["labels"] == 96 and block["holdout_files"] == 19
    # Real learning: the held-out error is far below predicting the training mean.
    assert block["mae"] < 0.6 * block["baseline_mae"], block
    assert block["class_balanced_mae"] < block["baseline_class_balanced_mae"], block
    # The snapshot that trained it names it, and the scorer version is a publication of its own.
    assert trained_scorer.snapshot["scorer"] == block
    datasets = trained_scorer.scorer["datasets"]
    assert datasets["labels"]["rows"] == 96 and datasets["scorer"]["format"] == "model"
    assert any(p.endswith("model.safetensors") for p in datasets["scorer"]["paths"])
    assert all(p.startswith("runs/") for d in datasets.values() for p in d["paths"])  # copied, self-contained


def test_labels_are_judged_by_the_rubric_and_stratified(trained_scorer):
    labels = manifest.read_dataset(trained_scorer.storage, SCORER_DATE, "labels", publications=scorers.PREFIX)
    assert labels.num_rows == 96 and set(labels.column("oracle").to_pylist()) == {"rubric-v1"}
    assert labels.column("error").null_count == 96 and labels.column("score").null_count == 0
    by_repo = {}
    for repo, score in zip(labels.column("repo").to_pylist(), labels.column("score").to_pylist()):
        by_repo.setdefault(repo, []).append(score)
    mean = {repo: sum(v) / len(v) for repo, v in by_repo.items()}
    assert mean["std/lib"] > mean["poor/code"] and set(by_repo["data/dump"]) == {0}, mean


def test_the_bottom_share_is_dropped_as_low_quality(trained_scorer):
    m = trained_scorer.snapshot
    stages = {s["name"]: s for s in m["stages"]}
    assert stages["quality"]["dropped"] == {"low_quality": 9}  # floor(0.10 x 96), one language
    files = manifest.read_dataset(trained_scorer.storage, m["snapshot"], "files")
    assert files.num_rows == 87 and "quality_score" in files.column_names
    kept_min = pc.min(files.column("quality_score")).as_py()
    assert kept_min >= stages["quality"]["details"]["quality_cut"]["Python"]
    scores = dict(zip(files.column("path").to_pylist(), files.column("quality_score").to_pylist()))
    std = [s for p, s in scores.items() if p.startswith("Lib/")]
    data = [s for p, s in scores.items() if p.startswith("d")]
    assert sum(std) / len(std) > sum(data) / max(1, len(data)) + 3


def test_no_secret_reaches_labels_manifests_or_run_records(trained_scorer):
    for path in Path(trained_scorer.root).rglob("*"):
        if path.is_file() and path.suffix in (".json", ".parquet"):
            assert ORACLE_KEY.encode() not in path.read_bytes(), path


def test_cut_per_language_and_global():
    rows = [("r", f"py{i}", "Python", float(i)) for i in range(20)] + [("r", f"go{i}", "Go", 5.0) for i in range(10)]
    dropped, thresholds = cut(rows, 0.10, "language")
    assert dropped == {("r", "py0"), ("r", "py1"), ("r", "go0")} and thresholds == {"Python": 1.0, "Go": 5.0}
    dropped, thresholds = cut(rows, 0.10, "global")
    assert dropped == {("r", "py0"), ("r", "py1"), ("r", "py2")} and thresholds == {"all": 2.0}
    assert cut(rows[:9], 0.10, "language") == (set(), {})  # floor(0.9) = 0: nothing is dropped


def test_a_later_snapshot_keeps_the_earlier_cut(tmp_path):
    """Files an earlier snapshot dropped come back in the next (they are in no published index): a group
    cut before keeps its threshold instead of taking the share of the few files that are new."""
    from seedlib.quality.filter import earlier_cut

    comeback = [("r", f"py{i}", "Python", float(i)) for i in range(3)] + [("r", "new.go", "Go", 9.0)]
    dropped, thresholds = cut(comeback, 0.10, "language", inherited={"Python": 1.0})
    assert dropped == {("r", "py0"), ("r", "py1")} and thresholds == {"Python": 1.0}  # Go: floor(0.1) = 0

    storage = open_storage((tmp_path / "data").as_uri())
    config = load_config({"storage": storage.root}, {}).public_dict()
    cut_stage = {"name": "quality", "rows_in": 20, "rows_out": 18, "dropped": {"low_quality": 2},
                 "seconds": 0.0, "resumed_parts": 0, "skipped": False, "details": {"quality_cut": {"Python": 1.0}}}
    for date, version in (("2026-01-01", "v1"), ("2026-01-02", "v2")):
        manifest.publish(storage, manifest.build(date, "test", config, {}, [cut_stage], scorer={"version": version}),
                         None)
    assert earlier_cut(storage, "2026-01-03", "v1", 0.10, "language") == ({"Python": 1.0}, "2026-01-01")
    assert earlier_cut(storage, "2026-01-03", "v2", 0.10, "language") == ({"Python": 1.0}, "2026-01-02")
    assert earlier_cut(storage, "2026-01-03", "v2", 0.20, "language") == ({}, None)  # another share: a new cut
    assert earlier_cut(storage, "2026-01-02", "v2", 0.10, "language") == ({}, None)  # never its own date


def test_metrics_and_token_batches():
    assert mae([1, 2, 3], [1, 2, 5]) == pytest.approx(2 / 3)
    assert class_balanced_mae([0, 0, 0, 9], [0, 0, 0, 5]) == pytest.approx(2.0)  # (0 + 4) / 2
    batches = token_batches([5, 100, 7, 100, 6], max_batch_tokens=200)
    assert batches == [[0, 4, 2], [1, 3]]  # by length, padded size within the budget
    assert sorted(i for b in token_batches([3] * 50, 16) for i in b) == list(range(50))


def _scoring_run(tmp_path, uri: str, run_id: str):
    spec = prepare_run({"storage": (tmp_path / "data").as_uri(), "snapshot_date": "2026-11-02",
                        "quality_scorer": uri}, None, run_id, {}, pipeline=REF)
    assert set(spec.skip) == {"label", "train_scorer"}
    for name in ("corpus", "label", "train_scorer"):
        launch(REF, name, spec.ref())
    return spec


def test_scoring_resumes_per_shard_without_rewriting_finished_ones(trained_scorer, tmp_path):
    spec = _scoring_run(tmp_path, trained_scorer.uri, "manual__resume")
    storage, prefix = spec.storage(), spec.stage_prefix("score")
    first = launch(REF, "score", spec.ref())
    assert first.rows_in == first.rows_out == 96 and first.details["scorer"]["version"] == SCORER_DATE
    parts = {k: storage.read_bytes(k) for k in storage.list(prefix) if k.endswith(".parquet")}
    assert len(parts) == 4
    # As if the task died after two shards: their markers stay, the others and the report are gone.
    local = Path(storage.local_path(prefix))
    (local / "_STAGE.json").unlink()
    for part in (1, 3):
        (local / "_parts" / f"part-{part:05d}.json").unlink()
        next(local.glob(f"scores/part-{part:05d}-*.parquet")).unlink()
    kept = {p: p.stat().st_mtime_ns for p in local.glob("scores/*.parquet")}
    again = launch(REF, "score", spec.ref())
    assert again.resumed_parts == 2 and again.rows_out == 96
    assert {p: p.stat().st_mtime_ns for p in kept} == kept  # finished shards were not rewritten
    assert {k: storage.read_bytes(k) for k in storage.list(prefix) if k.endswith(".parquet")} == parts


def test_which_scorer_a_snapshot_run_uses(trained_scorer, tmp_path):
    storage = open_storage((tmp_path / "data").as_uri())
    config = load_config({"storage": storage.root}, {})
    assert scorers.prepare_snapshot(storage, config, "2026-11-03", ()) == {"record": {"scorer": {"train": True}}}
    assert scorers.prepare_snapshot(storage, config, "2026-11-03", ("quality", "score"))["skip"] == \
        list(scorers.QUALITY_STAGES)
    with pytest.raises(ConfigError, match="label and train_scorer cannot be skipped"):
        scorers.prepare_snapshot(storage, config, "2026-11-03", ("train_scorer",))
    with pytest.raises(ConfigError, match="quality_train_if_missing"):
        scorers.prepare_snapshot(storage, load_config({"quality_train_if_missing": False}, {}), "2026-11-03", ())
    with pytest.raises(ConfigError, match="quality_scorer: no scorer '2020-01-01'"):
        scorers.prepare_snapshot(storage, load_config({"quality_scorer": "2020-01-01"}, {}), "2026-11-03", ())
    # Published under the run's own root: the latest version is used and nothing is trained.
    published = trained_scorer.storage
    assert scorers.prepare_snapshot(published, config, "2026-11-03", ()) == {
        "record": {"scorer": {"version": SCORER_DATE}}, "skip": ["label", "train_scorer"]}
    retrain = load_config({"quality_retrain": True}, {})
    assert scorers.prepare_snapshot(published, retrain, "2026-11-03", ())["record"] == {"scorer": {"train": True}}


def test_seed_score_prints_a_score_per_file(trained_scorer, tmp_path):
    good = Path(__file__).resolve().parents[1] / "seedlib" / "quality" / "filter.py"
    data = tmp_path / "table.py"
    data.write_text("ROWS = [\n" + "".join(f"    ({i}, {i * 3}, 'x{i}'),\n" for i in range(80)) + "]\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEED_")} | {"SEED_HOME": os.environ["SEED_HOME"]}
    out = subprocess.run([sys.executable, "-m", "seedlib", "score", "--storage", trained_scorer.storage.root,
                          "--files", str(good), str(data)], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = dict(line.split("\t") for line in out.stdout.strip().splitlines())
    assert set(lines) == {str(good), str(data)}
    assert float(lines[str(good)]) > float(lines[str(data)])
