"""The commit_samples stage: code-change-prediction samples from commit_history, and the commit ledger.

A sample is one commit rendered as text (the report's format, docs/commit-samples.md): the input is the
commit message, the README, the directory structure and the BM25 top files of the pre-commit tree (the
crawl retrieved them, seedlib/samples/context.py); the target is the changed paths and their changes.

The text, exactly (every section body ends with a newline; a section with nothing to show is left out):

    <[commit-message]>
    {message}
    <[readme]> {README path}
    {README, at most README_MAX_CHARS characters}
    <[tree]>                                  ("<[tree]> first 1000 of 1234 paths" when cut)
    {one path of the pre-commit tree a line, in git's order}
    <[context]> {path}                        (one per context file, in BM25 rank order)
    {its contents}
    <[changes]>
    <[change]> {added|deleted|modified|type_changed} {path}      (or: renamed|copied {old} -> {new})
    {unified diff (diff_format=unified) or the new contents (diff_format=whole; nothing for a deletion)}

Everything before `<[changes]>` is the input, everything from it on the target. A change is shown when
it has something to show: an added file's new contents, a deleted file's old ones, a renamed or copied
file, or a change of contents; a mode-only change or a submodule pointer is left out (of the text and of
`changed_paths`).

Filters, in this order; the first that applies is the commit's reason in the ledger (`commit_dropped`):
merge_commit (more than one parent), bot_author (author name or e-mail contains one of
commit_samples_bot_authors, ignoring case), trivial_message (shorter than min_message_chars once
stripped, or a bare word like "wip", "update", "fix": `TRIVIAL_MESSAGES`), too_large (more than
max_changed_files changed files), binary / undecodable / too_large (a change whose contents the crawl left
out, the first such in path order), no_changes (nothing to show), too_large (the changes section over
max_change_chars characters), contaminated (a changed path, old or new, is in decontam's files ledger as
contaminated, or the text shares a word n-gram with a benchmark problem, seedlib/samples/decontam.py),
exact_duplicate (the same text as another sample: the smallest (repo, sha) is kept, the others name its
sha in duplicate_of; decided across all parts).

The plan (like the dedup stages): read every input part and decide each commit (a reason, or the SHA-256
of its text); pick the keepers of equal texts globally with Spark; then split input part i into output
part i's samples and ledger rows (re-rendered: rendering is deterministic). Finished parts are kept.
"""

from __future__ import annotations

import hashlib
import re
from functools import partial

import pyarrow as pa

from seedlib import ledger
from seedlib.spark import spread

STAGE = "commit_samples"
MESSAGE, README, TREE, CONTEXT, CHANGES, CHANGE = (
    "<[commit-message]>", "<[readme]>", "<[tree]>", "<[context]>", "<[changes]>", "<[change]>")
EXACT = "exact_duplicate"
CONTAMINATED = "contaminated"

# Messages that say nothing about the change (compared lower-cased, whitespace collapsed, trailing
# punctuation left out).
TRIVIAL_MESSAGES = frozenset({
    "wip", "work in progress", "update", "updates", "updated", "fix", "fixes", "fixed", "fixup", "typo",
    "typos", "minor", "minor fix", "minor fixes", "minor change", "minor changes", "minor update",
    "minor updates", "small fix", "small fixes", "small changes", "changes", "change", "more changes",
    "some changes", "cleanup", "clean up", "commit", "initial commit", "first commit", "init", "test",
    "testing", "tests", "tmp", "temp", "misc", "stuff", "save", "more", "asdf", "done", "update readme",
    "update readme.md", "updated readme", "updated readme.md", "create readme.md", "add files via upload",
    "update files", "updated files", "bump version", "version bump", "merge", "refactor", "refactoring",
})


# ---------- one commit ----------

def normal_message(message: str) -> str:
    return re.sub(r"\s+", " ", message.strip().lower()).rstrip(".!:;, ")


def is_trivial(message: str | None, min_chars: int) -> bool:
    text = (message or "").strip()
    return len(text) < min_chars or normal_message(text) in TRIVIAL_MESSAGES


def is_bot(name: str | None, email: str | None, patterns) -> bool:
    who = f"{name or ''}\n{email or ''}".lower()
    return any(p.lower() in who for p in patterns if p)


def shown(change: dict) -> bool:
    """Whether a change has something a sample can show (module docstring)."""
    kind, before, after = change["change_type"], change["before"], change["after"]
    if kind == "added":
        return after is not None
    if kind == "deleted":
        return before is not None
    if before is None or after is None:
        return False
    return bool(change["diff"]) or change["old_path"] != change["new_path"]


def change_path(change: dict) -> str:
    return change["new_path"] if change["new_path"] is not None else change["old_path"]


