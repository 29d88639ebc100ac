"""Shared Spark settings, and the plan every per-file filter stage shares.

The runner (seedlib/runner.py) builds the session for Spark stages; bodies receive it as `ctx.spark`.
"""

from __future__ import annotations

from functools import partial
from typing import Callable

from seedlib.stage import filter_parts


def session(app_name: str, master: str | None = None, partitions: int = 4):
    """The SparkSession for a stage. Under spark-submit the master comes from the command line."""
    from pyspark.sql import SparkSession

    builder = (SparkSession.builder.appName(app_name)
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", str(partitions))
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.python.worker.reuse", "true"))
    if master:
        builder = builder.master(master)
    return builder.getOrCreate()


def spread(spark, rows: list[tuple], schema: str):
    """A small driver-side list (part keys) as a DataFrame over up to 2 tasks per core, cut on the driver
    (parallelize: no shuffle; a `repartition` cost a second Spark stage, ~0.4 s a job on a warm session)."""
    slices = max(1, min(len(rows), spark.sparkContext.defaultParallelism * 2))
    return spark.createDataFrame(spark.sparkContext.parallelize(rows, slices), schema)


def filter_stage(make_filter: Callable, item: str = "files", ledger: str = "dropped"):
    """The body of a per-item filter stage: input parts spread over tasks, `filter_parts` on each;
    parts an earlier attempt finished are reported as they are. `item`/`ledger`: the chain and ledger
    datasets (files/dropped, or the web pipeline's web/web_dropped)."""

    def body(ctx):
        items, rows_in = ctx.input(item)
        if not items:
            return [], rows_in, {}
        ctx.plan(len(items))
        rdd = ctx.spark.sparkContext.parallelize(items, len(items))
        parts = rdd.mapPartitions(partial(filter_parts, ctx.spec.to_json(), ctx.name, make_filter,
                                          done=ctx.done, item=item, ledger=ledger)).collect()
        return parts, rows_in, {}

    return body
