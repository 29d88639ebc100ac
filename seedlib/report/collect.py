"""The numbers of a snapshot report, read from one publication (its manifest and the datasets it names).

`collect(storage, snapshot)` returns one JSON-ready dict; the HTML report (build.py) draws every table and
plot from it and embeds it whole (`<script type="application/json" id="report-data">`), and the dataset
card (card.py) takes its counts from it. Nothing in it depends on when it was computed.

Where the numbers come from (docs/report.md):
- stages, drops by reason, run times, the scorer: the manifest;
- files per language, sizes, syntax error shares, quality scores: `files` (never its `content`, except to
  count lines and, for a bounded sample, to measure line lengths and tokens);
- the ledger (`dropped`): drops per stage and language (the language of a dropped file is what the crawl's
  table in seedlib/languages.py says for its path: the crawl assigns languages exactly that way), duplicate
  clusters (`duplicate_of`), the sample rows;
- bytes of dropped files: the ledger has no sizes, so a dropped file's size is taken from the crawl stage's
  own output in the published run (the run folder the manifest points into), else from a published file
  with the same sha256 (same raw bytes, same size). A byte count that none of these gives is reported as
  not derivable, with how many files lack a size: never guessed.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seedlib import datasets, ledger, manifest
from seedlib.languages import language_of
from seedlib.run import manifest_key, snapshot_prefix
from seedlib.stage import STAGE_FILE
from seedlib.storage import ObjectNotFound, Storage, StorageError

# Bounded work on large snapshots: the content sample (line lengths, token counts) is the files with the
# smallest sha256 (a fixed, uniform choice) up to this many bytes; when it holds every file, counts are exact.
SAMPLE_BYTES = 2_000_000
SAMPLE_MAX_FILES = 20_000
LEDGER_SAMPLES_PER_REASON = 5
TOP_LANGUAGES = 8            # per-language plots show these; the rest are summed as OTHER
LARGEST_CLUSTERS = 10
OTHER = "(other)"
NO_LANGUAGE = "(none)"       # a dropped path the language table does not know
DEFAULT_TOKENIZER = "smollm2-135m"

SIZE_EDGES = [0, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304]
LINES_EDGES = [0, 1, 10, 30, 100, 300, 1000, 3000, 10000]
LINE_LENGTH_EDGES = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 120, 160, 200, 500, 1000]
ERROR_SHARE_EDGES = [0.0, 0.0001, 0.001, 0.01, 0.1, 0.25, 1.0]
QUALITY_EDGES = [x / 2 for x in range(21)]  # 0, 0.5, ..., 10


class ReportError(ValueError):
    """The snapshot is not published, or a dataset it names cannot be read."""


# --- reading a publication ------------------------------------------------------------------------------

class Publication:
    """One published snapshot: its manifest and its datasets, found through the manifest only."""

    def __init__(self, storage: Storage, snapshot: str, publications: str = "snapshots"):
        m = manifest.read(storage, snapshot, publications)
        if m is None:
            raise ReportError(f"snapshot {snapshot}: not published under {storage.root} (no "
                              f"{snapshot_prefix(snapshot, publications)}/_MANIFEST.json)")
        self.storage, self.snapshot, self.manifest = storage, snapshot, m
        self.manifest_key = manifest_key(snapshot, publications)
        self.base = snapshot_prefix(snapshot, publications)

    def has(self, name: str) -> bool:
        return name in self.manifest["datasets"]

    def rows(self, name: str) -> int | None:
        return self.manifest["datasets"][name]["rows"] if self.has(name) else None

    def keys(self, name: str) -> list[str]:
        """Storage keys of the dataset's parts (paths in the manifest are relative to its folder)."""
        if not self.has(name):
            return []
        return [f"{self.base}/{p}" for p in self.manifest["datasets"][name]["paths"]]

    def columns(self, name: str) -> list[str]:
        keys = self.keys(name)
        if keys:
            return self.storage.parquet_schema(keys[0]).names
        return datasets.SCHEMAS[name].names if name in datasets.SCHEMAS else []

    def read(self, name: str, columns: list[str]) -> pa.Table:
        """The named columns of every part (those the dataset has); an empty table when it has no parts."""
        present = [c for c in columns if c in self.columns(name)]
        keys = self.keys(name)
        if keys:
            return self.storage.read_parquet(keys, columns=present)
        schema = datasets.SCHEMAS.get(name, pa.schema([]))
        return pa.schema([schema.field(c) for c in present if c in schema.names]).empty_table()

    def parts(self, name: str, columns: list[str]) -> Iterator[pa.Table]:
        """One part at a time (bounded memory for columns such as `content`)."""
        present = [c for c in columns if c in self.columns(name)]
        for key in self.keys(name):
            yield self.storage.read_parquet([key], columns=present)


# --- small helpers --------------------------------------------------------------------------------------

def _r(x: float | None, digits: int = 6) -> float | None:
    return None if x is None else round(float(x), digits)


