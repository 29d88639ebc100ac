"""Near-duplicate clusters on Spark: LSH buckets -> candidate pairs -> verified edges -> components.

nodes: DataFrame[rank long, sig binary] where rank is the keeper order (smaller is kept first).
Returns DataFrame[rank, root] for the nodes that lose to another (rank != root), plus details for the
manifest. Oversized buckets do not expand to all pairs: each member is linked to the bucket's best
member only (a grouped min and a broadcast join, so a huge bucket is never gathered into one task;
the pairs are still verified); oversized components keep only the
members whose own signature is within the threshold of the keeper's (the rest stay), so a chain of
pairwise-similar files cannot wipe out unrelated ones. Both are counted in the details.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from seedlib.dedup import driver, minhash
from seedlib.dedup.components import connected_components, driver_components

BAND_SCHEMA = "band int, bucket long, rank long"
PAIR_SCHEMA = "src long, dst long"
EST_SCHEMA = "src long, dst long, similar boolean"


def _bands(bands: int, rows: int, num_perm: int, batches):
    for batch in batches:
        sigs = minhash.binary_to_sig(batch.column("sig"), num_perm)
        ranks = np.asarray(batch.column("rank"), dtype=np.int64)
        h = minhash.band_hashes(sigs, bands, rows)
        yield pa.RecordBatch.from_pydict({
            "band": pa.array(np.tile(np.arange(bands, dtype=np.int32), len(ranks))),
            "bucket": pa.array(h.reshape(-1)),
            "rank": pa.array(np.repeat(ranks, bands)),
        })


def bucket_pairs(members: list[int], max_bucket: int) -> list[tuple[int, int]]:
    """Candidate pairs of one bucket (members sorted): all pairs, or a star around the best member above
    max_bucket (what `near_clusters` does for oversized buckets, without gathering them)."""
    if len(members) <= max_bucket:
        return [(members[i], members[j]) for i in range(len(members)) for j in range(i + 1, len(members))]
    return [(members[0], m) for m in members[1:]]


def _pairs(max_bucket: int, batches):
    for batch in batches:
        src, dst = [], []
        for members in batch.column("members").to_pylist():
            for a, b in bucket_pairs(members, max_bucket):
                src.append(a)
                dst.append(b)
        yield pa.RecordBatch.from_pydict({"src": pa.array(src, pa.int64()), "dst": pa.array(dst, pa.int64())})


def _verify(threshold: float, num_perm: int, batches):
    for batch in batches:
        est = minhash.estimate(minhash.binary_to_sig(batch.column("sig_a"), num_perm),
                               minhash.binary_to_sig(batch.column("sig_b"), num_perm))
        yield pa.RecordBatch.from_pydict({"src": batch.column("src"), "dst": batch.column("dst"),
                                          "similar": pa.array(est >= threshold - 1e-12)})


# Signatures up to this many bytes in all are broadcast to the verification instead of shuffled twice
# (two sort-merge joins were a sixth of the stage at 200 MB; 64 MB is ~250k files at 256 permutations).
BROADCAST_SIGNATURES = 64 << 20


def verify(pairs: DataFrame, nodes: DataFrame, threshold: float, num_perm: int, n_nodes: int | None = None) -> DataFrame:
    """(src, dst, similar) of candidate pairs, by the full signatures; `n_nodes` (when known) lets small
    signature sets be broadcast."""
    small = n_nodes is not None and n_nodes * num_perm * 4 <= BROADCAST_SIGNATURES
    sigs = F.broadcast(nodes) if small else nodes
    a = sigs.select(F.col("rank").alias("src"), F.col("sig").alias("sig_a"))
    b = sigs.select(F.col("rank").alias("dst"), F.col("sig").alias("sig_b"))
    joined = pairs.join(a, "src").join(b, "dst").select("src", "dst", "sig_a", "sig_b")
    return joined.mapInArrow(partial(_verify, threshold, num_perm), EST_SCHEMA)


def on_driver(nodes: DataFrame, params: minhash.MinHashParams, max_bucket: int,
              max_component: int) -> tuple[DataFrame, dict]:
    """near_clusters' result computed on the driver (seedlib/dedup/driver.py) from the collected nodes."""
    table = nodes.select("rank", "sig").toArrow()
    ranks = np.asarray(table.column("rank"), dtype=np.int64)
    order = np.argsort(ranks, kind="stable")
    sigs = minhash.binary_to_sig(table.column("sig"), params.num_perm)[order]
    losers, roots, details = driver.clusters(sigs, params, max_bucket, max_component)
    out = pa.table({"rank": pa.array(ranks[order][losers], pa.int64()), "root": pa.array(ranks[order][roots], pa.int64())})
    return nodes.sparkSession.createDataFrame(out, "rank long, root long"), details


