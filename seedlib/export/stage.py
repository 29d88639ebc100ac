"""The export pipeline (EXPORTS in seedlib/pipelines.py): prepare -> mixture -> shards -> publish.

- prepare  `prepare_export`: the date must have a published snapshot; the run records which publication
           of it (and of the web pipeline's same date) it exports, so a resumed run never mixes two, and
           publishes under `exports/PHASE`, i.e. `<root>/snapshots/dt=D/export/PHASE/` (seedlib/run.py).
- mixture  `mixture_body`: one part per published part of the phase's sources (seedlib/export/mixture.py):
           rows sampled by weight, FIM on file-level code (seedlib/export/fim.py), each row's token count
           (seedlib/export/tokens.py). Resumes per part.
- shards   `shards_body`: the mixture cut into shards of `shard_rows` rows in each configured format
           (seedlib/export/shards.py); its details carry the export's summary, which publish puts into the
           manifest as its `export` block. Resumes per shard.

Python, not Spark: an export is one ordered pass over already-curated parts (read, decide per row from a
hash, write), with no shuffle or join beyond the corpus index's key filter; in a Python task it needs no
JVM or s3a settings, reads and writes s3:// through seedlib.storage like every stage, keeps one part in
memory at a time, and its cost is the tokenizer (Rust, batched).
"""

from __future__ import annotations

import json

import pyarrow as pa

from seedlib import manifest
from seedlib.config import Config, ConfigError
from seedlib.export import mixture, shards, tokens
from seedlib.run import EXPORTS, RUN_FILE
from seedlib.stage import StageError, finished_parts, marker_key
from seedlib.storage import Storage

ROWS = "mixture_rows"  # the mixture stage's INTERNAL dataset
COUNTS = ("rows", "fim", "repeats", "empty", "characters", "tokens", "matched")  # per source, from the parts


def publications(phase: str) -> str:
    """Where an export of this phase is published (seedlib.run.snapshot_prefix: beside the snapshot)."""
    return f"{EXPORTS}/{phase}"


def prepare_export(storage: Storage, config: Config, snapshot: str, skip: tuple[str, ...]) -> dict:
    """The EXPORTS pipeline's prepare hook: refuse a date without a published snapshot; record what is
    exported (part of the run's fingerprint)."""
    m = manifest.read(storage, snapshot)
    if m is None:
        dates = manifest.list_snapshots(storage)
        raise ConfigError(f"snapshot_date: no snapshot is published for {snapshot} under "
                          f"{storage.uri('snapshots')} (published: {', '.join(dates) or 'none'}); "
                          f"run `seed run --date {snapshot}` first")
    if config.export.tokenizer != tokens.SMOLLM2:
        tokens.folder(config.export.tokenizer)  # a bad tokenizer folder fails here, before any work
    web = manifest.read(storage, snapshot, mixture.WEB)
    return {"record": {"export": {"snapshot_created_at": m["created_at"],
                                  "web_created_at": web["created_at"] if web else None}},
            "publications": publications(config.export.phase)}


def _check_inputs(ctx) -> None:
    """The publications the run started from are still the published ones."""
    record = ctx.storage.read_json(f"{ctx.spec.prefix}/{RUN_FILE}").get("export", {})
    m = manifest.read(ctx.storage, ctx.spec.snapshot)
    web = manifest.read(ctx.storage, ctx.spec.snapshot, mixture.WEB)
    now = {"snapshot_created_at": m["created_at"] if m else None, "web_created_at": web["created_at"] if web else None}
    changed = [k.split("_")[0] for k in now if record.get(k) != now[k]]
    if changed:
        raise StageError(f"the {' and '.join(changed)} publication of {ctx.spec.snapshot} changed after this "
                         "export run started; start a new run (`seed export --fresh`)")


