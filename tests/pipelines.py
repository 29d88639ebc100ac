"""A small pipeline with one stage of each engine, for tests of the stage model (never used in production).

    make (python) -> tag (spark) -> score (accelerate)

`make` writes PARTS parts of FILES_PER_PART deterministic files; `tag` drops every third file as
`low_quality` and adds a column; `score` computes a score per file with torch under `accelerate launch`
(two CPU processes, shards split by rank) and drops files scoring below 0.5. Setting TOY_PART_DELAY
(seconds) makes `tag` and `score` slow down per part, so a test can kill them halfway.
"""

from __future__ import annotations

import hashlib
import os
import time

import pyarrow as pa
import pyarrow.compute as pc

from seedlib import ledger
from seedlib.pipelines import CHAIN, FILES_STAGE, LEDGER, Pipeline, Resources, Stage
from seedlib.spark import filter_stage
from seedlib.stage import PartWriter

PARTS, FILES_PER_PART = 6, 5


def toy_file(i: int) -> dict:
    text = f"def f{i}():\n    return {i * 7 % 11}\n" * (1 + i % 4)
    data = text.encode()
    return {"repo": f"toy/r{i % 3}", "path": f"f{i:03d}.py", "lang": "Python",
            "sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "content": text}


def make_body(ctx):
    ctx.plan(PARTS)
    for part in range(PARTS):
        if part in ctx.done:
            continue
        writer = PartWriter(ctx.storage, ctx.prefix, part)
        writer.add("files", [toy_file(part * FILES_PER_PART + j) for j in range(FILES_PER_PART)])
        writer.close()
    return ctx.all_parts(), None, {}


def _delay() -> None:
    time.sleep(float(os.environ.get("TOY_PART_DELAY") or 0))


def make_tagger(config):
    def tag(table: pa.Table):
        _delay()
        third = pa.array([int(p[1:4]) % 3 == 0 for p in table.column("path").to_pylist()], pa.bool_())
        kept = table.filter(pc.invert(third))
        kept = kept.append_column("tagged", pa.array([True] * kept.num_rows, pa.bool_()))
        dropped = [ledger.drop(r["repo"], r["path"], r["sha256"], "tag", "low_quality")
                   for r in table.filter(third).to_pylist()]
        return kept, dropped

    return tag


tag_body = filter_stage(make_tagger)


def score_body(ctx):
    import torch

    items, rows_in = ctx.input("files")
    ctx.plan(len(items))
    weights = torch.tensor([0.25, 0.5], dtype=torch.float64)
    for part, key in ctx.my_parts(items):
        _delay()
        table = ctx.storage.read_parquet([key])
        features = torch.tensor([[len(c) % 7 / 7, len(c) % 5 / 5] for c in table.column("content").to_pylist()],
                                dtype=torch.float64)
        scores = (features @ weights * 2).tolist() if table.num_rows else []
        keep = [s >= 0.5 for s in scores]
        writer = PartWriter(ctx.storage, ctx.prefix, part, rows_per_part=max(1, table.num_rows))
        writer.add_details("files", {"ranks": {str(ctx.accelerator.process_index): 1}})  # who wrote it
        writer.add("files", table.filter(pa.array(keep, pa.bool_())).append_column(
            "quality_score", pa.array([s for s, k in zip(scores, keep) if k], pa.float64())))
        writer.add("dropped", [ledger.drop(r["repo"], r["path"], r["sha256"], "score", "low_quality")
                               for r, k in zip(table.to_pylist(), keep) if not k])
        writer.close()
    return ctx.all_parts(), rows_in, {}


TOY = Pipeline(name="toy", dag_id="toy", prefix="toy", stages=(
    Stage("make", engine="python", body="tests.pipelines:make_body", writes=FILES_STAGE),
    Stage("tag", engine="spark", body="tests.pipelines:tag_body", reads=("files",), writes=FILES_STAGE),
    Stage("score", engine="accelerate", body="tests.pipelines:score_body", reads=("files",),
          writes={"files": CHAIN, "dropped": LEDGER}, resources=Resources(cpus=2)),
))