def human_bytes(n: float | None) -> str:
    if n is None:
        return "n/a"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _edge_labels(edges: list[float], fmt) -> list[str]:
    return [f"{fmt(a)}-{fmt(b)}" for a, b in zip(edges, edges[1:])] + [f">={fmt(edges[-1])}"]


def _size_label(n: float) -> str:
    return human_bytes(n).replace(".0 ", " ")


def _language(path: str) -> str:
    return language_of(path) or NO_LANGUAGE


def _col(t: pa.Table, name: str) -> list:
    return t.column(name).to_pylist()


def _by_group(t: pa.Table, key: str, aggs: list[tuple]) -> dict[str, dict]:
    """{key value: {"<column>_<agg>": value}} of an Arrow group_by."""
    if not t.num_rows:
        return {}
    out = t.group_by(key).aggregate(aggs).to_pylist()
    return {row.pop(key): row for row in out}


def _group_index(langs: pa.ChunkedArray | pa.Array, groups: list[str]) -> np.ndarray:
    """For each row the index of its language in `groups` (the top languages, then OTHER last)."""
    if isinstance(langs, pa.ChunkedArray):
        langs = langs.combine_chunks()
    encoded = pc.dictionary_encode(pc.fill_null(langs, NO_LANGUAGE)) if len(langs) else None
    if encoded is None:
        return np.zeros(0, dtype=np.int64)
    position = {g: i for i, g in enumerate(groups)}
    mapping = np.asarray([position.get(v, len(groups) - 1) for v in encoded.dictionary.to_pylist()], dtype=np.int64)
    return mapping[encoded.indices.to_numpy(zero_copy_only=False)]


def _grouped_hist(groups: list[str], group_idx: np.ndarray, bins: np.ndarray, nbins: int) -> dict[str, list[int]]:
    """Counts per (group, bin); groups without any row are left out."""
    flat = np.bincount(group_idx * nbins + bins, minlength=len(groups) * nbins).reshape(len(groups), nbins)
    return {g: flat[i].astype(int).tolist() for i, g in enumerate(groups) if flat[i].sum()}


def _bin_right(values: np.ndarray, edges: list[float]) -> np.ndarray:
    """Bin [edges[i], edges[i+1]) with a last bin [edges[-1], inf)."""
    idx = np.searchsorted(np.asarray(edges, dtype=np.float64), values, side="right") - 1
    return np.clip(idx, 0, len(edges) - 1)


def _groups(files: pa.Table) -> list[str]:
    """The top languages by kept files (ties by name), then OTHER."""
    counts = _by_group(files.select(["lang"]).append_column("n", pa.array(np.ones(files.num_rows, np.int64))),
                       "lang", [("n", "sum")])
    top = sorted(counts, key=lambda k: (-counts[k]["n_sum"], str(k)))[:TOP_LANGUAGES]
    return [*top, OTHER]


# --- the chain of stages --------------------------------------------------------------------------------

def chain_stages(stages: list[dict]) -> list[dict]:
    """The file stages in pipeline order: declared chain stages of the snapshot pipeline; an undeclared
    stage (a test pipeline's) counts as one when it read what the chain kept so far."""
    from seedlib.pipelines import SNAPSHOTS

    declared = {s.name: s.chain for s in SNAPSHOTS.stages}
    out: list[dict] = []
    for s in stages:
        if s["name"] in declared:
            if declared[s["name"]]:
                out.append(s)
        elif not out or s["rows_in"] == out[-1]["rows_out"]:
            out.append(s)
    return out


# --- sizes of files that are not kept -------------------------------------------------------------------

def _crawl_sizes(pub: Publication, first_stage: str) -> tuple[pa.Table | None, str]:
    """(repo, path, sha256, size) of every file the first chain stage kept, from its output in the
    published run: the run the manifest's `files` (or ledger) point into. None when that is not there."""
    runs = []
    for name in ("files", "dropped"):
        for p in pub.manifest["datasets"].get(name, {}).get("paths", []):
            parts = p.split("/")
            if len(parts) > 2 and parts[0] == "runs" and parts[1] not in runs:
                runs.append(parts[1])
    for run in runs:
        key = f"{pub.base}/runs/{run}/stages/{first_stage}/{STAGE_FILE}"
        try:
            report = pub.storage.read_json(key)
        except ObjectNotFound:
            continue
        written = report.get("datasets", {}).get("files")
        if not written:
            continue
        if not written["paths"]:
            return datasets.FILES.empty_table().select(["repo", "path", "sha256", "size"]), \
                f"runs/{run}/stages/{first_stage}"
        try:
            t = pub.storage.read_parquet(written["paths"], columns=["repo", "path", "sha256", "size"])
        except StorageError:  # a pruned run: fall back to sha256 matches
            continue
        return t, f"runs/{run}/stages/{first_stage}"
    return None, ""


