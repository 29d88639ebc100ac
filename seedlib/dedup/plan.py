"""The Spark plans of the two dedup stages.

Both follow one shape, which makes the output independent of Spark's partitioning and executor count:
1. read: a DataFrame with one row per input part key, `mapInArrow` reads each part through
   `seedlib.storage` (so s3:// works without s3a) and keeps only what the decisions need, tagged with
   the input part index;
2. decide: globally, with Spark aggregates and joins, using the keeper order (a total order);
3. apply: decisions grouped by input part (`applyInArrow`); input part i is re-read and split into
   output part i's kept `files` and `dropped` rows, each sorted (PartWriter), exactly like `filter_parts`.

exact_dedup: repository level (identical sets of file hashes; near-identical sets by MinHash over the
file hashes), then file level by SHA-256 among the remaining repositories.
near_dedup: file-level MinHash (shingles of lightly normalised text) -> LSH -> verified pairs ->
connected components -> the best file of each component is kept.
"""

from __future__ import annotations

import json
from functools import partial

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from seedlib import ledger
from seedlib.dedup import driver, index, minhash, order
from seedlib.dedup.lsh import near_clusters
from seedlib.run import RunSpec
from seedlib.spark import spread
from seedlib.stage import PARTS_SCHEMA, PartWriter, StageError

EXACT, NEAR = driver.EXACT, driver.NEAR
DECISION_SCHEMA = "part int, repo string, path string, reason string, duplicate_of string"


def repo_meta(ctx) -> dict[str, dict]:
    """repo -> its crawl row (license, stars, forks, ...), from the crawl's `repos` dataset."""
    items, _ = ctx.input("crawl.repos")
    if not items:
        return {}
    return {r["repo"]: r for r in ctx.storage.read_parquet([k for _, k in items]).to_pylist()}


def repo_keys(meta: dict[str, dict], repos, config) -> dict[str, str]:
    criteria = order.check_criteria(config.dedup.keep_order)
    permissive = order.permissive_set(config.dedup.permissive_licenses)
    return {r: order.repo_key(r, meta.get(r), criteria, permissive) for r in repos}


# ---------- read ----------

def _read(spec_json: str, rkeys: dict[str, str], mode: str, config_json: str, batches):
    spec = RunSpec.from_json(spec_json)
    storage = spec.storage()
    settings = json.loads(config_json)
    for batch in batches:
        for part, key in zip(batch.column("part").to_pylist(), batch.column("key").to_pylist()):
            cols = ["repo", "path", "sha256"] + (["content"] if mode != "raw" else [])
            t = storage.read_parquet([key], columns=cols)
            repos = t.column("repo").to_pylist()
            paths = t.column("path").to_pylist()
            rk = [rkeys.get(r) or order.repo_key(r, None, (), frozenset()) for r in repos]
            out = {"part": pa.array([part] * t.num_rows, pa.int32()), "repo": t.column("repo"),
                   "path": t.column("path"), "sha256": t.column("sha256"), "rkey": pa.array(rk, pa.string()),
                   "key": pa.array([order.file_key(k, p) for k, p in zip(rk, paths)], pa.string())}
            if mode == "raw":
                out["h"] = t.column("sha256")
            elif mode == "whitespace":
                out["h"] = index.whitespace_hashes(t.column("content"))
            else:  # near: signatures of the contents, and the whitespace hash for the dedup index
                out["sig"] = minhash.signature_column(t.column("content").combine_chunks(),
                                                      minhash.MinHashParams(**settings))
                out["ws_sha256"] = index.whitespace_hashes(t.column("content"))
            yield from pa.Table.from_pydict(out).to_batches()


FILES_SCHEMA = "part int, repo string, path string, sha256 string, rkey string, key string, h string"
NEAR_SCHEMA = ("part int, repo string, path string, sha256 string, rkey string, key string, sig binary, "
               "ws_sha256 string")


