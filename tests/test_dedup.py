"""Dedup: signatures equal datasketch's, the keeper order, and the two Spark stages with exact ledgers."""

from __future__ import annotations

import hashlib
import random

import numpy as np
import pyarrow as pa
import pytest

from seedlib import ledger
from seedlib.config import ConfigError, load_config
from seedlib.dedup import minhash, order
from seedlib.dedup.lsh import bucket_pairs
from seedlib.run import RunSpec
from seedlib.stage import finished_parts, read_report
from tests.stages import pipeline_of, run_stage, write_crawl


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def row(repo, path, text):
    return {"repo": repo, "path": path, "lang": "Python", "sha256": sha(text), "size": len(text), "content": text}


def repo(name, license=None, stars=None, forks=None):
    return {"repo": name, "url": f"file:///{name}", "head_sha": "1" * 40, "stars": stars, "forks": forks,
            "license": license, "status": "ok", "error": None}


# ---------- fast: pure functions ----------

def test_signatures_equal_datasketch_update_batch():
    from datasketch import MinHash

    texts = pa.array(["def foo(x):\n    return x + 1\n", "hi", "", None, "a b c d e f g h " * 3])
    doc, hashes = minhash.shingle_hashes(texts, 5)
    assert doc.tolist() == [0, 0, 1] + [4] * 20   # "hi": one short shingle; "" and None: none
    sigs = minhash.signatures_from_hashes(doc, hashes, len(texts), 64)
    for i in range(len(texts)):
        m = MinHash(num_perm=64, seed=1, hashfunc=lambda v: v)
        m.update_batch([int(v) for v in hashes[doc == i]])
        assert m.scheme == "affine32" and (m.hashvalues == sigs[i]).all()
    assert minhash.binary_to_sig(minhash.sig_to_binary(sigs), 64).tolist() == sigs.tolist()


def test_shingles_ignore_case_and_punctuation_and_estimate_tracks_jaccard():
    a, b = minhash.shingle_hashes(pa.array(["Foo(bar, BAZ) + qux"]), 2)[1], \
        minhash.shingle_hashes(pa.array(["foo bar baz qux"]), 2)[1]
    assert a.tolist() == b.tolist() and len(a) == 3
    rng = random.Random(0)
    words = [f"w{rng.randrange(10**6)}" for _ in range(400)]
    other = list(words)
    for i in range(0, 400, 40):        # 10 substitutions: exact shingle Jaccard ~0.78
        other[i] = "changed"
    sigs, has = minhash.text_signatures(pa.array([" ".join(words), " ".join(other)]), minhash.MinHashParams())
    assert has.all()
    sa, sb = set(zip(*[words[i:] for i in range(5)])), set(zip(*[other[i:] for i in range(5)]))
    exact = len(sa & sb) / len(sa | sb)
    assert abs(minhash.estimate(sigs[:1], sigs[1:])[0] - exact) < 0.08
    assert minhash.optimal_bands(0.7, 256) == (25, 10)


def test_bucket_pairs_all_pairs_then_a_star():
    assert bucket_pairs([1, 5, 9], 3) == [(1, 5), (1, 9), (5, 9)]
    assert bucket_pairs([1, 5, 9, 12], 3) == [(1, 5), (1, 9), (1, 12)]


def test_keeper_order_is_permissive_then_stars_forks_then_repo_path():
    crit, perm = ("license", "stars", "forks", "pushed"), order.permissive_set(["MIT"])
    keys = {name: order.file_key(order.repo_key(name, meta, crit, perm), "x.py") for name, meta in {
        "z/gpl-famous": {"license": "GPL-3.0", "stars": 10_000},
        "y/mit-small": {"license": "mit", "stars": 1},
        "x/mit-big": {"license": "MIT", "stars": 50, "forks": 1},
        "w/mit-big-forked": {"license": "MIT", "stars": 50, "forks": 2},
        "a/unknown": None,
    }.items()}
    assert sorted(keys, key=keys.get) == ["w/mit-big-forked", "x/mit-big", "y/mit-small", "z/gpl-famous",
                                          "a/unknown"]
    assert order.file_key(order.repo_key("o/a", None, (), perm), "b") < order.file_key(
        order.repo_key("o/a/b", None, (), perm), "a")


