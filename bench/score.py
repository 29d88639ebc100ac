"""Benchmark of the quality scorer's batched inference (a program, not a test).

    .venv/bin/python bench/score.py [--files 150] [--model minilm-l6|smollm2-135m|llama-1b]
                                    [--max-tokens 512] [--batch-tokens 16384] [--json PATH]

Corpus: real code on this machine, a deterministic sample of the running interpreter's standard library
plus the project's own seedlib/ (nothing downloaded). On the same files and the same model, in this
process:
- ours: seedlib.quality.score.predict (files sorted by token length, batches capped at --batch-tokens
  tokens, padding included; texts cut to 8x max_tokens characters before tokenizing);
- baseline: plain unbatched Hugging Face inference, one file at a time (`tokenizer(text, truncation=True,
  max_length=..., return_tensors="pt")`, then `model(**inputs)`), as a naive script does it.
Both are timed end to end (tokenizing included) after a short warm-up. Prints files/s, tokens/s (real
tokens, not padding), the padding share of our batches, ours/baseline, and the largest score difference
between the two. On a GPU the model runs in bf16 and MFU is printed: (2 N + 4 L d T) FLOPs per real token
(N = non-embedding parameters, T = the file's length; ../shared/docs/stack.md) / seconds / peak.

The regression head is replaced by a seeded random one scaled so that scores land near 5 +- 1.5 (a fresh
head's outputs sit around 0 and would mostly clip to 0, making the score comparison vacuous); the head's
weights do not matter for throughput. `llama-1b` is a ~1B-parameter Llama config with random weights and
SmolLM2's tokenizer: only sensible on a GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import sysconfig
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from seedlib.quality import models  # noqa: E402
from seedlib.quality.score import predict  # noqa: E402

PEAK_TFLOPS = 989.0  # H100/H200 SXM dense bf16


def machine(torch) -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")),
               platform.processor())
    gpu = f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ", CPU only"
    return (f"{cpu}, nproc {os.cpu_count()}, torch {torch.__version__} ({torch.get_num_threads()} threads)"
            f"{gpu}, Python {platform.python_version()}")


def load_avg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def corpus(n: int, seed: int) -> tuple[list[str], list[str]]:
    """(names, texts): a seeded sample of the stdlib's and seedlib's .py files (UTF-8, non-blank, <= 1 MB)."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    pool = [("stdlib", p) for p in sorted(stdlib.rglob("*.py")) if "site-packages" not in p.parts]
    pool += [("seedlib", p) for p in sorted((ROOT / "seedlib").rglob("*.py"))]
    random.Random(seed).shuffle(pool)
    names, texts = [], []
    for source, path in pool:
        try:
            if path.stat().st_size > 1_000_000:
                continue
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if text.strip():
            names.append(f"{source}:{path.name}")
            texts.append(text)
        if len(texts) == n:
            break
    return names, texts


def load(name: str, device, torch):
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    if name != "llama-1b":
        folder = models.base_model_dir(name)
        return models.load_regressor(folder, dtype=dtype).to(device), models.load_tokenizer(folder)
    from transformers import AutoModelForSequenceClassification, LlamaConfig

    tokenizer = models.load_tokenizer(models.base_model_dir(models.SMOLLM2))
    config = LlamaConfig(hidden_size=2048, intermediate_size=5632, num_hidden_layers=22, num_attention_heads=32,
                         num_key_value_heads=4, vocab_size=49152, num_labels=1,
                         pad_token_id=tokenizer.pad_token_id)
    with device:
        model = AutoModelForSequenceClassification.from_config(config, dtype=dtype)
    return model, tokenizer


def seeded_head(model, tokenizer, texts, max_tokens, device, torch):
    """Replace the regression head by a seeded one whose outputs land at 0.5 +- 0.15 on these files."""
    attr = "score" if hasattr(model, "score") else "classifier"
    old = getattr(model, attr)
    seen = []
    hook = old.register_forward_pre_hook(
        lambda _m, args: seen.append(args[0].detach().float().reshape(-1, old.in_features)))
    with torch.inference_mode():
        for text in texts:
            model(**tokenizer(text, truncation=True, max_length=max_tokens, return_tensors="pt").to(device))
    hook.remove()
    x = torch.cat(seen)
    w = torch.randn(old.in_features, generator=torch.Generator().manual_seed(0), device="cpu").to(x.device)
    proj = x @ w
    w = w * (0.15 / proj.std().clamp_min(1e-6))
    head = torch.nn.Linear(old.in_features, 1, bias=True).to(device=device, dtype=old.weight.dtype)
    with torch.no_grad():
        head.weight.copy_(w[None])
        head.bias.fill_(0.5 - float((x @ w).mean()))
    setattr(model, attr, head)


