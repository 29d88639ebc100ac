"""Helpers for tests of single stages: write a crawl's output directly (no git, no Spark), and run one
declared stage of the snapshot pipeline in this process on the test session's Spark."""

from __future__ import annotations

from seedlib.pipelines import FILES_STAGE, SNAPSHOTS, Pipeline, Stage
from seedlib.runner import EXIT_OK, run_in_process
from seedlib.stage import PartWriter, StageRecorder, StageReport, read_report


def write_crawl(spec, files, repos=(), dropped=(), partitions=2, rows_per_part=2, empty_parts=0):
    """Files, repos and ledger rows spread over `partitions`; files added one by one, so parts are cut
    at `rows_per_part`; then `empty_parts` partitions whose `files` part has no rows (only details, as a
    filter stage that dropped everything writes them). Returns the recorded StageReport."""
    storage = spec.storage()
    rec = StageRecorder(storage, spec.stage_prefix("crawl"), "crawl")
    parts = []
    for p in range(partitions, partitions + empty_parts):
        w = PartWriter(storage, spec.stage_prefix("crawl"), p)
        w.add_details("files", {"empty": {"part": 1}})
        parts.extend(w.close().to_pylist())
    for p in range(partitions):
        w = PartWriter(storage, spec.stage_prefix("crawl"), p, rows_per_part=rows_per_part)
        for row in files[p::partitions]:
            w.add("files", [row])
        w.add("dropped", list(dropped)[p::partitions])
        w.add("repos", list(repos)[p::partitions])
        parts.extend(w.close().to_pylist())
    return rec.finish(parts)


def pipeline_of(spec, names: tuple[str, ...] | list[str]) -> Pipeline:
    """The snapshot pipeline cut down to the stages `names`, in that order; a name it does not declare
    is a per-file filter stage (files -> files + dropped) for bookkeeping tests."""
    declared = set(SNAPSHOTS.names)
    return Pipeline(name="test", dag_id="test", prefix=spec.publications, stages=tuple(
        SNAPSHOTS.stage(n) if n in declared else Stage(n, engine="python", body="tests.stages:no_body",
                                                      reads=("files",), writes=FILES_STAGE)
        for n in names))


def run_stage(spark, spec, name: str, after: tuple[str, ...] = ("crawl",)) -> StageReport:
    """Run the declared stage `name` reading the chain of `after` (earlier stages already recorded)."""
    pipeline = pipeline_of(spec, (*after, name))
    code = run_in_process(spec, pipeline, pipeline.stage(name), spark=spark)
    assert code == EXIT_OK, spec.storage().read_json(f"{spec.stage_prefix(name)}/_FAILED.json")
    return read_report(spec.storage(), spec.stage_prefix(name))
