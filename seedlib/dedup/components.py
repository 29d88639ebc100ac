"""Connected components on Spark: alternating large-star / small-star (Kiveris et al., SoCC 2014).

Input: a DataFrame of undirected edges (src, dst) between long node ids. Output: (node, root) for every
node that has an edge, root being the smallest node id of its component. Every step is a grouped
aggregate (min) and a join, so memory per task stays bounded and no step runs in a single task; the
number of rounds is O(log^2 n). Node ids are keeper ranks, so a component's root is its keeper.
"""

from __future__ import annotations

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
