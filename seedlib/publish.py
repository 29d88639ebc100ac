"""The publish step: check that the run's bookkeeping adds up, then publish its manifest atomically.

Checks, each failing the run with a message that says what is wrong:
- every stage's report exists, and each stage read exactly what the previous stage kept;
- every file the crawl saw is in exactly one of the final `files` and the `dropped` ledger.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from seedlib import datasets, manifest
from seedlib.dedup import index
from seedlib.run import RunSpec, manifest_key
from seedlib.stage import StageError, StageReport, read_report
from seedlib.storage import Storage
from seedlib.version import code_version


class LedgerError(StageError):
    """A file is missing from both `files` and `dropped`, or is in more than one place."""


def check_chain(reports: list[StageReport]) -> None:
    for prev, cur in zip(reports, reports[1:]):
        if cur.rows_in != prev.rows_out:
            raise StageError(f"stage {cur.name} read {cur.rows_in} files but stage {prev.name} kept "
                             f"{prev.rows_out}")


def _keys(storage: Storage, snapshot_keys: list[str]) -> pa.Array:
    if not snapshot_keys:
        return pa.array([], pa.string())
    return datasets.file_keys(storage.read_parquet(snapshot_keys, columns=["repo", "path"]))


def check_ledger(storage: Storage, reports: list[StageReport]) -> None:
    """Every crawled (repo, path) is in exactly one of the final files and the dropped ledger."""
    crawl, last = reports[0], reports[-1]
    seen = _keys(storage, crawl.datasets["files"]["paths"] + crawl.datasets["dropped"]["paths"])
    out = _keys(storage, last.datasets["files"]["paths"]
                + [p for r in reports for p in r.datasets["dropped"]["paths"]])
    seen_unique = pc.unique(seen)
    if len(seen_unique) != len(seen):
        raise LedgerError(f"the crawl produced {len(seen) - len(seen_unique)} duplicate (repo, path) rows")
    counts = pc.value_counts(out)
    twice = pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1))
    if len(twice):
        repo, path = twice[0].as_py().split("\x00", 1)
        raise LedgerError(f"{len(twice)} files are in more than one of files/dropped, e.g. {repo}:{path}")
    missing = pc.filter(seen_unique, pc.invert(pc.is_in(seen_unique, value_set=out)))
    if len(missing):
        repo, path = missing[0].as_py().split("\x00", 1)
        raise LedgerError(f"{len(missing)} crawled files are in neither files nor dropped, e.g. {repo}:{path}")
    extra = pc.filter(out, pc.invert(pc.is_in(out, value_set=seen_unique)))
    if len(extra):
        repo, path = extra[0].as_py().split("\x00", 1)
        raise LedgerError(f"{len(extra)} output files were never crawled, e.g. {repo}:{path}")


def publish_run(spec: RunSpec, stages: list[str]) -> dict:
    """Check the run and publish it. Returns the manifest that was published."""
    storage = spec.storage()
    before = storage.version(manifest_key(spec.snapshot))
    reports = [read_report(storage, spec.stage_prefix(s)) for s in stages]
    check_chain(reports)
    check_ledger(storage, reports)

    def dataset(keys: list[str], rows: int) -> dict:
        return {"format": "parquet", "rows": rows,
                "paths": [manifest.relative_to_manifest(spec.snapshot, k) for k in keys]}

    crawl, last = reports[0], reports[-1]
    dropped_keys = [p for r in reports for p in r.datasets["dropped"]["paths"]]
    datasets = {
        "repos": dataset(crawl.datasets["repos"]["paths"], crawl.datasets["repos"]["rows"]),
        "files": dataset(last.datasets["files"]["paths"], last.datasets["files"]["rows"]),
        "dropped": dataset(dropped_keys, sum(r.datasets["dropped"]["rows"] for r in reports)),
    }
    commits = crawl.datasets.get("commits", {"paths": [], "rows": 0})  # absent when no repo qualified
    datasets["commits"] = dataset(commits["paths"], commits["rows"])
    published = index.publish_segment(storage, spec, reports, _keys(storage, last.datasets["files"]["paths"]))
    datasets[index.DATASET] = dataset(published["paths"], published["rows"])
    result = manifest.build(spec.snapshot, code_version(), spec.config, datasets,
                            [r.manifest_entry() for r in reports])
    manifest.publish(storage, result, before)
    return result
