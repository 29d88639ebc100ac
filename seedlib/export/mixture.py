"""The mixture's sources and rows: what a phase exports from a published snapshot, and how much of it.

Sources (the report's four), all found through published manifests only:
- `file`    file-level code: the snapshot's corpus as of its date, i.e. its `corpus_index` (each row names
            the snapshot whose published `files` hold the content: this one, or an earlier one it was
            deduplicated against); a snapshot without `corpus_index` exports its own `files`
- `commit`  the snapshot's `commit_samples`, column `text`
- `repo`    the snapshot's `repo_sequences`, column `text`
- `web`     `<root>/web/dt=D/_MANIFEST.json` dataset `web`, column `text`, when the web pipeline published
            that date (absent: 0 rows, reported as not published)

Phases: `regular` = file + web; `continued` = all four.

Mixing weights (`export_weights`, a source missing from the mapping weighs 1.0) are a deterministic per-row
sampling rate: a row of weight w is written floor(w) times, plus once more when u < w - floor(w), where
u = unit("weight:SOURCE", KEY) (seedlib/export/fim.py: SHA-256 of the label and the key, as a number in
[0, 1)) and KEY is the row's identity: "repo\\0path" (file), "repo\\0sha" (commit), "repo\\0part" (repo),
the url (web). So 0.5 keeps about half the rows, always the same ones; 2.0 writes every row twice; 1.5
every row once and half of them twice. Copies are numbered by the `repeat` column (0, 1, ...); a file's
copies are FIMed independently (seedlib/export/fim.py seeds copy r > 0 with "sha256:r").

Rows with a null or empty text are not exported; they are counted as `empty` in the export's summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from seedlib import datasets, manifest
from seedlib.export import fim
from seedlib.run import snapshot_prefix
from seedlib.samples.settings import SOURCES
from seedlib.stage import StageError
from seedlib.storage import Storage, StorageError

PHASE_SOURCES: dict[str, tuple[str, ...]] = {"regular": ("file", "web"), "continued": SOURCES}
WEB = "web"  # the web pipeline's publications prefix and dataset

# Which published dataset each source reads, and the columns a row of it needs.
DATASET = {"file": "files", "commit": "commit_samples", "repo": "repo_sequences", "web": "web"}
COLUMNS = {"file": ["repo", "path", "sha256", "lang", "content"], "commit": ["repo", "sha", "text"],
           "repo": ["repo", "part", "text"], "web": ["url", "text"]}
CORPUS_KEY = ("repo", "path", "sha256")  # how a corpus_index row names its file in the snapshot holding it

# One row of the mixture (the shards' columns, in this order).
MIXTURE = pa.schema([
    ("text", pa.string()),      # what a tokenizer reads: the file (or its FIM sample), the sample, the page
    ("source", pa.string()),    # file, commit, repo or web
    ("id", pa.string()),        # REPO:PATH (file), REPO@SHA (commit), REPO#PART (repo), the url (web)
    ("repo", pa.string()),      # null for web
    ("path", pa.string()),      # file only
    ("lang", pa.string()),      # file only
    ("fim", pa.bool_()),        # a FIM sample (SPM order, seedlib/export/fim.py)
    ("repeat", pa.int32()),     # which copy of the row (weights above 1 write rows more than once)
    ("tokens", pa.int64()),     # the text's token count with the export's tokenizer
])


@dataclass(frozen=True)
class Unit:
    """One published part to read: a part of one source's dataset (the mixture writes one part per unit)."""

    source: str
    key: str            # the part's storage key
    holder: str = ""    # file parts of a corpus: the snapshot whose `files` these are (its rows are filtered)


@dataclass
class Plan:
    """What a phase exports from one snapshot, in mixture order: sources in SOURCES order, each source's
    parts in manifest order."""

    snapshot: str
    units: list[Unit] = field(default_factory=list)
    inputs: dict[str, int] = field(default_factory=dict)      # source -> rows published
    published: dict[str, bool] = field(default_factory=dict)  # source -> whether its dataset is published
    corpus: dict[str, pa.Array] = field(default_factory=dict)  # holder snapshot -> its "repo\0path\0sha256"


def weights_of(config_weights, sources: tuple[str, ...]) -> dict[str, float]:
    given = dict(config_weights)
    return {s: float(given.get(s, 1.0)) for s in sources}


def copies(source: str, key: str, weight: float) -> int:
    """How many times a row is written at `weight` (see the module docstring)."""
    whole = int(weight)
    frac = weight - whole
    return whole + (1 if frac > 0 and fim.unit(f"weight:{source}", key) < frac else 0)


def part_keys(storage: Storage, m: dict, name: str, publications: str) -> list[str]:
    """The storage keys of a published dataset's parts (paths relative to the manifest, or absolute URIs
    under this storage root)."""
    base = snapshot_prefix(m["snapshot"], publications)
    root = storage.root.rstrip("/") + "/"
    keys = []
    for path in m["datasets"][name]["paths"]:
        if "://" in path:
            if not path.startswith(root):
                raise StageError(f"{publications} {m['snapshot']}: dataset {name} has a part outside this "
                                 f"storage root ({path}); export from the root that holds it")
            keys.append(path[len(root):])
        else:
            keys.append(f"{base}/{path}")
    return keys


