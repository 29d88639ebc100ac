"""The repo_sequences stage: a repository's files concatenated in dependency order (docs/repo-sequences.md).

Pure parts (unit-tested on lists of files):
- `select(index, min_quality)`  which repositories get sequences: the mean quality_score of their files
                                (nulls ignored) is >= repo_min_quality; a repository none of whose files
                                has a score is not selected (counted as `unscored`)
- `order(repo, sources, graph, seed)`  files of languages with resolved imports (seedlib/samples/deps.py)
                                in dependency order, then every other file in a seeded random order
- `split(...)` / `build(...)`   one part when the repository's text fits repo_max_chars, else its
                                connected components packed into parts, a component over the budget cut
                                along the order
- `render(repo, files)`         the text of a part (format below)

Dependency order: a file comes after the files it imports. The strongly connected components of the
import graph (Tarjan; a component is a set, so the result does not depend on the visiting order) are
ordered by Kahn's algorithm over the component graph, always taking the ready component whose smallest
path sorts first; the files of a component (an import cycle) follow each other in path order. Files of
languages without a resolver (HTML, SQL, Shell, Markdown, JSON, ...) come after all of those, shuffled by
`random.Random(f"{repo_seed}:{repo}")` from path order.

Text of a part: `<[repo-name]>{repo}\\n`, then per file `<[file-sep]>{path}\\n` followed by the file's
contents exactly as they are (nothing added, so a file without a final newline runs into the next
marker). Newlines and carriage returns in a path are written as `\\n` and `\\r`.

The Spark body: the driver reads corpus_index (keys only), selects repositories and assigns each to a
bucket (largest first, to the least filled bucket; ~BUCKET_CHARS of contents per bucket). Executors read
the contents of the parts that hold the selected files (this run's kept files and earlier snapshots'
published `files`, as corpus_index says), one shuffle groups them with the index rows by bucket, and each
bucket's sequences are written as output part <bucket> (PartWriter): reruns give identical bytes and a
resumed stage keeps the buckets an earlier attempt finished.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import defaultdict
from dataclasses import dataclass
from functools import partial
from typing import Iterable

import pyarrow as pa
import pyarrow.compute as pc

from seedlib import datasets, manifest
from seedlib.run import RunSpec, snapshot_prefix
from seedlib.samples import deps
from seedlib.samples.deps import Graph, Source
from seedlib.spark import spread
from seedlib.stage import PARTS_SCHEMA, PartWriter, StageError

DATASET = "repo_sequences"
REPO_MARKER = "<[repo-name]>"
FILE_MARKER = "<[file-sep]>"
BUCKET_CHARS = 64_000_000  # contents per output part (bucket), roughly: what one task holds in memory
MISSING = "missing"        # what a bucket reports instead of a part when corpus_index names absent contents


# ---------- selection ----------

@dataclass(frozen=True)
class Selection:
    repos: list[str]             # selected, sorted
    counts: dict[str, int]       # seen, selected, below_min_quality, unscored


def select(index: pa.Table, min_quality: float) -> Selection:
    """Repositories whose files' mean quality_score (nulls ignored) is >= min_quality."""
    if not index.num_rows:
        return Selection([], {"seen": 0, "selected": 0, "below_min_quality": 0, "unscored": 0})
    means = index.group_by("repo").aggregate([("quality_score", "mean")])
    repos, scores = means.column("repo").to_pylist(), means.column("quality_score_mean").to_pylist()
    selected = sorted(r for r, m in zip(repos, scores) if m is not None and m >= min_quality)
    unscored = sum(m is None for m in scores)
    return Selection(selected, {"seen": len(repos), "selected": len(selected),
                                "below_min_quality": len(repos) - len(selected) - unscored,
                                "unscored": unscored})


# ---------- order ----------

def order(repo: str, sources: Iterable[Source], graph: Graph, seed: int) -> list[str]:
    """Every path once: dependency order for the languages deps.py resolves, then the rest shuffled."""
    sources = list(sources)
    ordered = sorted(s.path for s in sources if s.lang in deps.ORDERED)
    rest = sorted(s.path for s in sources if s.lang not in deps.ORDERED)
    random.Random(f"{seed}:{repo}").shuffle(rest)
    return topological(ordered, graph.imports) + rest


