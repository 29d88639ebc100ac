"""The published datasets by name, with their Arrow schemas (contract.md, "Datasets")."""

from __future__ import annotations

import pyarrow as pa

REPOS = pa.schema([
    ("repo", pa.string()),
    ("url", pa.string()),
    ("head_sha", pa.string()),
    ("stars", pa.int64()),
    ("forks", pa.int64()),
    ("license", pa.string()),
    ("status", pa.string()),   # "ok" or "failed"
    ("error", pa.string()),    # null when ok
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

SCHEMAS: dict[str, pa.Schema] = {"repos": REPOS, "files": FILES, "dropped": DROPPED}

# Rows of every dataset are written sorted by these columns, so reruns give identical bytes.
SORT_KEYS: dict[str, tuple[str, ...]] = {
    "repos": ("repo",),
    "files": ("repo", "path"),
    "dropped": ("repo", "path"),
}


def table(name: str, rows: list[dict]) -> pa.Table:
    """Rows -> a table of the dataset's schema, sorted by its keys."""
    t = pa.Table.from_pylist(rows, schema=SCHEMAS[name])
    if t.num_rows:
        t = t.sort_by([(k, "ascending") for k in SORT_KEYS[name]])
    return t
