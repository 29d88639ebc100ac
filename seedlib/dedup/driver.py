"""The dedup decisions computed in one process (the Spark driver), for inputs that fit there.

`exact_decisions` and `near_decisions` give exactly the decisions of seedlib/dedup/plan.py's Spark plans
(the same rows, reasons and representatives) from the collected read columns; `clusters` gives exactly
`lsh.near_clusters`' result (the same losers, roots and counts) with numpy and
scipy instead of about twenty Spark jobs: band keys, bucket grouping, candidate pairs, verification and
connected components. Below a few million files each Spark job costs more in scheduling, shuffle files and
Python worker round trips than the work it does (bench/README.md, issue 15); above `dedup_driver_files`
the stages keep the distributed plan, whose memory per task stays bounded.

Nodes are positions 0..n-1 in rank order, so "the smallest node" is "the best-ranked node" throughout:
- buckets: per band, nodes with equal band keys, members in rank order (a stable sort);
- pairs: all pairs of a bucket of at most `max_bucket` members, else a star around its best member;
- verified: the full-signature estimate >= threshold (minus 1e-12, as lsh._verify);
- components of the verified edges, each rooted at its best member; in components of more than
  `max_component` members only members similar to the root itself lose.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seedlib import ledger
from seedlib.dedup import minhash

EXACT, NEAR = "exact_duplicate", "near_duplicate"
DECISION_FIELDS = pa.schema([("part", pa.int32()), ("repo", pa.string()), ("path", pa.string()),
                             ("reason", pa.string()), ("duplicate_of", pa.string())])

# Candidate pairs verified at once: two (chunk, num_perm) uint32 gathers, 2 MB a thousand pairs at 256.
_VERIFY_CHUNK = 1 << 16


def similar(sigs: np.ndarray, src: np.ndarray, dst: np.ndarray, threshold: float) -> np.ndarray:
    out = np.empty(len(src), bool)
    for c in range(0, len(src), _VERIFY_CHUNK):
        s = slice(c, c + _VERIFY_CHUNK)
        out[s] = minhash.estimate(sigs[src[s]], sigs[dst[s]]) >= threshold - 1e-12
    return out


def candidate_pairs(keys: np.ndarray, max_bucket: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """(src, dst) node pairs (src < dst, distinct) of the LSH buckets of `keys` ((n, bands) band keys of
    nodes in rank order), and the bucket counts of lsh.near_clusters' details."""
    n, bands = keys.shape
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), {"buckets_shared": 0, "largest_bucket": 0,
                                                              "oversized_buckets": 0}
    src, dst = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    shared = largest = oversized = 0
    for b in range(bands):
        order = np.argsort(keys[:, b], kind="stable")  # stable: members of a bucket stay in rank order
        sorted_keys = keys[order, b]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        sizes = np.diff(np.r_[starts, n])
        multi = sizes > 1
        if not multi.any():
            continue
        shared += int(multi.sum())
        largest = max(largest, int(sizes.max()))
        big = sizes > max_bucket
        oversized += int(big.sum())
        for size in np.unique(sizes[multi & ~big]):
            first = starts[sizes == size][:, None]
            i, j = np.triu_indices(int(size), 1)
            src.append(order[(first + i).ravel()])
            dst.append(order[(first + j).ravel()])
        for start, size in zip(starts[big], sizes[big]):
            src.append(np.full(size - 1, order[start]))
            dst.append(order[start + 1: start + size])
    pair = np.unique(np.concatenate(src).astype(np.int64) * n + np.concatenate(dst))
    return pair // n, pair % n, {"buckets_shared": shared, "largest_bucket": largest, "oversized_buckets": oversized}


