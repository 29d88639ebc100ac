"""The corpus as of a snapshot: its own files plus the still-current files of the earlier snapshots.

A snapshot deduplicated against earlier ones (the default, seedlib/dedup/index.py) publishes only what is
new: a file unchanged since last month is dropped as `exact_duplicate` of last month's copy. What a
training job wants is the corpus as of the date, so the `corpus` stage writes `corpus_index`: one row per
file of that corpus (repo, path, sha256, lang, size, quality_score) and `snapshot`, the publication whose
`files` hold its contents. Repository sequences and the export read contents through it.

The rule, applied to the previous snapshot's corpus (its published `corpus_index`; for snapshots
published before this dataset existed, rebuilt from their `files`, `dropped` and `repos`, oldest first):

- every file this run kept is in, with `snapshot` = this date;
- a file of the previous corpus stays when its repository was not crawled successfully this time (a
  failed clone does not delete a repository), when this run's crawl saw the same path with the same
  contents (unchanged, and dropped as a duplicate of the earlier copy), or when the path's new contents
  were dropped as an exact or near duplicate of that earlier copy (a small edit: the earlier copy still
  stands for the file);
- otherwise it is gone: the repository now has another version of the path (kept in this run, or dropped
  for a reason of its own) or no longer has the path at all.

Keys only (no contents) move through here, as Arrow tables on the driver: about 100 bytes per file.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from seedlib import datasets, manifest
from seedlib.run import snapshot_prefix
from seedlib.stage import PartWriter
from seedlib.storage import Storage

DATASET = "corpus_index"
ROWS_PER_PART = 1_000_000
_COLUMNS = [f.name for f in datasets.CORPUS_INDEX]


def _keys(t: pa.Table, sha: bool = False) -> pa.Array:
    return datasets.item_keys(t, ("repo", "path", "sha256") if sha else ("repo", "path"))


def _read(storage: Storage, keys: list[str], columns: list[str]) -> pa.Table:
    if not keys:
        return pa.table({c: pa.array([], pa.string()) for c in columns})
    return storage.read_parquet(keys, columns=columns)


def kept_rows(files: pa.Table, snapshot: str) -> pa.Table:
    """Corpus rows of a snapshot's kept files (quality_score null when the run did not score them)."""
    n = files.num_rows
    score = files.column("quality_score") if "quality_score" in files.column_names else pa.nulls(n, pa.float64())
    return pa.table({"repo": files.column("repo"), "path": files.column("path"),
                     "sha256": files.column("sha256"), "lang": files.column("lang"),
                     "size": files.column("size"), "quality_score": score,
                     "snapshot": pa.array([snapshot] * n, pa.string())}).cast(datasets.CORPUS_INDEX)


def update(previous: pa.Table, kept: pa.Table, seen: pa.Table, crawled: pa.Array,
           duplicates: pa.Table | None = None) -> tuple[pa.Table, dict]:
    """The corpus after a snapshot: `previous` corpus rows, `kept` this snapshot's corpus rows, `seen`
    (repo, path, sha256) of every file its crawl saw, `crawled` the repositories it crawled successfully,
    `duplicates` (repo, path, duplicate_of) of its files dropped as duplicates."""
    kept_paths = _keys(kept)
    not_replaced = pc.invert(pc.is_in(_keys(previous), value_set=kept_paths))
    uncrawled = pc.invert(pc.is_in(previous.column("repo"), value_set=crawled))
    same = _keys(seen, sha=True)
    if duplicates is not None and duplicates.num_rows:
        dup_keys = datasets.item_keys(duplicates, ("repo", "path", "duplicate_of"))
        same = pa.chunked_array([same, dup_keys], pa.string())
    unchanged = pc.is_in(_keys(previous, sha=True), value_set=same)
    stays = pc.and_(not_replaced, pc.or_(uncrawled, unchanged))
    carried = previous.filter(stays)
    out = pa.concat_tables([kept.cast(datasets.CORPUS_INDEX), carried.cast(datasets.CORPUS_INDEX)])
    counts = {"new": kept.num_rows, "carried": carried.num_rows, "superseded": previous.num_rows - carried.num_rows}
    return datasets.conform(DATASET, out), counts


def _empty() -> pa.Table:
    return datasets.CORPUS_INDEX.empty_table()


