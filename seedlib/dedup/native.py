"""Compiled MinHash signatures: one pass per document over the Arrow buffers, bit-identical to minhash.py.

`seedlib.dedup.minhash` computes signatures with pyarrow + numpy over a whole batch (lower-case, split on
RE2's `\\W+`, dictionary-encode, hash, window, permute). That is the reference, and the published dedup index
stores its values, so this kernel must reproduce them exactly; it does the same arithmetic in one streaming
pass per document instead of materialising tokens, shingles and (shingle x permutation) blocks:

- characters: pyarrow lower-cases with utf8proc's per-code-point simple mapping and RE2's `\\w` is ASCII
  `[0-9A-Za-z_]`, so after lowering a word character is `[0-9a-z_]`, `A-Z` become `a-z`, and of all non-ASCII
  code points only U+0130 (-> `i`) and U+212A KELVIN SIGN (-> `k`) lower to a word character; every other one
  separates words. `unicode_rule_holds()` checks that claim against the running pyarrow once per process
  (every code point); where it fails, only pure-ASCII documents are computed here.
- a document that is not strictly valid UTF-8 is not computed here: it is flagged, and the caller gives it
  to the reference path (which raises exactly as it always did).
- tokens, shingles, the short-document rule, fmix64/fmix32 and datasketch's affine32 permutations are the
  formulas of minhash.py, written with explicit 64-bit wrap-around and 32-bit masks.

Compilation: `cache=True` keeps the machine code in the module's `__pycache__`, or, when that is not writable
(a read-only image), numba's own fallback, the user cache (`~/.cache/numba`); `NUMBA_CACHE_DIR` overrides both.
Where no cache location is writable at all, the kernel compiles on first use in each process (a few seconds;
Spark reuses its Python workers, so once per worker).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit


def _jit(fn):
    """njit with an on-disk cache where numba finds a writable place for one, else compile per process."""
    try:
        return njit(cache=True, nogil=True)(fn)
    except RuntimeError:  # numba: "cannot cache function ...: no locator available"
        return njit(cache=False, nogil=True)(fn)


_M32 = np.uint64(0xFFFFFFFF)
_P = np.uint64(0x100000001B3)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _ascii_word_table() -> np.ndarray:
    """Per ASCII byte: its lower-case form if it is a word character ([0-9A-Za-z_]), else -1."""
    table = np.full(128, -1, np.int64)
    for ch in "0123456789_abcdefghijklmnopqrstuvwxyz":
        table[ord(ch)] = ord(ch)
    for ch in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        table[ord(ch)] = ord(ch.lower())
    return table


_ASCII_WORD = _ascii_word_table()   # a global array: numba freezes it into the compiled code


@_jit
def _fmix64(h):
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


@_jit
def _fmix32(h):
    """MurmurHash3's 32-bit finaliser on a value < 2**32 held in 64 bits (the low 32 bits of a product
    depend only on the low 32 bits of its factors, so masking after each multiply is 32-bit arithmetic)."""
    h = h ^ (h >> np.uint64(16))
    h = (h * np.uint64(0x85EBCA6B)) & _M32
    h = h ^ (h >> np.uint64(13))
    h = (h * np.uint64(0xC2B2AE35)) & _M32
    return h ^ (h >> np.uint64(16))


@_jit
def _utf8_length(data, j, end):
    """Byte length of the strictly valid UTF-8 sequence starting at data[j] (>= 0x80), or 0 if invalid:
    no overlong forms, no surrogates, nothing above U+10FFFF, no truncated sequence."""
    b0 = data[j]
    if 0xC2 <= b0 <= 0xDF:
        n, lo, hi = 2, 0x80, 0xBF
    elif b0 == 0xE0:
        n, lo, hi = 3, 0xA0, 0xBF
    elif 0xE1 <= b0 <= 0xEC or 0xEE <= b0 <= 0xEF:
        n, lo, hi = 3, 0x80, 0xBF
    elif b0 == 0xED:
        n, lo, hi = 3, 0x80, 0x9F
    elif b0 == 0xF0:
        n, lo, hi = 4, 0x90, 0xBF
    elif 0xF1 <= b0 <= 0xF3:
        n, lo, hi = 4, 0x80, 0xBF
    elif b0 == 0xF4:
        n, lo, hi = 4, 0x80, 0x8F
    else:
        return 0
    if j + n > end:
        return 0
    b1 = data[j + 1]
    if b1 < lo or b1 > hi:
        return 0
    for q in range(j + 2, j + n):
        if data[q] < 0x80 or data[q] > 0xBF:
            return 0
    return n


@_jit
def _shingle_min(row, acc, a, b):
    """Fold a window's accumulator into the document's signature row: fmix64, xor-fold to 32 bits,
    fmix32, then min over the affine32 permutations a*h + b mod 2**32."""
    h = _fmix64(acc)
    m = np.uint32(_fmix32((h >> np.uint64(32)) ^ (h & _M32)))
    for p in range(row.shape[0]):   # branch-free uint32 min: LLVM vectorises it (a branch here costs ~8x)
        row[p] = min(row[p], np.uint32(a[p] * m + b[p]))


@_jit
def _signatures(offsets, data, valid, k, a, b, mul, unicode_ok, out, has, fallback):
    """Fill out (all-ones on entry), has and fallback for every document of a large_string array."""
    ring = np.zeros(8, np.uint64)   # the last k token hashes, oldest first
    for i in range(offsets.shape[0] - 1):
        if not valid[i]:
            continue
        row = out[i]
        end = offsets[i + 1]
        j = offsets[i]
        count = 0                   # tokens so far
        h = np.uint64(0)            # hash of the token being read
        pw = _P
        tl = 0                      # its length in bytes
        bad = False
        while True:
            c = -1                  # the next character: a lower-case word byte, or -1 for a separator / end
            if j < end:
                byte = data[j]
                if byte < 0x80:
                    j += 1
                    c = _ASCII_WORD[byte]
                else:
                    n = _utf8_length(data, j, end) if unicode_ok else 0
                    if n == 0:
                        bad = True
                        break
                    if n == 2 and byte == 0xC4 and data[j + 1] == 0xB0:                           # U+0130
                        c = 0x69
                    elif n == 3 and byte == 0xE2 and data[j + 1] == 0x84 and data[j + 2] == 0xAA:  # U+212A
                        c = 0x6B
                    j += n
            if c >= 0:
                h += (np.uint64(c) + np.uint64(1)) * pw
                pw *= _P
                tl += 1
                continue
            if tl > 0:
                t = _fmix64(h + np.uint64(tl) * _GOLDEN)
                for q in range(k - 1):
                    ring[q] = ring[q + 1]
                ring[k - 1] = t
                count += 1
                if count >= k:
                    acc = np.uint64(0)
                    for q in range(k):
                        acc += ring[q] * mul[q]
                    _shingle_min(row, acc, a, b)
                h = np.uint64(0)
                pw = _P
                tl = 0
            if j >= end:
                break
        if bad:
            row[:] = _M32
            fallback[i] = True
            continue
        if 0 < count < k:           # a document shorter than k tokens is one shingle of all its tokens
            acc = np.uint64(0)
            for q in range(count):
                acc += ring[k - count + q] * mul[q]
            _shingle_min(row, acc, a, b)
        has[i] = count > 0


@lru_cache(maxsize=1)
def unicode_rule_holds() -> bool:
    """Whether the running pyarrow lowers and splits exactly as the kernel assumes, checked on every code
    point: ASCII letters lower to ASCII, RE2's \\w is [0-9a-z_] after lowering, and of the non-ASCII code
    points only U+0130 and U+212A lower to an ASCII (word) character while all others stay non-ASCII."""
    ascii_ = pa.array([chr(c) for c in range(128)], pa.large_string())
    lowered = pc.utf8_lower(ascii_).to_pylist()
    word = pc.match_substring_regex(pc.utf8_lower(ascii_), r"^\w$").to_pylist()
    for c in range(128):
        ch = chr(c)
        if lowered[c] != (ch.lower() if "A" <= ch <= "Z" else ch):
            return False
        if word[c] != (ch.isascii() and (ch.isalnum() or ch == "_")):
            return False
    points = np.arange(0x80, 0x110000, dtype=np.uint32)
    others = points[(points < 0xD800) | (points >= 0xE000)].tobytes().decode("utf-32-le")
    low = pc.utf8_lower(pa.array([others], pa.large_string()))[0].as_py()
    if len(low) != len(others):
        return False
    src = np.frombuffer(others.encode("utf-32-le"), np.uint32)
    dst = np.frombuffer(low.encode("utf-32-le"), np.uint32)
    to_ascii = dict(zip(src[dst < 128].tolist(), dst[dst < 128].tolist()))
    if to_ascii != {0x130: ord("i"), 0x212A: ord("k")}:
        return False
    rest = low.replace("i", "").replace("k", "")
    return pc.count_substring_regex(pa.array([rest]), r"\w")[0].as_py() == 0


def text_signatures(texts: pa.Array, num_perm: int, k: int, a: np.ndarray, b: np.ndarray,
                    mul: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(signatures, has a shingle, needs the reference path) of a large_string array, one row per text.

    `a`, `b` are the affine32 permutations and `mul` the window multipliers (minhash.py owns both);
    rows flagged in the third array are all-ones here and must be computed by the reference path."""
    n = len(texts)
    out = np.full((n, num_perm), np.uint32(0xFFFFFFFF), np.uint32)
    has = np.zeros(n, bool)
    fallback = np.zeros(n, bool)
    if n == 0:
        return out, has, fallback
    buffers = texts.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64)[texts.offset: texts.offset + n + 1]
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.zeros(0, np.uint8)
    valid = np.ones(n, bool) if texts.null_count == 0 else np.asarray(texts.is_valid(), dtype=bool)
    _signatures(offsets, data, valid, k, a.astype(np.uint32), b.astype(np.uint32), mul, unicode_rule_holds(),
                out, has, fallback)
    return out, has, fallback