def read_files(spark, spec: RunSpec, items, rkeys, mode: str, settings: dict | None = None) -> DataFrame:
    parts = spread(spark, [(i, k) for i, k in items], "part int, key string")
    schema = NEAR_SCHEMA if mode == "near" else FILES_SCHEMA
    return parts.mapInArrow(partial(_read, spec.to_json(), rkeys, mode, json.dumps(settings or {})), schema)


def _read_index(spec_json: str, mode: str, config_json: str, batches):
    storage = RunSpec.from_json(spec_json).storage()
    params = minhash.MinHashParams(**json.loads(config_json))
    for batch in batches:
        for snapshot, key, kind in zip(*(batch.column(c).to_pylist() for c in ("snapshot", "key", "kind"))):
            yield from index.segment_rows(storage, index.Segment(snapshot, key, kind), mode, params).to_batches()


def read_index(spark, spec: RunSpec, storage, mode: str, settings: dict | None = None) -> tuple[DataFrame | None, dict]:
    """Rows (key, sha256, h, sig) of everything published before this snapshot (seedlib/dedup/index.py),
    or None when there is nothing to match against (or `dedup_against_published` is off)."""
    if not spec.load_config().dedup.against_published:
        return None, {}
    segments = index.earlier_segments(storage, spec, need_signatures=mode == "near")
    details = {"snapshots": len({s.snapshot for s in segments}),
               "recomputed_parts": sum(s.kind == "files" for s in segments)}
    if not segments:
        return None, details
    df = spread(spark, [(s.snapshot, s.key, s.kind) for s in segments], "snapshot string, key string, kind string")
    rows = df.mapInArrow(partial(_read_index, spec.to_json(), mode, json.dumps(settings or {})),
                         index.INDEX_SCHEMA).localCheckpoint()
    details["files"] = rows.count()
    return rows, details


def with_rank(df: DataFrame, key: str) -> DataFrame:
    """Add `rank` (long): the position of `key` in a global sort (distributed: range partitioning)."""
    spark = df.sparkSession
    ranked = df.select(key).orderBy(key).rdd.map(lambda r: r[0]).zipWithIndex()
    return df.join(spark.createDataFrame(ranked, f"{key} string, rank long"), key)


# ---------- apply ----------

# What `apply_decisions` groups by input part: decisions (reason set), index rows of the part's files
# (reason null: their whitespace hash and signature, written as `dedup_index` for the kept ones) and one
# marker per part (all null), so parts without decisions are written too.
APPLY_SCHEMA = ("part int, repo string, path string, reason string, duplicate_of string, ws_sha256 string, "
                "sig binary")
REPORT_SCHEMA = "dataset string, key string, rows long, counts string"


def _apply_part(spec: RunSpec, stage: str, part: int, key: str, decided: dict, hashes: dict | None) -> pa.RecordBatch:
    """Write output part `part`: input part `key` split into kept files and ledger rows by `decided`
    ((repo, path) -> decision row); with `hashes` ((repo, path) -> (ws_sha256, sig) of every file of the
    part) also the kept files' `dedup_index` rows."""
    storage = spec.storage()
    t = storage.read_parquet([key])
    drop = np.zeros(t.num_rows, bool)
    dropped, kept_index = [], []
    for i, (repo, path, sha) in enumerate(zip(t.column("repo").to_pylist(), t.column("path").to_pylist(),
                                             t.column("sha256").to_pylist())):
        d = decided.get((repo, path))
        if d is not None:
            drop[i] = True
            dropped.append(ledger.drop(repo, path, sha, stage, d["reason"], d["duplicate_of"]))
        elif hashes is not None:
            h = hashes.get((repo, path))
            if h is None:
                raise StageError(f"stage {stage}: no signature for {repo}:{path} of {key}")
            kept_index.append({"repo": repo, "path": path, "sha256": sha, "ws_sha256": h[0], "sig": h[1]})
    if len(dropped) != len(decided):
        raise StageError(f"stage {stage}: {len(decided) - len(dropped)} decisions matched no file of {key}")
    writer = PartWriter(storage, spec.stage_prefix(stage), part, rows_per_part=max(1, t.num_rows))
    writer.add("files", t.filter(pa.array(~drop)))
    writer.add("dropped", dropped)
    writer.add(index.DATASET, kept_index)
    return writer.close()