def baseline(model, tokenizer, texts, max_tokens, device, torch) -> list[float]:
    out = []
    with torch.inference_mode():
        for text in texts:
            inputs = tokenizer(text, truncation=True, max_length=max_tokens, return_tensors="pt").to(device)
            out.append(model(**inputs).logits.float().item())
    return [round(min(10.0, max(0.0, v * 10)), 3) for v in out]  # predict's transform of the logit


def timed(fn, torch):
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    t = time.perf_counter()
    result = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return result, time.perf_counter() - t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=150, help="files in the sample (default 150)")
    ap.add_argument("--model", default=models.MINILM, choices=[models.MINILM, models.SMOLLM2, "llama-1b"])
    ap.add_argument("--max-tokens", type=int, default=512, help="truncation length (default 512)")
    ap.add_argument("--batch-tokens", type=int, default=16_384, help="our batch budget, padding included")
    ap.add_argument("--peak-tflops", type=float, default=None, help=f"GPU peak for MFU (default {PEAK_TFLOPS:g})")
    ap.add_argument("--tolerance", type=float, default=None,
                    help="max score difference (0-10 scale) allowed; default 0.01 fp32, 0.25 bf16")
    ap.add_argument("--threads", type=int, default=0,
                    help="torch CPU threads (default: torch's own, one per core); 1 is far faster on a loaded VM")
    ap.add_argument("--seed", type=int, default=0, help="file sample seed")
    ap.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = ap.parse_args(argv)

    import torch
    from transformers.utils import logging

    logging.set_verbosity_error()  # "sequence longer than the maximum" on untruncated length counts
    logging.disable_progress_bar()
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    gpu = device.type == "cuda"
    print(f"machine: {machine(torch)}; load average at start {load_avg()}")
    if args.model == "llama-1b" and not gpu:
        print("warning: llama-1b on CPU is very slow; it is meant for a GPU")
    torch.manual_seed(0)
    model, tokenizer = load(args.model, device, torch)
    model.eval()
    cfg = model.config
    n_params = sum(p.numel() for name, p in model.named_parameters() if "embed" not in name)
    L, d = cfg.num_hidden_layers, cfg.hidden_size
    print(f"model: {args.model} ({type(model).__name__}, {n_params / 1e6:.1f}M non-embedding parameters, "
          f"L={L} d={d}), {'bf16' if gpu else 'fp32'} on {device.type}")

    names, texts = corpus(args.files, args.seed)
    mt = args.max_tokens
    full = [len(x) for x in tokenizer(texts, split_special_tokens=True)["input_ids"]]
    ours_ids, tok_ours = timed(lambda: models.encode(tokenizer, texts, mt), torch)
    base_ids, tok_base = timed(lambda: [tokenizer(t, truncation=True, max_length=mt)["input_ids"] for t in texts],
                               torch)
    fit = sum(n <= mt for n in full)
    q = sorted(full)
    pct = lambda p: q[min(len(q) - 1, int(p * len(q)))]  # noqa: E731
    n_seed = sum(n.startswith("seedlib:") for n in names)
    print(f"corpus: {len(texts)} files ({len(texts) - n_seed} stdlib, {n_seed} seedlib), "
          f"{sum(len(t.encode()) for t in texts) / 1e6:.2f} MB; full token lengths p10/p50/p90/max "
          f"{pct(.1)}/{pct(.5)}/{pct(.9)}/{q[-1]}; {fit} ({fit / len(texts):.0%}) fit in {mt} tokens")
    diff_tok = [i for i in range(len(texts)) if ours_ids[i] != base_ids[i]]
    if diff_tok:
        print(f"note: {len(diff_tok)} files tokenize differently in ours (cut to {models.CHARS_PER_TOKEN_CUT}x "
              f"max_tokens characters, split_special_tokens) and the baseline, e.g. {names[diff_tok[0]]}: "
              f"{len(ours_ids[diff_tok[0]])} vs {len(base_ids[diff_tok[0]])} tokens")

    lengths = [len(x) for x in ours_ids]
    batches = models.token_batches(lengths, args.batch_tokens)
    padded = sum(max(lengths[i] for i in b) * len(b) for b in batches)
    pad_share = 1 - sum(lengths) / padded

    seeded_head(model, tokenizer, texts[:4], mt, device, torch)  # also the baseline's warm-up
    predict(model, tokenizer, texts[:8], mt, args.batch_tokens, device)  # our warm-up
    ours, t_ours = timed(lambda: predict(model, tokenizer, texts, mt, args.batch_tokens, device), torch)
    base, t_base = timed(lambda: baseline(model, tokenizer, texts, mt, device, torch), torch)

    tol = args.tolerance if args.tolerance is not None else (0.25 if gpu else 0.01)
    same = sorted(set(range(len(texts))) - set(diff_tok))
    max_diff = max((abs(ours[i] - base[i]) for i in same), default=0.0)
    max_diff_tok = max((abs(ours[i] - base[i]) for i in diff_tok), default=0.0)
    clipped = sum(s in (0.0, 10.0) for s in ours)
    peak = (args.peak_tflops or PEAK_TFLOPS) * 1e12

    def flops(ids):
        return sum(2 * n_params * len(x) + 4 * L * d * len(x) ** 2 for x in ids)

    rows = {}
    for label, ids, seconds in (("ours", ours_ids, t_ours), ("baseline", base_ids, t_base)):
        tokens = sum(len(x) for x in ids)
        rows[label] = {"seconds": seconds, "files_per_s": len(texts) / seconds, "tokens": tokens,
                       "tokens_per_s": tokens / seconds,
                       "mfu": flops(ids) / seconds / peak if gpu else None}
    print(f"\n{'':<10}{'seconds':>9}{'files/s':>10}{'tokens/s':>11}{'MFU':>8}")
    for label, r in rows.items():
        mfu = f"{r['mfu']:.1%}" if r["mfu"] is not None else "n/a"
        print(f"{label:<10}{r['seconds']:>9.1f}{r['files_per_s']:>10.2f}{r['tokens_per_s']:>11,.0f}{mfu:>8}")
    ratio = t_base / t_ours
    print(f"of which tokenizing (timed apart): ours {tok_ours:.1f} s (cut to {models.CHARS_PER_TOKEN_CUT}x max_tokens "
          f"characters, one call), baseline {tok_base:.1f} s (whole files, one call each)")
    print(f"ours/baseline: {ratio:.2f}x (files/s); our batches: {len(batches)} at <= {args.batch_tokens} tokens, "
          f"padding {pad_share:.1%} of the tokens computed")
    agree = max_diff <= tol
    print(f"scores (0-10): max |ours - baseline| {max_diff:.4f} over {len(same)} identically tokenized files "
          f"(tolerance {tol:g}: {'agree' if agree else 'DIFFER'})"
          + (f"; {max_diff_tok:.4f} over the {len(diff_tok)} tokenized differently" if diff_tok else "")
          + f"; {clipped} scores clipped at 0 or 10; mean score {sum(ours) / len(ours):.2f}")
    if gpu:
        print(f"MFU peak: {peak / 1e12:g} TFLOP/s bf16 dense")
    print(f"load average at end {load_avg()}; bench wall time {time.perf_counter() - started:.0f} s")

    if args.json:
        args.json.write_text(json.dumps({
            "machine": machine(torch), "load_average_end": os.getloadavg(), "args": {
                k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "model": {"name": args.model, "non_embedding_params": n_params, "layers": L, "hidden": d,
                      "dtype": "bf16" if gpu else "fp32", "device": device.type},
            "corpus": {"files": len(texts), "fit_in_max_tokens": fit, "token_len_p50": pct(.5),
                       "token_len_p90": pct(.9), "tokenized_differently": len(diff_tok)},
            "ours": rows["ours"], "baseline": rows["baseline"], "ratio": ratio,
            "tokenize_seconds": {"ours": tok_ours, "baseline": tok_base}, "batches": len(batches),
            "padding_share": pad_share, "max_score_diff": max_diff, "max_score_diff_retokenized": max_diff_tok,
            "tolerance": tol, "scores_agree": agree, "clipped": clipped,
            "peak_tflops": peak / 1e12 if gpu else None}, indent=2) + "\n")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