def drop_sizes(drops: pa.Table, sources: list[pa.Table]) -> pa.Array:
    """The size of each ledger row (aligned with `drops`), null where no published data says it: the
    ledger's own `size` column if it has one, else a source row with the same (repo, path), else one with
    the same sha256 (the same raw bytes)."""
    n = drops.num_rows
    if not n:
        return pa.array([], pa.int64())
    d = drops.select(["repo", "path", "sha256"]).append_column("_row", pa.array(np.arange(n, dtype=np.int64)))
    by_key = [t.select(["repo", "path", "size"]) for t in sources if {"repo", "path", "size"} <= set(t.column_names)]
    by_sha = [t.select(["sha256", "size"]) for t in sources if {"sha256", "size"} <= set(t.column_names)]
    if by_key:
        keyed = pa.concat_tables(by_key).group_by(["repo", "path"]).aggregate([("size", "max")])
        keyed = keyed.select(["repo", "path", "size_max"]).rename_columns(["repo", "path", "size_key"])
        d = d.join(keyed, keys=["repo", "path"], join_type="left outer")
    if by_sha:
        shas = pa.concat_tables(by_sha).filter(pc.is_valid(pc.field("size"))).group_by("sha256").aggregate(
            [("size", "max")])
        shas = shas.select(["sha256", "size_max"]).rename_columns(["sha256", "size_sha"])
        d = d.join(shas, keys="sha256", join_type="left outer")
    d = d.sort_by("_row")
    candidates = [d.column(c) for c in ("size_key", "size_sha") if c in d.column_names]
    if "size" in drops.column_names:
        candidates.insert(0, drops.column("size"))
    if not candidates:
        return pa.nulls(n, pa.int64())
    out = candidates[0] if len(candidates) == 1 else pc.coalesce(*candidates)
    return pc.cast(out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out, pa.int64())


# --- the sections ---------------------------------------------------------------------------------------

def _funnel(chain: list[dict], drops: pa.Table, sizes: pa.Array, final_bytes: int, sizes_source: str) -> dict:
    t = pa.table({"stage": drops.column("stage"), "size": sizes,
                  "one": pa.array(np.ones(drops.num_rows, np.int64))})
    per_stage = _by_group(t, "stage", [("size", "sum"), ("size", "count"), ("one", "sum")])
    rows = []
    bytes_out: int | None = final_bytes
    for s in reversed(chain):
        g = per_stage.get(s["name"], {})
        known = g.get("size_sum") or 0
        unknown = (g.get("one_sum") or 0) - (g.get("size_count") or 0)
        bytes_in = bytes_out + known if (bytes_out is not None and unknown == 0) else None
        rows.append({"name": s["name"], "rows_in": s["rows_in"], "rows_out": s["rows_out"],
                     "dropped": s["rows_in"] - s["rows_out"], "skipped": bool(s.get("skipped")),
                     "bytes_in": bytes_in, "bytes_out": bytes_out, "bytes_dropped_known": known,
                     "dropped_without_size": unknown})
        bytes_out = bytes_in
    rows.reverse()
    notes = [f"{r['name']}: bytes in are not derivable: {r['dropped_without_size']} of the {r['dropped']} files it "
             "dropped have no size in any published dataset (the ledger records no sizes)"
             for r in rows if r["bytes_in"] is None and r["dropped_without_size"]]
    return {"stages": rows, "sizes_from": sizes_source, "notes": notes}


def _drops(stages: list[dict]) -> dict:
    rows = [{"stage": s["name"], "reason": reason, "count": n, "meaning": ledger.REASONS.get(reason, "")}
            for s in stages for reason, n in sorted(s.get("dropped", {}).items())]
    return {"rows": rows, "total": sum(r["count"] for r in rows)}


def _sample(files: pa.Table, budget: int, max_files: int) -> tuple[set[tuple[str, str]], int, int]:
    """The files with the smallest sha256 (then repo, path) up to `budget` bytes: a fixed, uniform sample."""
    if not files.num_rows:
        return set(), 0, 0
    order = pc.sort_indices(files, sort_keys=[("sha256", "ascending"), ("repo", "ascending"),
                                              ("path", "ascending")])
    sizes = files.column("size").take(order).to_numpy(zero_copy_only=False)
    before = np.concatenate([[0], np.cumsum(np.nan_to_num(sizes.astype(np.float64)))[:-1]])
    n = int(min(max_files, max(1, int((before < budget).sum()))))
    head = files.select(["repo", "path"]).take(order[:n])
    return set(zip(_col(head, "repo"), _col(head, "path"))), n, int(np.nan_to_num(sizes[:n].astype(np.float64)).sum())


_TOKENIZERS: dict[str, object] = {}


def _tokenizer(name: str):
    """The export's tokenizer (seedlib/export/tokens.py), loaded once per process; an Exception if it cannot."""
    if name not in _TOKENIZERS:
        try:
            from seedlib.export import tokens

            _TOKENIZERS[name] = tokens.load(name)
        except Exception as e:  # noqa: BLE001 -- reported in the report as why tokens are estimated roughly
            _TOKENIZERS[name] = e
    return _TOKENIZERS[name]


