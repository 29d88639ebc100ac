"""Fill-in-the-middle on file-level samples, in SPM order with the Seed-Coder report's markers.

A file of n characters (Unicode code points: Python `str` indices, so a split never falls inside a UTF-8
sequence or a surrogate pair) becomes, when chosen,

    <[fim-suffix]>SUFFIX<[fim-prefix]>PREFIX<[fim-middle]>MIDDLE

where PREFIX + MIDDLE + SUFFIX is the file. Both the choice and the split points are a function of the
file's sha256 only (and of the copy number when a weight above 1 writes a file more than once), so every
rerun, on any machine, FIMs the same files at the same places:

    seed     = sha256                       (copy 0)      sha256 + ":" + str(copy)   (copies 1, 2, ...)
    chosen   = u("rate") < fim_rate
    i, j     = floor(u("begin") * (n + 1)), floor(u("end") * (n + 1));  a, b = min(i, j), max(i, j)
    prefix, middle, suffix = text[:a], text[a:b], text[b:]

with u(label) = the first 8 bytes of SHA-256(label + "\\0" + seed) as a big-endian integer / 2**64.
"""

from __future__ import annotations

import hashlib

SUFFIX, PREFIX, MIDDLE = "<[fim-suffix]>", "<[fim-prefix]>", "<[fim-middle]>"
MARKERS = (SUFFIX, PREFIX, MIDDLE)


def unit(label: str, seed: str) -> float:
    """A number in [0, 1) that depends only on (label, seed)."""
    digest = hashlib.sha256(f"{label}\x00{seed}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def seed_of(sha256: str, copy: int = 0) -> str:
    return sha256 if copy == 0 else f"{sha256}:{copy}"


def chosen(seed: str, rate: float) -> bool:
    """Whether the file (copy) of this seed becomes a FIM sample at `rate`."""
    return rate > 0 and unit("rate", seed) < rate


def split_points(seed: str, n: int) -> tuple[int, int]:
    """(a, b) with 0 <= a <= b <= n: prefix = text[:a], middle = text[a:b], suffix = text[b:]."""
    i, j = int(unit("begin", seed) * (n + 1)), int(unit("end", seed) * (n + 1))
    return min(i, j, n), min(max(i, j), n)


def spm(text: str, a: int, b: int) -> str:
    """The SPM sample of `text` split at (a, b)."""
    return f"{SUFFIX}{text[b:]}{PREFIX}{text[:a]}{MIDDLE}{text[a:b]}"


def apply(text: str, sha256: str, rate: float, copy: int = 0) -> tuple[str, bool]:
    """(the sample's text, whether it is a FIM sample) for one copy of a file."""
    seed = seed_of(sha256, copy)
    if not chosen(seed, rate):
        return text, False
    a, b = split_points(seed, len(text))
    return spm(text, a, b), True


def restore(sample: str) -> str:
    """The original file of an SPM sample (the inverse of `spm`): prefix + middle + suffix.

    Exact for files that do not themselves contain the marker strings (the first PREFIX ends the suffix,
    the first MIDDLE after it ends the prefix); rows say whether they are FIM samples (`fim`), so a reader
    never has to guess from the text."""
    if not sample.startswith(SUFFIX):
        raise ValueError("not an SPM sample: it does not start with " + SUFFIX)
    p = sample.index(PREFIX, len(SUFFIX))
    m = sample.index(MIDDLE, p + len(PREFIX))
    suffix, prefix, middle = sample[len(SUFFIX):p], sample[p + len(PREFIX):m], sample[m + len(MIDDLE):]
    return prefix + middle + suffix