def _apply_grouped(spec_json: str, stage: str, keys: dict[int, str], with_index: bool, done: dict[int, list[dict]],
                   table: pa.Table) -> pa.Table:
    part = table.column("part")[0].as_py()
    if part in done:  # finished by an earlier attempt (the decisions are deterministic): keep it as it is
        return pa.Table.from_pylist(done[part], schema=PARTS_SCHEMA)
    rows = [r for r in table.to_pylist() if r["repo"] is not None]
    decided = {(r["repo"], r["path"]): r for r in rows if r["reason"] is not None}
    hashes = {(r["repo"], r["path"]): (r["ws_sha256"], r["sig"]) for r in rows if r["reason"] is None} \
        if with_index else None
    batch = _apply_part(RunSpec.from_json(spec_json), stage, part, keys[part], decided, hashes)
    return pa.Table.from_batches([batch], schema=PARTS_SCHEMA)


def apply_decisions(ctx, items, decisions: DataFrame | pa.Table, hashes: DataFrame | None = None,
                    with_rows: set[int] | None = None) -> list[dict]:
    """Split every input part into kept files and ledger rows; with `hashes` (part, repo, path, ws_sha256,
    sig of every input file) also write the kept files' `dedup_index` rows. Parts an earlier attempt
    finished (`ctx.done`) are reported, not rewritten. Decisions made on the driver (a pa.Table) go to the
    tasks in a broadcast (`_apply_broadcast`; with `hashes`, `with_rows` names the parts that have rows):
    no shuffle."""
    ctx.plan(len(items))
    if isinstance(decisions, pa.Table):
        return _apply_broadcast(ctx, items, decisions, hashes, with_rows or set())
    spark, spec, stage = ctx.spark, ctx.spec, ctx.name
    markers = spark.createDataFrame([(i, None, None, None, None, None, None) for i, _ in items], APPLY_SCHEMA)
    null = F.lit(None)
    rows = decisions.select("part", "repo", "path", "reason", "duplicate_of",
                            null.cast("string").alias("ws_sha256"), null.cast("binary").alias("sig"))
    if hashes is not None:
        rows = rows.union(hashes.select("part", "repo", "path", null.cast("string").alias("reason"),
                                        null.cast("string").alias("duplicate_of"), "ws_sha256", "sig"))
    grouped = rows.union(markers).groupBy("part")
    spec_json, keys, with_index, done = spec.to_json(), dict(items), hashes is not None, ctx.done

    def apply_part(table: pa.Table) -> pa.Table:
        return _apply_grouped(spec_json, stage, keys, with_index, done, table)

    out = grouped.applyInArrow(apply_part, REPORT_SCHEMA)
    return [r.asDict() for r in out.collect()]


