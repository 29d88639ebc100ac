"""The score stage (accelerate) and `seed score`: every file's quality score, 0-10 on the oracle's scale.

Work is split by input part (a shard): rank r of w processes scores the parts whose index is r mod w,
and every score is keyed by (repo, path), never by a row position, so no file is scored twice or lost
however accelerate splits processes (its `split_between_processes` pads the last rank with repeats).
A finished shard has its `_parts/` marker and is never rescored after a crash. Within a shard, files are
sorted by token length and batched up to `quality_score_batch_tokens` tokens (padding included), so
batches carry little padding. Files are judged by their beginning (seedlib/quality/models.py, the
truncation policy). Scores are rounded to 3 decimals: batch composition can move the last float bits.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from seedlib.quality import models, scorers
from seedlib.stage import PartWriter


# On a CPU large batches are slower than small ones (bench/README.md, "Quality scorer": SmolLM2 at 16,384
# tokens a batch ran at 0.61x one file at a time, at 2,048 at 1.05x), so CPU batches are capped here.
CPU_BATCH_TOKENS = 2_048


def predict(model, tokenizer, texts: list[str], max_tokens: int, batch_tokens: int, device) -> list[float]:
    """Scores of the texts, batched by token length."""
    import torch

    ids = [seq or [tokenizer.pad_token_id] for seq in models.encode(tokenizer, texts, max_tokens)]
    out = [0.0] * len(texts)
    model.eval()
    cuda = getattr(device, "type", str(device)) == "cuda"
    if not cuda:
        batch_tokens = min(batch_tokens, CPU_BATCH_TOKENS)
    offset = getattr(model.config, "score_offset", 0.0)  # the training mean (seedlib/quality/train.py)
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
        for batch in models.token_batches([len(seq) for seq in ids], batch_tokens):
            input_ids, mask = models.pad([ids[i] for i in batch], tokenizer.pad_token_id)
            logits = model(input_ids=input_ids.to(device), attention_mask=mask.to(device)).logits
            for i, value in zip(batch, logits.float().squeeze(-1).tolist()):
                out[i] = round(min(10.0, max(0.0, (value + offset) * 10)), 3)
    return out


def load(folder: Path, device):
    import torch

    dtype = torch.bfloat16 if getattr(device, "type", "") == "cuda" else torch.float32
    return models.load_regressor(folder, dtype=dtype).to(device), models.load_tokenizer(folder)


def body(ctx):
    acc, q = ctx.accelerator, ctx.config.quality
    items, rows_in = ctx.input("files")
    ctx.plan(len(items))
    with acc.main_process_first():
        scorer = scorers.for_run(ctx.storage, ctx.spec, ctx.report)
    mine = ctx.my_parts(items)
    if mine:
        model, tokenizer = load(scorer.folder, acc.device)
        max_tokens = scorer.info.get("max_tokens", q.max_tokens)
    for n, (part, key) in enumerate(mine):
        table = ctx.storage.read_parquet([key], columns=["repo", "path", "lang", "content"])
        scores = predict(model, tokenizer, table.column("content").to_pylist(), max_tokens,
                         q.score_batch_tokens, acc.device)
        writer = PartWriter(ctx.storage, ctx.prefix, part, rows_per_part=max(1, table.num_rows))
        writer.add("scores", table.select(["repo", "path", "lang"]).append_column(
            "quality_score", pa.array(scores, pa.float64())))
        writer.close()
        print(f"[score] rank {acc.process_index}: shard {n + 1}/{len(mine)} ({table.num_rows} files)", flush=True)
    return ctx.all_parts(), rows_in, {"scorer": scorer.info}


def score_texts(folder: Path, texts: list[str], max_tokens: int, batch_tokens: int = 16_384) -> list[float]:
    """Scores with a scorer folder in this process (`seed score`)."""
    import torch

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model, tokenizer = load(folder, device)
    return predict(model, tokenizer, texts, max_tokens, batch_tokens, device)
