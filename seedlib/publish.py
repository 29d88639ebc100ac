"""The publish step: check that the run's bookkeeping adds up, then publish its manifest atomically.

What goes into the manifest comes from the pipeline's declarations (seedlib/pipelines.py): the last chain
stage's CHAIN dataset, every stage's LEDGER parts by name (the pipeline's files ledger, `commit_dropped`), AS_IS datasets as written,
NARROW datasets narrowed to the final items; a scorer the run trained (SCORER datasets) is published as a
version of the scorer pipeline (seedlib/quality/scorers.py), and the manifest names the scorer used.

Checks, each failing the run with a message that says what is wrong:
- every stage's report exists, and each chain stage read exactly what the one before it kept;
- every item the first chain stage saw is in exactly one of the final items and the ledger (by the
  dataset's declared key columns);
- the run keeps something: no file kept (and, when the run computed it, an empty corpus as of its date)
  is refused unless `allow_empty` (a crawl in which every
  repository failed already stops the run, seedlib/crawl/stage.py).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from seedlib import datasets, manifest, pipelines
from seedlib.dedup import index
from seedlib.pipelines import AS_IS, CHAIN, LEDGER, NARROW, SCORER, Pipeline
from seedlib.run import DONE_FILE, RunSpec, manifest_key
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


def _keys(storage: Storage, part_keys: list[str], columns: tuple[str, ...] = datasets.KEYS["files"]) -> pa.Array:
    if not part_keys:
        return pa.array([], pa.string())
    return datasets.item_keys(storage.read_parquet(part_keys, columns=list(columns)), columns)


def _example(key) -> str:
    return ":".join(key.as_py().split("\x00"))


def check_ledger(storage: Storage, reports: list[StageReport], item: str = "files", ledger: str = "dropped",
                 columns: tuple[str, ...] = datasets.KEYS["files"]) -> None:
    """Every item the first chain stage saw is in exactly one of the final items and the ledger."""
    first, last = reports[0], reports[-1]
    seen = _keys(storage, first.datasets[item]["paths"] + first.datasets[ledger]["paths"], columns)
    out = _keys(storage, last.datasets[item]["paths"]
                + [p for r in reports for p in r.datasets.get(ledger, {"paths": []})["paths"]], columns)
    seen_unique = pc.unique(seen)
    if len(seen_unique) != len(seen):
        raise LedgerError(f"stage {first.name} produced {len(seen) - len(seen_unique)} duplicate "
                          f"({', '.join(columns)}) rows")
    counts = pc.value_counts(out)
    twice = pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1))
    if len(twice):
        raise LedgerError(f"{len(twice)} {item} are in more than one of {item}/{ledger}, e.g. {_example(twice[0])}")
    missing = pc.filter(seen_unique, pc.invert(pc.is_in(seen_unique, value_set=out)))
    if len(missing):
        raise LedgerError(f"{len(missing)} of the {item} {first.name} saw are in neither {item} nor {ledger}, "
                          f"e.g. {_example(missing[0])}")
    extra = pc.filter(out, pc.invert(pc.is_in(out, value_set=seen_unique)))
    if len(extra):
        raise LedgerError(f"{len(extra)} output {item} were never seen by {first.name}, e.g. {_example(extra[0])}")


def check_not_empty(final_rows: int, corpus_rows: int | None = None) -> None:
    """Refuse to publish nothing over what may be a good earlier publication (unless allow_empty).

    A snapshot with no new file whose corpus as of its date is not empty (`corpus_rows`, when the run
    computed it: nothing changed since the last snapshot) is a real snapshot and is published."""
    if final_rows == 0 and not corpus_rows:
        raise StageError("the run kept no files: nothing to publish (the ledger says why each file was "
                         "dropped; set allow_empty to publish an empty snapshot on purpose)")


def publish_run(spec: RunSpec, pipeline: Pipeline | None = None) -> dict:
    """Check the run and publish it. Returns the manifest that was published."""
    from seedlib.quality import scorers

    pipeline = pipeline or pipelines.get(spec.pipeline)
    storage = spec.storage()
    key = manifest_key(spec.snapshot, spec.publications)
    before = storage.version(key)
    reports = {s.name: read_report(storage, spec.stage_prefix(s.name)) for s in pipeline.stages}

    def dataset(keys: list[str], rows: int, name: str = "") -> dict:
        fmt = manifest.JSONL if name.endswith("_jsonl") else scorers.dataset_format(name)  # an export's JSONL shards
        return {"format": fmt, "rows": rows,
                "paths": [manifest.relative_to_manifest(spec.snapshot, k, spec.publications) for k in keys]}

    out: dict[str, dict] = {}
    final = None
    if pipeline.chain:
        chain = [reports[s.name] for s in pipeline.chain]
        check_chain(chain)
        item = pipeline.chain[-1].datasets(CHAIN)[0]
        check_ledger(storage, chain, item, pipeline.ledger, datasets.KEYS[item])
        final = chain[-1].datasets[item]
        if not spec.load_config().run.allow_empty:
            corpus = next((r.datasets["corpus_index"]["rows"] for r in reports.values()
                           if "corpus_index" in r.datasets and not r.skipped), None)
            check_not_empty(final["rows"], corpus)
        out[item] = dataset(final["paths"], final["rows"])
    ledgers: dict[str, dict] = {pipeline.ledger: {"paths": [], "rows": 0}} if pipeline.chain else {}
    for stage in pipeline.stages:
        report = reports[stage.name]
        for name, mode in stage.writes.items():
            written = report.datasets.get(name, {"paths": [], "rows": 0})
            if mode == LEDGER:  # every stage's parts of a ledger together (the files ledger, commit_dropped)
                merged = ledgers.setdefault(name, {"paths": [], "rows": 0})
                merged["paths"] += written["paths"]
                merged["rows"] += written["rows"]
            elif mode == AS_IS or (mode == SCORER and pipeline.prefix == scorers.PREFIX):
                out[name] = dataset(written["paths"], written["rows"], name)
            elif mode == NARROW:
                narrowed = narrow(storage, spec, name, list(reports.values()), final)
                out[name] = dataset(narrowed["paths"], narrowed["rows"])
    for name, merged in ledgers.items():
        out[name] = dataset(merged["paths"], merged["rows"])
    if pipeline.prefix != scorers.PREFIX:
        scorers.publish_trained(storage, spec, pipeline, reports)  # a scorer this run trained, as a version
    # The scorer the run used (score's details) or trained (train_scorer's): the latest stage that says.
    used = next((r.details["scorer"] for r in reversed(list(reports.values())) if "scorer" in r.details), None)
    export = next((r.details["export"] for r in reversed(list(reports.values())) if "export" in r.details), None)
    result = manifest.build(spec.snapshot, code_version(), spec.config, out,
                            [reports[s.name].manifest_entry() for s in pipeline.stages], scorer=used, export=export)
    manifest.publish(storage, result, before, spec.publications)
    storage.write_json(f"{spec.prefix}/{DONE_FILE}", {"manifest": storage.uri(key)})
    return result


def narrow(storage: Storage, spec: RunSpec, name: str, reports: list[StageReport], final: dict) -> dict:
    """A NARROW dataset cut down to the final items (today: the dedup index; see seedlib/dedup/index.py)."""
    if name != index.DATASET:
        raise StageError(f"dataset {name}: no narrowing is defined for it")
    return index.publish_segment(storage, spec, reports, _keys(storage, final["paths"]), final)