def _content_pass(pub: Publication, sample: set[tuple[str, str]], groups: list[str],
                  tokenizer_name: str | None) -> dict:
    """One pass over `files`, part by part: lines of every file (per language and as a histogram per
    language group); line lengths and token counts of the sample."""
    sample_keys = pa.array(sorted(f"{r}\x00{p}" for r, p in sample), pa.string())
    lines_by_lang: Counter = Counter()
    lines_hist = np.zeros((len(groups), len(LINES_EDGES)), dtype=np.int64)
    line_lengths = np.zeros(len(LINE_LENGTH_EDGES), dtype=np.int64)
    sample_lines = 0
    texts: list[str] = []
    sample_rows: list[tuple[str, int]] = []  # (lang, size) of each text
    for part in pub.parts("files", ["repo", "path", "lang", "sha256", "size", "content"]):
        if not part.num_rows:
            continue
        content = part.column("content")
        open_last = pc.and_(pc.greater(pc.binary_length(content), 0), pc.invert(pc.ends_with(content, "\n")))
        lines = pc.fill_null(pc.add(pc.count_substring(content, "\n"), pc.cast(open_last, pa.int32())), 0)
        counts = np.asarray(lines.to_numpy(zero_copy_only=False), dtype=np.int64)
        for lang, row in _by_group(pa.table({"lang": part.column("lang"), "lines": lines}), "lang",
                                   [("lines", "sum")]).items():
            lines_by_lang[lang] += row["lines_sum"]
        gidx = _group_index(part.column("lang"), groups)
        np.add.at(lines_hist, (gidx, _bin_right(counts.astype(np.float64), LINES_EDGES)), 1)
        if sample:
            mask = pc.is_in(pc.binary_join_element_wise(part.column("repo"), part.column("path"), "\x00"),
                            value_set=sample_keys)
            picked = part.filter(mask)
            for text, lang, size in zip(_col(picked, "content"), _col(picked, "lang"), _col(picked, "size")):
                text = text or ""
                texts.append(text)
                sample_rows.append((lang, size or 0))
                split = text.split("\n")
                if split and split[-1] == "":
                    split.pop()
                sample_lines += len(split)
                if split:
                    lengths = np.fromiter((len(x) for x in split), dtype=np.float64, count=len(split))
                    line_lengths += np.bincount(_bin_right(lengths, LINE_LENGTH_EDGES),
                                                minlength=len(LINE_LENGTH_EDGES))
    sample_tokens: Counter = Counter()
    sample_bytes: Counter = Counter()
    method, error = "none", None
    if tokenizer_name and texts:
        tok = _tokenizer(tokenizer_name)
        if isinstance(tok, Exception):
            error = f"{type(tok).__name__}: {tok}".splitlines()[0]
        else:
            for (lang, size), n in zip(sample_rows, tok.count(texts)):
                sample_tokens[lang] += n
                sample_bytes[lang] += size
            method = "tokenizer"
    return {"lines_by_lang": lines_by_lang, "lines_hist": {g: lines_hist[i].astype(int).tolist()
                                                           for i, g in enumerate(groups) if lines_hist[i].sum()},
            "line_lengths": line_lengths.tolist(), "sample_lines": sample_lines,
            "sample_tokens": sample_tokens, "sample_bytes": sample_bytes,
            "token_method": method, "token_error": error}


def _languages(files: pa.Table, drops: pa.Table, sizes: pa.Array, drop_langs: pa.Array, content: dict,
               sample_files: int, sample_bytes: int, tokenizer_name: str | None) -> dict:
    one = pa.array(np.ones(files.num_rows, np.int64))
    after = _by_group(pa.table({"lang": files.column("lang"), "size": files.column("size"), "one": one}), "lang",
                      [("one", "sum"), ("size", "sum")])
    before_t = pa.concat_tables([
        pa.table({"lang": pc.cast(files.column("lang"), pa.string()), "size": pc.cast(files.column("size"), pa.int64()),
                  "one": one}),
        pa.table({"lang": drop_langs, "size": sizes, "one": pa.array(np.ones(drops.num_rows, np.int64))})])
    before = _by_group(before_t, "lang", [("one", "sum"), ("size", "sum"), ("size", "count")])
    tok, tok_bytes = content["sample_tokens"], content["sample_bytes"]
    counted = content["token_method"] == "tokenizer"
    exact = counted and sample_files == files.num_rows
    overall = sum(tok.values()) / sum(tok_bytes.values()) if counted and sum(tok_bytes.values()) else None
    rows = []
    for lang in sorted(before, key=lambda k: (-(after.get(k, {}).get("one_sum") or 0), -before[k]["one_sum"], k)):
        a, b = after.get(lang, {}), before[lang]
        files_after, bytes_after = a.get("one_sum") or 0, a.get("size_sum") or 0
        tokens = None
        if files_after and counted:
            if exact:
                tokens = tok.get(lang, 0)
            else:
                ratio = tok[lang] / tok_bytes[lang] if tok_bytes.get(lang) else overall
                tokens = None if ratio is None else int(round(bytes_after * ratio))
        elif files_after:
            tokens = int(round(bytes_after / 4))  # the labelled fallback
        unknown = b["one_sum"] - (b["size_count"] or 0)
        rows.append({"lang": lang, "before_files": b["one_sum"],
                     "before_bytes": (b["size_sum"] or 0) if not unknown else None,
                     "before_bytes_known": b["size_sum"] or 0, "before_without_size": unknown,
                     "after_files": files_after, "after_bytes": bytes_after,
                     "after_lines": content["lines_by_lang"].get(lang, 0), "after_tokens": tokens})
    if counted:
        how = (f"exact: {tokenizer_name} tokens of every file" if exact else
               f"estimated: {tokenizer_name} tokens of a sample of {sample_files} files ({sample_bytes} bytes: "
               "the smallest sha256s), scaled by each language's bytes")
    elif not files.num_rows:
        how = "no kept files"
    elif content["token_error"]:
        how = (f"rough estimate: UTF-8 bytes / 4 (tokenizer {tokenizer_name} could not be loaded: "
               f"{content['token_error']})")
    else:
        how = "rough estimate: UTF-8 bytes / 4 (no tokenizer was asked for)"
    return {"rows": rows, "tokens": {"method": "exact" if exact else "estimate", "how": how,
                                      "tokenizer": tokenizer_name, "total": sum(r["after_tokens"] or 0 for r in rows),
                                      "sample_files": sample_files, "sample_bytes": sample_bytes},
            "before_note": "before = every file the crawl saw (files + the files ledger); a dropped file's "
                           "language is what seedlib/languages.py says for its path; tokens are counted only "
                           "for kept files (dropped contents are not published)"}


