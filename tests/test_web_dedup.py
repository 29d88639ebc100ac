"""Web page dedup (seedlib/web/dedup.py): the keeper order, and the exact_dedup / near_dedup bodies on Spark
with exact ledgers, partition independence and resume per part."""

from __future__ import annotations

import hashlib
import os
import random

import pyarrow as pa
import pytest

from seedlib.config import load_config
from seedlib.pipelines import WEB
from seedlib.run import RunSpec
from seedlib.runner import EXIT_FAIL, EXIT_OK, run_in_process
from seedlib.stage import STAGE_FILE, PartWriter, StageRecorder, marker_key, read_report
from seedlib.web.dedup import keeper_key, keeper_keys
from seedlib.web.settings import CATEGORIES


def page(url, text, category="other", record_id=None, warc="file:///warcs/a.warc.gz"):
    return {"url": url, "category": category, "text": text, "has_code_tags": True, "recall_score": None,
            "quality_score": None, "warc": warc, "record_id": record_id or f"<urn:uuid:{url}>",
            "sha256": hashlib.sha256(text.encode()).hexdigest(), "words": len(text.split()), "title": url}


# ---------- fast: the keeper order ----------

def test_keeper_key_orders_by_category_then_longer_text_then_url_then_record_id():
    rows = {
        "doc-short": page("https://d.example/b", "x" * 10, "documentation"),
        "doc-long": page("https://d.example/z", "x" * 11, "documentation"),
        "doc-short-a": page("https://d.example/a", "y" * 10, "documentation"),
        "doc-short-a2": page("https://d.example/a", "y" * 10, "documentation", record_id="<urn:uuid:2>"),
        "doc-short-a1": page("https://d.example/a", "y" * 10, "documentation", record_id="<urn:uuid:1>"),
        "doc-prefix": page("https://d.example/a/more", "y" * 10, "documentation", record_id="<urn:uuid:0>"),
        "forum-longest": page("https://f.example/", "x" * 500, "forum"),
        "ecommerce": page("https://shop.example/", "x" * 900, "ecommerce"),
        "unknown": page("https://0.example/", "x" * 900, "spam"),
    }
    order = sorted(rows, key=lambda n: keeper_key(rows[n], CATEGORIES))
    assert order == ["doc-long", "doc-short-a1", "doc-short-a2", "doc-short-a", "doc-prefix", "doc-short",
                     "forum-longest", "ecommerce", "unknown"]
    # The configured order decides: forums first, documentation last.
    mine = ("forum", "blog", "other", "ecommerce", "documentation")
    assert sorted(rows, key=lambda n: keeper_key(rows[n], mine))[:2] == ["forum-longest", "ecommerce"]
    # Length is in characters, not UTF-8 bytes: 7 ASCII characters beat 5 two-byte ones.
    ascii_, accents = page("https://z.example/", "abcdefg"), page("https://a.example/", "ééééé")
    assert keeper_key(ascii_, CATEGORIES) < keeper_key(accents, CATEGORIES)
    # The vectorised form used on Spark gives the same keys (and null text counts as empty).
    many = list(rows.values()) + [ascii_, accents, {**page("https://n.example/", ""), "text": None}]
    table = pa.Table.from_pylist(many)
    assert keeper_keys(table, CATEGORIES).to_pylist() == [keeper_key(r, CATEGORIES) for r in many]


# ---------- slow: the stages on Spark ----------

def make_run(tmp_path, run_id="run_1", **overrides):
    config = load_config({"storage": (tmp_path / "data").as_uri(), **overrides}, {})
    return RunSpec(snapshot="2026-03-04", run_id=run_id, config=config.public_dict(),
                   pipeline="web", publications="web")


def write_ingest(spec, pages, partitions):
    """The web pipeline's ingest output written directly (its body is not run): page j in part
    j % partitions, in input order."""
    storage = spec.storage()
    prefix = spec.stage_prefix("ingest")
    parts = []
    for p in range(partitions):
        writer = PartWriter(storage, prefix, p)
        writer.add("web", pages[p::partitions])
        parts.extend(writer.close().to_pylist())
    return StageRecorder(storage, prefix, "ingest", output="web", ledger="web_dropped").finish(parts)


