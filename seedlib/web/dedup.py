"""Exact and near dedup of web pages: the Spark bodies of the web pipeline's exact_dedup and near_dedup.

The same shape and kernels as the files' dedup (seedlib/dedup/plan.py), so the output does not depend on
Spark's partitioning or executor count:
1. read: one row per input part key, `mapInArrow` reads each part through `seedlib.storage` and keeps
   only what the decisions need (url, record id, the keeper key, and the SHA-256 or the MinHash signature);
2. decide: globally; exact_dedup groups pages by `sha256` (of the UTF-8 text), near_dedup runs the files'
   MinHash -> LSH -> verified pairs -> connected components (`seedlib.dedup.lsh.near_clusters`) over the
   text; the page first in the keeper order (`keeper_key`) is kept, the others become ledger rows whose
   `duplicate_of` is the kept page's url;
3. apply: decisions grouped by input part (`applyInArrow`); input part i is re-read and split into output
   part i's kept `web` and `web_dropped` rows (PartWriter sorts them); parts an earlier attempt finished
   (`ctx.done`) are reported as they are.

A url crawled twice (two WARC records) is not special: its copies are exact or near duplicates by text,
and so is identical text under two urls.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from seedlib import ledger
from seedlib.dedup import minhash
from seedlib.dedup.lsh import near_clusters
from seedlib.dedup.plan import with_rank
from seedlib.run import RunSpec
from seedlib.spark import spread
from seedlib.stage import PARTS_SCHEMA, PartWriter, StageError

EXACT, NEAR = "exact_duplicate", "near_duplicate"
CHAIN, LEDGER = "web", "web_dropped"
DECISION_SCHEMA = "part int, url string, record_id string, reason string, duplicate_of string"
EXACT_SCHEMA = "part int, url string, record_id string, sha256 string, key string"
NEAR_SCHEMA = "part int, url string, record_id string, key string, sig binary"
_BIG = 10**18


# ---------- the keeper order ----------

def _key(category: str | None, chars: int, url: str | None, record_id: str | None,
         ranks: Mapping[str, int]) -> str:
    """The one definition of the keeper order (keeper_key is its row-level face)."""
    rank = ranks.get(category or "", len(ranks))   # a category outside keep_order goes after all of them
    longer = _BIG - 1 - max(0, min(int(chars or 0), _BIG - 1))
    # NUL ends the url so that a url sorts before its extensions, exactly as the (url, record_id) tuple.
    return f"{rank:02d}{longer:018d}{url or ''}\x00{record_id or ''}"


def _ranks(keep_order: Sequence[str]) -> dict[str, int]:
    return {c: i for i, c in enumerate(keep_order)}


def keeper_key(row: Mapping, keep_order: Sequence[str]) -> str:
    """A string that sorts (bytewise in Spark, and in Python) in keeper order: the category's position in
    `keep_order` (config.web.keep_order) first, then the longer text (in characters), then url, then
    WARC record id ascending. (url, record_id) identifies a page, so the order is total: one keeper per
    cluster, the same one however the input is split."""
    text = row.get("text")
    return _key(row.get("category"), len(text) if text else 0, row.get("url"), row.get("record_id"),
                _ranks(keep_order))


def keeper_keys(table: pa.Table, keep_order: Sequence[str]) -> pa.Array:
    """`keeper_key` of every row of a `web` table (text lengths computed by Arrow, not in Python)."""
    ranks = _ranks(keep_order)
    chars = pc.fill_null(pc.utf8_length(table.column("text")), 0).to_pylist()
    return pa.array([_key(c, n, u, r, ranks) for c, n, u, r in zip(
        table.column("category").to_pylist(), chars, table.column("url").to_pylist(),
        table.column("record_id").to_pylist())], pa.string())


# ---------- read ----------

def _read(spec_json: str, mode: str, settings_json: str, batches):
    spec = RunSpec.from_json(spec_json)
    storage = spec.storage()
    keep_order = spec.load_config().web.keep_order
    settings = json.loads(settings_json)
    for batch in batches:
        for part, key in zip(batch.column("part").to_pylist(), batch.column("key").to_pylist()):
            cols = ["url", "record_id", "category", "text"] + (["sha256"] if mode == "exact" else [])
            t = storage.read_parquet([key], columns=cols)
            if not t.num_rows:
                continue
            for col in ("url", "record_id") + (("sha256",) if mode == "exact" else ()):
                if t.column(col).null_count:
                    raise StageError(f"web part {key}: {t.column(col).null_count} pages without {col}")
            out = {"part": pa.array([part] * t.num_rows, pa.int32()), "url": t.column("url"),
                   "record_id": t.column("record_id")}
            if mode == "exact":
                out["sha256"] = t.column("sha256")
            out["key"] = keeper_keys(t, keep_order)
            if mode == "near":
                out["sig"] = minhash.signature_column(t.column("text").combine_chunks(),
                                                      minhash.MinHashParams(**settings))
            yield from pa.Table.from_pydict(out).to_batches()


def read_pages(spark, spec: RunSpec, items: list[tuple[int, str]], mode: str,
               settings: dict | None = None) -> DataFrame:
    """One row per input page: (part, url, record_id, key) and `sha256` (mode "exact") or the MinHash
    signature `sig` of its text (mode "near"; null for a text without a word). Checked to be unique by
    (url, record_id), the key every later join and the ledger rely on."""
    parts = spread(spark, [(i, k) for i, k in items], "part int, key string")
    schema = NEAR_SCHEMA if mode == "near" else EXACT_SCHEMA
    pages = parts.mapInArrow(partial(_read, spec.to_json(), mode, json.dumps(settings or {})),
                             schema).localCheckpoint()
    twice = pages.groupBy("url", "record_id").count().where(F.col("count") > 1).limit(1).collect()
    if twice:
        raise StageError(f"web: page {twice[0]['url']} (record {twice[0]['record_id']}) appears "
                         f"{twice[0]['count']} times in the input; (url, record_id) must identify one page")
    return pages


# ---------- apply ----------

# What `apply_decisions` groups by input part: the decisions (reason set) and one marker per part (all
# null but the part), so parts without decisions are written too.

def _apply(spec_json: str, stage: str, keys: dict[int, str], done: dict[int, list[dict]],
           table: pa.Table) -> pa.Table:
    part = table.column("part")[0].as_py()
    if part in done:  # finished by an earlier attempt (the decisions are deterministic): keep it as it is
        return pa.Table.from_pylist(done[part], schema=PARTS_SCHEMA)
    spec = RunSpec.from_json(spec_json)
    storage = spec.storage()
    decided = {(r["url"], r["record_id"]): r for r in table.to_pylist() if r["reason"] is not None}
    t = storage.read_parquet([keys[part]])
    drop = np.zeros(t.num_rows, bool)
    dropped = []
    for i, (url, record_id, warc) in enumerate(zip(*(t.column(c).to_pylist() for c in ("url", "record_id", "warc")))):
        d = decided.get((url, record_id))
        if d is not None:
            drop[i] = True
            dropped.append(ledger.drop_page(url, record_id, warc, stage, d["reason"], d["duplicate_of"]))
    if len(dropped) != len(decided):
        raise StageError(f"stage {stage}: {len(decided) - len(dropped)} decisions matched no page of {keys[part]}")
    writer = PartWriter(storage, spec.stage_prefix(stage), part, rows_per_part=max(1, t.num_rows))
    writer.add(CHAIN, t.filter(pa.array(~drop)))
    writer.add(LEDGER, dropped)
    return pa.Table.from_batches([writer.close()], schema=PARTS_SCHEMA)


def apply_decisions(ctx, items: list[tuple[int, str]], decisions: DataFrame) -> list[dict]:
    """Split every input part into kept pages and ledger rows (DataFrame[part, url, record_id, reason,
    duplicate_of] of the dropped ones); parts an earlier attempt finished are reported, not rewritten."""
    spark, stage = ctx.spark, ctx.name
    ctx.plan(len(items))
    markers = spark.createDataFrame([(i, None, None, None, None) for i, _ in items], DECISION_SCHEMA)
    grouped = decisions.select("part", "url", "record_id", "reason", "duplicate_of").union(markers).groupBy("part")
    spec_json, keys, done = ctx.spec.to_json(), dict(items), ctx.done

    def apply_part(table: pa.Table) -> pa.Table:
        return _apply(spec_json, stage, keys, done, table)

    out = grouped.applyInArrow(apply_part, "dataset string, key string, rows long, counts string")
    return [r.asDict() for r in out.collect()]


# ---------- exact_dedup ----------

def exact_body(ctx):
    """Pages with the same SHA-256 of their text: the first by the keeper order is kept."""
    items, rows_in = ctx.input(CHAIN)
    if not items:
        return [], rows_in, {}
    pages = read_pages(ctx.spark, ctx.spec, items, "exact")
    best = (pages.groupBy("sha256").agg(F.min(F.struct("key", "url")).alias("best"),
                                        F.count(F.lit(1)).alias("n")).localCheckpoint())
    decisions = (pages.join(best, "sha256").where(F.col("key") != F.col("best.key"))
                 .select("part", "url", "record_id", F.lit(EXACT).alias("reason"),
                         F.col("best.url").alias("duplicate_of")))
    stats = best.agg(F.count(F.lit(1)).alias("texts"), F.sum((F.col("n") > 1).cast("long")).alias("clusters"),
                     F.max("n").alias("largest")).first()
    parts = apply_decisions(ctx, items, decisions)
    return parts, rows_in, {"exact": {"distinct_texts": int(stats["texts"] or 0),
                                      "clusters": int(stats["clusters"] or 0),
                                      "largest_cluster": int(stats["largest"] or 0)}}


# ---------- near_dedup ----------

def near_params(config) -> minhash.MinHashParams:
    """The files' near-dedup settings (config.near_dedup), built as seedlib/dedup/plan.py builds them."""
    return minhash.MinHashParams(num_perm=config.near_dedup.num_perm, shingle=config.near_dedup.shingle,
                                 threshold=config.near_dedup.threshold)