def mixture_body(ctx):
    _check_inputs(ctx)
    e = ctx.config.export
    sources = mixture.PHASE_SOURCES[e.phase]
    weights = mixture.weights_of(e.weights, sources)
    plan = mixture.plan(ctx.storage, ctx.spec.snapshot, sources, weights)
    tokenizer = tokens.load(e.tokenizer)
    ctx.plan(len(plan.units))
    parts: list[dict] = []
    for i, unit in enumerate(plan.units):
        if i in ctx.done:  # finished by an earlier attempt: report it, never rewrite it
            parts += ctx.done[i]
            continue
        rows, counts = mixture.unit_rows(ctx.storage, unit, plan, weights[unit.source], ctx.config.fim.rate)
        texts = [r["text"] for r in rows]
        lengths = tokenizer.count(texts)
        table = mixture.to_table(rows, lengths)
        key = f"{ctx.prefix}/{ROWS}/part-{i:05d}.parquet"
        ctx.storage.write_parquet(key, table)
        src = unit.source
        details = {"rows": len(rows), "fim": counts.fim, "repeats": counts.repeats, "empty": counts.empty,
                   "characters": sum(map(len, texts)), "tokens": sum(lengths), "matched": counts.matched}
        row = {"dataset": ROWS, "key": key, "rows": len(rows),
               "counts": json.dumps({name: {src: n} for name, n in details.items()}, sort_keys=True)}
        ctx.storage.write_json(marker_key(ctx.prefix, i), {"part": i, "rows": [row]})
        parts.append(row)
    if plan.corpus:
        matched = sum(json.loads(p["counts"]).get("matched", {}).get("file", 0) for p in parts)
        if matched != plan.inputs["file"]:
            raise StageError(f"snapshot {ctx.spec.snapshot}: its corpus_index lists {plan.inputs['file']} files "
                             f"but the snapshots it names ({', '.join(sorted(plan.corpus))}) hold {matched} of "
                             "them (same repo, path and sha256): the corpus index does not match their files")
    details = {"input": {s: plan.inputs.get(s, 0) for s in sources},
               "published": {s: int(plan.published.get(s, False)) for s in sources},
               "tokenizer": tokenizer.info()}
    return parts, None, details


def shards_body(ctx):
    e = ctx.config.export
    storage = ctx.storage
    mixture_prefix = ctx.spec.stage_prefix("mixture")
    done_parts = finished_parts(storage, mixture_prefix)
    part_keys = [done_parts[i][0]["key"] for i in sorted(done_parts)]
    part_rows = [int(done_parts[i][0]["rows"]) for i in sorted(done_parts)]
    total = sum(part_rows)
    if total == 0 and not ctx.config.run.allow_empty:
        raise StageError(f"the {e.phase} export of {ctx.spec.snapshot} has no rows (see the mixture stage's "
                         "input counts and export_weights); set allow_empty to publish an empty export")
    lay = shards.layout(part_rows, e.shard_rows)
    ctx.plan(len(lay))
    formats = [f for f in ("parquet", "jsonl") if f in e.formats]
    parts: list[dict] = []
    cached: tuple[int, pa.Table] | None = None
    for k, slices in enumerate(lay):
        if k in ctx.done:
            parts += ctx.done[k]
            continue
        pieces = []
        for part, start, stop in slices:
            if cached is None or cached[0] != part:
                cached = (part, storage.read_parquet([part_keys[part]]))
            pieces.append(cached[1].slice(start, stop - start))
        table = pa.concat_tables(pieces).combine_chunks()
        rows = []
        for fmt in formats:
            dataset = shards.DATASETS[fmt]
            key = f"{ctx.prefix}/{dataset}/{shards.name(k, len(lay), fmt)}"
            if fmt == "parquet":
                storage.write_parquet(key, table)
            else:
                storage.write_bytes(key, shards.jsonl_gz(table))
            rows.append({"dataset": dataset, "key": key, "rows": table.num_rows, "counts": "{}"})
        storage.write_json(marker_key(ctx.prefix, k), {"part": k, "rows": rows})
        parts += rows
    summary = export_summary(ctx.config, ctx.spec.snapshot, ctx.report("mixture").details, len(lay))
    return parts, None, {"export": summary}


def export_summary(config: Config, snapshot: str, details: dict, shard_count: int) -> dict:
    """The manifest's `export` block: what was exported, how, and how much of each source."""
    e = config.export
    sources = mixture.PHASE_SOURCES[e.phase]
    weights = mixture.weights_of(e.weights, sources)
    per = {}
    for s in sources:
        per[s] = {"published": bool(details.get("published", {}).get(s, 0)), "weight": weights[s],
                  "input_rows": details.get("input", {}).get(s, 0),
                  **{name: details.get(name, {}).get(s, 0) for name in COUNTS if name != "matched"}}
    return {"snapshot": snapshot, "phase": e.phase, "weights": weights, "fim_rate": config.fim.rate,
            "tokenizer": details.get("tokenizer", {"name": e.tokenizer}),
            "formats": [f for f in ("parquet", "jsonl") if f in e.formats], "shard_rows": e.shard_rows,
            "shards": shard_count, "rows": sum(p["rows"] for p in per.values()),
            "characters": sum(p["characters"] for p in per.values()),
            "tokens": sum(p["tokens"] for p in per.values()), "sources": per}
