"""MinHash signatures over whole Arrow batches, LSH bands and signature verification.

Signatures are exactly datasketch 2.x's `affine32` MinHash: the permutations come from
`datasketch.MinHash(num_perm, seed, scheme="affine32").permutations` (created once per process), each
32-bit shingle hash is pre-mixed with MurmurHash3's finaliser and mapped by `a*h + b mod 2**32`, and the
signature is the per-permutation minimum; `MinHash(..., hashfunc=identity).update_batch(shingle_hashes)`
gives the same hash values (a test checks it). What differs is how: `reference_signatures` computes
tokens, shingles and minima with pyarrow + numpy over all documents of a batch at once, and
`text_signatures` runs the same arithmetic as one compiled pass per document (seedlib/dedup/native.py,
numba), bit-identical to the reference (tests/test_minhash_native.py), which stays the definition and
takes the documents the kernel leaves out.

Shingles: lower-cased text split into word tokens (`\\w+`), then `k` consecutive tokens (default 5);
a document with fewer than `k` tokens is one shingle; a document with no token has no signature (it is
left to exact dedup). Token and shingle hashes are 64-bit polynomial hashes finished with fmix64.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SEED = 1
_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)
_P = np.uint64(0x100000001B3)           # per-byte multiplier (FNV prime; odd)
_SHINGLE_MUL = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
                         0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x27D4EB2F165667C5, 0x94D049BB133111EB],
                        dtype=np.uint64)
_CHUNK = 4096  # shingles per block: 4K x num_perm uint32 (4 MiB at 256) stays near the caches


@dataclass(frozen=True)
class MinHashParams:
    num_perm: int = 256
    shingle: int = 5
    threshold: float = 0.7
    seed: int = SEED

    @property
    def bands(self) -> tuple[int, int]:
        """(bands, rows) minimising false positives + negatives at the threshold (datasketch's choice)."""
        return optimal_bands(self.threshold, self.num_perm)


@lru_cache(maxsize=None)
def optimal_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    from datasketch.lsh import _optimal_param

    return tuple(int(x) for x in _optimal_param(threshold, num_perm, 0.5, 0.5))


@lru_cache(maxsize=None)
def permutations(num_perm: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 permutation parameters (a, b), created once per process and shared."""
    from datasketch import MinHash

    a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    return np.asarray(a, dtype=np.uint32), np.asarray(b, dtype=np.uint32)


def fmix64(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


def fmix32(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def _string_hashes(tokens: pa.Array) -> np.ndarray:
    """64-bit hash of every non-empty string of a (large_)string array, vectorised."""
    tokens = tokens.cast(pa.large_string())
    n = len(tokens)
    if n == 0:
        return np.zeros(0, np.uint64)
    offsets = np.frombuffer(tokens.buffers()[1], dtype=np.int64)[tokens.offset: tokens.offset + n + 1]
    data = np.frombuffer(tokens.buffers()[2], dtype=np.uint8)[offsets[0]: offsets[-1]]
    starts = offsets[:-1] - offsets[0]
    lengths = np.diff(offsets)
    pos = np.arange(len(data), dtype=np.int64) - np.repeat(starts, lengths)
    powers = np.cumprod(np.full(int(lengths.max()), _P, dtype=np.uint64), dtype=np.uint64)
    with np.errstate(over="ignore"):
        terms = (data.astype(np.uint64) + np.uint64(1)) * powers[pos]
        # reduceat over non-empty strings only: an empty string has no terms, and its start may equal
        # len(terms) (out of bounds) or the next string's start (reduceat would return a wrong sum).
        h = np.zeros(n, np.uint64)
        nonempty = lengths > 0
        if nonempty.any():
            h[nonempty] = np.add.reduceat(terms, starts[nonempty])
        return fmix64(h + lengths.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))


def shingle_hashes(texts: pa.Array, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """(doc index, 32-bit shingle hash) of every shingle of every text, grouped by document."""
    if k < 1 or k > len(_SHINGLE_MUL):
        raise ValueError(f"near_dedup_shingle: expected 1..{len(_SHINGLE_MUL)} words, got {k}")
    texts = pc.fill_null(texts.cast(pa.large_string()), "")
    lists = pc.split_pattern_regex(pc.utf8_lower(texts), r"\W+")
    flat = pc.list_flatten(lists)
    parents = np.asarray(pc.list_parent_indices(lists), dtype=np.int64)
    # Hash each distinct token once (dictionary encoding is a C++ hash table), then gather.
    encoded = pc.dictionary_encode(flat)
    indices = np.asarray(encoded.indices, dtype=np.int64)
    vocab = encoded.dictionary
    nonempty = np.asarray(pc.greater(pc.binary_length(vocab), 0), dtype=bool)
    keep = nonempty[indices] if len(indices) else np.zeros(0, bool)
    doc = parents[keep]
    if len(doc) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.uint32)
    t = _string_hashes(vocab)[indices[keep]]
    n = len(t)
    acc = np.zeros(n, np.uint64)
    with np.errstate(over="ignore"):
        for j in range(min(k, n)):  # fewer tokens than k in the whole batch: shorter windows only
            shifted = np.zeros(n, np.uint64)
            same = np.zeros(n, bool)
            shifted[: n - j] = t[j:]
            same[: n - j] = doc[j:] == doc[: n - j]
            acc += np.where(same, shifted * _SHINGLE_MUL[j], np.uint64(0))
        h = fmix64(acc)
    # A window is a shingle if it is complete, or if it starts a document shorter than k tokens.
    full = np.zeros(n, bool)
    if n >= k:
        full[: n - k + 1] = doc[k - 1:] == doc[: n - k + 1]
    first = np.ones(n, bool)
    first[1:] = doc[1:] != doc[:-1]
    counts = np.bincount(doc)
    short = first & (counts[doc] < k)
    take = full | short
    return doc[take], (h[take] >> np.uint64(32)).astype(np.uint32) ^ h[take].astype(np.uint32)


def signatures_from_hashes(doc: np.ndarray, hashes: np.ndarray, n_docs: int, num_perm: int,
                           seed: int = SEED) -> np.ndarray:
    """(n_docs, num_perm) uint32 MinHash of the given 32-bit values per document (doc ascending).

    Equal to datasketch `MinHash(num_perm, seed, hashfunc=lambda x: x).update_batch(values).hashvalues`;
    documents without values get all-ones (datasketch's empty sketch).
    """
    a, b = permutations(num_perm, seed)
    out = np.full((n_docs, num_perm), np.uint32(0xFFFFFFFF), dtype=np.uint32)
    if len(hashes) == 0:
        return out
    mixed = fmix32(hashes.astype(np.uint32))
    a, b = a[:, None], b[:, None]
    buf = np.empty((num_perm, min(_CHUNK, len(mixed))), np.uint32)
    for c0 in range(0, len(mixed), _CHUNK):
        h = mixed[c0: c0 + _CHUNK]
        d = doc[c0: c0 + _CHUNK]
        phv = buf[:, : len(h)]
        np.multiply(a, h[None, :], out=phv)   # (perm, shingle): the min runs along contiguous memory
        np.add(phv, b, out=phv)
        starts = np.flatnonzero(np.r_[True, d[1:] != d[:-1]])
        mins = np.minimum.reduceat(phv, starts, axis=1).T
        docs = d[starts]
        out[docs] = np.minimum(out[docs], mins)
    return out


def reference_signatures(texts: pa.Array, params: MinHashParams) -> tuple[np.ndarray, np.ndarray]:
    """text_signatures with pyarrow + numpy only: the definition the compiled kernel must match, and the
    path for the documents it leaves out (not strictly valid UTF-8; non-ASCII ones too where
    native.unicode_rule_holds() fails for the running pyarrow)."""
    doc, h = shingle_hashes(texts, params.shingle)
    has = np.zeros(len(texts), bool)
    has[doc] = True
    return signatures_from_hashes(doc, h, len(texts), params.num_perm, params.seed), has


def text_signatures(texts: pa.Array, params: MinHashParams) -> tuple[np.ndarray, np.ndarray]:
    """Signatures of texts, and a mask of the texts that have at least one shingle.

    Computed by the compiled kernel (seedlib/dedup/native.py; ~10x faster on real code, bench/signatures.py),
    bit-identical to reference_signatures; the documents it flags are computed by reference_signatures and
    merged in place."""
    if params.shingle < 1 or params.shingle > len(_SHINGLE_MUL):
        raise ValueError(f"near_dedup_shingle: expected 1..{len(_SHINGLE_MUL)} words, got {params.shingle}")
    from seedlib.dedup import native  # numba: imported on first use, not by every importer of this module

    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    texts = texts.cast(pa.large_string())
    a, b = permutations(params.num_perm, params.seed)
    sigs, has, fallback = native.text_signatures(texts, params.num_perm, params.shingle, a, b, _SHINGLE_MUL)
    if fallback.any():
        rows = np.flatnonzero(fallback)
        sigs[rows], has[rows] = reference_signatures(texts.take(pa.array(rows)), params)
    return sigs, has


def signature_column(texts: pa.Array, params: MinHashParams) -> pa.Array:
    """Signatures of texts as an Arrow binary column, null for texts without a shingle."""
    sigs, has = text_signatures(texts, params)
    return _binary_where(sigs, has)


def _binary_where(sigs: np.ndarray, has: np.ndarray) -> pa.Array:
    """Rows of sigs as little-endian binary values where `has`, nulls elsewhere, built from buffers
    (a Python object per row cost about as much as the signatures themselves)."""
    width = sigs.shape[1] * 4
    offsets = np.zeros(len(sigs) + 1, np.int64)
    np.cumsum(has.astype(np.int64) * width, out=offsets[1:])
    if offsets[-1] > np.iinfo(np.int32).max:
        raise ValueError(f"signature_column: {len(sigs)} signatures of {width} bytes exceed a binary "
                         "column's 2 GiB; pass smaller batches")
    offsets = offsets.astype(np.int32)
    data = np.ascontiguousarray(sigs[has].astype("<u4")).tobytes()
    validity = None if has.all() else pa.py_buffer(np.packbits(has, bitorder="little").tobytes())
    return pa.Array.from_buffers(pa.binary(), len(sigs), [validity, pa.py_buffer(offsets.tobytes()),
                                                          pa.py_buffer(data)], null_count=int((~has).sum()))


def hex_values(hexes: list[str] | pa.Array) -> np.ndarray:
    """32-bit values of hex digests (their first 8 hex digits): the 'shingles' of a set of file hashes."""
    arr = pa.array(hexes, pa.string()) if not isinstance(hexes, (pa.Array, pa.ChunkedArray)) else hexes
    return np.asarray([int(x[:8], 16) for x in arr.to_pylist()], dtype=np.uint32)


def band_hashes(sigs: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(n, bands) int64 bucket ids: a 64-bit hash of each band's `rows` values."""
    n = sigs.shape[0]
    out = np.zeros((n, bands), np.uint64)
    with np.errstate(over="ignore"):
        for i in range(bands):
            acc = np.full(n, np.uint64(i) * np.uint64(0x9E3779B97F4A7C15), np.uint64)
            for j in range(rows):
                acc = fmix64(acc ^ sigs[:, i * rows + j].astype(np.uint64) * _SHINGLE_MUL[j % 8])
            out[:, i] = acc
    return out.view(np.int64)


def estimate(sig_a: np.ndarray, sig_b: np.ndarray) -> np.ndarray:
    """Row-wise Jaccard estimate of two (n, num_perm) signature arrays (datasketch's `jaccard`)."""
    return np.count_nonzero(sig_a == sig_b, axis=1) / sig_a.shape[1]


def sig_to_binary(sigs: np.ndarray) -> pa.Array:
    """Signatures as an Arrow binary column (little-endian uint32s)."""
    sigs = np.ascontiguousarray(sigs.astype("<u4"))
    width = sigs.shape[1] * 4
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), len(sigs), [None, pa.py_buffer(sigs.tobytes())]) \
        .cast(pa.binary())


def binary_to_sig(col: pa.Array, num_perm: int) -> np.ndarray:
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if len(col) == 0:
        return np.zeros((0, num_perm), np.uint32)
    width = num_perm * 4
    if col.null_count == 0 and col.type == pa.binary():  # straight from the buffers when every value is one row
        offsets = np.frombuffer(col.buffers()[1], np.int32, len(col) + 1, col.offset * 4)
        if (np.diff(offsets) == width).all():
            return np.frombuffer(col.buffers()[2], "<u4", len(col) * num_perm, int(offsets[0])).reshape(len(col), num_perm)
    raw = b"".join(col.to_pylist())
    return np.frombuffer(raw, dtype="<u4").reshape(len(col), num_perm)
