"""The quality stage: `quality_score` joined into `files`, and the lowest share dropped as `low_quality`.

The cut is exact and deterministic: in each group (a language, or all files with
`quality_drop_scope=global`) the floor(share x n) files that sort first by (score, repo, path) are dropped,
so ties at the cut are broken the same way on every rerun. The threshold per group (the highest score
dropped) goes into the stage's details. Resumable per input part, like every file stage.
"""

from __future__ import annotations

import math
from collections import defaultdict

import pyarrow as pa
import pyarrow.compute as pc

from seedlib import datasets, ledger
from seedlib.stage import PartWriter, StageError

STAGE = "quality"


def cut(rows: list[tuple[str, str, str, float]], share: float, scope: str) -> tuple[set[tuple[str, str]], dict[str, float]]:
    """rows: (repo, path, lang, score). Returns the (repo, path) dropped and each group's threshold."""
    groups: dict[str, list[tuple[float, str, str]]] = defaultdict(list)
    for repo, path, lang, score in rows:
        groups[lang if scope == "language" else "all"].append((score, repo, path))
    dropped, thresholds = set(), {}
    for group, members in sorted(groups.items()):
        n = math.floor(share * len(members))
        if not n:
            continue
        lowest = sorted(members)[:n]
        dropped.update((repo, path) for _, repo, path in lowest)
        thresholds[group] = lowest[-1][0]
    return dropped, thresholds


def body(ctx):
    q = ctx.config.quality
    items, rows_in = ctx.input("files")
    score_items, scored = ctx.input("score.scores")
    scores = ctx.storage.read_parquet([k for _, k in score_items]) if score_items else datasets.table("scores", [])
    if scored != rows_in:
        raise StageError(f"quality: {scored} scores for {rows_in} files")
    rows = list(zip(*(scores.column(c).to_pylist() for c in ("repo", "path", "lang", "quality_score"))))
    by_key = {(repo, path): score for repo, path, _, score in rows}
    dropped, thresholds = cut(rows, q.drop_share, q.drop_scope)
    ctx.plan(len(items))
    for part, key in items:
        if part in ctx.done:
            continue
        table = ctx.storage.read_parquet([key])
        keys = list(zip(table.column("repo").to_pylist(), table.column("path").to_pylist()))
        missing = [k for k in keys if k not in by_key]
        if missing:
            raise StageError(f"quality: {len(missing)} files of {key} have no score, e.g. {missing[0]}")
        table = table.append_column("quality_score", pa.array([by_key[k] for k in keys], pa.float64()))
        drop = pa.array([k in dropped for k in keys], pa.bool_())
        writer = PartWriter(ctx.storage, ctx.prefix, part, rows_per_part=max(1, table.num_rows))
        writer.add("files", table.filter(pc.invert(drop)))
        writer.add("dropped", [ledger.drop(r["repo"], r["path"], r["sha256"], STAGE, "low_quality")
                               for r in table.filter(drop).select(["repo", "path", "sha256"]).to_pylist()])
        writer.close()
    return ctx.all_parts(), rows_in, {"quality_cut": thresholds}
