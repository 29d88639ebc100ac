"""Spark entrypoint of the crawl stage: repositories are spread over partitions, each partition crawls
its repositories with `seedlib.crawl.crawl_partition` and writes its own Parquet parts."""

from __future__ import annotations

import sys
from functools import partial

from seedlib.crawl import crawl_partition
from seedlib.crawl.incremental import find_previous
from seedlib.run import read_sources
from seedlib.spark import run_stage


def body(spark, spec, storage, input_stage):
    sources = read_sources(spec, storage)
    previous = find_previous(storage, spec.snapshot, spec.config)
    if previous:
        print(f"[crawl] reusing unchanged repositories from snapshot {previous.snapshot}", flush=True)
        sources = [s | {"prev_head": previous.heads.get(s["repo"])} for s in sources]
    slices = max(1, min(len(sources), spec.load_config().partitions))
    rdd = spark.sparkContext.parallelize(sources, slices)
    parts = rdd.mapPartitionsWithIndex(
        partial(crawl_partition, spec.to_json(), previous.parts if previous else None)).collect()
    return parts, None, {}


if __name__ == "__main__":
    sys.exit(run_stage("crawl", body))