def run(spark, spec, name):
    code = run_in_process(spec, WEB, WEB.stage(name), spark=spark)
    storage = spec.storage()
    assert code == EXIT_OK, storage.read_json(f"{spec.stage_prefix(name)}/_FAILED.json")
    report = read_report(storage, spec.stage_prefix(name))
    kept = read(storage, report.datasets["web"]["paths"])
    dropped = read(storage, report.datasets["web_dropped"]["paths"])
    return report, kept, dropped


def read(storage, keys) -> list[dict]:
    rows = storage.read_parquet(keys).to_pylist() if keys else []
    return sorted(rows, key=lambda r: (r["url"], r["record_id"]))


def accounted(before: list[dict], kept: list[dict], dropped: list[dict], stage: str) -> None:
    """Every input page is in exactly one of the kept pages and the ledger; kept pages are unchanged."""
    ids = [(r["url"], r["record_id"]) for r in before]
    kept_ids = [(r["url"], r["record_id"]) for r in kept]
    dropped_ids = [(r["url"], r["record_id"]) for r in dropped]
    assert sorted(kept_ids + dropped_ids) == sorted(ids)
    assert not set(kept_ids) & set(dropped_ids)
    by_id = {(r["url"], r["record_id"]): r for r in before}
    assert all(by_id[(r["url"], r["record_id"])] == r for r in kept)
    assert all(r["stage"] == stage and r["warc"] == by_id[(r["url"], r["record_id"])]["warc"] for r in dropped)


def words(rng, n):
    return [f"w{rng.randrange(10**6)}" for _ in range(n)]


def corpus(seed=3):
    """Exact copies (a recrawl, a forum quote, a blog copy), a near-copy family, and unrelated pages."""
    rng = random.Random(seed)
    doc = " ".join(words(rng, 200))
    near = [" ".join(words(rng, 12)) + "." for _ in range(25)]          # 25 sentences, 300 words
    edited = list(near)
    edited[7] = " ".join(words(rng, 16)) + "."                          # one sentence rewritten, longer
    ecommerce = list(near)
    ecommerce[19] = " ".join(words(rng, 30)) + "."                      # longest, but an ecommerce site
    pages = [
        page("https://forum.example/q/1", doc, "forum", warc="file:///warcs/b.warc.gz"),
        page("https://docs.example/guide", doc, "documentation", record_id="<urn:uuid:2>"),
        page("https://docs.example/guide", doc, "documentation", record_id="<urn:uuid:1>"),   # recrawl
        page("https://blog.example/copy", doc, "blog"),
        page("https://b.example/same", "same text under two urls " * 5, "other"),
        page("https://a.example/same", "same text under two urls " * 5, "other"),
        page("https://blog.example/original", " ".join(near), "blog"),
        page("https://blog.example/revised", " ".join(edited), "blog"),
        page("https://shop.example/copied", " ".join(ecommerce), "ecommerce"),
    ] + [page(f"https://u{i}.example/", " ".join(words(rng, 150)), CATEGORIES[i % 5]) for i in range(8)]
    return pages


EXACT_DROPS = {  # (url, record_id) -> duplicate_of
    ("https://forum.example/q/1", "<urn:uuid:https://forum.example/q/1>"): "https://docs.example/guide",
    ("https://docs.example/guide", "<urn:uuid:2>"): "https://docs.example/guide",
    ("https://blog.example/copy", "<urn:uuid:https://blog.example/copy>"): "https://docs.example/guide",
    ("https://b.example/same", "<urn:uuid:https://b.example/same>"): "https://a.example/same",
}
NEAR_DROPS = {
    ("https://blog.example/original", "<urn:uuid:https://blog.example/original>"): "https://blog.example/revised",
    ("https://shop.example/copied", "<urn:uuid:https://shop.example/copied>"): "https://blog.example/revised",
}


def decisions(dropped: list[dict]) -> dict:
    return {(r["url"], r["record_id"]): (r["reason"], r["duplicate_of"]) for r in dropped}