def clusters(sigs: np.ndarray, params: minhash.MinHashParams, max_bucket: int,
             max_component: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """(losers, roots, details) for nodes 0..n-1 in rank order with signatures `sigs` ((n, num_perm)):
    node losers[i] is a near duplicate of node roots[i], its component's best member."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(sigs)
    bands, rows = params.bands
    if n == 0:
        sigs = np.zeros((0, params.num_perm), np.uint32)
    src, dst, details = candidate_pairs(minhash.band_hashes(sigs, bands, rows), max_bucket)
    verified = similar(sigs, src, dst, params.threshold)
    details = {"bands": bands, "rows": rows, "threshold": params.threshold, "num_perm": params.num_perm,
               "shingle": params.shingle, "nodes": n, **details, "max_bucket": max_bucket,
               "candidate_pairs": len(src), "verified_pairs": int(verified.sum()),
               "rejected_pairs": int((~verified).sum()), "components": 0, "largest_component": 0,
               "oversized_components": 0, "max_component": max_component, "rounds": 0, "kept_in_oversized": 0,
               "clusters_on": "driver", "components_on": "driver"}
    none = np.zeros(0, np.int64)
    if not verified.any():
        return none, none, details
    src, dst = src[verified], dst[verified]
    graph = coo_matrix((np.ones(len(src), np.int8), (src, dst)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    _, first = np.unique(labels, return_index=True)  # a label's first node in rank order is its root
    root = first[labels]
    size = np.bincount(labels)[labels]
    linked = size > 1
    comp_sizes = np.bincount(labels[linked])
    comp_sizes = comp_sizes[comp_sizes > 0]
    details.update(components=len(comp_sizes), largest_component=int(comp_sizes.max()),
                   oversized_components=int((comp_sizes > max_component).sum()))
    losers = np.flatnonzero(linked & (root != np.arange(n)))
    in_big = losers[size[losers] > max_component]
    if len(in_big):
        stay = ~similar(sigs, root[in_big], in_big, params.threshold)
        details["kept_in_oversized"] = int(stay.sum())
        losers = np.setdiff1d(losers, in_big[stay], assume_unique=True)
    return losers.astype(np.int64), root[losers].astype(np.int64), details


def _decisions(rows: list[tuple]) -> pa.Table:
    return pa.Table.from_pylist([dict(zip(DECISION_FIELDS.names, r)) for r in rows], schema=DECISION_FIELDS)


def exact_decisions(files: pa.Table, published: pa.Table | None, repo_params: minhash.MinHashParams,
                    min_files: int, max_bucket: int, max_component: int) -> tuple[pa.Table, dict, dict, int | None]:
    """plan.exact_body's decisions from its read rows (part, repo, path, sha256, rkey, key, h) and the
    published index's (key, sha256, h): (decisions, repo_dedup details, distinct contents, files matched
    in the published index or None without one). Keys compare as Spark compares strings (Python's code
    point order is UTF-8's byte order), `min` of (key, sha256) as Spark's min of a struct."""
    part, repo, path, sha, rkey, key, h = (files.column(c).to_pylist()
                                           for c in ("part", "repo", "path", "sha256", "rkey", "key", "h"))
    rows, alive, matched = [], range(len(part)), None
    if published is not None:  # copies of files published by earlier snapshots go first
        earliest: dict[str, tuple[str, str]] = {}
        for k, s, hh in zip(*(published.column(c).to_pylist() for c in ("key", "sha256", "h"))):
            if hh not in earliest or (k, s) < earliest[hh]:
                earliest[hh] = (k, s)
        hit = [i for i in alive if h[i] in earliest]
        rows += [(part[i], repo[i], path[i], EXACT, earliest[h[i]][1]) for i in hit]
        matched, alive = len(hit), [i for i in alive if h[i] not in earliest]
    sets: dict[str, set] = {}
    rkeys: dict[str, str] = {}
    for i in alive:
        sets.setdefault(repo[i], set()).add(h[i])
        rkeys.setdefault(repo[i], rkey[i])
    fingerprints: dict[tuple, tuple[str, str]] = {}
    for r, hs in sets.items():
        fp = tuple(sorted(hs))
        if fp not in fingerprints or (rkeys[r], r) < fingerprints[fp]:
            fingerprints[fp] = (rkeys[r], r)
    copies = {r: fingerprints[tuple(sorted(hs))][1] for r, hs in sets.items()}
    copies = {r: kept for r, kept in copies.items() if kept != r}
    details = {"repos": len(sets), "exact_copies": len(copies), "near_copies": 0}
    if repo_params.threshold > 0:
        candidates = sorted((rkeys[r], r) for r, hs in sets.items() if r not in copies and len(hs) >= min_files)
        hashes = [sorted(sets[r]) for _, r in candidates]
        doc = np.repeat(np.arange(len(hashes)), [len(s) for s in hashes])
        sigs = minhash.signatures_from_hashes(doc, minhash.hex_values([x for s in hashes for x in s]),
                                              len(hashes), repo_params.num_perm)
        losers, roots, details["near"] = clusters(sigs, repo_params, max_bucket, max_component)
        copies.update({candidates[a][1]: candidates[b][1] for a, b in zip(losers, roots)})
        details["near_copies"] = len(losers)
    best: dict[str, tuple[str, str]] = {}
    for i in alive:
        if repo[i] not in copies and (h[i] not in best or (key[i], sha[i]) < best[h[i]]):
            best[h[i]] = (key[i], sha[i])
    for i in alive:
        if repo[i] in copies:
            rows.append((part[i], repo[i], path[i], ledger.REPO_DUPLICATE, best[h[i]][1] if h[i] in best else None))
        elif key[i] != best[h[i]][0]:
            rows.append((part[i], repo[i], path[i], EXACT, best[h[i]][1]))
    return _decisions(rows), details, len(best), matched


def near_decisions(files: pa.Table, published: pa.Table | None, params: minhash.MinHashParams,
                   max_bucket: int, max_component: int) -> tuple[pa.Table, dict, int | None]:
    """plan.near_body's decisions from its read rows (part, repo, path, sha256, key, sig) and the published
    index's (key, sha256, sig): (decisions, near details, files whose keeper is a published file or None
    without an index). The rank is the order of "1" + key for this run's files and the published key
    (which starts with "0") for the index's, so a published file always outranks a new one."""
    n_files = files.num_rows
    keys = pc.binary_join_element_wise(pa.scalar("1"), files.column("key"), "")
    sha, sig = files.column("sha256"), files.column("sig")
    if published is not None:
        keys = pa.chunked_array(keys.chunks + published.column("key").chunks, pa.string())
        sha = pa.chunked_array(sha.chunks + published.column("sha256").chunks, pa.string())
        sig = pa.chunked_array(sig.chunks + published.column("sig").chunks, pa.binary())
    order = np.asarray(pc.sort_indices(keys), dtype=np.int64)  # rank -> row (byte order, as Spark sorts)
    has = np.asarray(sig.is_valid(), dtype=bool)
    node_rows = order[has[order]]
    sigs = minhash.binary_to_sig(sig.take(pa.array(node_rows)), params.num_perm)
    losers, roots, details = clusters(sigs, params, max_bucket, max_component)
    lose_rows, root_rows = node_rows[losers], node_rows[roots]
    mine = lose_rows < n_files  # a published file can only lose to another published one: not this run's rows
    lose_rows, root_rows = lose_rows[mine], root_rows[mine]
    take = pa.array(lose_rows)
    decisions = pa.table({"part": files.column("part").take(take).cast(pa.int32()),
                          "repo": files.column("repo").take(take), "path": files.column("path").take(take),
                          "reason": pa.array([NEAR] * len(lose_rows), pa.string()),
                          "duplicate_of": sha.take(pa.array(root_rows))}, schema=DECISION_FIELDS)
    details["without_shingles"] = int(n_files - has[:n_files].sum())
    return decisions, details, (int((root_rows >= n_files).sum()) if published is not None else None)
