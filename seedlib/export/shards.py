"""Shards: the mixture cut into files of `shard_rows` rows, in Parquet and/or gzip'd JSON lines.

The mixture's order is fixed (sources in the order file, commit, repo, web; each source's published
parts in manifest order; rows in their part's order, a row's copies together), so shard k always holds
rows [k * shard_rows, (k + 1) * shard_rows) of it, and is named `shard-KKKKK-of-NNNNN.parquet` /
`.jsonl.gz` (N = the number of shards). Both formats hold the same rows and columns
(seedlib/export/mixture.py MIXTURE): a JSONL line is one JSON object with the columns in that order.
Bytes are reproducible: Parquet with the storage's fixed options, gzip without a timestamp or name.
"""

from __future__ import annotations

import gzip
import json

import pyarrow as pa

EXTENSIONS = {"parquet": "parquet", "jsonl": "jsonl.gz"}
DATASETS = {"parquet": "mixture", "jsonl": "mixture_jsonl"}  # the manifest's dataset of each format


def layout(part_rows: list[int], shard_rows: int) -> list[list[tuple[int, int, int]]]:
    """For each shard, the slices of the mixture's parts it holds: [(part, start, stop)], in order."""
    shards: list[list[tuple[int, int, int]]] = []
    current: list[tuple[int, int, int]] = []
    room = shard_rows
    for part, rows in enumerate(part_rows):
        start = 0
        while start < rows:
            take = min(room, rows - start)
            current.append((part, start, start + take))
            start += take
            room -= take
            if room == 0:
                shards.append(current)
                current, room = [], shard_rows
    if current:
        shards.append(current)
    return shards


def name(index: int, count: int, fmt: str) -> str:
    return f"shard-{index:05d}-of-{count:05d}.{EXTENSIONS[fmt]}"


def jsonl_gz(table: pa.Table) -> bytes:
    lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in table.to_pylist())
    return gzip.compress(lines.encode("utf-8"), compresslevel=6, mtime=0)


def read_jsonl_gz(data: bytes) -> list[dict]:
    return [json.loads(line) for line in gzip.decompress(data).decode("utf-8").splitlines()]