def strongly_connected(nodes: list[str], edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (deep import chains must not hit the recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                out.append(sorted(component))
    return out


def topological(nodes: list[str], edges: dict[str, set[str]]) -> list[str]:
    """`nodes` so that each comes after what it imports (`edges`: importer -> imported); import cycles
    are kept together, in path order; among what is ready, the smallest path goes first."""
    known = set(nodes)
    edges = {n: {t for t in edges.get(n, ()) if t in known} for n in nodes}
    components = strongly_connected(sorted(nodes), edges)
    component_of = {m: i for i, c in enumerate(components) for m in c}
    waiting_on = [0] * len(components)          # imported components not placed yet
    importers: dict[int, set[int]] = defaultdict(set)
    for i, members in enumerate(components):
        needs = {component_of[t] for m in members for t in edges[m]} - {i}
        waiting_on[i] = len(needs)
        for j in needs:
            importers[j].add(i)
    ready = [(c[0], i) for i, c in enumerate(components) if not waiting_on[i]]
    heapq.heapify(ready)
    out: list[str] = []
    while ready:
        _, i = heapq.heappop(ready)
        out.extend(components[i])
        for j in importers[i]:
            waiting_on[j] -= 1
            if not waiting_on[j]:
                heapq.heappush(ready, (components[j][0], j))
    if len(out) != len(nodes):  # cannot happen: the component graph is acyclic
        raise StageError(f"repo_sequences: dependency order placed {len(out)} of {len(nodes)} files")
    return out


# ---------- text and parts ----------

def repo_header(repo: str) -> str:
    return f"{REPO_MARKER}{repo}\n"


def file_block(path: str, content: str) -> str:
    shown = path.replace("\n", "\\n").replace("\r", "\\r")
    return f"{FILE_MARKER}{shown}\n{content}"


def render(repo: str, files: Iterable[tuple[str, str]]) -> str:
    """The text of one part: the repository header, then (path, content) in the given order."""
    return repo_header(repo) + "".join(file_block(p, c) for p, c in files)


def components(paths: list[str], graph: Graph) -> list[list[str]]:
    """Connected components of the import graph taken undirected (plus deps' links), each in the order
    of `paths`; components ordered by where their first file is in `paths`."""
    parent = {p: p for p in paths}

    def find(p: str) -> str:
        while parent[p] != p:
            parent[p] = parent[parent[p]]
            p = parent[p]
        return p

    pairs = [(a, b) for a, targets in graph.imports.items() for b in targets] + list(graph.links)
    for a, b in pairs:
        if a in parent and b in parent:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, list[str]] = defaultdict(list)
    for p in paths:  # in order, so each group keeps it and groups come in order of their first file
        groups[find(p)].append(p)
    return list(groups.values())


def split(repo: str, paths: list[str], sizes: dict[str, int], graph: Graph, max_chars: int) -> list[list[str]]:
    """The parts of a repository, each a list of paths in the order of `paths`.

    `sizes`: the length of each file's block in the text. One part when the whole text fits in max_chars.
    Else the connected components are the pieces; a component whose text would not fit alone is cut
    along the order into pieces that fit (a single file over the budget is a piece by itself). Pieces,
    in order of their first file, go first-fit into the parts opened so far (a new part when none has
    room), and each part lists its files in the order of `paths`: parts are independent of each other.
    """
    budget = max_chars - len(repo_header(repo))
    if sum(sizes[p] for p in paths) <= budget:
        return [list(paths)]
    pieces: list[list[str]] = []
    for component in components(paths, graph):
        if sum(sizes[p] for p in component) <= budget:
            pieces.append(component)
            continue
        piece, used = [], 0
        for p in component:
            if piece and used + sizes[p] > budget:
                pieces.append(piece)
                piece, used = [], 0
            piece.append(p)
            used += sizes[p]
        pieces.append(piece)
    parts: list[list[str]] = []
    room: list[int] = []
    for piece in pieces:
        size = sum(sizes[p] for p in piece)
        slot = next((i for i, r in enumerate(room) if size <= r), None)
        if slot is None:
            parts.append([])
            room.append(budget)
            slot = len(parts) - 1
        parts[slot].extend(piece)
        room[slot] -= size
    position = {p: i for i, p in enumerate(paths)}
    return [sorted(part, key=position.__getitem__) for part in parts]


def build(repo: str, sources: list[Source], seed: int, max_chars: int) -> tuple[list[dict], dict[str, int]]:
    """The repo_sequences rows of one repository, and counts (parts, files, split, oversized_files)."""
    sources = sorted(sources, key=lambda s: s.path)
    graph = deps.resolve(sources, repo)
    paths = order(repo, sources, graph, seed)
    text_of = {s.path: s.text for s in sources}
    sizes = {p: len(file_block(p, text_of[p])) for p in paths}
    parts = split(repo, paths, sizes, graph, max_chars)
    rows = [{"repo": repo, "part": i, "paths": part, "text": render(repo, [(p, text_of[p]) for p in part])}
            for i, part in enumerate(parts)]
    budget = max_chars - len(repo_header(repo))
    return rows, {"parts": len(rows), "files": len(paths), "split": int(len(rows) > 1),
                  "oversized_files": sum(sizes[p] > budget for p in paths),
                  "import_edges": sum(len(t) for t in graph.imports.values())}


# ---------- the Spark stage ----------

INDEX_COLUMNS = ["repo", "path", "sha256", "lang", "size", "quality_score", "snapshot"]
ROWS_SCHEMA = pa.schema([("bucket", pa.int32()), ("kind", pa.string()), ("repo", pa.string()),
                         ("path", pa.string()), ("sha256", pa.string()), ("snapshot", pa.string()),
                         ("lang", pa.string()), ("content", pa.string())])
ROWS_DDL = ("bucket int, kind string, repo string, path string, sha256 string, snapshot string, lang string, "
            "content string")


def buckets(sizes: dict[str, int], bucket_chars: int = BUCKET_CHARS) -> tuple[dict[str, int], int]:
    """repo -> bucket, and the number of buckets: ceil(total / bucket_chars), largest repository first
    into the least filled bucket (ties: lower bucket). A function of the inputs only."""
    n = max(1, math.ceil(sum(sizes.values()) / bucket_chars))
    load = [(0, b) for b in range(n)]
    out = {}
    for repo, size in sorted(sizes.items(), key=lambda rs: (-rs[1], rs[0])):
        used, b = heapq.heappop(load)
        out[repo] = b
        heapq.heappush(load, (used + size, b))
    return out, n


def content_parts(ctx, snapshots: set[str]) -> list[tuple[str, str]]:
    """(part key, snapshot) of every `files` part that holds contents corpus_index points at."""
    out = []
    for snapshot in sorted(snapshots):
        if snapshot == ctx.spec.snapshot:
            out += [(key, snapshot) for _, key in ctx.input("files")[0]]
            continue
        m = manifest.read(ctx.storage, snapshot)
        if m is None or "files" not in m["datasets"]:
            raise StageError(f"repo_sequences: corpus_index has files of snapshot {snapshot}, which is not "
                             f"published under {ctx.storage.root} (no files dataset in its manifest)")
        base = snapshot_prefix(snapshot)
        out += [(f"{base}/{p}", snapshot) for p in m["datasets"]["files"]["paths"]]
    return out


def _read_contents(spec_json: str, wanted, batches):
    """Executor side: the rows of the selected repositories (of unfinished buckets) of some files parts."""
    storage = RunSpec.from_json(spec_json).storage()
    bucket_of = wanted.value
    repos = pa.array(sorted(bucket_of), pa.string())
    for batch in batches:
        for key, snapshot in zip(batch.column("key").to_pylist(), batch.column("snapshot").to_pylist()):
            t = storage.read_parquet([key], columns=["repo", "path", "sha256", "content"])
            t = t.filter(pc.is_in(t.column("repo"), value_set=repos))
            if not t.num_rows:
                continue
            n = t.num_rows
            yield pa.RecordBatch.from_pydict({
                "bucket": pa.array([bucket_of[r] for r in t.column("repo").to_pylist()], pa.int32()),
                "kind": pa.array(["file"] * n, pa.string()), "repo": t.column("repo").combine_chunks(),
                "path": t.column("path").combine_chunks(), "sha256": t.column("sha256").combine_chunks(),
                "snapshot": pa.array([snapshot] * n, pa.string()), "lang": pa.nulls(n, pa.string()),
                "content": t.column("content").combine_chunks().cast(pa.string())}, schema=ROWS_SCHEMA)


def build_bucket(spec_json: str, stage: str, seed: int, max_chars: int, done: dict[int, list[dict]],
                 table: pa.Table) -> pa.Table:
    """One bucket: its index rows, the contents read for its repositories and its marker -> output part
    <bucket> (or, when corpus_index names contents that are nowhere, rows saying which, and no part)."""
    bucket = table.column("bucket")[0].as_py()
    if bucket in done:  # finished by an earlier attempt: report it as it is
        return pa.Table.from_pylist(done[bucket], schema=PARTS_SCHEMA)
    kinds = table.column("kind").to_pylist()
    cols = {c: table.column(c).to_pylist() for c in ("repo", "path", "sha256", "snapshot", "lang", "content")}
    contents, index = {}, defaultdict(list)
    for i, kind in enumerate(kinds):
        key = (cols["repo"][i], cols["path"][i], cols["sha256"][i], cols["snapshot"][i])
        if kind == "file":
            contents[key] = cols["content"][i] or ""
        elif kind == "index":
            index[key[0]].append((key, cols["lang"][i]))
    missing = [k for rows in index.values() for k, _ in rows if k not in contents]
    if missing:
        first = sorted(missing)[0]
        return pa.Table.from_pylist([{"dataset": MISSING, "key": f"{first[0]}:{first[1]} (snapshot {first[3]})",
                                      "rows": len(missing), "counts": "{}"}], schema=PARTS_SCHEMA)
    spec = RunSpec.from_json(spec_json)
    out, stats = [], defaultdict(int)
    for repo in sorted(index):
        sources = [Source(k[1], lang, contents[k]) for k, lang in index[repo]]
        rows, counts = build(repo, sources, seed, max_chars)
        out += rows
        stats["repositories"] += 1
        for name, n in counts.items():
            stats["split_repositories" if name == "split" else name] += n
    writer = PartWriter(spec.storage(), spec.stage_prefix(stage), bucket, rows_per_part=max(1, len(out)))
    writer.add_details(DATASET, {"sequences": dict(stats)})
    writer.add(DATASET, out)
    return pa.Table.from_batches([writer.close()], schema=PARTS_SCHEMA)


def body(ctx):
    settings = ctx.config.repo_sequences
    index_items, _ = ctx.input("corpus.corpus_index")
    index = (ctx.storage.read_parquet([k for _, k in index_items], columns=INDEX_COLUMNS) if index_items
             else datasets.CORPUS_INDEX.empty_table())
    selection = select(index, settings.min_quality)
    details = {"repositories": selection.counts}
    if not selection.repos:
        ctx.plan(0)
        return [], None, details
    index = index.filter(pc.is_in(index.column("repo"), value_set=pa.array(selection.repos, pa.string())))
    totals = index.group_by("repo").aggregate([("size", "sum")])
    sizes = {r: s or 0 for r, s in zip(totals.column("repo").to_pylist(), totals.column("size_sum").to_pylist())}
    bucket_of, n = buckets(sizes, BUCKET_CHARS)
    ctx.plan(n)
    details["buckets"] = {"count": n}
    pending = {r: b for r, b in bucket_of.items() if b not in ctx.done}
    if not pending:  # every bucket finished by an earlier attempt
        return [row for b in sorted(ctx.done) for row in ctx.done[b]], None, details
    index = index.filter(pc.is_in(index.column("repo"), value_set=pa.array(sorted(pending), pa.string())))
    spark = ctx.spark
    sources = content_parts(ctx, set(index.column("snapshot").to_pylist()))
    keys = spread(spark, sources, "key string, snapshot string")
    wanted = spark.sparkContext.broadcast(pending)
    files = keys.mapInArrow(partial(_read_contents, ctx.spec.to_json(), wanted), ROWS_DDL)
    m = index.num_rows
    index_rows = pa.table({
        "bucket": pa.array([pending[r] for r in index.column("repo").to_pylist()], pa.int32()),
        "kind": pa.array(["index"] * m, pa.string()), "repo": index.column("repo"), "path": index.column("path"),
        "sha256": index.column("sha256"), "snapshot": index.column("snapshot"), "lang": index.column("lang"),
        "content": pa.nulls(m, pa.string())}, schema=ROWS_SCHEMA)
    markers = pa.table({"bucket": pa.array(range(n), pa.int32()), "kind": ["marker"] * n,
                        **{c: pa.nulls(n, pa.string()) for c in ROWS_SCHEMA.names[2:]}}, schema=ROWS_SCHEMA)
    rows = files.union(spark.createDataFrame(pa.concat_tables([index_rows, markers]))).groupBy("bucket")
    spec_json, stage, seed, max_chars, done = ctx.spec.to_json(), ctx.name, settings.seed, settings.max_chars, ctx.done

    def one_bucket(table: pa.Table) -> pa.Table:  # annotated: applyInArrow infers its mode from the hints
        return build_bucket(spec_json, stage, seed, max_chars, done, table)

    out = [r.asDict() for r in rows.applyInArrow(one_bucket, "dataset string, key string, rows long, "
                                                             "counts string").collect()]
    wanted.unpersist()
    missing = [r for r in out if r["dataset"] == MISSING]
    if missing:
        total = sum(r["rows"] for r in missing)
        raise StageError(f"repo_sequences: {total} files of corpus_index have no contents in the files "
                         f"dataset of their snapshot, e.g. {sorted(r['key'] for r in missing)[0]}")
    return out, None, details
