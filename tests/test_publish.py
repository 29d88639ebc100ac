"""Stage bookkeeping, the ledger invariant, atomic publish and garbage collection, on local storage."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest

from seedlib import cleanup, ledger, manifest
from seedlib.config import load_config
from seedlib.publish import LedgerError, check_ledger, publish_run
from seedlib.run import RunSpec, manifest_key
from seedlib.stage import PartWriter, StageError, StageRecorder, read_report
from seedlib.storage import PublishConflict
from tests.stages import pipeline_of, write_crawl


def file_row(repo, path, text="x = 1\n"):
    import hashlib
    return {"repo": repo, "path": path, "lang": "Python", "sha256": hashlib.sha256(text.encode()).hexdigest(),
            "size": len(text), "content": text}


@pytest.fixture
def spec(tmp_path):
    config = load_config({"storage": (tmp_path / "data").as_uri()}, {})
    return RunSpec(snapshot="2026-02-03", run_id="run_1", config=config.public_dict())


def write_filter(spec, name, files, dropped, rows_in):
    storage = spec.storage()
    rec = StageRecorder(storage, spec.stage_prefix(name), name, input_stage="crawl")
    w = PartWriter(storage, spec.stage_prefix(name), 0)
    w.add("files", files)
    w.add("dropped", dropped)
    return rec.finish(w.close().to_pylist(), rows_in=rows_in)


FILES = [file_row("o/a", f"f{i}.py", f"x = {i}\n") for i in range(5)]
DROPS = [ledger.drop("o/a", "img.png", "ab" * 32, "crawl", "binary"),
         ledger.drop("o/b", "z.py", "cd" * 32, "crawl", "undecodable")]
REPOS = [{"repo": "o/a", "url": "file:///a", "head_sha": "1" * 40, "stars": None, "forks": None,
          "license": None, "status": "ok", "error": None},
         {"repo": "o/b", "url": "file:///b", "head_sha": None, "stars": None, "forks": None,
          "license": None, "status": "failed", "error": "unreachable: git clone failed: nope"}]


def test_stage_report_counts_come_from_the_rows(spec):
    report = write_crawl(spec, FILES, REPOS, dropped=DROPS)
    assert (report.rows_in, report.rows_out, report.dropped) == (7, 5, {"binary": 1, "undecodable": 1})
    assert report.details == {"repos": {"ok": 1, "unreachable": 1}}
    # partition 0 got 3 files -> parts of 2 + 1 rows; partition 1 got 2 files -> one part
    assert [p.rsplit("/", 1)[1] for p in report.datasets["files"]["paths"]] == [
        "part-00000-0000.parquet", "part-00000-0001.parquet", "part-00001-0000.parquet"]
    assert read_report(spec.storage(), spec.stage_prefix("crawl")) == report
    with pytest.raises(StageError, match="counts do not add up: 9 in, 5 out, 2 dropped"):
        write_filter(spec, "bad", FILES, DROPS, rows_in=9)


def test_ledger_reasons_are_checked():
    with pytest.raises(ValueError, match="ledger reason 'Too Big' is not registered"):
        ledger.drop("r", "p", None, "crawl", "Too Big")
    with pytest.raises(ValueError, match="ledger reason 'too_big' is not registered"):
        ledger.drop("r", "p", None, "crawl", "too_big")
    with pytest.raises(ValueError, match="duplicate_of"):
        ledger.drop("r", "p", None, "dedup", "exact_duplicate")


def test_publish_writes_manifest_with_relative_paths_and_counts(spec):
    write_crawl(spec, FILES, REPOS, dropped=DROPS)
    # a later stage drops one file as an exact duplicate of another
    kept, dup = FILES[1:], FILES[0]
    write_filter(spec, "dedup", kept, [ledger.drop(dup["repo"], dup["path"], dup["sha256"], "dedup",
                                                   "exact_duplicate", duplicate_of=FILES[1]["sha256"])], 5)
    m = publish_run(spec, pipeline_of(spec, ["crawl", "dedup"]))
    storage = spec.storage()
    assert storage.read_json(manifest_key(spec.snapshot)) == m
    # what the declared stages write: no stage of this pipeline writes a dedup_index
    assert {k: v["rows"] for k, v in m["datasets"].items()} == {"repos": 2, "files": 4, "dropped": 3,
                                                                "commit_history": 0}
    assert all(p.startswith("runs/run_1/stages/") for ds in m["datasets"].values() for p in ds["paths"])
    assert [(s["name"], s["rows_in"], s["rows_out"], s["dropped"]) for s in m["stages"]] == [
        ("crawl", 7, 5, {"binary": 1, "undecodable": 1}), ("dedup", 5, 4, {"exact_duplicate": 1})]
    assert m["config"]["run"]["storage"] == spec.config["run"]["storage"]
    files = manifest.read_dataset(storage, spec.snapshot, "files")
    assert files.column("path").to_pylist() == ["f1.py", "f2.py", "f3.py", "f4.py"]
    dropped = manifest.read_dataset(storage, spec.snapshot, "dropped")
    assert dropped.num_rows == 3
    assert manifest.list_snapshots(storage) == [spec.snapshot]


def test_ledger_violations_fail_the_publish(spec):
    write_crawl(spec, FILES, REPOS, dropped=DROPS)
    write_filter(spec, "lossy", FILES[1:], [], rows_in=4)   # one file vanished, and 5 != 4 in
    with pytest.raises(StageError, match="stage lossy read 4 files but stage crawl kept 5"):
        publish_run(spec, pipeline_of(spec, ["crawl", "lossy"]))
    reports = [read_report(spec.storage(), spec.stage_prefix(s)) for s in ("crawl", "lossy")]
    with pytest.raises(LedgerError, match="1 of the files crawl saw are in neither files nor dropped, e.g. o/a:f0.py"):
        check_ledger(spec.storage(), reports)
    write_filter(spec, "twice", FILES, [ledger.drop("o/a", "f0.py", None, "twice", "low_quality")], rows_in=6)
    reports[1] = read_report(spec.storage(), spec.stage_prefix("twice"))
    with pytest.raises(LedgerError, match="1 files are in more than one of files/dropped, e.g. o/a:f0.py"):
        check_ledger(spec.storage(), reports)
    assert not spec.storage().exists(manifest_key(spec.snapshot))


def test_publish_is_compare_and_swap(spec):
    write_crawl(spec, FILES, REPOS, dropped=DROPS)
    storage = spec.storage()
    m = publish_run(spec, pipeline_of(spec, ["crawl"]))
    before = storage.version(manifest_key(spec.snapshot))
    # Another run publishes the same date between our read and our write: we must not overwrite it.
    other = dict(m, created_at="2030-01-01T00:00:00+00:00")
    manifest.publish(storage, other, before)
    with pytest.raises(PublishConflict, match="another run published"):
        manifest.publish(storage, m, before)
    assert storage.read_json(manifest_key(spec.snapshot))["created_at"] == "2030-01-01T00:00:00+00:00"


def test_gc_removes_only_unpublished_old_runs(spec, tmp_path):
    write_crawl(spec, FILES, REPOS, dropped=DROPS)
    storage = spec.storage()
    storage.write_json(f"{spec.prefix}/_RUN.json", {"created_at": "2026-02-03T00:00:00+00:00"})
    publish_run(spec, pipeline_of(spec, ["crawl"]))
    orphan = RunSpec(spec.snapshot, "run_2", spec.config)
    write_crawl(orphan, FILES, REPOS, dropped=DROPS)
    storage.write_json(f"{orphan.prefix}/_RUN.json", {"created_at": "2026-02-03T01:00:00+00:00"})
    now = dt.datetime(2026, 2, 3, 3, tzinfo=dt.timezone.utc)
    assert cleanup.find_garbage(storage, older_than_hours=24, now=now) == []
    [g] = cleanup.find_garbage(storage, older_than_hours=1, now=now)
    assert (g.run_id, g.age_hours) == ("run_2", 2.0)
    assert cleanup.collect(storage, [g]) > 0
    assert not storage.list(orphan.prefix + "/")
    assert manifest.read_dataset(storage, spec.snapshot, "files").num_rows == 5
    assert json.loads(storage.read_bytes(manifest_key(spec.snapshot)))["snapshot"] == spec.snapshot


def test_filter_parts_maps_input_parts_to_output_parts(spec):
    from seedlib.stage import filter_parts

    write_crawl(spec, FILES, REPOS, dropped=DROPS)
    crawl = read_report(spec.storage(), spec.stage_prefix("crawl"))

    def make_filter(config):
        def decide(table):
            rows = table.to_pylist()
            drop = [r for r in rows if r["content"].endswith("2\n")]
            kept = table.filter([r not in drop for r in rows])
            kept = kept.append_column("checked", pa.array([True] * kept.num_rows))
            return kept, [ledger.drop(r["repo"], r["path"], r["sha256"], "odd", "low_quality") for r in drop]
        return decide

    items = list(enumerate(crawl.datasets["files"]["paths"]))
    parts = list(filter_parts(spec.to_json(), "odd", make_filter, reversed(items)))
    report = StageRecorder(spec.storage(), spec.stage_prefix("odd"), "odd", "crawl").finish(parts, crawl.rows_out)
    assert (report.rows_in, report.rows_out, report.dropped) == (5, 4, {"low_quality": 1})
    assert [p.rsplit("/", 1)[1] for p in report.datasets["files"]["paths"]] == [
        "part-00000-0000.parquet", "part-00001-0000.parquet", "part-00002-0000.parquet"]
    kept = spec.storage().read_parquet(report.datasets["files"]["paths"])
    assert kept.column_names[-1] == "checked" and kept.column("checked").to_pylist() == [True] * 4
    m = publish_run(spec, pipeline_of(spec, ["crawl", "odd"]))
    assert m["datasets"]["dropped"]["rows"] == 3

    def lossy(config):
        return lambda table: (table.slice(1), [])

    with pytest.raises(StageError, match="filter returned 1 kept \\+ 0 dropped for 2 input rows"):
        list(filter_parts(spec.to_json(), "lossy", lossy, items[:1]))