def test_config_keys_are_checked_and_ledger_allows_repo_duplicate():
    with pytest.raises(ConfigError, match="dedup_keep_order: unknown criterion 'age'"):
        load_config({"dedup_keep_order": "license,age"}, {})
    with pytest.raises(ConfigError, match="near_dedup_threshold"):
        load_config({"near_dedup_threshold": 1.5}, {})
    assert ledger.drop("o/a", "x", "ab", "exact_dedup", "repo_duplicate")["duplicate_of"] is None
    assert ledger.drop("o/a", "x", "ab", "exact_dedup", "repo_duplicate", "cd")["duplicate_of"] == "cd"


# ---------- slow: the stages on Spark ----------

def make_run(tmp_path, run_id="run_1", snapshot="2026-02-03", **overrides):
    config = load_config({"storage": (tmp_path / "data").as_uri(), **overrides}, {})
    return RunSpec(snapshot=snapshot, run_id=run_id, config=config.public_dict())


def run_body(spark, spec, name, after=("crawl",)):
    storage = spec.storage()
    report = run_stage(spark, spec, name, after)
    assert report.rows_in == read_report(storage, spec.stage_prefix(after[-1])).rows_out
    kept = storage.read_parquet(report.datasets["files"]["paths"]) if report.datasets["files"]["paths"] else None
    dropped = storage.read_parquet(report.datasets["dropped"]["paths"]).sort_by([("repo", "ascending"), ("path", "ascending")]) \
        if report.datasets["dropped"]["paths"] else pa.table({"repo": []})
    return report, kept, dropped


def part_bytes(spec, report, datasets=("files", "dropped")) -> list:
    """(part name, bytes) of a stage's output parts: what must not depend on how the stage decided."""
    storage = spec.storage()
    return [(k.rsplit("/", 2)[-2:], storage.read_bytes(k)) for name in datasets for k in report.datasets[name]["paths"]]


def without(details: dict, *keys) -> dict:
    return {k: (without(v, *keys) if isinstance(v, dict) else v) for k, v in details.items() if k not in keys}


SPARK_ONLY = ("decided_on", "clusters_on", "components_on", "rounds")


def assert_same_on_spark(spark, tmp_path, spec, report, name, write, after=("crawl",), **overrides):
    """The stage decided on Spark (`dedup_driver_files=0`) writes the same bytes and counts as `report`."""
    assert report.details["decided_on"] == "driver"
    other = make_run(tmp_path, spec.run_id + "_spark", snapshot=spec.snapshot, dedup_driver_files=0, **overrides)
    write(other)
    on_spark, _, _ = run_body(spark, other, name, after)
    assert on_spark.details["decided_on"] == "spark"
    assert part_bytes(other, on_spark) == part_bytes(spec, report)
    assert without(on_spark.details, *SPARK_ONLY) == without(report.details, *SPARK_ONLY)
    return on_spark


EXACT_FILES = [
    row("o/a", "x.py", "A\n"), row("o/a", "y.py", "B\n"), row("o/a", "y2.py", "B\n"), row("o/a", "w.py", "C\n"),
    row("o/b", "x.py", "A\n"), row("o/b", "z.py", "C\n"), row("o/b", "only_b.py", "F\n"),
    row("o/c", "p.py", "D\n"), row("o/c", "q.py", "E\n"),
    row("o/d", "p.py", "D\n"), row("o/d", "q.py", "E\n"),
    row("o/e", "ws.py", "D \n"),
]
EXACT_REPOS = [repo("o/a", "MIT", 10), repo("o/b", "GPL-3.0", 1000), repo("o/c", "MIT", 5),
               repo("o/d", "Apache-2.0", 50), repo("o/e")]


