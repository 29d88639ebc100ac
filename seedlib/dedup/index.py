"""The persisted dedup index: what earlier snapshots published, so a new snapshot drops their duplicates.

Where it lives. Every published snapshot carries a `dedup_index` dataset in its manifest: Parquet parts
under its run prefix with the repo, path, sha256, whitespace-collapsed sha256 and MinHash signature of
every file it published. The near_dedup stage writes these rows for the files it kept (the signatures it
computed anyway); publish narrows them to the snapshot's final files. The index of a snapshot therefore
becomes visible in the same atomic PUT as the snapshot itself: an unfinished run never leaks into it,
and a rerun or backfill of a date replaces that date's part of the index together with its data. (A
separate index folder updated beside the manifests could disagree with them after a failed run.)

Which parts a run uses: those of the published snapshots dated before its own, never its own date, so a
rerun of a date gives the same result. New files that duplicate them (same exact key, or MinHash-similar)
are dropped as `exact_duplicate` / `near_duplicate` with `duplicate_of` = the earlier published file's
sha256: earlier publications always win, so representatives stay stable between snapshots and a nightly
snapshot holds only what is new. A snapshot published with other MinHash settings (or none) is read
through its published `files` and its signatures recomputed; nothing is silently skipped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seedlib import datasets, manifest
from seedlib.config import flat_dict
from seedlib.dedup import minhash
from seedlib.run import RunSpec, snapshot_prefix
from seedlib.stage import StageError, StageReport
from seedlib.storage import Storage

DATASET = "dedup_index"
INDEX_SCHEMA = "key string, sha256 string, h string, sig binary"
_ROWS = pa.schema([("key", pa.string()), ("sha256", pa.string()), ("h", pa.string()), ("sig", pa.binary())])


@dataclass(frozen=True)
class Segment:
    """One Parquet part of an earlier snapshot: its stored index rows, or its published files."""

    snapshot: str
    key: str
    kind: str  # "index" or "files" (signatures recomputed from the contents)


def reference_whitespace_hashes(contents: pa.Array | pa.ChunkedArray) -> list[str]:
    """The definition: SHA-256 of `" ".join(text.split())` in UTF-8 (null: of the empty text)."""
    return [hashlib.sha256(" ".join((text or "").split()).encode("utf-8")).hexdigest()
            for text in contents.to_pylist()]


def whitespace_hashes(contents: pa.Array | pa.ChunkedArray) -> pa.Array:
    """SHA-256 of each text with whitespace runs collapsed (the `whitespace` exact dedup key and the
    dedup index's ws_sha256): the texts collapsed by a compiled pass over the Arrow buffers
    (native.collapse_whitespace; decoding every text to a Python str and splitting it was ~4x slower),
    each hashed by hashlib; texts that are not strictly valid UTF-8 go through the definition."""
    from seedlib.dedup import native

    if isinstance(contents, pa.ChunkedArray):
        contents = contents.combine_chunks()
    texts = contents.cast(pa.large_string())
    out, offsets, fallback = native.collapse_whitespace(texts)
    view = memoryview(out)
    hashes = [hashlib.sha256(view[offsets[i]: offsets[i + 1]]).hexdigest() for i in range(len(texts))]
    for i in np.flatnonzero(fallback):
        hashes[i] = reference_whitespace_hashes(texts.slice(int(i), 1))[0]
    return pa.array(hashes, pa.string())


def _signature_settings(config: dict) -> tuple:
    """What stored signatures depend on, from a nested (new) or flat (older manifests) configuration dict."""
    config = flat_dict(config)
    return (config.get("near_dedup_num_perm"), config.get("near_dedup_shingle"),
            float(config.get("near_dedup_threshold") or 0) > 0)


def earlier_segments(storage: Storage, spec: RunSpec, need_signatures: bool) -> list[Segment]:
    """The index parts of every snapshot published before `spec.snapshot`, oldest first."""
    out = []
    for date in manifest.list_snapshots(storage):
        if date >= spec.snapshot:
            continue
        published = manifest.read(storage, date)
        base = snapshot_prefix(date)
        stored = published["datasets"].get(DATASET)
        usable = stored is not None and (
            not need_signatures or _signature_settings(published["config"]) == _signature_settings(spec.config))
        if usable:
            out += [Segment(date, f"{base}/{p}", "index") for p in stored["paths"]]
        else:
            out += [Segment(date, f"{base}/{p}", "files") for p in published["datasets"]["files"]["paths"]]
    return out


def segment_rows(storage: Storage, segment: Segment, mode: str, params: minhash.MinHashParams) -> pa.Table:
    """Rows of INDEX_SCHEMA for one segment. mode: raw / whitespace (exact key in `h`) or near (`sig`).

    `key` orders index rows before any file of the current run (prefix "0"), older snapshots first.
    """
    if segment.kind == "index":
        t = storage.read_parquet([segment.key], columns=["repo", "path", "sha256", "ws_sha256", "sig"])
        ws, sig = t.column("ws_sha256"), t.column("sig")
    else:
        cols = ["repo", "path", "sha256"] + (["content"] if mode != "raw" else [])
        t = storage.read_parquet([segment.key], columns=cols)
        ws = whitespace_hashes(t.column("content")) if mode == "whitespace" else pa.nulls(t.num_rows, pa.string())
        sig = minhash.signature_column(t.column("content").combine_chunks(), params) if mode == "near" \
            else pa.nulls(t.num_rows, pa.binary())
    n = t.num_rows
    prefix = f"0{segment.snapshot}|"
    keys = pc.binary_join_element_wise(pc.binary_join_element_wise(prefix, t.column("repo"), ""),
                                       t.column("path"), "\x00")
    h = {"raw": t.column("sha256"), "whitespace": ws}.get(mode, pa.nulls(n, pa.string()))
    return pa.table({"key": keys, "sha256": t.column("sha256"), "h": h,
                     "sig": sig if mode == "near" else pa.nulls(n, pa.binary())}).cast(_ROWS)


def publish_segment(storage: Storage, spec: RunSpec, reports: list[StageReport], final_keys: pa.Array,
                    final: dict) -> dict:
    """Write this run's index (rows of its final files, `final` = {paths, rows}) under its prefix;
    returns {paths, rows}.

    The rows come from near_dedup's `dedup_index` output (hashes and signatures it computed); when the run
    has none (near dedup disabled or skipped), from the final files themselves, without signatures.
    """
    source = next((r.datasets[DATASET] for r in reports if DATASET in r.datasets), None)
    paths, rows = [], 0
    for i, key in enumerate(source["paths"] if source else final["paths"]):
        if source:
            t = storage.read_parquet([key])
            t = t.filter(pc.is_in(datasets.file_keys(t), value_set=final_keys))
        else:
            t = storage.read_parquet([key], columns=["repo", "path", "sha256", "content"])
            t = pa.table({"repo": t.column("repo"), "path": t.column("path"), "sha256": t.column("sha256"),
                          "ws_sha256": whitespace_hashes(t.column("content")),
                          "sig": pa.nulls(t.num_rows, pa.binary())})
        if not t.num_rows:
            continue
        out = f"{spec.prefix}/index/part-{i:05d}.parquet"
        storage.write_parquet(out, datasets.conform(DATASET, t))
        paths.append(out)
        rows += t.num_rows
    if rows != final["rows"]:
        raise StageError(f"dedup index: {final['rows']} published files but {rows} index rows "
                         f"(near_dedup's {DATASET} output does not cover the final files)")
    return {"paths": paths, "rows": rows}
