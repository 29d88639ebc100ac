"""Connected components on Spark: alternating large-star / small-star (Kiveris et al., SoCC 2014).

Input: a DataFrame of undirected edges (src, dst) between long node ids. Output: (node, root) for every
node that has an edge, root being the smallest node id of its component. Every step is a grouped
aggregate (min) and a join, so memory per task stays bounded and no step runs in a single task; the
number of rounds is O(log^2 n). Node ids are keeper ranks, so a component's root is its keeper.

`driver_components` gives the same (node, root) rows for an edge list small enough to collect: scipy's
connected components in C on the driver instead of 3-6 rounds of about five small Spark jobs each (each
job costs 0.2-5 s whatever its input, which dominated the stage below a few GB; bench/README.md).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def _large_star(edges: DataFrame) -> DataFrame:
    """Connect every strictly larger neighbour of u to the minimum of u's closed neighbourhood."""
    both = edges.union(edges.select(F.col("dst").alias("src"), F.col("src").alias("dst"))).distinct()
    mins = both.groupBy("src").agg(F.min("dst").alias("m"))
    return (both.join(mins, "src").where(F.col("dst") > F.col("src"))
            .select(F.col("dst").alias("src"), F.least(F.col("m"), F.col("src")).alias("dst"))
            .distinct())


def _small_star(edges: DataFrame) -> DataFrame:
    """Connect u and its smaller neighbours to the minimum of that set (edges oriented larger -> smaller)."""
    oriented = edges.select(F.greatest("src", "dst").alias("src"), F.least("src", "dst").alias("dst")) \
        .where(F.col("src") != F.col("dst")).distinct()
    mins = oriented.groupBy("src").agg(F.min("dst").alias("m"))
    joined = oriented.join(mins, "src")
    leaves = joined.where(F.col("dst") != F.col("m")).select(F.col("dst").alias("src"), F.col("m").alias("dst"))
    centre = mins.select(F.col("src"), F.col("m").alias("dst"))
    return leaves.union(centre).distinct()


def _is_star_forest(edges: DataFrame) -> bool:
    """Every node points to one root, and no root points anywhere."""
    multi = edges.groupBy("src").agg(F.countDistinct("dst").alias("n")).where(F.col("n") > 1).limit(1).count()
    if multi:
        return False
    roots = edges.select(F.col("dst").alias("node")).distinct()
    return roots.join(edges.select(F.col("src").alias("node")), "node").limit(1).count() == 0


def connected_components(edges: DataFrame, max_rounds: int = 64) -> tuple[DataFrame, int]:
    """(DataFrame[node, root], rounds). Roots appear as (root, root)."""
    current = edges.select(F.col("src").cast("long"), F.col("dst").cast("long")) \
        .where(F.col("src") != F.col("dst")).localCheckpoint()
    rounds = 0
    while True:
        rounds += 1
        current = _small_star(_large_star(current)).localCheckpoint()
        if _is_star_forest(current):
            break
        if rounds >= max_rounds:
            raise RuntimeError(f"connected components did not converge in {max_rounds} rounds")
    roots = current.select(F.col("dst").alias("node"), F.col("dst").alias("root")).distinct()
    return current.select(F.col("src").alias("node"), F.col("dst").alias("root")).union(roots), rounds


def driver_components(edges: DataFrame) -> DataFrame:
    """connected_components' (node, root) rows, computed on the driver (for edge lists that fit there)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components as scipy_components

    table = edges.select(F.col("src").cast("long"), F.col("dst").cast("long")).toArrow()
    src = np.asarray(table.column("src"), dtype=np.int64)
    dst = np.asarray(table.column("dst"), dtype=np.int64)
    keep = src != dst
    nodes, inverse = np.unique(np.concatenate([src[keep], dst[keep]]), return_inverse=True)
    n, m = len(nodes), int(keep.sum())
    graph = coo_matrix((np.ones(m, np.int8), (inverse[:m], inverse[m:])), shape=(n, n))
    _, labels = scipy_components(graph, directed=False)
    roots = np.full(labels.max() + 1 if n else 0, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(roots, labels, nodes)  # nodes are ranks: a component's root is its smallest rank
    out = pa.table({"node": pa.array(nodes, pa.int64()), "root": pa.array(roots[labels], pa.int64())})
    return edges.sparkSession.createDataFrame(out)