@pytest.mark.slow
def test_exact_dedup_keeps_one_copy_by_keeper_order_and_drops_repo_copies(spark, tmp_path):
    from seedlib.publish import publish_run

    spec = make_run(tmp_path)
    write_crawl(spec, EXACT_FILES, EXACT_REPOS, rows_per_part=3)
    report, kept, dropped = run_body(spark, spec, "exact_dedup")
    assert sorted(zip(kept.column("repo").to_pylist(), kept.column("path").to_pylist())) == [
        ("o/a", "w.py"), ("o/a", "x.py"), ("o/a", "y.py"), ("o/b", "only_b.py"),
        ("o/d", "p.py"), ("o/d", "q.py"), ("o/e", "ws.py")]
    assert dropped.select(["repo", "path", "stage", "reason", "duplicate_of"]).to_pylist() == [
        {"repo": "o/a", "path": "y2.py", "stage": "exact_dedup", "reason": "exact_duplicate", "duplicate_of": sha("B\n")},
        {"repo": "o/b", "path": "x.py", "stage": "exact_dedup", "reason": "exact_duplicate", "duplicate_of": sha("A\n")},
        {"repo": "o/b", "path": "z.py", "stage": "exact_dedup", "reason": "exact_duplicate", "duplicate_of": sha("C\n")},
        {"repo": "o/c", "path": "p.py", "stage": "exact_dedup", "reason": "repo_duplicate", "duplicate_of": sha("D\n")},
        {"repo": "o/c", "path": "q.py", "stage": "exact_dedup", "reason": "repo_duplicate", "duplicate_of": sha("E\n")},
    ]
    assert (report.rows_in, report.rows_out, report.dropped) == (12, 7, {"exact_duplicate": 3, "repo_duplicate": 2})
    assert report.details["repo_dedup"]["exact_copies"] == 1
    publish_run(spec, pipeline_of(spec, ["crawl", "exact_dedup"]))   # the ledger invariant holds
    assert_same_on_spark(spark, tmp_path, spec, report, "exact_dedup",
                         lambda s: write_crawl(s, EXACT_FILES, EXACT_REPOS, rows_per_part=3))

    ws = make_run(tmp_path, "run_ws", dedup_exact_hash="whitespace", dedup_keep_order="stars")
    write_crawl(ws, EXACT_FILES, EXACT_REPOS, rows_per_part=3)
    report, kept, dropped = run_body(spark, ws, "exact_dedup")
    rows = {(r["repo"], r["path"]): r for r in dropped.to_pylist()}
    # "D \n" ~ "D\n" once whitespace is collapsed; by stars alone o/d (50) beats o/e (unknown = 0).
    assert rows[("o/e", "ws.py")]["reason"] == "exact_duplicate" and rows[("o/e", "ws.py")]["duplicate_of"] == sha("D\n")
    # by stars alone o/b (1000) now keeps A and C, o/a's copies go
    assert rows[("o/a", "x.py")]["duplicate_of"] == sha("A\n") and ("o/b", "x.py") not in rows


def near_corpus(seed=7):
    rng = random.Random(seed)
    vocab = [f"tok{i}" for i in range(5000)]

    def doc(n=300):
        return [rng.choice(vocab) for _ in range(n)]

    def mutate(words, k):
        out = list(words)
        for i in rng.sample(range(len(out)), k):
            out[i] = rng.choice(vocab)
        return out

    base1, base2 = doc(), doc()
    files = [
        row("o/a", "one.py", " ".join(base1)),
        row("o/b", "one_copy.py", " ".join(mutate(base1, 3))),     # near duplicate of o/a one.py
        row("o/c", "one_more.py", " ".join(mutate(base1, 4))),     # near duplicate too
        row("o/b", "two.py", " ".join(base2)),
        row("o/c", "two_v2.py", "\n".join(mutate(base2, 2))),      # different whitespace, near dup
        row("o/a", "empty.py", ""),
        row("o/a", "short.py", "x"),
    ] + [row(f"o/u{i}", f"u{i}.py", " ".join(doc())) for i in range(12)]  # unrelated
    repos = [repo("o/a", "MIT", 5), repo("o/b", "MIT", 50), repo("o/c", "GPL-3.0", 10_000)] + [
        repo(f"o/u{i}") for i in range(12)]
    return files, repos


