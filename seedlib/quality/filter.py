"""The quality stage: `quality_score` joined into `files`, and the lowest share dropped as `low_quality`.

The cut is exact and deterministic: in each group (a language, or all files with
`quality_drop_scope=global`) the floor(share x n) files that sort first by (score, repo, path) are dropped,
so ties at the cut are broken the same way on every rerun. The threshold per group (the highest score
dropped) goes into the stage's details. Resumable per input part, like every file stage.

A snapshot deduplicated against earlier ones holds only what is new, and the files an earlier snapshot
dropped come back to be judged again (they are in no published index). Cutting a share of those few would
let most of yesterday's lowest files in today, so a group that an earlier snapshot already cut with the
same scorer, share and scope keeps that snapshot's threshold: its files scoring at or below it are dropped
(`quality_cut_from` in the details names the snapshot). Only groups never cut before take the share.
"""

from __future__ import annotations

import math
from collections import defaultdict

import pyarrow as pa
import pyarrow.compute as pc

from seedlib import datasets, ledger
from seedlib.stage import PartWriter, StageError

STAGE = "quality"


def cut(rows: list[tuple[str, str, str, float]], share: float, scope: str,
        inherited: dict[str, float] | None = None) -> tuple[set[tuple[str, str]], dict[str, float]]:
    """rows: (repo, path, lang, score). Returns the (repo, path) dropped and each group's threshold.
    `inherited`: thresholds of an earlier cut; a group that has one drops its files at or below it."""
    groups: dict[str, list[tuple[float, str, str]]] = defaultdict(list)
    for repo, path, lang, score in rows:
        groups[lang if scope == "language" else "all"].append((score, repo, path))
    dropped, thresholds = set(), {}
    for group, members in sorted(groups.items()):
        if inherited and group in inherited:
            thresholds[group] = inherited[group]
            dropped.update((repo, path) for score, repo, path in members if score <= inherited[group])
            continue
        n = math.floor(share * len(members))
        if not n:
            continue
        lowest = sorted(members)[:n]
        dropped.update((repo, path) for _, repo, path in lowest)
        thresholds[group] = lowest[-1][0]
    return dropped, thresholds


def earlier_cut(storage, snapshot: str, scorer_version: str | None, share: float, scope: str) -> tuple[dict, str | None]:
    """The thresholds of the latest snapshot published before `snapshot` whose quality stage ran with the
    same scorer version, share and scope (and that snapshot's date), else ({}, None)."""
    from seedlib import manifest
    from seedlib.config import config_from_dict

    for date in reversed([d for d in manifest.list_snapshots(storage) if d < snapshot]):
        m = manifest.read(storage, date)
        stage = next((s for s in m["stages"] if s["name"] == STAGE and not s.get("skipped")), None)
        if stage is None or "quality_cut" not in stage.get("details", {}):
            continue
        q = config_from_dict(m["config"]).quality
        if (m.get("scorer") or {}).get("version") == scorer_version and (q.drop_share, q.drop_scope) == (share, scope):
            return stage["details"]["quality_cut"], date
    return {}, None


def body(ctx):
    q = ctx.config.quality
    items, rows_in = ctx.input("files")
    score_items, scored = ctx.input("score.scores")
    scores = ctx.storage.read_parquet([k for _, k in score_items]) if score_items else datasets.table("scores", [])
    if scored != rows_in:
        raise StageError(f"quality: {scored} scores for {rows_in} files")
    rows = list(zip(*(scores.column(c).to_pylist() for c in ("repo", "path", "lang", "quality_score"))))
    by_key = {(repo, path): score for repo, path, _, score in rows}
    version = (ctx.report("score").details.get("scorer") or {}).get("version")
    inherited, since = earlier_cut(ctx.storage, ctx.spec.snapshot, version, q.drop_share, q.drop_scope)
    dropped, thresholds = cut(rows, q.drop_share, q.drop_scope, inherited)
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
    return ctx.all_parts(), rows_in, {"quality_cut": thresholds, "quality_cut_from": since}