def plan(storage: Storage, snapshot: str, sources: tuple[str, ...], weights: dict[str, float]) -> Plan:
    """The units of a phase's sources (sources of weight 0 are counted but not read)."""
    m = manifest.read(storage, snapshot)
    if m is None:
        raise StageError(f"snapshot {snapshot}: not published under {storage.uri('snapshots')}")
    out = Plan(snapshot)
    for source in sources:
        if source == "file" and "corpus_index" in m["datasets"]:
            _plan_corpus(storage, m, out, weights[source] > 0)
            continue
        holder = manifest.read(storage, snapshot, WEB) if source == "web" else m
        name = DATASET[source]
        if holder is None or name not in holder["datasets"]:
            out.published[source], out.inputs[source] = False, 0
            continue
        out.published[source], out.inputs[source] = True, int(holder["datasets"][name]["rows"])
        if weights[source] > 0:
            publications = WEB if source == "web" else "snapshots"
            out.units += [Unit(source, k) for k in part_keys(storage, holder, name, publications)]
    return out


def _plan_corpus(storage: Storage, m: dict, out: Plan, read: bool) -> None:
    """File units from the corpus index: the parts of every snapshot it names, filtered to its rows."""
    out.published["file"], out.inputs["file"] = True, int(m["datasets"]["corpus_index"]["rows"])
    keys = part_keys(storage, m, "corpus_index", "snapshots")
    if not read or not keys:
        return
    index = storage.read_parquet(keys, columns=[*CORPUS_KEY, "snapshot"])
    for holder in sorted(pc.unique(index.column("snapshot")).to_pylist()):
        rows = index.filter(pc.equal(index.column("snapshot"), holder))
        held = manifest.read(storage, holder) if holder != m["snapshot"] else m
        if held is None or "files" not in held["datasets"]:
            raise StageError(f"snapshot {m['snapshot']}: its corpus_index names {rows.num_rows} files held by "
                             f"snapshot {holder}, which is not published under {storage.uri('snapshots')}")
        out.corpus[holder] = datasets.item_keys(rows, CORPUS_KEY)
        out.units += [Unit("file", k, holder) for k in part_keys(storage, held, "files", "snapshots")]


@dataclass
class Counts:
    """What one unit contributed (summed into the export's summary)."""

    matched: int = 0     # input rows read (for corpus parts: those the corpus index names)
    empty: int = 0       # rows with no text, not exported
    fim: int = 0         # FIM samples written
    repeats: int = 0     # rows written beyond the first copy


def unit_rows(storage: Storage, unit: Unit, plan_: Plan, weight: float, fim_rate: float) -> tuple[list[dict], Counts]:
    """The mixture rows of one unit (without `tokens`), in the part's order, each row's copies together."""
    columns = COLUMNS[unit.source]
    try:
        table = storage.read_parquet([unit.key], columns=columns)
    except StorageError:
        missing = [c for c in columns if c not in storage.parquet_schema(unit.key).names]
        if missing:  # not a retryable storage problem: the published part lacks what the source needs
            raise StageError(f"source {unit.source}: {storage.uri(unit.key)} has no column "
                             f"{', '.join(missing)} (it needs {', '.join(columns)})") from None
        raise
    if unit.holder:
        table = table.filter(pc.is_in(datasets.item_keys(table, CORPUS_KEY), value_set=plan_.corpus[unit.holder]))
    counts = Counts(matched=table.num_rows)
    rows: list[dict] = []
    text_column = "content" if unit.source == "file" else "text"
    for r in table.to_pylist():
        text = r[text_column]
        if not text:
            counts.empty += 1
            continue
        key, ident, extra = _identity(unit.source, r)
        for copy in range(copies(unit.source, key, weight)):
            fimmed = False
            sample = text
            if unit.source == "file":
                sample, fimmed = fim.apply(text, r["sha256"], fim_rate, copy)
            counts.fim += fimmed
            counts.repeats += copy > 0
            rows.append({"text": sample, "source": unit.source, "id": ident, "fim": fimmed, "repeat": copy, **extra})
    return rows, counts


def _identity(source: str, r: dict) -> tuple[str, str, dict]:
    """(sampling key, id, the repo/path/lang columns) of a row."""
    if source == "file":
        return f"{r['repo']}\x00{r['path']}", f"{r['repo']}:{r['path']}", \
            {"repo": r["repo"], "path": r["path"], "lang": r["lang"]}
    code = {"repo": r.get("repo"), "path": None, "lang": None}
    if source == "commit":
        return f"{r['repo']}\x00{r['sha']}", f"{r['repo']}@{r['sha']}", code
    if source == "repo":
        return f"{r['repo']}\x00{r['part']}", f"{r['repo']}#{r['part']}", code
    return r["url"], r["url"], code


def to_table(rows: list[dict], tokens: list[int]) -> pa.Table:
    return pa.Table.from_pylist([{**r, "tokens": t} for r, t in zip(rows, tokens)], schema=MIXTURE)
