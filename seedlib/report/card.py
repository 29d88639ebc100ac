"""The dataset card: `snapshots/dt=D/README.md` in the Hugging Face dataset-card format.

The YAML header's `configs` names every published Parquet dataset of the manifest (config_name = the
dataset's name; `files` is the default), its `data_files` the dataset's parts relative to the snapshot
folder, so `datasets.load_dataset("<root>/snapshots/dt=D", "files")` (or "dropped", "commit_samples", ...)
loads exactly what the manifest publishes, and nothing else lying in the folder (run folders hold internal
parts too). Parts without rows are left out (datasets 5.2 cannot read a zero-row Parquet file); a
dataset with no rows at all has no config and is listed as empty. The card must be written again after
each publication of the date: its paths are that manifest's (a rerun's parts live in another run folder,
and `seed gc` deletes the superseded one).
"""

from __future__ import annotations

import glob
import posixpath

import pyarrow.parquet as pq
import yaml

from seedlib.report.collect import Publication, collect, human_bytes
from seedlib.run import snapshot_prefix
from seedlib.storage import Storage

CARD_FILE = "README.md"
DEFAULT_CONFIG = "files"

# SPDX ids (as GitHub reports them, case-insensitive) that are also Hugging Face licence ids.
HF_LICENSES = frozenset({"apache-2.0", "mit", "bsd-2-clause", "bsd-3-clause", "bsl-1.0", "cc0-1.0", "cc-by-4.0",
                         "cc-by-sa-4.0", "epl-2.0", "gpl-2.0", "gpl-3.0", "lgpl-2.1", "lgpl-3.0", "agpl-3.0",
                         "mpl-2.0", "isc", "unlicense", "artistic-2.0", "wtfpl"})


def _part_rows(storage: Storage, key: str) -> int:
    fs, base = storage.arrow_fs()
    with fs.open_input_file(f"{base}/{key}") as f:
        return pq.ParquetFile(f).metadata.num_rows


def _loadable(path: str) -> bool:
    return not ("://" in path or path.startswith("/") or ".." in path.split("/"))


def configs(storage: Storage, snapshot: str, m: dict) -> tuple[list[dict], list[str]]:
    """The `configs` entries and, for datasets without one, why not."""
    base = snapshot_prefix(snapshot)
    out, left_out = [], []
    names = sorted(m["datasets"], key=lambda n: (n != DEFAULT_CONFIG, n))
    for name in names:
        ds = m["datasets"][name]
        if ds.get("format") != "parquet":
            left_out.append(f"{name}: {ds.get('format')} (not Parquet)")
            continue
        bad = [p for p in ds["paths"] if not _loadable(p)]
        if bad:
            left_out.append(f"{name}: part {bad[0]} is outside the snapshot folder")
            continue
        paths = [p for p in ds["paths"] if _part_rows(storage, f"{base}/{p}") > 0]
        if not paths:
            left_out.append(f"{name}: empty (0 rows)")
            continue
        entry = {"config_name": name}
        if name == DEFAULT_CONFIG:
            entry["default"] = True
        entry["data_files"] = [{"split": "train", "path": [glob.escape(p) for p in paths]}]
        out.append(entry)
    return out, left_out


