"""The label stage: a sample of files stratified by language, judged 0-10 by the oracle (dataset `labels`).

Where the files come from: in a snapshot run, the files the run kept so far (the chain's input); in a
scorer-training run, the published snapshot its prepare step chose (`label_source` in `_RUN.json`).

The sample: per language `quality_labels_per_language` files (times `quality_label_weights`, e.g. Python
2.7x as in the report), the ones with the smallest hash of (seed, sha256), distinct contents only, so the
same snapshot and seed always give the same sample whatever the partitioning. Judged in parts of
PART_FILES (the resume grain: a rerun judges only unfinished parts, and the OpenAI oracle's response cache
means a judged file is never paid for twice). A failed or malformed judgement is a row with a null score
and its `error`, counted in the stage's details; nothing is made up.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter, defaultdict

import pyarrow as pa
import pyarrow.compute as pc

from seedlib import datasets, manifest
from seedlib.config import Config, Secrets
from seedlib.quality import scorers
from seedlib.run import snapshot_prefix
from seedlib.stage import PartWriter
from seedlib.storage import Storage

PART_FILES = 256
_KEY_COLUMNS = ["repo", "path", "sha256", "lang"]


def body(ctx):
    parts = _source_parts(ctx)
    chosen = sample(ctx.storage, parts, ctx.config)
    rows = _with_content(ctx.storage, parts, chosen)
    chunks = [rows[i:i + PART_FILES] for i in range(0, len(rows), PART_FILES)]
    ctx.plan(len(chunks))
    oracle = make_oracle(ctx.config, ctx.storage)
    print(f"[label] {len(rows)} files sampled from {len(parts)} parts; oracle {oracle.name}", flush=True)
    for part, chunk in enumerate(chunks):
        if part in ctx.done:
            continue
        judgements = oracle.judge_many([(r["lang"], r["content"]) for r in chunk])
        labelled = [{"repo": r["repo"], "path": r["path"], "sha256": r["sha256"], "lang": r["lang"],
                     "score": j.score, "explanation": j.explanation, "oracle": oracle.name, "error": j.error,
                     "content": r["content"]}  # beyond the contract: training reads only the labels
                    for r, j in zip(chunk, judgements)]
        writer = PartWriter(ctx.storage, ctx.prefix, part, rows_per_part=max(1, len(labelled)))
        writer.add_details("labels", {"labels": Counter(j.error or "scored" for j in judgements),
                                      "oracle": {oracle.name: len(judgements)}})
        schema = datasets.LABELS.append(pa.field("content", pa.string()))
        writer.add("labels", pa.Table.from_pylist(labelled, schema=schema))
        writer.close()
        print(f"[label] part {part + 1}/{len(chunks)}: {sum(j.score is not None for j in judgements)} of "
              f"{len(chunk)} judged", flush=True)
    return ctx.all_parts(), len(rows), {}


def _source_parts(ctx) -> list[str]:
    """The Parquet parts of the files to sample from."""
    if ctx.input_stage is not None:
        items, _ = ctx.input("files")
        return [key for _, key in items]
    source = scorers.run_record(ctx.storage, ctx.spec)["label_source"]
    published = manifest.read(ctx.storage, source)
    base = snapshot_prefix(source)
    return [f"{base}/{p}" for p in published["datasets"]["files"]["paths"]]


def quotas(config: Config, languages: list[str]) -> dict[str, int]:
    q = config.quality
    weights = dict(q.label_weights)
    return {lang: max(1, round(q.labels_per_language * weights.get(lang, 1.0))) for lang in languages}


def _rank(seed: int, sha256: str) -> str:
    return hashlib.sha256(f"{seed}\x00{sha256}".encode()).hexdigest()


def sample(storage: Storage, parts: list[str], config: Config) -> set[tuple[str, str]]:
    """(repo, path) of the files to label: per language the quota with the smallest seeded hash of their
    content's sha256 (one file per distinct content; ties by repo, path)."""
    by_lang: dict[str, dict[str, tuple[str, str, str]]] = defaultdict(dict)
    for key in parts:
        table = storage.read_parquet([key], columns=_KEY_COLUMNS)
        for repo, path, sha, lang in zip(*(table.column(c).to_pylist() for c in _KEY_COLUMNS)):
            rank = (_rank(config.quality.seed, sha), repo, path)
            best = by_lang[lang].get(sha)
            if best is None or rank < best:
                by_lang[lang][sha] = rank
    chosen = set()
    for lang, n in quotas(config, sorted(by_lang)).items():
        for _, repo, path in sorted(by_lang[lang].values())[:n]:
            chosen.add((repo, path))
    return chosen


def _with_content(storage: Storage, parts: list[str], chosen: set[tuple[str, str]]) -> list[dict]:
    wanted = pa.array([f"{r}\x00{p}" for r, p in sorted(chosen)], pa.string())
    rows = []
    for key in parts:
        table = storage.read_parquet([key], columns=[*_KEY_COLUMNS, "content"])
        rows += table.filter(pc.is_in(datasets.file_keys(table), value_set=wanted)).to_pylist()
    return sorted(rows, key=lambda r: (r["lang"], r["repo"], r["path"]))


def oracle_api_key() -> str | None:
    """SEED_ORACLE_API_KEY, else the password of the Airflow connection `seed_oracle` (in a task)."""
    key = Secrets.from_env(os.environ).oracle_api_key
    if key:
        return key
    from seedlib.airflow_support import connection_password

    try:
        return connection_password("seed_oracle")
    except Exception:  # noqa: BLE001 - outside an Airflow task (e.g. `seed label`) there is no connection API
        return None


def make_oracle(config: Config, storage: Storage):
    """The configured oracle: the rubric (no endpoint), or an OpenAI-compatible server with the response
    cache on the storage root."""
    q = config.quality
    if q.oracle == "rubric":
        from seedlib.quality.rubric import RubricOracle

        return RubricOracle()
    from seedlib.quality.oracle import OpenAIOracle

    return OpenAIOracle(q.oracle_base_url, q.oracle_model, oracle_api_key(), concurrency=q.oracle_concurrency,
                        timeout_s=q.oracle_timeout_s, max_retries=q.oracle_max_retries,
                        max_tokens=q.oracle_max_tokens, max_chars=q.oracle_max_chars, cache=storage)
