"""The manifest: the publish point of a snapshot, and the only way readers find its data.

`snapshots/dt=D/_MANIFEST.json` is written last, in one PUT, with a compare-and-swap against the
version that was there when publishing began, so two runs of the same date cannot interleave.
Dataset paths in it are relative to the manifest's folder.
"""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa

from seedlib import datasets
from seedlib.run import manifest_key, publication_keys, snapshot_prefix
from seedlib.storage import PublishConflict, Storage


# "model": a Hugging Face model folder (config, weights, tokenizer), e.g. a published scorer's `scorer`;
# "jsonl.gz": gzip'd JSON lines, one object a line (an export's `mixture_jsonl` shards, seedlib/export/).
JSONL = "jsonl.gz"
FORMATS = ("parquet", "model", JSONL)


class ManifestError(ValueError):
    """A manifest is missing required fields or points at nothing."""


def build(snapshot: str, code_version: str, config: dict, datasets: dict[str, dict],
          stages: list[dict], created_at: str | None = None, scorer: dict | None = None,
          export: dict | None = None) -> dict:
    """`scorer`: the quality scorer the run used or trained (version, base model, oracle, metrics);
    `export`: an export's summary (phase, weights, fim_rate, tokenizer, per-source rows and tokens)."""
    return {
        "snapshot": snapshot,
        "created_at": created_at or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "code_version": code_version,
        "config": config,
        "datasets": datasets,
        "stages": stages,
        **({"scorer": scorer} if scorer else {}),
        **({"export": export} if export else {}),
    }


def validate(manifest: dict) -> None:
    for key in ("snapshot", "created_at", "code_version", "config", "datasets", "stages"):
        if key not in manifest:
            raise ManifestError(f"manifest: missing field {key!r}")
    for name, ds in manifest["datasets"].items():
        if ds.get("format") not in FORMATS or not isinstance(ds.get("paths"), list) or "rows" not in ds:
            raise ManifestError(f"manifest: dataset {name!r} needs a format ({', '.join(FORMATS)}), paths and rows")


def relative_to_manifest(snapshot: str, key: str, publications: str = "snapshots") -> str:
    base = snapshot_prefix(snapshot, publications) + "/"
    if not key.startswith(base):
        raise ManifestError(f"{key} is outside snapshot folder {base}")
    return key[len(base):]


def publish(storage: Storage, manifest: dict, expected_version: str | None,
            publications: str = "snapshots") -> None:
    """Write the manifest in one conditional PUT; `expected_version` is what was there before."""
    validate(manifest)
    key = manifest_key(manifest["snapshot"], publications)
    data = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    try:
        storage.put_if_version(key, data, expected_version)
    except PublishConflict:
        raise PublishConflict(f"snapshot {manifest['snapshot']}: another run published {storage.uri(key)} "
                              "while this one was publishing; nothing was overwritten. Rerun to publish "
                              "this run's result.") from None


def read(storage: Storage, snapshot: str, publications: str = "snapshots") -> dict | None:
    key = manifest_key(snapshot, publications)
    if not storage.exists(key):
        return None
    return storage.read_json(key)


def list_snapshots(storage: Storage, publications: str = "snapshots") -> list[str]:
    """Dates that have a published manifest, ascending."""
    return [d for d in publication_keys(storage, publications) if storage.exists(manifest_key(d, publications))]


def read_dataset(storage: Storage, snapshot: str, name: str, columns: list[str] | None = None,
                 publications: str = "snapshots") -> pa.Table:
    """A published dataset as one table, found through the manifest only."""
    manifest = read(storage, snapshot, publications)
    if manifest is None:
        raise ManifestError(f"snapshot {snapshot}: not published under {storage.root}")
    if name not in manifest["datasets"]:
        raise ManifestError(f"snapshot {snapshot}: no dataset {name!r} (has {sorted(manifest['datasets'])})")
    base = snapshot_prefix(snapshot, publications)
    keys = [f"{base}/{p}" for p in manifest["datasets"][name]["paths"]]
    if not keys:  # an empty dataset has no parts
        schema = datasets.SCHEMAS[name]
        return (schema if columns is None else pa.schema([schema.field(c) for c in columns])).empty_table()
    return storage.read_parquet(keys, columns=columns)
