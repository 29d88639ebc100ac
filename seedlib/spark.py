"""Shared Spark settings and the one way a Spark entrypoint runs a stage.

`run_stage` is what every `spark_jobs/*.py` calls: it parses `--run-spec`, skips a stage that already
finished in this run (resume), clears partial output of an interrupted attempt, builds the session,
runs the stage body, and records the report or the failure (secrets redacted) through `StageRecorder`.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from functools import partial
from typing import Callable, Iterable

from seedlib.config import Secrets, redact
from seedlib.run import RunSpec
from seedlib.stage import StageError, StageRecorder, StageReport, filter_parts, read_report
from seedlib.storage import Storage

# body(spark, spec, storage, input_stage) -> (parts written, rows_in or None, extra details)
StageBody = Callable[..., tuple[Iterable[dict], int | None, dict]]


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


def run_stage(name: str, body: StageBody, argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"spark_jobs/{name}.py", description=f"The {name} stage of a snapshot run.")
    parser.add_argument("--run-spec", required=True, help="JSON run spec written by the DAG's prepare task")
    parser.add_argument("--input-stage", help="the stage whose files this stage reads (none for the crawl)")
    args = parser.parse_args(argv)
    input_stage = args.input_stage
    spec = RunSpec.from_json(args.run_spec)
    config = spec.load_config()
    storage: Storage = spec.storage()
    secrets = Secrets.from_env(os.environ)
    recorder = StageRecorder(storage, spec.stage_prefix(name), name, input_stage)
    done = recorder.done()
    if done is not None:
        print(f"[{name}] already complete in run {spec.run_id}: {_summary(done)}; skipping", flush=True)
        return 0
    recorder.reset()
    print(f"[{name}] snapshot {spec.snapshot}, run {spec.run_id}, storage {storage.root}", flush=True)
    try:
        spark = session(f"seed-{name}", partitions=config.partitions)
        parts, rows_in, details = body(spark, spec, storage, input_stage)
        report = recorder.finish(list(parts), rows_in=rows_in, details=details)
    except Exception as e:  # noqa: BLE001 - recorded for the CLI, then re-raised as a non-zero exit
        message = redact(f"{type(e).__name__}: {e}", secrets)
        recorder.fail(message)
        print(redact(traceback.format_exc(), secrets), file=sys.stderr, flush=True)
        print(f"[{name}] FAILED: {message}", file=sys.stderr, flush=True)
        return 1
    print(f"[{name}] done: {_summary(report)}", flush=True)
    return 0


def _summary(report: StageReport) -> str:
    dropped = ", ".join(f"{k}={v}" for k, v in report.dropped.items()) or "none"
    return f"{report.rows_in} in, {report.rows_out} out, dropped: {dropped} ({report.seconds:.1f}s)"


def filter_stage(name: str, make_filter: Callable) -> StageBody:
    """The body of a per-file filter stage: input parts spread over tasks, `filter_parts` on each."""

    def body(spark, spec, storage, input_stage):
        if not input_stage:
            raise StageError(f"stage {name} needs --input-stage")
        report = read_report(storage, spec.stage_prefix(input_stage))
        items = list(enumerate(report.datasets["files"]["paths"]))
        if not items:
            return [], report.rows_out, {}
        rdd = spark.sparkContext.parallelize(items, len(items))
        parts = rdd.mapPartitions(partial(filter_parts, spec.to_json(), name, make_filter)).collect()
        return parts, report.rows_out, {}

    return body