def near_body(ctx):
    """MinHash over the text -> LSH -> verified pairs -> components; each component's keeper stays."""
    spark, config = ctx.spark, ctx.config
    items, rows_in = ctx.input(CHAIN)
    if not items:
        return [], rows_in, {}
    if config.near_dedup.threshold <= 0:  # switched off: every page passes
        return apply_decisions(ctx, items, spark.createDataFrame([], DECISION_SCHEMA)), rows_in, {}
    params = near_params(config)
    settings = {"num_perm": params.num_perm, "shingle": params.shingle, "threshold": params.threshold}
    pages = read_pages(spark, ctx.spec, items, "near", settings).localCheckpoint()  # read once (files' note)
    ranked = with_rank(pages, "key").localCheckpoint()
    losers, details = near_clusters(ranked.where(F.col("sig").isNotNull()).select("rank", "sig"), params,
                                    config.near_dedup.max_bucket, config.near_dedup.max_component,
                                    config.near_dedup.driver_edges, config.dedup.driver_files)
    details["without_shingles"] = ranked.where(F.col("sig").isNull()).count()
    info = ranked.select("rank", "part", "url", "record_id")
    roots = ranked.select(F.col("rank").alias("root"), F.col("url").alias("duplicate_of"))
    decisions = (losers.join(info, "rank").join(roots, "root")
                 .select("part", "url", "record_id", F.lit(NEAR).alias("reason"), "duplicate_of"))
    parts = apply_decisions(ctx, items, decisions)
    return parts, rows_in, {"near": details}