@pytest.mark.slow
def test_exact_then_near_dedup_keep_the_preferred_page_and_are_independent_of_the_split(spark, tmp_path):
    pages = corpus()
    results = []
    for parts in (3, 1):
        spec = make_run(tmp_path, f"split{parts}")
        write_ingest(spec, pages, parts)
        exact, kept1, dropped1 = run(spark, spec, "exact_dedup")
        accounted(pages, kept1, dropped1, "exact_dedup")
        # documentation beats forum and blog, then the earlier record id of the recrawled url; identical
        # text under two urls keeps the smaller url.
        assert decisions(dropped1) == {k: ("exact_duplicate", v) for k, v in EXACT_DROPS.items()}
        assert (exact.rows_in, exact.rows_out, exact.dropped) == (17, 13, {"exact_duplicate": 4})
        assert exact.details["exact"] == {"distinct_texts": 13, "clusters": 2, "largest_cluster": 4}

        near, kept2, dropped2 = run(spark, spec, "near_dedup")
        accounted(kept1, kept2, dropped2, "near_dedup")
        # the rewritten sentence: the longer blog page is kept over the original, and the blog category
        # over the longest (ecommerce) copy; the unrelated pages all stay.
        assert decisions(dropped2) == {k: ("near_duplicate", v) for k, v in NEAR_DROPS.items()}
        assert {r["url"] for r in kept2} >= {f"https://u{i}.example/" for i in range(8)}
        assert (near.rows_in, near.rows_out, near.dropped) == (13, 11, {"near_duplicate": 2})
        assert near.details["near"]["components"] == 1 and near.details["near"]["largest_component"] == 3
        assert near.details["near"]["without_shingles"] == 0
        assert len(exact.datasets["web"]["paths"]) == parts   # output part i from input part i
        results.append((kept1, dropped1, kept2, dropped2))
    assert results[0] == results[1]   # the same kept pages and the same ledgers, however the input is split


def files_of(storage, report) -> dict[str, tuple[int, int]]:
    out = {}
    for name in ("web", "web_dropped"):
        for key in report.datasets[name]["paths"]:
            st = os.stat(storage.local_path(key))
            out[key] = (st.st_ino, st.st_mtime_ns)
    return out


@pytest.mark.slow
def test_resume_keeps_finished_parts_and_rewrites_the_rest_identically(spark, tmp_path):
    spec = make_run(tmp_path)
    write_ingest(spec, corpus(), 3)
    first, kept, dropped = run(spark, spec, "exact_dedup")
    storage = spec.storage()
    prefix = spec.stage_prefix("exact_dedup")
    before = files_of(storage, first)
    content = {k: storage.read_bytes(k) for k in before}
    # An interrupted attempt: part 0 never finished (no marker, no files), parts 1 and 2 did.
    part0 = [k for k in before if "/part-00000-" in k]
    assert part0
    for key in part0 + [marker_key(prefix, 0), f"{prefix}/{STAGE_FILE}"]:
        os.remove(storage.local_path(key))
    again, kept_again, dropped_again = run(spark, spec, "exact_dedup")
    assert again.resumed_parts == 2
    after = files_of(storage, again)
    assert set(after) == set(before)
    for key, stat in after.items():
        assert storage.read_bytes(key) == content[key]
        assert (stat == before[key]) == (key not in part0), key   # finished parts are never rewritten
    assert (kept_again, dropped_again) == (kept, dropped)
    assert (again.rows_in, again.rows_out, again.dropped) == (first.rows_in, first.rows_out, first.dropped)

    # web_keep_order reaches the executors: with forums first, the forum's copy is the one kept.
    forums = make_run(tmp_path, "forums_first", web_keep_order="forum,blog,documentation,other,ecommerce")
    write_ingest(forums, corpus(), 2)
    _, _, dropped = run(spark, forums, "exact_dedup")
    assert {r["url"] for r in dropped if r["duplicate_of"] == "https://forum.example/q/1"} == {
        "https://docs.example/guide", "https://blog.example/copy"}
    assert "https://forum.example/q/1" not in {r["url"] for r in dropped}


@pytest.mark.slow
def test_a_page_twice_in_the_input_is_an_error_naming_it(spark, tmp_path):
    spec = make_run(tmp_path)
    twice = page("https://x.example/", "some text of a page " * 3)
    write_ingest(spec, [twice, page("https://y.example/", "other words here " * 3), twice], 2)
    code = run_in_process(spec, WEB, WEB.stage("exact_dedup"), spark=spark)
    assert code == EXIT_FAIL
    error = spec.storage().read_json(f"{spec.stage_prefix('exact_dedup')}/_FAILED.json")["error"]
    assert "https://x.example/" in error and "appears 2 times" in error