@pytest.mark.slow
def test_near_dedup_keeps_best_of_each_component_and_is_partition_independent(spark, tmp_path):

    files, repos = near_corpus()
    outputs = []
    for run_id, shuffle in (("p2", 2), ("p7", 7)):
        spec = make_run(tmp_path, run_id)
        write_crawl(spec, files, repos, partitions=3, rows_per_part=3)
        before = spark.conf.get("spark.sql.shuffle.partitions")
        spark.conf.set("spark.sql.shuffle.partitions", str(shuffle))
        try:
            report, kept, dropped = run_body(spark, spec, "near_dedup")
        finally:
            spark.conf.set("spark.sql.shuffle.partitions", before)
        storage = spec.storage()
        outputs.append([(k.rsplit("/", 2)[-2:], storage.read_bytes(k))
                        for name in ("files", "dropped") for k in report.datasets[name]["paths"]])
    assert outputs[0] == outputs[1]           # byte-identical parts, same names
    assert dropped.select(["repo", "path", "reason", "duplicate_of"]).to_pylist() == [
        {"repo": "o/a", "path": "one.py", "reason": "near_duplicate", "duplicate_of": files[1]["sha256"]},
        {"repo": "o/c", "path": "one_more.py", "reason": "near_duplicate", "duplicate_of": files[1]["sha256"]},
        {"repo": "o/c", "path": "two_v2.py", "reason": "near_duplicate", "duplicate_of": files[3]["sha256"]},
    ]
    assert (report.rows_in, report.rows_out) == (19, 16)
    near = report.details["near"]
    assert near["largest_component"] == 3 and near["components"] == 2 and near["without_shingles"] == 1
    assert near["verified_pairs"] >= 3 and (near["bands"], near["rows"]) == (25, 10)

    # Decided on Spark (dedup_driver_files=0): LSH and verification as Spark jobs, components on the driver,
    # then also as distributed star rounds (near_dedup_driver_edges=0): the same bytes and counts.
    assert near["clusters_on"] == "driver" and near["rounds"] == 0
    def write(s):
        write_crawl(s, files, repos, partitions=3, rows_per_part=3)
    on_spark = assert_same_on_spark(spark, tmp_path, spec, report, "near_dedup", write)
    # An input part without rows is finished too (on the driver: no task of the read saw it).
    def with_empty(s):
        write_crawl(s, files, repos, partitions=3, rows_per_part=3, empty_parts=1)
    empty = make_run(tmp_path, "empty")
    with_empty(empty)
    empty_report, _, _ = run_body(spark, empty, "near_dedup")
    n_input = len(read_report(empty.storage(), empty.stage_prefix("crawl")).datasets["files"]["paths"])
    assert sorted(finished_parts(empty.storage(), empty.stage_prefix("near_dedup"))) == list(range(n_input))
    assert_same_on_spark(spark, tmp_path, empty, empty_report, "near_dedup", with_empty)
    assert on_spark.details["near"]["components_on"] == "driver"
    rounds = assert_same_on_spark(spark, tmp_path, make_run(tmp_path, "rounds"), report, "near_dedup", write,
                                  near_dedup_driver_edges=0)
    assert rounds.details["near"]["components_on"] == "spark" and rounds.details["near"]["rounds"] >= 1

    # Buckets above near_dedup_max_bucket become stars around their best member: same decisions here.
    star = make_run(tmp_path, "star", near_dedup_max_bucket=2)
    write_crawl(star, files, repos, partitions=3, rows_per_part=3)
    report, _, star_dropped = run_body(spark, star, "near_dedup")
    assert star_dropped.select(["repo", "path", "reason", "duplicate_of"]).to_pylist() == \
        dropped.select(["repo", "path", "reason", "duplicate_of"]).to_pylist()
    assert report.details["near"]["oversized_buckets"] >= 1 and report.details["near"]["largest_bucket"] == 3


def test_shingles_when_the_empty_token_ends_the_vocabulary():
    # "x)" splits into ["x", ""]: the empty token is the last distinct one (this used to raise IndexError).
    import pyarrow as pa

    from seedlib.dedup import minhash

    doc, hashes = minhash.shingle_hashes(pa.array(["a b c d e f", "x)", ""]), 5)
    assert sorted(set(doc.tolist())) == [0, 1] and len(hashes) == len(doc)
    again, _ = minhash.shingle_hashes(pa.array(["a b c d e f", "x"]), 5)
    assert doc.tolist() == again.tolist()


def test_a_batch_with_fewer_tokens_than_the_shingle_width():
    import pyarrow as pa

    from seedlib.dedup import minhash

    doc, hashes = minhash.shingle_hashes(pa.array(["class Main {}", ""]), 5)  # 2 tokens in all, k = 5
    assert doc.tolist() == [0] and len(hashes) == 1
    single, _ = minhash.shingle_hashes(pa.array(["class Main {}"]), 5)
    assert single.tolist() == [0]