def _published_step(storage: Storage, date: str, previous: pa.Table) -> pa.Table:
    """Apply `update` for a published snapshot that has no corpus_index of its own."""
    m = manifest.read(storage, date)
    base = snapshot_prefix(date)
    parts = {name: [f"{base}/{p}" for p in m["datasets"].get(name, {"paths": []})["paths"]]
             for name in ("files", "dropped", "repos")}
    cols = ["repo", "path", "sha256", "lang", "size"]
    files = storage.read_parquet(parts["files"]) if parts["files"] else datasets.FILES.empty_table()
    files = files.select([c for c in cols + ["quality_score"] if c in files.column_names])
    seen = pa.concat_tables([files.select(["repo", "path", "sha256"]),
                             _read(storage, parts["dropped"], ["repo", "path", "sha256"])])
    repos = _read(storage, parts["repos"], ["repo", "status"])
    crawled = pc.filter(repos.column("repo"), pc.equal(repos.column("status"), "ok")) if repos.num_rows \
        else pa.array([], pa.string())
    return update(previous, kept_rows(files, date), seen, crawled,
                  duplicates(_read(storage, parts["dropped"], ["repo", "path", "reason", "duplicate_of"])))[0]


def duplicates(ledger: pa.Table) -> pa.Table:
    """(repo, path, duplicate_of) of the ledger rows that name a kept copy."""
    ledger = ledger.filter(pc.is_valid(ledger.column("duplicate_of"))) if ledger.num_rows else ledger
    return ledger.select(["repo", "path", "duplicate_of"]) if ledger.num_rows else None


def as_of(storage: Storage, before: str) -> tuple[pa.Table, str | None]:
    """The corpus as of the latest snapshot published before `before` (rows, that date or None)."""
    dates = [d for d in manifest.list_snapshots(storage) if d < before]
    if not dates:
        return _empty(), None
    # Start from the newest publication that carries a corpus_index; rebuild the ones after it.
    corpus, start = _empty(), 0
    for i in range(len(dates) - 1, -1, -1):
        m = manifest.read(storage, dates[i])
        if DATASET in m["datasets"]:
            base = snapshot_prefix(dates[i])
            keys = [f"{base}/{p}" for p in m["datasets"][DATASET]["paths"]]
            corpus = storage.read_parquet(keys).cast(datasets.CORPUS_INDEX) if keys else _empty()
            start = i + 1
            break
    for date in dates[start:]:
        corpus = _published_step(storage, date, corpus)
    return corpus, dates[-1]


def body(ctx):
    """The corpus stage: corpus_index of this run, from the previous corpus and this run's crawl."""
    storage = ctx.storage
    if 0 in ctx.done:  # written by an earlier attempt
        earlier = [d for d in manifest.list_snapshots(storage) if d < ctx.spec.snapshot]
        return ctx.done[0], None, {"corpus_since": earlier[-1] if earlier else None}
    keys = [k for _, k in ctx.input("files")[0]]
    columns = ["repo", "path", "sha256", "lang", "size"]
    if keys and "quality_score" in storage.parquet_schema(keys[0]).names:  # the quality stage ran
        columns.append("quality_score")
    files = _read(storage, keys, columns)
    seen_keys = [k for _, k in ctx.input("crawl.files")[0]] + [k for _, k in ctx.input("crawl.dropped")[0]]
    seen = _read(storage, seen_keys, ["repo", "path", "sha256"])
    repos = _read(storage, [k for _, k in ctx.input("crawl.repos")[0]], ["repo", "status"])
    crawled = pc.filter(repos.column("repo"), pc.equal(repos.column("status"), "ok"))
    # the files ledger so far (its duplicate rows come from the dedup stages, whichever ran)
    chain_before = [st.name for st in ctx.pipeline.stages[:ctx.pipeline.names.index(ctx.name)]
                    if st.chain and ctx.pipeline.ledger in st.writes]
    ledger = [k for name in chain_before
              for k in ctx.report(name).datasets.get(ctx.pipeline.ledger, {"paths": []})["paths"]]
    dups = duplicates(_read(storage, ledger, ["repo", "path", "reason", "duplicate_of"]))
    previous, since = as_of(storage, ctx.spec.snapshot)
    corpus, counts = update(previous, kept_rows(files, ctx.spec.snapshot), seen, crawled, dups)
    ctx.plan(1)
    writer = PartWriter(storage, ctx.prefix, 0, rows_per_part=ROWS_PER_PART)
    writer.add(DATASET, corpus)
    writer.add_details(DATASET, {"corpus": {**counts, "rows": corpus.num_rows}})
    return writer.close().to_pylist(), None, {"corpus_since": since}
