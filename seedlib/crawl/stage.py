"""The crawl stage's body: repositories spread over Spark partitions; each partition crawls its
repositories with `crawl_partition` and writes its own parts (partition i = part i, so a retried
attempt re-crawls only the partitions without a finished marker)."""

from __future__ import annotations

from functools import partial

from seedlib.crawl import crawl_partition
from seedlib.crawl.incremental import find_previous
from seedlib.run import read_sources
from seedlib.stage import StageError


def body(ctx):
    sources = read_sources(ctx.spec, ctx.storage)
    previous = find_previous(ctx.storage, ctx.spec.snapshot, ctx.spec.config)
    if previous:
        print(f"[crawl] reusing unchanged repositories from snapshot {previous.snapshot}", flush=True)
        sources = [s | {"prev_head": previous.heads.get(s["repo"])} for s in sources]
    slices = max(1, min(len(sources), ctx.config.run.partitions))
    ctx.plan(slices)
    rdd = ctx.spark.sparkContext.parallelize(sources, slices)
    parts = rdd.mapPartitionsWithIndex(
        partial(crawl_partition, ctx.spec.to_json(), previous.parts if previous else None, ctx.done)).collect()
    if not ctx.config.run.allow_empty:
        check_some_repository_ok(ctx.storage, [p["key"] for p in parts if p["dataset"] == "repos"])
    return parts, None, {}


def check_some_repository_ok(storage, repos_parts: list[str]) -> None:
    """A crawl in which every repository failed stops the run with their reasons: publishing it would
    replace the date's snapshot with an empty one (allow_empty publishes it anyway)."""
    rows = storage.read_parquet(repos_parts, columns=["repo", "status", "error"]).to_pylist() if repos_parts else []
    failed = [r for r in rows if r["status"] != "ok"]
    if rows and len(failed) == len(rows):
        reasons = "; ".join(f"{r['repo']}: {r['error']}" for r in failed[:5])
        raise StageError(f"every repository failed ({len(rows)}): {reasons}" + (" ..." if len(rows) > 5 else ""))