def _apply_broadcast(ctx, items, decisions: pa.Table, hashes: DataFrame | None, with_rows: set[int]) -> list[dict]:
    """apply_decisions for decisions on the driver. Without `hashes`, one task per few parts reads and
    writes them. With `hashes`, each task of `hashes` writes the parts whose rows it holds: a part's rows
    come from the one read task that read it (read_files), so they are never shuffled; a part seen by two
    tasks is an error, and parts without rows (empty input parts) are written on the driver."""
    spark, spec, stage = ctx.spark, ctx.spec, ctx.name
    by_part: dict[int, dict] = {}
    for r in decisions.to_pylist():
        by_part.setdefault(r["part"], {})[(r["repo"], r["path"])] = r
    shared = spark.sparkContext.broadcast(by_part)
    spec_json, keys, done = spec.to_json(), dict(items), ctx.done

    def write(spec: RunSpec, part: int, hashes: dict | None) -> pa.RecordBatch:
        if part in done:  # finished by an earlier attempt (the decisions are deterministic): keep it as it is
            return pa.RecordBatch.from_pylist(done[part], schema=PARTS_SCHEMA)
        return _apply_part(spec, stage, part, keys[part], shared.value.get(part, {}), hashes)

    def by_items(batches):
        spec = RunSpec.from_json(spec_json)
        for batch in batches:
            for part in batch.column("part").to_pylist():
                yield write(spec, part, None)

    def by_hashes(batches):
        spec = RunSpec.from_json(spec_json)
        rows: dict[int, dict] = {}
        for batch in batches:
            for part, repo, path, ws, sig in zip(*(batch.column(c).to_pylist()
                                                  for c in ("part", "repo", "path", "ws_sha256", "sig"))):
                rows.setdefault(part, {})[(repo, path)] = (ws, sig)
        for part, part_hashes in rows.items():
            yield write(spec, part, part_hashes)

    try:
        if hashes is None:
            out = spread(spark, [(i, k) for i, k in items], "part int, key string").mapInArrow(by_items, REPORT_SCHEMA)
        else:
            out = hashes.select("part", "repo", "path", "ws_sha256", "sig").mapInArrow(by_hashes, REPORT_SCHEMA)
        reports = [r.asDict() for r in out.collect()]
    finally:
        shared.unpersist()
    if hashes is not None:  # input parts without rows: no task of `hashes` saw them
        spec = RunSpec.from_json(spec_json)
        for part, _ in items:
            if part not in with_rows:
                reports += write(spec, part, {}).to_pylist()
    return reports


# ---------- exact_dedup ----------

def repo_duplicates(files: DataFrame, config) -> tuple[DataFrame, dict]:
    """DataFrame[repo, kept_repo] of repositories dropped as copies, and details."""
    repos = (files.groupBy("repo").agg(F.first("rkey").alias("rkey"),
                                       F.sort_array(F.collect_set("h")).alias("hs"))
             .withColumn("fp", F.sha2(F.concat_ws(",", "hs"), 256)).localCheckpoint())
    best = repos.groupBy("fp").agg(F.min(F.struct("rkey", "repo")).alias("best"))
    exact = (repos.join(best, "fp").where(F.col("repo") != F.col("best.repo"))
             .select("repo", F.col("best.repo").alias("kept_repo")))
    details = {"repos": repos.count(), "exact_copies": exact.count(), "near_copies": 0}
    if config.repo_dedup.threshold <= 0:
        return exact, details
    params = minhash.MinHashParams(num_perm=config.near_dedup.num_perm, threshold=config.repo_dedup.threshold)
    candidates = (repos.join(exact, "repo", "left_anti").where(F.size("hs") >= config.repo_dedup.min_files)
                  .select("repo", "rkey", "hs"))
    ranked = with_rank(candidates, "rkey").localCheckpoint()
    sigs = ranked.select("rank", "hs").mapInArrow(partial(_set_sigs, params.num_perm), "rank long, sig binary")
    losers, near = near_clusters(sigs, params, config.near_dedup.max_bucket, config.near_dedup.max_component,
                                 config.near_dedup.driver_edges, config.dedup.driver_files)
    names = ranked.select("rank", "repo")
    near_df = (losers.join(names, "rank")
               .join(names.select(F.col("rank").alias("root"), F.col("repo").alias("kept_repo")), "root")
               .select("repo", "kept_repo"))
    details["near_copies"] = near_df.count()
    details["near"] = near
    return exact.union(near_df), details


def _set_sigs(num_perm: int, batches):
    for batch in batches:
        sets = batch.column("hs").to_pylist()
        doc = np.repeat(np.arange(len(sets)), [len(s) for s in sets])
        values = minhash.hex_values([h for s in sets for h in s])
        sigs = minhash.signatures_from_hashes(doc, values, len(sets), num_perm)
        yield pa.RecordBatch.from_pydict({"rank": batch.column("rank"), "sig": minhash.sig_to_binary(sigs)})


