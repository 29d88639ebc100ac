"""The corpus as of a snapshot (seedlib/corpus.py): new files plus the still-current ones of earlier snapshots."""

from __future__ import annotations

import hashlib

import pytest

from seedlib import corpus, datasets, ledger, manifest
from seedlib.config import load_config
from seedlib.publish import publish_run
from seedlib.run import RunSpec
from tests.stages import pipeline_of, run_stage, write_crawl


def row(repo, path, text):
    return {"repo": repo, "path": path, "lang": "Python", "sha256": hashlib.sha256(text.encode()).hexdigest(),
            "size": len(text), "content": text}


def repo(name, ok=True):
    return {"repo": name, "url": f"file:///{name}", "head_sha": "1" * 40 if ok else None, "stars": None,
            "forks": None, "license": None, "status": "ok" if ok else "failed",
            "error": None if ok else "unreachable: git clone failed: nope"}


def dup(r, of):
    return ledger.drop(r["repo"], r["path"], r["sha256"], "crawl", "exact_duplicate", duplicate_of=of["sha256"])


@pytest.fixture
def storage_uri(tmp_path):
    return (tmp_path / "data").as_uri()


def spec_for(uri, date):
    config = load_config({"storage": uri}, {})
    return RunSpec(snapshot=date, run_id="run_1", config=config.public_dict())


# Day 1: o/a has f0..f3, o/c has c.py, o/b fails.
A = [row("o/a", f"f{i}.py", f"x = {i}\n") for i in range(4)]
C = [row("o/c", "c.py", "c = 1\n")]
# Day 2: f0 unchanged (a duplicate of day 1's copy), f1 changed and kept, f2 gone from the repository,
# f3 changed but dropped for a reason of its own; o/b now crawls; o/c fails (its files stay).
F1_NEW = row("o/a", "f1.py", "x = 'one'\n")
F3_NEW = row("o/a", "f3.py", "x = (\n")
B = [row("o/b", "g.py", "g = 1\n")]


def publish_day(uri, date, files, repos, dropped=(), with_corpus=True):
    spec = spec_for(uri, date)
    write_crawl(spec, files, repos, dropped=dropped)
    names = ("crawl", "corpus") if with_corpus else ("crawl",)
    if with_corpus:
        run_stage(None, spec, "corpus", after=("crawl",))
    return publish_run(spec, pipeline_of(spec, names))


def day2(uri, with_corpus=True):
    return publish_day(uri, "2026-02-04", [F1_NEW, *B], [repo("o/a"), repo("o/b"), repo("o/c", ok=False)],
                       dropped=[dup(A[0], A[0]), ledger.drop("o/a", "f3.py", F3_NEW["sha256"], "crawl", "binary")],
                       with_corpus=with_corpus)


EXPECTED_DAY2 = {("o/a", "f0.py", "2026-02-03"), ("o/a", "f1.py", "2026-02-04"), ("o/b", "g.py", "2026-02-04"),
                 ("o/c", "c.py", "2026-02-03")}


def rows_of(table):
    return {(r["repo"], r["path"], r["snapshot"]) for r in table.to_pylist()}


def test_corpus_carries_unchanged_and_uncrawled_files_and_drops_superseded_ones(storage_uri):
    m1 = publish_day(storage_uri, "2026-02-03", A + C, [repo("o/a"), repo("o/b", ok=False), repo("o/c")])
    assert m1["datasets"]["corpus_index"]["rows"] == 5
    m2 = day2(storage_uri)
    storage = spec_for(storage_uri, "2026-02-04").storage()
    index = manifest.read_dataset(storage, "2026-02-04", "corpus_index")
    assert rows_of(index) == EXPECTED_DAY2
    assert m2["datasets"]["files"]["rows"] == 2 and m2["datasets"]["corpus_index"]["rows"] == 4
    stage = next(s for s in m2["stages"] if s["name"] == "corpus")
    assert stage["rows_out"] == 4
    # the sha256 of a carried row is the earlier snapshot's copy, which is where its contents are
    f0 = next(r for r in index.to_pylist() if r["path"] == "f0.py")
    assert f0["sha256"] == A[0]["sha256"]


def test_corpus_is_rebuilt_for_snapshots_published_without_an_index(storage_uri):
    publish_day(storage_uri, "2026-02-03", A + C, [repo("o/a"), repo("o/b", ok=False), repo("o/c")],
                with_corpus=False)
    day2(storage_uri, with_corpus=False)
    storage = spec_for(storage_uri, "2026-02-05").storage()
    table, since = corpus.as_of(storage, "2026-02-05")
    assert since == "2026-02-04"
    assert rows_of(table) == EXPECTED_DAY2
    # and the first snapshot's corpus is its own files
    first, since = corpus.as_of(storage, "2026-02-04")
    assert since == "2026-02-03" and len(first) == 5


def test_update_keeps_a_file_of_a_repository_crawled_again_only_when_unchanged():
    import pyarrow as pa

    prev = corpus.kept_rows(pa.Table.from_pylist(A), "2026-01-01")
    seen = pa.Table.from_pylist([{"repo": "o/a", "path": "f0.py", "sha256": A[0]["sha256"]},
                                 {"repo": "o/a", "path": "f1.py", "sha256": "0" * 64}])
    nothing_new = corpus.kept_rows(pa.Table.from_pylist([], schema=datasets.FILES), "2026-01-02")
    out, counts = corpus.update(prev, nothing_new, seen, pa.array(["o/a"]))
    assert out.column("path").to_pylist() == ["f0.py"]
    assert counts == {"new": 0, "carried": 1, "superseded": 3}


def test_a_snapshot_with_nothing_new_is_published_when_its_corpus_is_not_empty(storage_uri):
    publish_day(storage_uri, "2026-02-03", A, [repo("o/a")])
    m = publish_day(storage_uri, "2026-02-04", [], [repo("o/a")], dropped=[dup(r, r) for r in A])
    assert m["datasets"]["files"]["rows"] == 0 and m["datasets"]["corpus_index"]["rows"] == 4
    # without a corpus (the stage left out) an empty run is still refused
    from seedlib.stage import StageError
    with pytest.raises(StageError, match="kept no files"):
        publish_day(storage_uri, "2026-02-05", [], [repo("o/a")], dropped=[dup(r, r) for r in A], with_corpus=False)


def test_a_file_whose_new_version_is_a_near_duplicate_of_its_earlier_copy_stays(storage_uri):
    import pyarrow as pa

    prev = corpus.kept_rows(pa.Table.from_pylist(A), "2026-01-01")
    edited = "x = 0  # edited\n"
    seen = pa.Table.from_pylist([{"repo": "o/a", "path": "f0.py", "sha256": hashlib.sha256(edited.encode()).hexdigest()}])
    dups = pa.Table.from_pylist([{"repo": "o/a", "path": "f0.py", "duplicate_of": A[0]["sha256"]}])
    nothing_new = corpus.kept_rows(pa.Table.from_pylist([], schema=datasets.FILES), "2026-01-02")
    out, _ = corpus.update(prev, nothing_new, seen, pa.array(["o/a"]), dups)
    assert out.column("path").to_pylist() == ["f0.py"]  # f1..f3 are gone from the repository
    assert corpus.update(prev, nothing_new, seen, pa.array(["o/a"]))[0].num_rows == 0  # without the ledger