def _body(text: str | None) -> str:
    if not text:
        return ""
    return text if text.endswith("\n") else text + "\n"


def render_changes(changes: list[dict], diff_format: str) -> str:
    out = [CHANGES + "\n"]
    for c in changes:
        kind = c["change_type"]
        if kind in ("renamed", "copied"):
            out.append(f"{CHANGE} {kind} {c['old_path']} -> {c['new_path']}\n")
        else:
            out.append(f"{CHANGE} {kind} {change_path(c)}\n")
        if diff_format == "whole":
            out.append(_body(c["after"] if kind != "deleted" else None))
        else:
            out.append(_body(c["diff"]))
    return "".join(out)


def render_input(row: dict) -> str:
    out = [MESSAGE + "\n", _body(row["message"])]
    readme = row.get("readme")
    if readme is not None:
        out += [f"{README} {readme['path']}\n", _body(readme["content"])]
    tree = row.get("tree") or []
    if tree:
        size = row.get("tree_size") or len(tree)
        out.append(f"{TREE} first {len(tree)} of {size} paths\n" if size > len(tree) else TREE + "\n")
        out += [p + "\n" for p in tree]
    for c in row.get("context") or []:
        out += [f"{CONTEXT} {c['path']}\n", _body(c["content"])]
    return "".join(out)


def sample(row: dict, diff_format: str, changes: list[dict] | None = None, target: str | None = None) -> dict:
    """The commit_samples row of one commit_history row (no filter applied). `changes` (those shown) and
    `target` (their rendering) when the caller has them already."""
    if changes is None:
        changes = [c for c in row["files"] or [] if shown(c)]
    if target is None:
        target = render_changes(changes, diff_format)
    return {"repo": row["repo"], "sha": row["sha"], "message": row["message"],
            "changed_paths": [change_path(c) for c in changes],
            "context_paths": [c["path"] for c in row.get("context") or []],
            "text": render_input(row) + target}


def decide(row: dict, settings, contaminated: frozenset | set = frozenset(),
           index=None) -> tuple[str | None, str | None, dict | None]:
    """(reason, what hit, None) for a commit that is no sample, or (None, None, sample) for one.

    settings: config.commit_samples; contaminated: (repo, path) pairs of decontam's ledger; index: the
    decontamination index (`hit(text)`), or None. `what hit` says which check made it contaminated:
    "files" (the files ledger) or the benchmark problem's id.
    """
    if len(row["parents"] or []) > 1:
        return "merge_commit", None, None
    if is_bot(row.get("author_name"), row.get("author_email"), settings.bot_authors):
        return "bot_author", None, None
    if is_trivial(row["message"], settings.min_message_chars):
        return "trivial_message", None, None
    files = row["files"] or []
    if len(files) > settings.max_changed_files:
        return ledger.TOO_LARGE, None, None
    skipped = next((c["skipped"] for c in files if c["skipped"]), None)
    if skipped is not None:
        return (skipped if skipped in (ledger.BINARY, ledger.UNDECODABLE) else ledger.TOO_LARGE), None, None
    changes = [c for c in files if shown(c)]
    if not changes:
        return "no_changes", None, None
    target = render_changes(changes, settings.diff_format)
    if len(target) > settings.max_change_chars:
        return ledger.TOO_LARGE, None, None
    repo = row["repo"]
    if contaminated and any((repo, p) in contaminated for c in files for p in (c["old_path"], c["new_path"])
                            if p is not None):
        return CONTAMINATED, "files", None
    out = sample(row, settings.diff_format, changes, target)
    problem = index.hit(out["text"]) if index is not None else None
    if problem is not None:
        return CONTAMINATED, problem, None
    return None, None, out


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---------- the stage (Spark) ----------

DECISION_SCHEMA = "part int, repo string, sha string, reason string, hit string, h string"
APPLY_SCHEMA = "part int, repo string, sha string, reason string, duplicate_of string"


def contaminated_paths(ctx) -> frozenset:
    """(repo, path) of the files decontam dropped as contaminated."""
    items, _ = ctx.input("decontam.dropped")
    if not items:
        return frozenset()
    t = ctx.storage.read_parquet([k for _, k in items], columns=["repo", "path", "reason"])
    return frozenset((r, p) for r, p, why in zip(*(t.column(c).to_pylist() for c in ("repo", "path", "reason")))
                     if why == CONTAMINATED)