def near_clusters(nodes: DataFrame, params: minhash.MinHashParams, max_bucket: int,
                  max_component: int, driver_edges: int = 0, driver_nodes: int = 0) -> tuple[DataFrame, dict]:
    """Up to `driver_nodes` nodes everything runs on the driver (`on_driver`; same result). Above it,
    up to `driver_edges` verified edges, components are computed on the driver
    (components.driver_components; same result), above that as distributed star rounds."""
    bands, rows = params.bands
    if driver_nodes > 0 and nodes.count() <= driver_nodes:
        return on_driver(nodes, params, max_bucket, max_component)
    nodes = nodes.select("rank", "sig").localCheckpoint()
    banded = nodes.mapInArrow(partial(_bands, bands, rows, params.num_perm), BAND_SCHEMA).localCheckpoint()
    shared = (banded.groupBy("band", "bucket").agg(F.count(F.lit(1)).alias("n"), F.min("rank").alias("best"))
              .where(F.col("n") > 1).localCheckpoint())
    bstats = shared.agg(F.count(F.lit(1)).alias("n"), F.max("n").alias("largest"),
                        F.sum((F.col("n") > max_bucket).cast("long")).alias("oversized")).first()
    small = shared.where(F.col("n") <= max_bucket).select("band", "bucket")
    all_pairs = (banded.join(small, ["band", "bucket"]).groupBy("band", "bucket")
                 .agg(F.sort_array(F.collect_list("rank")).alias("members"))
                 .select("members").mapInArrow(partial(_pairs, max_bucket), PAIR_SCHEMA))
    big = F.broadcast(shared.where(F.col("n") > max_bucket).select("band", "bucket", "best"))
    stars = (banded.join(big, ["band", "bucket"]).where(F.col("rank") != F.col("best"))
             .select(F.col("best").alias("src"), F.col("rank").alias("dst")))
    pairs = all_pairs.union(stars).distinct()
    n_nodes = nodes.count()
    checked = verify(pairs, nodes, params.threshold, params.num_perm, n_nodes).localCheckpoint()
    counts = checked.groupBy("similar").count().collect()
    n_pairs = {bool(r["similar"]): int(r["count"]) for r in counts}
    edges = checked.where("similar").select("src", "dst")
    details = {"bands": bands, "rows": rows, "threshold": params.threshold, "num_perm": params.num_perm,
               "shingle": params.shingle, "nodes": n_nodes,
               "buckets_shared": int(bstats["n"] or 0), "largest_bucket": int(bstats["largest"] or 0),
               "oversized_buckets": int(bstats["oversized"] or 0), "max_bucket": max_bucket,
               "candidate_pairs": n_pairs.get(True, 0) + n_pairs.get(False, 0),
               "verified_pairs": n_pairs.get(True, 0), "rejected_pairs": n_pairs.get(False, 0),
               "components": 0, "largest_component": 0, "oversized_components": 0,
               "max_component": max_component, "rounds": 0, "kept_in_oversized": 0,
               "clusters_on": "spark",
               "components_on": "driver" if n_pairs.get(True, 0) <= driver_edges else "spark"}
    if not n_pairs.get(True):
        return nodes.sparkSession.createDataFrame([], "rank long, root long"), details
    if details["components_on"] == "driver":
        comps, rounds = driver_components(edges).localCheckpoint(), 0
    else:
        comps, rounds = connected_components(edges)
        comps = comps.localCheckpoint()
    sizes = comps.groupBy("root").agg(F.count(F.lit(1)).alias("size")).localCheckpoint()
    cstats = sizes.agg(F.count(F.lit(1)).alias("n"), F.max("size").alias("largest"),
                       F.sum((F.col("size") > max_component).cast("long")).alias("oversized")).first()
    details.update(components=int(cstats["n"]), largest_component=int(cstats["largest"]),
                   oversized_components=int(cstats["oversized"]), rounds=rounds)
    losers = comps.where(F.col("node") != F.col("root")).select(F.col("node").alias("rank"), "root")
    if cstats["oversized"]:
        big = sizes.where(F.col("size") > max_component).select("root")
        in_big = losers.join(big, "root")
        direct = verify(in_big.select(F.col("root").alias("src"), F.col("rank").alias("dst")), nodes,
                        params.threshold, params.num_perm, n_nodes)
        stay = direct.where(~F.col("similar")).select(F.col("dst").alias("rank"))
        details["kept_in_oversized"] = stay.count()
        losers = losers.join(stay, "rank", "left_anti")
    return losers, details