def test_shingle_counts_match_a_plain_reference_on_random_batches():
    import random
    import re
    from collections import Counter

    import pyarrow as pa

    from seedlib.dedup import minhash

    rng = random.Random(7)
    words = ["a", "b", "x1", "def", "(", ")", " ", "\n", "=", "ß", "::", ""]
    for _ in range(200):
        texts = ["".join(rng.choice(words) + rng.choice([" ", "", "."]) for _ in range(rng.randint(0, 9)))
                 for _ in range(rng.randint(1, 5))]
        k = rng.randint(1, 6)
        doc, hashes = minhash.shingle_hashes(pa.array(texts), k)
        expected = {}
        for i, text in enumerate(texts):
            # words are ASCII [0-9A-Za-z_] runs (RE2's \W): other characters separate them
            tokens = [t for t in re.split(r"[^0-9a-z_]+", text.lower()) if t]
            n = max(len(tokens) - k + 1, 1) if tokens else 0
            if n:
                expected[i] = n
        assert dict(Counter(doc.tolist())) == expected, (texts, k)


def test_most_recent_push_wins_among_otherwise_equal_repositories():
    from seedlib.dedup import order

    criteria = ("license", "stars", "forks", "pushed")
    permissive = order.permissive_set(["MIT"])
    old = order.repo_key("a/old", {"license": "MIT", "stars": 5, "pushed_at": "2020-01-01T00:00:00Z"},
                         criteria, permissive)
    new = order.repo_key("z/new", {"license": "MIT", "stars": 5, "pushed_at": "2026-01-01T00:00:00Z"},
                         criteria, permissive)
    unknown = order.repo_key("b/unknown", {"license": "MIT", "stars": 5}, criteria, permissive)
    assert sorted([old, new, unknown]) == [new, old, unknown]


@pytest.mark.slow
def test_near_identical_repositories_keep_one(spark, tmp_path):
    """A fork with one file changed among thirty: the whole repository goes as a copy of the original."""

    shared = [row("o/up", f"m{i}.py", f"def f{i}():\n    return {i}\n") for i in range(30)]
    fork = [row("o/fork", r["path"], r["content"]) for r in shared[:29]]
    fork.append(row("o/fork", "m29.py", "def f29():\n    return 'changed'\n"))
    other = [row("o/other", f"x{i}.py", f"X = {i * 7}\n") for i in range(6)]
    spec = make_run(tmp_path, repo_dedup_threshold=0.8, repo_dedup_min_files=5)
    write_crawl(spec, shared + fork + other, rows_per_part=3, repos=
                [repo("o/up", "MIT", 100), repo("o/fork", "MIT", 1), repo("o/other", "MIT", 3)])
    report, kept, dropped = run_body(spark, spec, "exact_dedup")
    # Jaccard of the hash sets: 29 shared / 31 distinct = 0.94 >= 0.8 -> o/fork is a repository copy of o/up.
    assert sorted(set(kept.column("repo").to_pylist())) == ["o/other", "o/up"], report.details
    rows = {r["path"]: r for r in dropped.to_pylist()}
    assert set(dropped.column("repo").to_pylist()) == {"o/fork"} and len(rows) == 30
    assert all(r["reason"] == "repo_duplicate" for r in rows.values())
    assert rows["m0.py"]["duplicate_of"] == sha(shared[0]["content"])   # a kept copy exists
    assert rows["m29.py"]["duplicate_of"] is None                       # the fork's own change: none
    assert report.details["repo_dedup"]["near_copies"] == 1
    assert_same_on_spark(spark, tmp_path, spec, report, "exact_dedup", lambda s: write_crawl(
        s, shared + fork + other, rows_per_part=3, repos=[repo("o/up", "MIT", 100), repo("o/fork", "MIT", 1),
                                                          repo("o/other", "MIT", 3)]),
        repo_dedup_threshold=0.8, repo_dedup_min_files=5)