def _decide(spec_json: str, shared_paths, shared_index, batches):
    from seedlib.run import RunSpec

    spec = RunSpec.from_json(spec_json)
    storage, settings = spec.storage(), spec.load_config().commit_samples
    paths, index = shared_paths.value, shared_index.value
    for batch in batches:
        for part, key in zip(batch.column("part").to_pylist(), batch.column("key").to_pylist()):
            out = {"part": [], "repo": [], "sha": [], "reason": [], "hit": [], "h": []}
            for row in storage.read_parquet([key]).to_pylist():
                reason, hit, kept = decide(row, settings, paths, index)
                for name, value in (("part", part), ("repo", row["repo"]), ("sha", row["sha"]),
                                    ("reason", reason), ("hit", hit),
                                    ("h", text_hash(kept["text"]) if kept else None)):
                    out[name].append(value)
            yield pa.RecordBatch.from_pydict(out, schema=pa.schema([
                ("part", pa.int32()), ("repo", pa.string()), ("sha", pa.string()), ("reason", pa.string()),
                ("hit", pa.string()), ("h", pa.string())]))


def _apply(spec_json: str, keys: dict[int, str], done: dict[int, list[dict]], table: pa.Table) -> pa.Table:
    from seedlib.run import RunSpec
    from seedlib.stage import PARTS_SCHEMA, PartWriter, StageError

    part = table.column("part")[0].as_py()
    if part in done:  # finished by an earlier attempt (the decisions are deterministic): keep it as it is
        return pa.Table.from_pylist(done[part], schema=PARTS_SCHEMA)
    spec = RunSpec.from_json(spec_json)
    storage, settings = spec.storage(), spec.load_config().commit_samples
    decided = {(r["repo"], r["sha"]): r for r in table.to_pylist() if r["repo"] is not None}
    rows = storage.read_parquet([keys[part]]).to_pylist()
    samples, dropped = [], []
    for row in rows:
        d = decided.get((row["repo"], row["sha"]))
        if d is None:
            raise StageError(f"stage {STAGE}: no decision for commit {row['repo']}@{row['sha']} of {keys[part]}")
        if d["reason"] is None:
            samples.append(sample(row, settings.diff_format))
        else:
            dropped.append(ledger.drop_commit(row["repo"], row["sha"], STAGE, d["reason"], d["duplicate_of"]))
    if len(samples) + len(dropped) != len(decided):
        raise StageError(f"stage {STAGE}: {len(decided)} decisions for {len(rows)} commits of {keys[part]}")
    writer = PartWriter(storage, spec.stage_prefix(STAGE), part, rows_per_part=max(1, len(rows)))
    writer.add("commit_samples", samples)
    writer.add("commit_dropped", dropped)
    return pa.Table.from_batches([writer.close()], schema=PARTS_SCHEMA)


def body(ctx):
    from pyspark.sql import functions as F

    from seedlib.samples import decontam

    spark = ctx.spark
    items, rows_in = ctx.input("crawl.commit_history")
    if not items:
        return [], rows_in, {}
    ctx.plan(len(items))
    paths = spark.sparkContext.broadcast(contaminated_paths(ctx))
    index = spark.sparkContext.broadcast(decontam.build_index(ctx.config, ctx.storage))
    try:
        parts_df = spread(spark, items, "part int, key string")
        decisions = parts_df.mapInArrow(partial(_decide, ctx.spec.to_json(), paths, index),
                                        DECISION_SCHEMA).localCheckpoint()
        # Equal texts: the smallest (repo, sha) is the sample, the others are exact duplicates of it.
        best = (decisions.where(F.col("reason").isNull())
                .groupBy("h").agg(F.min(F.struct("repo", "sha")).alias("best")).localCheckpoint())
        dup = F.col("reason").isNull() & ((F.col("repo") != F.col("best.repo")) | (F.col("sha") != F.col("best.sha")))
        final = decisions.join(best, "h", "left").select(
            "part", "repo", "sha", F.when(dup, F.lit(EXACT)).otherwise(F.col("reason")).alias("reason"),
            F.when(dup, F.col("best.sha")).alias("duplicate_of"))
        markers = spark.createDataFrame([(i, None, None, None, None) for i, _ in items], APPLY_SCHEMA)
        spec_json, keys, done = ctx.spec.to_json(), dict(items), ctx.done

        def apply_part(table: pa.Table) -> pa.Table:
            return _apply(spec_json, keys, done, table)

        out = final.union(markers).groupBy("part").applyInArrow(
            apply_part, "dataset string, key string, rows long, counts string")
        parts = [r.asDict() for r in out.collect()]
        hits = decisions.agg(F.count(F.when(F.col("hit") == "files", 1)).alias("files"),
                             F.count(F.when(F.col("hit") != "files", 1)).alias("benchmark")).first()
        details = {"exact_dedup": {"distinct_texts": best.count()},
                   "contaminated_by": {"files": hits["files"], "benchmark": hits["benchmark"]}}
    finally:
        paths.unpersist()
        index.unpersist()
    return parts, rows_in, details