def exact_body(ctx):
    spark, spec, storage, config = ctx.spark, ctx.spec, ctx.storage, ctx.config
    items, rows_in = ctx.input("files")
    if not items:
        return [], rows_in, {}
    meta = repo_meta(ctx)
    rkeys = repo_keys(meta, meta.keys(), config)
    published, index_details = read_index(spark, spec, storage, config.dedup.exact_hash)
    if decides_on_driver(config, rows_in, index_details):
        return exact_on_driver(ctx, items, rows_in, rkeys, published, index_details)
    files = read_files(spark, spec, items, rkeys, config.dedup.exact_hash).localCheckpoint()
    decisions = spark.createDataFrame([], DECISION_SCHEMA)
    if published is not None:  # copies of files published by earlier snapshots go first
        earliest = published.groupBy("h").agg(F.min(F.struct("key", "sha256")).alias("best"))
        decisions = files.join(earliest, "h").select(
            "part", "repo", "path", F.lit(EXACT).alias("reason"),
            F.col("best.sha256").alias("duplicate_of")).localCheckpoint()
        index_details["matched"] = decisions.count()
        files = files.join(earliest, "h", "left_anti").localCheckpoint()
    dup_repos, repo_details = repo_duplicates(files, config)
    dup_repos = dup_repos.localCheckpoint()
    survivors = files.join(dup_repos, "repo", "left_anti")
    best = survivors.groupBy("h").agg(F.min(F.struct("key", "sha256")).alias("best"))
    exact = (survivors.join(best, "h").where(F.col("key") != F.col("best.key"))
             .select("part", "repo", "path", F.lit(EXACT).alias("reason"), F.col("best.sha256").alias("duplicate_of")))
    in_dup = (files.join(dup_repos, "repo").join(best, "h", "left")
              .select("part", "repo", "path", F.lit(ledger.REPO_DUPLICATE).alias("reason"),
                      F.col("best.sha256").alias("duplicate_of")))
    decisions = decisions.union(exact).union(in_dup).localCheckpoint()
    parts = apply_decisions(ctx, items, decisions)
    return parts, rows_in, exact_details("spark", config, best.count(), repo_details, index_details)


def exact_details(decided_on: str, config, distinct: int, repo_details: dict, index_details: dict) -> dict:
    details = {"decided_on": decided_on, "exact": {"hash": config.dedup.exact_hash, "distinct_contents": distinct},
               "repo_dedup": repo_details}
    if index_details:
        details["published_index"] = index_details
    return details


def decides_on_driver(config, rows_in: int, index_details: dict) -> bool:
    """Whether a dedup stage decides on the driver (seedlib/dedup/driver.py): `dedup_driver_files`."""
    return 0 < rows_in + index_details.get("files", 0) <= config.dedup.driver_files


def exact_on_driver(ctx, items, rows_in: int, rkeys: dict[str, str], published: DataFrame | None,
                    index_details: dict):
    """exact_body with the read rows collected and decided by driver.exact_decisions (the same result).
    The raw key is the crawl's sha256: three small columns, read here without a Spark job; the whitespace
    key hashes the contents, in the read's Spark tasks."""
    config, mode = ctx.config, ctx.config.dedup.exact_hash
    if mode == "raw":
        batch = pa.record_batch({"part": pa.array([i for i, _ in items], pa.int32()), "key": [k for _, k in items]})
        batches = list(_read(ctx.spec.to_json(), rkeys, mode, "{}", [batch]))
        files = pa.Table.from_batches(batches) if batches else pa.table({c: pa.array([], pa.string()) for c in (
            "repo", "path", "sha256", "rkey", "key", "h")}).add_column(0, "part", pa.array([], pa.int32()))
    else:
        files = read_files(ctx.spark, ctx.spec, items, rkeys, mode).toArrow()
    params = minhash.MinHashParams(num_perm=config.near_dedup.num_perm, threshold=config.repo_dedup.threshold)
    decisions, repo_details, distinct, matched = driver.exact_decisions(
        files, published.select("key", "sha256", "h").toArrow() if published is not None else None,
        params, config.repo_dedup.min_files, config.near_dedup.max_bucket, config.near_dedup.max_component)
    if matched is not None:
        index_details["matched"] = matched
    parts = apply_decisions(ctx, items, decisions)
    return parts, rows_in, exact_details("driver", config, distinct, repo_details, index_details)