def dedup_and_publish(spark, spec, files, repos):
    """crawl (written directly) -> exact_dedup -> near_dedup -> publish; returns near_dedup's outputs."""
    from seedlib.publish import publish_run

    write_crawl(spec, files, repos, rows_per_part=3)
    exact, _, exact_dropped = run_body(spark, spec, "exact_dedup")
    near, kept, near_dropped = run_body(spark, spec, "near_dedup", ("crawl", "exact_dedup"))
    published = publish_run(spec, pipeline_of(spec, ("crawl", "exact_dedup", "near_dedup")))
    dropped = {(r["repo"], r["path"]): (r["reason"], r["duplicate_of"])
               for t in (exact_dropped, near_dropped) for r in t.to_pylist()}
    return exact, near, kept, dropped, published


@pytest.mark.slow
def test_published_snapshots_are_the_dedup_index_of_later_ones(spark, tmp_path):
    """Day 2 drops what day 1 published (exactly or nearly), keeps day 1's files as representatives even
    against a better-ranked new copy, and a rerun of day 2 after publishing it gives identical bytes."""
    files, _ = near_corpus()
    one_copy, two, unrelated = files[1], files[3], files[7:10]
    day1_files = [one_copy, two, unrelated[0], row("o/a", "shared.py", "SHARED = 1\n")]
    repos = [repo("o/a", "MIT", 5), repo("o/b", "MIT", 50), repo("o/c", "MIT", 10_000), repo("o/z"),
             repo("o/u0"), repo("o/u1"), repo("o/u2")]
    day1 = make_run(tmp_path, "d1", snapshot="2026-02-01")
    _, _, kept1, _, published1 = dedup_and_publish(spark, day1, day1_files, repos)
    assert kept1.num_rows == 4
    index1 = published1["datasets"]["dedup_index"]
    assert index1["rows"] == 4 and index1["paths"]
    rows1 = day1.storage().read_parquet([f"snapshots/dt=2026-02-01/{p}" for p in index1["paths"]]).to_pylist()
    assert sorted(r["path"] for r in rows1) == ["one_copy.py", "shared.py", "two.py", "u0.py"]
    assert all(r["sig"] is not None and len(r["sig"]) == 4 * 256 for r in rows1)

    new_file = row("o/b", "new.py", " ".join(f"fresh{i}" for i in range(50)))
    day2_files = [one_copy, two, new_file,
                  row("o/c", "one_more.py", files[2]["content"]),   # near copy; o/c outranks o/b (stars)
                  row("o/z", "copy.py", "SHARED = 1\n"),            # exact copy of day 1's o/a file
                  unrelated[1]]
    expected_dropped = {
        ("o/b", "one_copy.py"): ("exact_duplicate", one_copy["sha256"]),
        ("o/b", "two.py"): ("exact_duplicate", two["sha256"]),
        ("o/z", "copy.py"): ("exact_duplicate", sha("SHARED = 1\n")),
        ("o/c", "one_more.py"): ("near_duplicate", one_copy["sha256"]),
    }
    outputs = []
    # The rerun happens after d2 is published: its own date is not used. d2_spark decides on Spark.
    for run_id, overrides in (("d2", {}), ("d2_rerun", {}), ("d2_spark", {"dedup_driver_files": 0})):
        day2 = make_run(tmp_path, run_id, snapshot="2026-02-02", **overrides)
        exact, near, kept2, dropped2, _ = dedup_and_publish(spark, day2, day2_files, repos)
        assert sorted(kept2.column("path").to_pylist()) == ["new.py", "u1.py"]
        assert dropped2 == expected_dropped
        assert exact.details["published_index"] == {"snapshots": 1, "recomputed_parts": 0, "files": 4,
                                                    "matched": 3}
        assert near.details["near"]["published_index"]["matched"] == 1
        storage = day2.storage()
        outputs.append([storage.read_bytes(k) for r in (exact, near) for name in ("files", "dropped")
                        for k in r.datasets[name]["paths"]])
        assert (exact.details["decided_on"], near.details["decided_on"]) == (("spark",) * 2 if overrides else
                                                                           ("driver",) * 2)
    assert outputs[0] == outputs[1] == outputs[2]

    # Other MinHash settings than day 1's: its signatures are recomputed from its published files.
    day3 = make_run(tmp_path, "d3", snapshot="2026-02-03", near_dedup_num_perm=128)
    _, near, kept3, dropped3, _ = dedup_and_publish(spark, day3, day2_files[3:4] + [unrelated[2]], repos)
    assert dropped3 == {("o/c", "one_more.py"): ("near_duplicate", one_copy["sha256"])}
    assert near.details["near"]["published_index"]["recomputed_parts"] >= 1

    # Switched off: a snapshot is self-contained again.
    alone = make_run(tmp_path, "d4", snapshot="2026-02-04", dedup_against_published=False)
    _, _, kept4, dropped4, _ = dedup_and_publish(spark, alone, day2_files, repos)
    assert kept4.num_rows == 5 and list(dropped4.values()) == [("near_duplicate", files[2]["sha256"])]