def _license(licences: dict[str, int]) -> dict:
    ids = sorted({k.lower() for k in licences})
    if ids and all(i in HF_LICENSES for i in ids):
        return {"license": ids[0] if len(ids) == 1 else ids}
    return {"license": "other", "license_name": "various"}  # per repository: the card's Sources section


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                        (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M")):
        if n < limit:
            return name
    return "100M<n<1B"


def _md_table(headers: list[str], rows: list[list]) -> str:
    def cell(v) -> str:
        text = "-" if v is None else (f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v))
        return text.replace("|", "\\|").replace("\n", " ")

    if not rows:
        return "(none)"
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def render(storage: Storage, snapshot: str, data: dict) -> str:
    pub = Publication(storage, snapshot)
    m = pub.manifest
    cfgs, left_out = configs(storage, snapshot, m)
    repos = data["repos"]
    langs = data["languages"]
    languages = [r["lang"] for r in langs["rows"] if r["after_files"]]
    front = {"pretty_name": f"seed-data code snapshot {snapshot}",
             **_license(repos["kept_licences"]),
             "tags": ["code", "source-code", "seed-data", "pretraining"] + [
                 f"programming-language:{lang.lower().replace(' ', '-')}" for lang in languages[:20]],
             "task_categories": ["text-generation"],
             "size_categories": [_size_category(m["datasets"].get("files", {}).get("rows", 0))],
             "configs": cfgs}
    header = yaml.safe_dump(front, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000)
    tokens = langs["tokens"]
    folder = posixpath.basename(snapshot_prefix(snapshot))
    parts = [
        f"---\n{header}---\n",
        f"# seed-data code snapshot {snapshot}\n",
        f"Curated source files from {repos['rows']:,} repositories, published {m['created_at']} by code "
        f"`{m.get('code_version')}` (the manifest: `_MANIFEST.json` beside this card; the report: `report.html`).\n",
        "## Loading\n",
        "```python\nfrom datasets import load_dataset\n\n"
        f"files = load_dataset(\"path/to/snapshots/{folder}\", \"files\", split=\"train\")\n"
        f"dropped = load_dataset(\"path/to/snapshots/{folder}\", \"dropped\", split=\"train\")  # the ledger\n```\n",
        "Configs: " + ", ".join(f"`{c['config_name']}`" for c in cfgs) + "."
        + (" Not loadable as configs: " + "; ".join(left_out) + "." if left_out else "") + "\n",
        "## Sources\n",
        f"{repos['rows']:,} repositories ("
        + (", ".join(f"{k}: {v:,}" for k, v in repos["status"].items()) or "none")
        + f"); {repos['kept']:,} have files in this snapshot. Licences of those repositories "
          "(the `repos` dataset's `license`, SPDX as reported by GitHub; unknown for local sources):\n",
        _md_table(["licence", "repositories"], [[k, v] for k, v in repos["kept_licences"].items()]) + "\n",
        "Each file keeps its repository's licence; check it before redistribution.\n",
        "## Stages\n",
        _md_table(["stage", "in", "out", "dropped by reason", "seconds"],
                  [[s["name"] + (" (skipped)" if s.get("skipped") else ""), s["rows_in"], s["rows_out"],
                    ", ".join(f"{k} {v:,}" for k, v in sorted(s.get("dropped", {}).items())) or "-",
                    f"{s.get('seconds', 0):.1f}"] for s in m["stages"]]) + "\n",
        "## Counts\n",
        _md_table(["dataset", "rows"], [[n, d["rows"]] for n, d in sorted(m["datasets"].items())]) + "\n",
        _md_table(["language", "files", "bytes", "lines", f"tokens ({tokens['method']})"],
                  [[r["lang"], r["after_files"], human_bytes(r["after_bytes"]), r["after_lines"], r["after_tokens"]]
                   for r in langs["rows"] if r["after_files"]]) + "\n",
        "## Tokens\n",
        f"{tokens['total']:,} tokens in `files` ({tokens['how']}).\n",
    ]
    if m.get("scorer"):
        sc = m["scorer"]
        parts += ["## Quality scorer\n",
                  f"Scorer {sc.get('version')} ({sc.get('base_model')}, oracle {sc.get('oracle')}, "
                  f"{sc.get('labels')} labels): held-out MAE {sc.get('mae')} against {sc.get('baseline_mae')} for "
                  "predicting the mean.\n"]
    return "\n".join(parts)


def card_key(snapshot: str) -> str:
    return f"{snapshot_prefix(snapshot)}/{CARD_FILE}"


def build_card(storage: Storage, snapshot: str, data: dict | None = None, **options) -> str:
    """The card's text; `data`: collect()'s result when the caller has it already (else computed)."""
    return render(storage, snapshot, data if data is not None else collect(storage, snapshot, **options))


def write_card(storage: Storage, snapshot: str, data: dict | None = None, **options) -> str:
    """Write `snapshots/dt=D/README.md`; returns its URI."""
    key = card_key(snapshot)
    storage.write_bytes(key, build_card(storage, snapshot, data, **options).encode("utf-8"))
    return storage.uri(key)