def _numbers(t: pa.Table, name: str) -> np.ndarray:
    """A numeric column as float64 with NaN for nulls."""
    return np.asarray(pc.cast(t.column(name), pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)


def _distributions(files: pa.Table, content: dict, groups: list[str], sample_files: int) -> dict:
    sizes = _numbers(files, "size")
    gidx = _group_index(files.column("lang"), groups)
    return {
        "size": {"labels": _edge_labels(SIZE_EDGES, _size_label), "edges": SIZE_EDGES,
                 "by_lang": _grouped_hist(groups, gidx, _bin_right(np.nan_to_num(sizes), SIZE_EDGES), len(SIZE_EDGES)),
                 "median": _r(float(np.median(sizes))) if len(sizes) else None,
                 "max": int(sizes.max()) if len(sizes) else None},
        "lines": {"labels": _edge_labels(LINES_EDGES, lambda x: f"{x:g}"), "edges": LINES_EDGES,
                  "by_lang": content["lines_hist"], "total": sum(content["lines_by_lang"].values())},
        "line_length": {"labels": _edge_labels(LINE_LENGTH_EDGES, lambda x: f"{x:g}"), "edges": LINE_LENGTH_EDGES,
                        "counts": content["line_lengths"], "sample_files": sample_files,
                        "sample_lines": content["sample_lines"]},
    }


def _duplicates(drops: pa.Table, files: pa.Table, chain_names: list[str]) -> dict:
    """Clusters: each kept representative (a sha256 named by duplicate_of) with its dropped copies. The
    representative is shown from `files` (any file with that sha256 has its exact contents), else from a
    later stage's drop of that sha256 (it survived the stage that dropped its copies), else it is an earlier
    snapshot's file (cross-snapshot dedup)."""
    dups = drops.filter(pc.is_valid(drops.column("duplicate_of")))
    if not dups.num_rows:
        return {"clusters": 0, "dropped_copies": 0, "cluster_sizes": {}, "largest": [], "against_earlier_snapshots": 0}
    rank = {n: i for i, n in enumerate(chain_names)}
    named = pc.unique(dups.column("duplicate_of"))
    kept = {}
    for sha, repo, path in zip(*(_col(files.filter(pc.is_in(files.column("sha256"), value_set=named)), c)
                                 for c in ("sha256", "repo", "path"))):
        kept.setdefault(sha, (repo, path))
    others = drops.filter(pc.and_(pc.is_in(drops.column("sha256"), value_set=named),
                                  pc.invert(pc.is_in(drops.column("reason"), value_set=pa.array(
                                      sorted(ledger.DUPLICATE_REASONS | {ledger.REPO_DUPLICATE}))))))
    later: dict[str, list[tuple[int, str, str, str]]] = defaultdict(list)
    for sha, reason, stage, repo, path in zip(*(_col(others, c)
                                                for c in ("sha256", "reason", "stage", "repo", "path"))):
        later[sha].append((rank.get(stage, len(rank)), repo, path, reason))
    members: dict[str, Counter] = defaultdict(Counter)
    first_stage: dict[str, int] = {}
    for of, reason, stage in zip(*(_col(dups, c) for c in ("duplicate_of", "reason", "stage"))):
        members[of][reason] += 1
        first_stage[of] = min(first_stage.get(of, len(rank)), rank.get(stage, len(rank)))
    sizes = Counter(1 + sum(c.values()) for c in members.values())
    clusters = []
    for of, c in members.items():
        survivors = sorted(x for x in later.get(of, []) if x[0] > first_stage[of])
        if of in kept:
            where, repo, path = "kept", *kept[of]
        elif survivors:
            _, repo, path, reason = survivors[0]
            where = f"dropped later ({reason})"
        else:
            where, repo, path = "not in this snapshot (an earlier snapshot's file)", None, None
        clusters.append({"kept_sha256": of, "size": 1 + sum(c.values()), "reasons": dict(sorted(c.items())),
                         "kept_repo": repo, "kept_path": path, "kept": where})
    clusters.sort(key=lambda c: (-c["size"], c["kept_sha256"]))
    return {"clusters": len(clusters), "dropped_copies": dups.num_rows,
            "cluster_sizes": {str(k): v for k, v in sorted(sizes.items())},
            "largest": clusters[:LARGEST_CLUSTERS],
            "against_earlier_snapshots": sum(1 for c in clusters if c["kept_repo"] is None)}


def _reason_by_language(drops: pa.Table, drop_langs: pa.Array, reason: str) -> dict[str, int]:
    mask = pc.equal(drops.column("reason"), reason)
    langs = _col(pa.table({"lang": drop_langs}).filter(mask), "lang")
    return dict(sorted(Counter(langs).items()))


def _syntax(pub: Publication, files: pa.Table, drops: pa.Table, drop_langs: pa.Array, groups: list[str]) -> dict:
    if "syntax_error_ratio" not in files.column_names:
        return {"available": False, "why": "files has no syntax_error_ratio column (the syntax stage did not run "
                                           "or was skipped)"}
    cfg = pub.manifest.get("config", {}).get("syntax", {})
    ratios = _numbers(files, "syntax_error_ratio")
    edges = np.asarray(ERROR_SHARE_EDGES)
    # bins: exactly 0, then (edges[i-1], edges[i]], then "not parsed" (null)
    bins = np.where(ratios == 0, 0, np.clip(np.searchsorted(edges, np.nan_to_num(ratios), side="left"), 1,
                                            len(edges) - 1))
    bins = np.where(np.isnan(ratios), len(edges), bins)
    by_lang = _grouped_hist(groups, _group_index(files.column("lang"), groups), bins.astype(np.int64), len(edges) + 1)
    labels = ["0"] + [f"({lo:g}, {hi:g}]" for lo, hi in zip(ERROR_SHARE_EDGES, ERROR_SHARE_EDGES[1:])] + ["not parsed"]
    overrides = cfg.get("error_ratio_by_language") or {}
    if isinstance(overrides, list):
        overrides = dict(overrides)
    default = cfg.get("max_error_ratio")
    return {"available": True, "labels": labels, "by_lang": by_lang,
            "thresholds": {g: overrides.get(g, default) for g in by_lang if g != OTHER},
            "default_threshold": default, "syntax_error_drops": _reason_by_language(drops, drop_langs, "syntax_error")}


def _quality(pub: Publication, files: pa.Table, drops: pa.Table, drop_langs: pa.Array, groups: list[str]) -> dict:
    if "quality_score" not in files.column_names:
        return {"available": False, "why": "files has no quality_score column (the quality stage did not run "
                                           "or was skipped)"}
    stage = next((s for s in pub.manifest["stages"] if s["name"] == "quality"), None)
    details = (stage or {}).get("details", {})
    qcfg = pub.manifest.get("config", {}).get("quality", {})
    scores = _numbers(files, "quality_score")
    scored = ~np.isnan(scores)
    gidx = _group_index(files.column("lang"), groups)
    edges = QUALITY_EDGES[:-1]  # the last bin, [9.5, 10], holds the 10s
    by_lang = _grouped_hist(groups, gidx[scored], _bin_right(np.minimum(scores[scored], 10.0), edges), len(edges))
    mean = {g: _r(float(scores[scored & (gidx == i)].mean()), 4) for i, g in enumerate(groups)
            if (scored & (gidx == i)).any()}
    return {"available": True, "labels": [f"{a:g}-{b:g}" for a, b in zip(QUALITY_EDGES, QUALITY_EDGES[1:])],
            "edges": QUALITY_EDGES, "by_lang": by_lang,
            "cut": {k: _r(v, 6) for k, v in sorted((details.get("quality_cut") or {}).items())},
            "scope": qcfg.get("drop_scope", "language"), "share": qcfg.get("drop_share"),
            "cut_from": details.get("quality_cut_from"),
            "low_quality_drops": _reason_by_language(drops, drop_langs, "low_quality"),
            "unscored": int((~scored).sum()), "mean": dict(sorted(mean.items())),
            "note": "histograms are of the kept files; the scores of the files dropped as low_quality are not "
                    "published (only how many there were, from the ledger)"}


def _distinct(pub: Publication, name: str, column: str) -> int | None:
    return len(pc.unique(pub.read(name, [column]).column(column))) if pub.has(name) else None


def _samples(pub: Publication) -> dict:
    stage = {s["name"]: s for s in pub.manifest["stages"]}
    return {"commit_history": pub.rows("commit_history"), "commit_samples": pub.rows("commit_samples"),
            "commit_sample_repos": _distinct(pub, "commit_samples", "repo"),
            "commit_dropped": pub.rows("commit_dropped"),
            "commit_dropped_by_reason": dict(sorted(stage.get("commit_samples", {}).get("dropped", {}).items())),
            "repo_sequences": pub.rows("repo_sequences"),
            "repo_sequence_repos": _distinct(pub, "repo_sequences", "repo"),
            "repo_sequences_details": stage.get("repo_sequences", {}).get("details", {}).get("sequences")}


def _timing(stages: list[dict]) -> list[dict]:
    return [{"name": s["name"], "seconds": _r(s.get("seconds", 0.0), 3), "skipped": bool(s.get("skipped")),
             "resumed_parts": s.get("resumed_parts", 0)} for s in stages]


def _ledger_samples(drops: pa.Table, files: pa.Table, chain_names: list[str]) -> list[dict]:
    """LEDGER_SAMPLES_PER_REASON rows per reason: those with the smallest sha256 (then repo, path)."""
    if not drops.num_rows:
        return []
    order = pc.sort_indices(drops, sort_keys=[("reason", "ascending"), ("sha256", "ascending"),
                                              ("repo", "ascending"), ("path", "ascending")])
    t = drops.select(["stage", "reason", "repo", "path", "duplicate_of"]).take(order)
    reasons = np.asarray(_col(t, "reason"), dtype=object)
    first = np.concatenate([[True], reasons[1:] != reasons[:-1]]) if len(reasons) else np.zeros(0, bool)
    starts = np.flatnonzero(first)
    position = np.arange(len(reasons)) - np.repeat(starts, np.diff(np.append(starts, len(reasons))))
    picked = t.take(pa.array(np.flatnonzero(position < LEDGER_SAMPLES_PER_REASON)))
    named = pc.unique(pc.drop_null(picked.column("duplicate_of")))
    kept = {}
    for sha, repo, path in zip(*(_col(files.filter(pc.is_in(files.column("sha256"), value_set=named)), c)
                                 for c in ("sha256", "repo", "path"))):
        kept.setdefault(sha, f"{repo}/{path}")
    out = [dict(row, kept_copy=kept.get(row["duplicate_of"]) if row["duplicate_of"] else None)
           for row in picked.to_pylist()]
    rank = {n: i for i, n in enumerate(chain_names)}
    out.sort(key=lambda r: (rank.get(r["stage"], len(rank)), r["stage"], r["reason"]))
    return out


def _compare_files(now: pa.Table, before: pa.Table) -> list[dict]:
    """Per language: files before and now, added and removed (by repo, path) and changed (same key, other sha256)."""
    a = now.select(["repo", "path", "lang", "sha256"]).append_column("in_now", pa.array(np.ones(now.num_rows, bool)))
    b = before.select(["repo", "path", "lang", "sha256"]).rename_columns(["repo", "path", "lang_b", "sha_b"])
    b = b.append_column("in_before", pa.array(np.ones(before.num_rows, bool)))
    j = a.join(b, keys=["repo", "path"], join_type="full outer")
    in_now, in_before = pc.fill_null(j.column("in_now"), False), pc.fill_null(j.column("in_before"), False)
    both = pc.and_(in_now, in_before)
    t = pa.table({"lang": pc.coalesce(j.column("lang"), j.column("lang_b")),
                  "now": pc.cast(in_now, pa.int64()), "before": pc.cast(in_before, pa.int64()),
                  "added": pc.cast(pc.and_(in_now, pc.invert(in_before)), pa.int64()),
                  "removed": pc.cast(pc.and_(in_before, pc.invert(in_now)), pa.int64()),
                  "changed": pc.cast(pc.fill_null(pc.and_(both, pc.not_equal(j.column("sha256"), j.column("sha_b"))),
                                                  False), pa.int64())})
    cols = ("before", "now", "added", "removed", "changed")
    groups = _by_group(t, "lang", [(c, "sum") for c in cols])
    rows = [{"lang": lang, **{c: g[f"{c}_sum"] for c in cols}} for lang, g in groups.items()]
    return sorted(rows, key=lambda r: (-r["now"], -r["before"], str(r["lang"])))


def _previous(pub: Publication) -> dict:
    earlier = [d for d in manifest.list_snapshots(pub.storage) if d < pub.snapshot]
    if not earlier:
        return {"snapshot": None}
    prev = Publication(pub.storage, earlier[-1])
    pm, m = prev.manifest, pub.manifest
    before = {s["name"]: s for s in pm["stages"]}
    now = {s["name"]: s for s in m["stages"]}
    names = [s["name"] for s in m["stages"]] + [n for n in before if n not in now]
    stages = [{"name": n, "rows_in_before": before.get(n, {}).get("rows_in"),
               "rows_out_before": before.get(n, {}).get("rows_out"),
               "rows_in": now.get(n, {}).get("rows_in"), "rows_out": now.get(n, {}).get("rows_out")} for n in names]
    ds = [{"name": n, "before": pm["datasets"].get(n, {}).get("rows"), "now": m["datasets"].get(n, {}).get("rows")}
          for n in sorted(set(pm["datasets"]) | set(m["datasets"]))]
    cols = ["repo", "path", "lang", "sha256"]
    out = {"snapshot": prev.snapshot, "created_at": pm.get("created_at"), "stages": stages, "datasets": ds,
           "files": _compare_files(pub.read("files", cols), prev.read("files", cols)),
           "scorer_before": (pm.get("scorer") or {}).get("version"), "scorer": (m.get("scorer") or {}).get("version")}
    if pub.has("corpus_index") and prev.has("corpus_index"):
        out["corpus"] = _compare_files(pub.read("corpus_index", cols), prev.read("corpus_index", cols))
    return out


def _repos(pub: Publication, files: pa.Table) -> dict:
    t = pub.read("repos", ["repo", "license", "status"])
    kept_repos = pc.unique(files.column("repo"))
    status = Counter(_col(t, "status")) if "status" in t.column_names else Counter()
    licences: Counter = Counter()
    if {"repo", "license"} <= set(t.column_names):
        kept = t.filter(pc.is_in(t.column("repo"), value_set=kept_repos))
        licences.update(lic or "unknown" for lic in _col(kept, "license"))
    return {"rows": t.num_rows, "status": dict(sorted(status.items())), "kept": len(kept_repos),
            "kept_licences": dict(sorted(licences.items(), key=lambda kv: (-kv[1], kv[0])))}


# --- everything -----------------------------------------------------------------------------------------

def collect(storage: Storage, snapshot: str, tokenizer: str | None = "", sample_bytes: int = SAMPLE_BYTES,
            sample_max_files: int = SAMPLE_MAX_FILES) -> dict:
    """The report's numbers for a published snapshot. `tokenizer`: "" = the snapshot's `export_tokenizer`
    (SmolLM2 by default), None = no tokenizer (tokens are then the labelled bytes/4 estimate)."""
    pub = Publication(storage, snapshot)
    m = pub.manifest
    if not pub.has("files") or not pub.has("dropped"):
        raise ReportError(f"snapshot {snapshot}: the manifest has no files/dropped datasets "
                          f"(has {sorted(m['datasets'])})")
    if tokenizer == "":
        tokenizer = ((m.get("config") or {}).get("export") or {}).get("tokenizer") or DEFAULT_TOKENIZER
    stages = m["stages"]
    chain = chain_stages(stages)
    files = pub.read("files", ["repo", "path", "lang", "sha256", "size", "syntax_error_ratio", "quality_score"])
    drops = pub.read("dropped", ["repo", "path", "sha256", "stage", "reason", "duplicate_of", "size"])

    sources, source = [files], "files"
    crawl, crawl_from = _crawl_sizes(pub, chain[0]["name"]) if chain else (None, "")
    if crawl is not None:
        sources.append(crawl)
        source += f"; the {chain[0]['name']} stage's output in the published run ({crawl_from})"
    if "size" in drops.column_names:
        source = "the ledger's size column; " + source
    if pub.has("corpus_index"):
        sources.append(pub.read("corpus_index", ["sha256", "size"]))
    source += "; else a published file with the same sha256"
    sizes = drop_sizes(drops, sources)
    drop_langs = pa.array([_language(p) for p in _col(drops, "path")], pa.string())
    final_bytes = int(pc.sum(files.column("size")).as_py() or 0) if files.num_rows else 0

    groups = _groups(files)
    sample, n_sample, b_sample = _sample(files, sample_bytes, sample_max_files)
    content = _content_pass(pub, sample, groups, tokenizer)
    chain_names = [s["name"] for s in chain]
    return {
        "snapshot": m["snapshot"], "created_at": m["created_at"], "code_version": m.get("code_version"),
        "manifest_sha256": hashlib.sha256(storage.read_bytes(pub.manifest_key)).hexdigest(),
        "datasets": {n: d["rows"] for n, d in sorted(m["datasets"].items())},
        "repos": _repos(pub, files),
        "funnel": _funnel(chain, drops, sizes, final_bytes, source),
        "drops": _drops(stages),
        "languages": _languages(files, drops, sizes, drop_langs, content, n_sample, b_sample, tokenizer),
        "distributions": _distributions(files, content, groups, n_sample),
        "duplicates": _duplicates(drops, files, chain_names),
        "syntax": _syntax(pub, files, drops, drop_langs, groups),
        "quality": _quality(pub, files, drops, drop_langs, groups),
        "scorer": m.get("scorer"),
        "samples": _samples(pub),
        "timing": _timing(stages),
        "previous": _previous(pub),
        "ledger_samples": _ledger_samples(drops, files, chain_names),
        "top_languages": groups[:-1],
    }