# ---------- whitespace-collapsed text (the `whitespace` exact key and the dedup index's ws_sha256) ----------

@lru_cache(maxsize=1)
def _python_whitespace() -> tuple[np.ndarray, np.ndarray]:
    """(per ASCII byte: is it whitespace, the non-ASCII whitespace code points), both as str.split() has
    them in the running Python (str.isspace), so the kernel splits exactly where Python does."""
    ascii_ws = np.array([chr(c).isspace() for c in range(128)], np.bool_)
    others = np.array([c for c in range(0x80, 0x110000) if chr(c).isspace()], np.int64)
    return ascii_ws, others


@_jit
def _collapse(offsets, data, valid, ascii_ws, other_ws, out, out_offsets, fallback):
    pos = 0
    for i in range(len(offsets) - 1):
        out_offsets[i] = pos
        if not valid[i]:
            continue
        begin, end = offsets[i], offsets[i + 1]
        written, pending = False, False
        j = begin
        while j < end:
            b = data[j]
            n = 1
            if b < 0x80:
                space = ascii_ws[b]
            else:
                n = _utf8_length(data, j, end)
                if n == 0:
                    break
                cp = b & (0x1F if n == 2 else (0x0F if n == 3 else 0x07))
                for q in range(j + 1, j + n):
                    cp = (cp << 6) | (data[q] & 0x3F)
                space = False
                for w in other_ws:
                    if w == cp:
                        space = True
            if space:
                pending = written
            else:
                if pending:
                    out[pos] = 32
                    pos += 1
                    pending = False
                for q in range(j, j + n):
                    out[pos] = data[q]
                    pos += 1
                written = True
            j += n
        if j < end:  # invalid UTF-8: the caller computes this text with Python
            fallback[i] = True
            pos = out_offsets[i]
    out_offsets[len(offsets) - 1] = pos


def collapse_whitespace(texts: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bytes, offsets, needs Python) of `" ".join(text.split())` UTF-8-encoded for each text of a
    large_string array (null: empty); flagged texts are not strictly valid UTF-8 and left empty here."""
    n = len(texts)
    buffers = texts.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64)[texts.offset: texts.offset + n + 1]
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.zeros(0, np.uint8)
    valid = np.ones(n, bool) if texts.null_count == 0 else np.asarray(texts.is_valid(), dtype=bool)
    out = np.empty(max(0, int(offsets[-1] - offsets[0])) if n else 0, np.uint8)
    out_offsets = np.zeros(n + 1, np.int64)
    fallback = np.zeros(n, bool)
    ascii_ws, other_ws = _python_whitespace()
    if n:
        _collapse(offsets, data, valid, ascii_ws, other_ws, out, out_offsets, fallback)
    return out, out_offsets, fallback