# ---------- near_dedup ----------

def near_body(ctx):
    spark, spec, storage, config = ctx.spark, ctx.spec, ctx.storage, ctx.config
    items, rows_in = ctx.input("files")
    if not items or config.near_dedup.threshold <= 0:
        parts = apply_decisions(ctx, items, spark.createDataFrame([], DECISION_SCHEMA)) if items else []
        return parts, rows_in, {}
    params = minhash.MinHashParams(num_perm=config.near_dedup.num_perm, shingle=config.near_dedup.shingle,
                                   threshold=config.near_dedup.threshold)
    meta = repo_meta(ctx)
    settings = {"num_perm": params.num_perm, "shingle": params.shingle, "threshold": params.threshold}
    # Materialised once: the read (Parquet, shingles, signatures, whitespace hashes) is most of the stage's
    # work, and the rank's sort sampling, the sort, its join and apply_decisions would each recompute it.
    files = read_files(spark, spec, items, repo_keys(meta, meta.keys(), config), "near", settings).localCheckpoint()
    # One rank over this run's files ("1" + keeper key) and everything published before ("0" + snapshot +
    # file): a published file always outranks a new one, so it stays the representative.
    published, index_details = read_index(spark, spec, storage, "near", settings)
    if decides_on_driver(config, rows_in, index_details):
        table = files.select("part", "repo", "path", "sha256", "key", "sig").toArrow()
        decisions, details, matched = driver.near_decisions(
            table, published.select("key", "sha256", "sig").toArrow() if published is not None else None,
            params, config.near_dedup.max_bucket, config.near_dedup.max_component)
        if index_details:
            index_details["matched"] = matched or 0
            details["published_index"] = index_details
        parts = apply_decisions(ctx, items, decisions, hashes=files.select("part", "repo", "path", "ws_sha256", "sig"),
                                with_rows=set(pc.unique(table.column("part")).to_pylist()))
        return parts, rows_in, {"decided_on": "driver", "near": details}
    nodes = files.select("part", "repo", "path", "sha256", F.concat(F.lit("1"), "key").alias("key"), "sig")
    if published is not None:
        nodes = nodes.union(published.select(F.lit(-1).alias("part"), F.lit(None).cast("string").alias("repo"),
                                             F.lit(None).cast("string").alias("path"), "sha256", "key", "sig"))
    ranked = with_rank(nodes, "key").localCheckpoint()
    losers, details = near_clusters(ranked.where(F.col("sig").isNotNull()).select("rank", "sig"), params,
                                    config.near_dedup.max_bucket, config.near_dedup.max_component,
                                    config.near_dedup.driver_edges, config.dedup.driver_files)
    details["without_shingles"] = ranked.where(F.col("sig").isNull() & (F.col("part") >= 0)).count()
    info = ranked.where(F.col("part") >= 0).select("rank", "part", "repo", "path")
    roots = ranked.select(F.col("rank").alias("root"), F.col("part").alias("root_part"),
                          F.col("sha256").alias("duplicate_of"))
    decided = losers.join(info, "rank").join(roots, "root").localCheckpoint()
    decisions = decided.select("part", "repo", "path", F.lit(NEAR).alias("reason"), "duplicate_of")
    if index_details:
        index_details["matched"] = decided.where(F.col("root_part") < 0).count()
        details["published_index"] = index_details
    parts = apply_decisions(ctx, items, decisions, hashes=files.select("part", "repo", "path", "ws_sha256", "sig"))
    return parts, rows_in, {"decided_on": "spark", "near": details}