def test_driver_components_equal_the_distributed_rounds(spark):
    from seedlib.dedup.components import connected_components, driver_components

    rng = random.Random(7)
    for n_nodes, n_edges in ((5, 3), (200, 150), (2000, 2500)):
        pairs = [(rng.randrange(n_nodes), rng.randrange(n_nodes)) for _ in range(n_edges)]
        edges = spark.createDataFrame(pairs, "src long, dst long")
        spark_rows, _ = connected_components(edges)
        expected = sorted(tuple(r) for r in spark_rows.collect())
        assert sorted(tuple(r) for r in driver_components(edges).collect()) == expected
        assert all(root <= node for node, root in expected)


def clustered_signatures(rng: np.random.Generator, n_groups: int, per_group: int, num_perm: int) -> np.ndarray:
    """Signatures in groups of near copies (each a few permutations off its group's base), plus noise."""
    base = rng.integers(0, 2**32, (n_groups, num_perm), dtype=np.uint64).astype(np.uint32)
    sigs = np.repeat(base, per_group, axis=0)
    for row in sigs:
        flip = rng.choice(num_perm, int(rng.integers(0, num_perm // 3)), replace=False)
        row[flip] = rng.integers(0, 2**32, len(flip), dtype=np.uint64).astype(np.uint32)
    noise = rng.integers(0, 2**32, (n_groups, num_perm), dtype=np.uint64).astype(np.uint32)
    return np.concatenate([sigs, noise])


CLUSTER_DETAILS_ONLY_ON_SPARK = ("clusters_on", "components_on", "rounds")


@pytest.mark.slow
def test_driver_clusters_equal_near_clusters_on_spark(spark):
    """driver.clusters (numpy + scipy) gives near_clusters' Spark result: losers, roots and every count,
    with oversized buckets (stars) and oversized components (only members similar to the keeper go)."""
    from seedlib.dedup import driver, minhash
    from seedlib.dedup.lsh import near_clusters, on_driver

    rng = np.random.default_rng(11)
    params = minhash.MinHashParams(num_perm=64, threshold=0.7)
    for n_groups, per_group, max_bucket, max_component in ((30, 4, 100, 10_000), (20, 9, 3, 4), (1, 1, 100, 10)):
        sigs = clustered_signatures(rng, n_groups, per_group, params.num_perm)
        ranks = rng.permutation(len(sigs) * 3)[: len(sigs)].astype(np.int64)  # sparse ranks, shuffled rows
        nodes = spark.createDataFrame(pa.table({"rank": ranks, "sig": minhash.sig_to_binary(sigs)}))
        on_spark, spark_details = near_clusters(nodes, params, max_bucket, max_component, driver_edges=0)
        expected = sorted(tuple(r) for r in on_spark.collect())
        local, local_details = on_driver(nodes, params, max_bucket, max_component)
        assert sorted(tuple(r) for r in local.collect()) == expected
        assert {k: v for k, v in local_details.items() if k not in CLUSTER_DETAILS_ONLY_ON_SPARK} == \
            {k: v for k, v in spark_details.items() if k not in CLUSTER_DETAILS_ONLY_ON_SPARK}
        assert local_details["clusters_on"] == "driver" and spark_details["clusters_on"] == "spark"
        if max_component == 4:
            assert spark_details["oversized_buckets"] > 0 and spark_details["oversized_components"] > 0
            assert spark_details["kept_in_oversized"] > 0
        elif n_groups == 30:
            assert len(expected) > 30
        order = np.argsort(ranks, kind="stable")   # driver.clusters itself: positions in rank order
        losers, roots, _ = driver.clusters(sigs[order], params, max_bucket, max_component)
        assert sorted(zip(ranks[order][losers].tolist(), ranks[order][roots].tolist())) == expected
