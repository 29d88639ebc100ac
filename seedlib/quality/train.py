"""The train_scorer stage (accelerate): a regression head on a small base model, trained on the labels.

`AutoModelForSequenceClassification(num_labels=1)`, MSE against the oracle's score scaled to [0, 1], AdamW
with a linear schedule, `quality_epochs` epochs (1 by default, as the report), data-parallel across the
processes accelerate starts (each rank takes every world-th batch; gradients are averaged by DDP), bf16
autocast on a GPU, gradient accumulation. With several epochs each finished epoch is checkpointed to
storage and a retried task continues after the last one.

A held-out split (`quality_holdout_files`, at most a fifth of the labels; chosen by a seeded hash of the
content, so reruns and partitionings agree) gives the scorer's metrics: MAE, class-balanced MAE (the mean
of the per-score MAEs, as the report does) and the MAE of predicting the training mean (the baseline a
useful scorer must beat). The model folder is written to the stage's `scorer/` prefix; the metrics go into
the report's details as the `scorer` block the manifests carry.
"""

from __future__ import annotations

import hashlib
import json
import random
import tempfile
from contextlib import nullcontext
from pathlib import Path

from seedlib.quality import models
from seedlib.stage import StageError

MIN_LABELS = 10


def body(ctx):
    import torch
    from transformers import get_scheduler

    acc, q = ctx.accelerator, ctx.config.quality
    rows = _labelled(ctx)
    base = models.resolve_base(q.base_model, gpu=acc.device.type == "cuda")
    with acc.main_process_first():
        folder = models.base_model_dir(base)
        start_epoch, resume = _checkpoint(ctx)
    tokenizer = models.load_tokenizer(folder)
    train, held = split(rows, q.holdout_files, q.seed)
    ids = models.encode(tokenizer, [r["content"] for r in train], q.max_tokens)
    # Targets are the scores scaled to [0, 1] minus their training mean, which the model keeps as
    # `score_offset` (added back when scoring): an untrained head then predicts the mean, so training
    # starts from the baseline instead of from wherever a random head points.
    offset = sum(r["score"] for r in train) / len(train) / 10
    targets = [r["score"] / 10 - offset for r in train]
    torch.manual_seed(q.seed)
    model = models.load_regressor(resume or folder, dtype=torch.float32)
    # The token embeddings stay frozen: they are most of a small model's parameters (12M of MiniLM's 23M),
    # move little in a short fine-tune, and updating them costs more than the rest of the step.
    model.get_input_embeddings().requires_grad_(False)
    batches_per_epoch = max(1, len(train) // (q.batch_size * acc.num_processes))
    # A small label set gets more epochs, up to quality_min_steps optimizer steps (one pass over a hundred
    # labels is a handful of steps: too few to learn anything).
    epochs = max(q.epochs, -(-q.min_steps * q.grad_accum // batches_per_epoch))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=q.learning_rate,
                                  weight_decay=0.01)
    steps = max(1, batches_per_epoch * epochs // q.grad_accum)
    scheduler = get_scheduler("linear", optimizer, num_warmup_steps=max(1, steps // 10), num_training_steps=steps)
    acc.gradient_accumulation_steps = q.grad_accum
    model, optimizer, scheduler = acc.prepare(model, optimizer, scheduler)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if acc.device.type == "cuda" else nullcontext()
    for _ in range(start_epoch):  # the schedule continues where the checkpointed epochs left it
        for _ in range(batches_per_epoch // q.grad_accum):
            scheduler.step()
    for epoch in range(start_epoch, epochs):
        model.train()
        order = list(range(len(train)))
        random.Random(q.seed * 1000 + epoch).shuffle(order)
        batches = [order[i:i + q.batch_size] for i in range(0, len(order), q.batch_size)]
        mine = batches[: batches_per_epoch * acc.num_processes][acc.process_index::acc.num_processes]
        total = 0.0
        for step, batch in enumerate(mine):
            input_ids, mask = models.pad([ids[i] for i in batch], tokenizer.pad_token_id)
            target = torch.tensor([targets[i] for i in batch], dtype=torch.float32, device=acc.device)
            with acc.accumulate(model), autocast:
                out = model(input_ids=input_ids.to(acc.device), attention_mask=mask.to(acc.device)).logits
                loss = torch.nn.functional.mse_loss(out.float().squeeze(-1), target)
                acc.backward(loss)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
            total += loss.item()
            if acc.is_main_process and (step + 1) % 20 == 0:
                print(f"[train_scorer] epoch {epoch + 1}/{epochs} batch {step + 1}/{len(mine)} "
                      f"loss {total / (step + 1):.4f}", flush=True)
        if acc.is_main_process:
            print(f"[train_scorer] epoch {epoch + 1}/{epochs}: mean loss {total / max(1, len(mine)):.4f} "
                  f"over {len(mine)} batches", flush=True)
            if epoch + 1 < epochs:
                _save_checkpoint(ctx, acc.unwrap_model(model), tokenizer, epoch + 1)
        acc.wait_for_everyone()
    if not acc.is_main_process:
        return [], None, {}
    final = acc.unwrap_model(model)
    final.config.score_offset = offset
    metrics = evaluate(final, tokenizer, held, q.max_tokens, q.score_batch_tokens, acc.device,
                       baseline=sum(r["score"] for r in train) / len(train))
    keys = _save(ctx, final, tokenizer)
    oracles = sorted({r["oracle"] for r in rows})
    block = {"version": ctx.spec.snapshot, "base_model": base, "oracle": ",".join(oracles), "labels": len(rows),
             "train_files": len(train), "holdout_files": len(held), "max_tokens": q.max_tokens, "epochs": epochs,
             "label_fingerprint": fingerprint(rows), **metrics}
    print(f"[train_scorer] held-out MAE {metrics['mae']:.3f} (class-balanced {metrics['class_balanced_mae']:.3f}); "
          f"predicting the mean: {metrics['baseline_mae']:.3f}", flush=True)
    parts = [{"dataset": "scorer", "key": k, "rows": 0, "counts": "{}"} for k in keys]
    return parts, None, {"scorer": block}


def _labelled(ctx) -> list[dict]:
    items, _ = ctx.input("label.labels")
    if not items:
        raise StageError("train_scorer: the label stage wrote no labels")
    table = ctx.storage.read_parquet([k for _, k in items])
    rows = [r for r in table.to_pylist() if r["score"] is not None]
    if len(rows) < MIN_LABELS:
        raise StageError(f"train_scorer: only {len(rows)} labels have a score (at least {MIN_LABELS} needed; "
                         "the label stage's details count the oracle's errors). On a corpus this small, use a "
                         "published scorer (quality_scorer) or leave the quality stages out (--skip quality)")
    return sorted(rows, key=lambda r: (r["repo"], r["path"]))


def _rank(seed: int, sha256: str) -> str:
    return hashlib.sha256(f"holdout\x00{seed}\x00{sha256}".encode()).hexdigest()


def split(rows: list[dict], holdout_files: int, seed: int) -> tuple[list[dict], list[dict]]:
    """(train, held out): the held-out files are those with the smallest seeded hash of their content."""
    n = max(1, min(holdout_files, len(rows) // 5))
    ranked = sorted(rows, key=lambda r: (_rank(seed, r["sha256"]), r["repo"], r["path"]))
    held = {(r["repo"], r["path"]) for r in ranked[:n]}
    return [r for r in rows if (r["repo"], r["path"]) not in held], [r for r in rows if (r["repo"], r["path"]) in held]


def evaluate(model, tokenizer, held: list[dict], max_tokens: int, batch_tokens: int, device, baseline: float) -> dict:
    """MAE, class-balanced MAE (mean over score values of their MAE) and the predict-the-mean baseline."""
    from seedlib.quality.score import predict

    predictions = predict(model, tokenizer, [r["content"] for r in held], max_tokens, batch_tokens, device)
    truth = [r["score"] for r in held]
    return {"mae": round(mae(predictions, truth), 4),
            "class_balanced_mae": round(class_balanced_mae(predictions, truth), 4),
            "baseline_mae": round(mae([baseline] * len(truth), truth), 4),
            "baseline_class_balanced_mae": round(class_balanced_mae([baseline] * len(truth), truth), 4)}


def mae(predicted: list[float], truth: list[int]) -> float:
    return sum(abs(p - t) for p, t in zip(predicted, truth)) / max(1, len(truth))


def class_balanced_mae(predicted: list[float], truth: list[int]) -> float:
    by_class: dict[int, list[float]] = {}
    for p, t in zip(predicted, truth):
        by_class.setdefault(t, []).append(abs(p - t))
    return sum(sum(v) / len(v) for v in by_class.values()) / max(1, len(by_class))


def fingerprint(rows: list[dict]) -> str:
    """Of the label set (which files, which scores, which oracle): a scorer names what it learnt from."""
    data = json.dumps([(r["repo"], r["path"], r["sha256"], r["score"], r["oracle"]) for r in rows])
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def _save(ctx, model, tokenizer) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        return models.upload_folder(ctx.storage, Path(tmp), f"{ctx.prefix}/scorer")


def _save_checkpoint(ctx, model, tokenizer, epochs_done: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        models.upload_folder(ctx.storage, Path(tmp), f"{ctx.prefix}/checkpoints/epoch-{epochs_done:03d}")
    ctx.storage.write_json(f"{ctx.prefix}/checkpoints/latest.json", {"epochs": epochs_done})


def _checkpoint(ctx) -> tuple[int, Path | None]:
    """(epochs done, the local folder of their checkpoint) from an earlier attempt, else (0, None)."""
    key = f"{ctx.prefix}/checkpoints/latest.json"
    if not ctx.storage.exists(key):
        return 0, None
    done = ctx.storage.read_json(key)["epochs"]
    prefix = f"{ctx.prefix}/checkpoints/epoch-{done:03d}"
    return done, models.fetch_keys(ctx.storage, ctx.storage.list(prefix), prefix, ctx.storage.uri(prefix))

