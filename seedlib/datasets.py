"""The published datasets by name, with their Arrow schemas (contract.md, "Datasets")."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

REPOS = pa.schema([
    ("repo", pa.string()),
    ("url", pa.string()),
    ("head_sha", pa.string()),
    ("stars", pa.int64()),
    ("forks", pa.int64()),
    ("license", pa.string()),
    ("status", pa.string()),   # "ok" or "failed"
    ("error", pa.string()),    # null when ok; else "<reason>: <message>"
    ("pushed_at", pa.string()),  # beyond the contract: last push (ISO-8601, GitHub), null for local sources
])

FILES = pa.schema([
    ("repo", pa.string()),
    ("path", pa.string()),
    ("lang", pa.string()),
    ("sha256", pa.string()),
    ("size", pa.int64()),
    ("content", pa.string()),
])

DROPPED = pa.schema([
    ("repo", pa.string()),
    ("path", pa.string()),
    ("sha256", pa.string()),
    ("stage", pa.string()),
    ("reason", pa.string()),
    ("duplicate_of", pa.string()),
])

COMMIT_HISTORY = pa.schema([
    ("repo", pa.string()),
    ("sha", pa.string()),
    ("parents", pa.list_(pa.string())),
    ("author_time", pa.string()),     # ISO-8601, UTC
    ("committer_time", pa.string()),
    ("message", pa.string()),
    ("files", pa.list_(pa.struct([
        ("old_path", pa.string()), ("new_path", pa.string()), ("change_type", pa.string()),
        ("diff", pa.string()), ("before", pa.string()), ("after", pa.string()), ("skipped", pa.string()),
    ]))),
    ("author_name", pa.string()),      # for the commit samples' bot filter
    ("author_email", pa.string()),
    # What a commit sample shows of the pre-commit tree (seedlib/samples/context.py); null for merges.
    ("readme", pa.struct([("path", pa.string()), ("content", pa.string())])),  # null when there is none
    ("tree", pa.list_(pa.string())),   # the tree's paths in git order, the first TREE_MAX_PATHS
    ("tree_size", pa.int64()),         # how many paths the tree has
    ("context", pa.list_(pa.struct([("path", pa.string()), ("content", pa.string())]))),  # BM25 rank order
])

# The persisted dedup index (seedlib/dedup/index.py): one row per published file, written by near_dedup
# for the files it kept and by publish for the snapshot's final files.
DEDUP_INDEX = pa.schema([
    ("repo", pa.string()),
    ("path", pa.string()),
    ("sha256", pa.string()),
    ("ws_sha256", pa.string()),  # SHA-256 of the contents with whitespace runs collapsed
    ("sig", pa.binary()),        # MinHash signature (little-endian uint32s); null without shingles
])

# The oracle's judgements of the label sample (seedlib/quality/label.py): every sampled file is a row; a
# failed or malformed judgement has a null score and says why in `error` (never a made-up score).
LABELS = pa.schema([
    ("repo", pa.string()),
    ("path", pa.string()),
    ("sha256", pa.string()),
    ("lang", pa.string()),
    ("score", pa.int32()),        # 0-10, null when the oracle gave no valid rating
    ("explanation", pa.string()),
    ("oracle", pa.string()),      # e.g. "rubric-v1" or "openai:MODEL"
    ("error", pa.string()),       # null, "oracle_error" or "malformed_rating"
])

# A score per file (seedlib/quality/score.py), joined into `files` by the quality stage.
SCORES = pa.schema([
    ("repo", pa.string()),
    ("path", pa.string()),
    ("lang", pa.string()),
    ("quality_score", pa.float64()),  # 0-10, the oracle's scale
])

# Code-change-prediction samples (seedlib/samples/commits.py): one row per kept commit.
COMMIT_SAMPLES = pa.schema([
    ("repo", pa.string()),
    ("sha", pa.string()),
    ("message", pa.string()),
    ("changed_paths", pa.list_(pa.string())),
    ("context_paths", pa.list_(pa.string())),  # BM25 top files of the pre-commit tree, in rank order
    ("text", pa.string()),                     # the rendered sample, ready for tokenisation
])

# The commit ledger: every commit of commit_history that is not a sample, and why.
COMMIT_DROPPED = pa.schema([
    ("repo", pa.string()),
    ("sha", pa.string()),
    ("stage", pa.string()),
    ("reason", pa.string()),
    ("duplicate_of", pa.string()),  # for exact_duplicate: the sha of the kept sample with the same text
])

# Repository-level sequences (seedlib/samples/sequences.py): one row per independent part of a repository.
REPO_SEQUENCES = pa.schema([
    ("repo", pa.string()),
    ("part", pa.int32()),
    ("paths", pa.list_(pa.string())),  # in dependency order
    ("text", pa.string()),
])

# The corpus as of a snapshot (seedlib/corpus.py): every file of this snapshot and of the earlier ones it
# was deduplicated against that is still current; `snapshot` names the publication whose `files` hold it.
CORPUS_INDEX = pa.schema([
    ("repo", pa.string()),
    ("path", pa.string()),
    ("sha256", pa.string()),
    ("lang", pa.string()),
    ("size", pa.int64()),
    ("quality_score", pa.float64()),  # null when the file was never scored
    ("snapshot", pa.string()),
])

# Web pages (the web pipeline, seedlib/web/): one row per kept page, keyed by url + WARC record id.
WEB = pa.schema([
    ("url", pa.string()),
    ("category", pa.string()),        # documentation, forum, blog, ecommerce or other (seedlib/web/category.py)
    ("text", pa.string()),            # main text, code blocks byte for byte in their place
    ("has_code_tags", pa.bool_()),    # the page has <pre>/<code>/highlighted blocks
    ("recall_score", pa.float64()),   # the fastText classifier's P(code-related); null before the recall stage
    ("quality_score", pa.float64()),  # 0-10 from the oracle; null before the quality stage
    ("warc", pa.string()),            # the WARC file's URI
    ("record_id", pa.string()),       # WARC-Record-ID
    ("sha256", pa.string()),          # of the UTF-8 text (exact dedup)
    ("words", pa.int64()),
    ("title", pa.string()),
])

# The web ledger: every WARC record the pipeline read that is not a kept page, and why. A record without a
# usable url or id is keyed by "<warc>#<offset>" in both columns.
WEB_DROPPED = pa.schema([
    ("url", pa.string()),
    ("record_id", pa.string()),
    ("warc", pa.string()),
    ("stage", pa.string()),
    ("reason", pa.string()),
    ("duplicate_of", pa.string()),   # for exact/near duplicates: the url of the kept page
])

SCHEMAS: dict[str, pa.Schema] = {"repos": REPOS, "files": FILES, "dropped": DROPPED,
                                 "commit_history": COMMIT_HISTORY, "dedup_index": DEDUP_INDEX,
                                 "labels": LABELS, "scores": SCORES, "commit_samples": COMMIT_SAMPLES,
                                 "commit_dropped": COMMIT_DROPPED, "repo_sequences": REPO_SEQUENCES,
                                 "corpus_index": CORPUS_INDEX, "web": WEB, "web_dropped": WEB_DROPPED}

# Ledgers: datasets of dropped items with a `reason` from seedlib/ledger.py.
LEDGERS = frozenset({"dropped", "commit_dropped", "web_dropped"})

# Rows of every dataset are written sorted by these columns, so reruns give identical bytes.
SORT_KEYS: dict[str, tuple[str, ...]] = {
    "repos": ("repo",),
    "files": ("repo", "path"),
    "dropped": ("repo", "path"),
    "commit_history": ("repo", "committer_time", "sha"),
    "dedup_index": ("repo", "path"),
    "labels": ("repo", "path"),
    "scores": ("repo", "path"),
    "commit_samples": ("repo", "sha"),
    "commit_dropped": ("repo", "sha"),
    "repo_sequences": ("repo", "part"),
    "corpus_index": ("repo", "path"),
    "web": ("url", "record_id"),
    "web_dropped": ("url", "record_id"),
}

# The columns that identify one item of a dataset (unique within a publication); a ledger is keyed like
# the dataset whose items it accounts for.
KEYS: dict[str, tuple[str, ...]] = {
    "repos": ("repo",),
    "files": ("repo", "path"),
    "dropped": ("repo", "path"),
    "commit_history": ("repo", "sha"),
    "dedup_index": ("repo", "path"),
    "labels": ("repo", "path"),
    "scores": ("repo", "path"),
    "commit_samples": ("repo", "sha"),
    "commit_dropped": ("repo", "sha"),
    "repo_sequences": ("repo", "part"),
    "corpus_index": ("repo", "path"),
    "web": ("url", "record_id"),
    "web_dropped": ("url", "record_id"),
}


def item_keys(table: pa.Table, columns: tuple[str, ...]) -> pa.Array:
    """The key columns of every row joined by NUL: the identity of an item within a publication."""
    if len(columns) == 1:
        return table.column(columns[0]).combine_chunks()
    return pc.binary_join_element_wise(*(table.column(c) for c in columns), "\x00")


def file_keys(table: pa.Table) -> pa.Array:
    """"repo\\0path" of every row: the identity of a file within a snapshot."""
    return item_keys(table, KEYS["files"])


def table(name: str, rows: list[dict]) -> pa.Table:
    """Rows -> a table of the dataset's schema, sorted by its keys."""
    return conform(name, pa.Table.from_pylist(rows, schema=SCHEMAS[name]))


def conform(name: str, t: pa.Table) -> pa.Table:
    """Check a table has the dataset's columns (stages may add more after them) and sort it by its keys.

    The contract's columns come first, in contract order, cast to the contract's types; added columns keep
    their order after them.
    """
    schema = SCHEMAS[name]
    missing = [f.name for f in schema if f.name not in t.column_names]
    if missing:
        raise ValueError(f"dataset {name}: missing columns {missing}")
    extra = [c for c in t.column_names if c not in schema.names]
    t = t.select(schema.names + extra)
    t = t.cast(pa.schema(list(schema) + [t.schema.field(c) for c in extra]))
    if t.num_rows:
        order = pc.sort_indices(t, [(k, "ascending") for k in SORT_KEYS[name]])
        # Most tables arrive sorted (a filtered part of a sorted part): then the copy of every column
        # (`take`, the contents included) is skipped. sort_indices is stable, so equal keys keep their order;
        # combine_chunks keeps take's one chunk per column (the Parquet pages, hence the bytes, follow the
        # chunks) and copies nothing when a column already is one chunk.
        if pc.all(pc.equal(order, pa.array(np.arange(t.num_rows, dtype=np.uint64)))).as_py():
            t = t.combine_chunks()
        else:
            t = t.take(order)
    return t
