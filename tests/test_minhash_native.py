"""The compiled kernels (seedlib/dedup/native.py) give exactly the reference paths' values.

The published dedup index stores signatures and whitespace hashes, so "close" is a bug: every test compares
the kernel's signatures and `has` masks element for element with minhash.reference_signatures (pyarrow +
numpy), and its whitespace hashes with index.reference_whitespace_hashes (`" ".join(text.split())`).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from seedlib.dedup import index, minhash, native

P = minhash.MinHashParams()

TRICKY = [
    "", None, "   ", "()[]{};:,.<>/?\\|!@#$%^&*-+=~`'\"", "x", "a b", "a b c d", "a b c d e", "a b c d e f",
    "Hello, World! HELLO world", "line one\r\nline two\r\n\r\n", "nul\x00inside\x00\x00bytes", "\x00",
    "café naïve Ünïcode ÀÉÎÕÜ ß straße", "日本語のテキスト abc 中文 def", "emoji 🎉 party 🐍python🐍 ok",
    "kelvin \u212a and \u212aelvin 5\u212a", "\u0130stanbul \u0130 I\u0130i", "mixed\u212a\u0130\u212a",
    "combining e\u0301 a\u0308 x", "\u00b2 superscript \u0660 arabic digit \uff21 fullwidth", "\u212b angstrom",
    "under_score __dunder__ _ __", "0123 4567 89 0x1F 1e-9", "tab\tseparated\tvalues\vform\ffeed",
    "\ufeffbom at start", "\U0010ffff last code point", "a" * 12_000, "b" * 20_000 + " tail " + "C" * 15_000,
    "long " + "x9_" * 5000 + " end", "\r\n".join(["def f(x):", "    return x * 2", ""]) * 50,
]


def assert_same(texts, params: minhash.MinHashParams = P) -> tuple[np.ndarray, np.ndarray]:
    sigs, has = minhash.text_signatures(texts, params)
    ref, ref_has = minhash.reference_signatures(texts, params)
    assert sigs.dtype == ref.dtype == np.uint32 and sigs.shape == ref.shape == (len(texts), params.num_perm)
    assert has.tolist() == ref_has.tolist()
    mismatched = np.flatnonzero((sigs != ref).any(axis=1))
    assert mismatched.size == 0, [texts[int(i)] for i in mismatched[:3]]
    return sigs, has


def test_the_pinned_pyarrow_lowers_and_splits_as_the_kernel_assumes():
    # The proof behind the non-ASCII path, on every code point; if a pyarrow upgrade breaks it, the kernel
    # takes only pure-ASCII documents (test_without_the_unicode_rule_non_ascii_documents_fall_back).
    assert native.unicode_rule_holds()


def test_real_python_files_are_bit_identical():
    root = Path(sys.prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    files = sorted(root.rglob("*.py"))
    chosen = files[:: max(1, len(files) // 3000)][:3000]
    texts = [p.read_bytes().decode("utf-8", errors="replace") for p in chosen]
    assert len(texts) >= 2000 and sum(not t.isascii() for t in texts) >= 10   # non-ASCII files included
    for start in range(0, len(texts), 1000):
        batch = pa.array(texts[start: start + 1000], pa.large_string())
        _, has = assert_same(batch)
        assert has.sum() >= 0.9 * len(batch)
        a, b = minhash.permutations(P.num_perm)
        *_, fallback = native.text_signatures(batch, P.num_perm, P.shingle, a, b, minhash._SHINGLE_MUL)
        assert not fallback.any()   # all valid UTF-8: the kernel computed every one of them


@pytest.mark.parametrize("k", range(1, 9))
def test_edge_cases_for_every_shingle_width(k):
    params = minhash.MinHashParams(num_perm=64, shingle=k)
    sigs, has = assert_same(pa.array(TRICKY, pa.large_string()), params)
    assert has.tolist()[:5] == [False, False, False, False, True]   # "", None, blanks, punctuation, "x"
    assert (sigs[~has] == np.uint32(0xFFFFFFFF)).all()


def test_string_large_string_chunked_and_sliced_inputs():
    plain = pa.array(TRICKY, pa.string())
    large = pa.array(TRICKY, pa.large_string())
    want, want_has = assert_same(large)
    for texts in (plain, pa.chunked_array([plain[:7], plain[7:]])):
        sigs, has = minhash.text_signatures(texts, P)
        assert (sigs == want).all() and has.tolist() == want_has.tolist()
    for texts in (large[5:], plain[3:20], large[9:10], large[len(large):]):
        assert texts.offset > 0 or len(texts) == 0
        sigs, has = assert_same(texts)
        assert (sigs == want[texts.offset: texts.offset + len(texts)]).all()


def test_a_null_slot_with_bytes_behind_it_has_no_signature():
    raw = b"some words that are hidden behind a null slot" + b"visible words here and more"
    offsets = np.array([0, 45, len(raw)], np.int64)
    validity = pa.py_buffer(np.packbits([0, 1], bitorder="little").tobytes())
    texts = pa.Array.from_buffers(pa.large_string(), 2, [validity, pa.py_buffer(offsets.tobytes()), pa.py_buffer(raw)],
                                  null_count=1)
    sigs, has = assert_same(texts)
    assert has.tolist() == [False, True] and (sigs[0] == np.uint32(0xFFFFFFFF)).all()


def _raw_strings(chunks: list[bytes]) -> pa.Array:
    offsets = np.cumsum([0] + [len(c) for c in chunks]).astype(np.int64)
    return pa.Array.from_buffers(pa.large_string(), len(chunks),
                                 [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(b"".join(chunks))])


@pytest.mark.parametrize("bad", [b"\xed\xa0\x80 surrogate", b"\xc0\xaf overlong", b"\xf4\x90\x80\x80 too big",
                                 b"\xe0\x80\x80 overlong three"])
def test_utf8_the_kernel_rejects_goes_to_the_reference_path(bad):
    # pyarrow decodes these leniently (no error); the kernel is strict and hands them over, so they agree.
    texts = _raw_strings([b"fine words here", bad + b" and words after it", "caf\u00e9 ok".encode()])
    a, b = minhash.permutations(P.num_perm)
    *_, fallback = native.text_signatures(texts, P.num_perm, P.shingle, a, b, minhash._SHINGLE_MUL)
    assert fallback.tolist() == [False, True, False]
    assert_same(texts)


@pytest.mark.parametrize("bad", [b"a\xffb", b"truncated \xe2\x84", b"\x80 stray continuation"])
def test_invalid_utf8_raises_as_it_always_did(bad):
    texts = _raw_strings([b"fine words", bad])
    with pytest.raises(pa.ArrowInvalid, match="Invalid UTF8"):
        minhash.reference_signatures(texts, P)
    with pytest.raises(pa.ArrowInvalid, match="Invalid UTF8"):
        minhash.text_signatures(texts, P)


def test_without_the_unicode_rule_non_ascii_documents_fall_back(monkeypatch):
    monkeypatch.setattr(native, "unicode_rule_holds", lambda: False)
    texts = pa.array(TRICKY, pa.large_string())
    a, b = minhash.permutations(64)
    *_, fallback = native.text_signatures(texts, 64, 5, a, b, minhash._SHINGLE_MUL)
    assert fallback.tolist() == [t is not None and not t.isascii() for t in TRICKY]
    assert_same(texts, minhash.MinHashParams(num_perm=64))


def test_random_batches_of_awkward_characters():
    rng = random.Random(15)
    pieces = ["a", "B", "z9", "_", "Ab_1", " ", "\n", "\r\n", "\t", ".", "(", "::", "\x00", "é", "É", "ß", "\u212a",
              "\u0130", "ı", "日本", "🐍", "\u0301", "\u2028", "\u00a0", "ǅ", "ﬁ", "Σ", "ς", "\u10d0", "𝐀", ""]
    for _ in range(60):
        texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 40))) for _ in range(rng.randint(1, 30))]
        texts = [None if rng.random() < 0.05 else t for t in texts]
        params = minhash.MinHashParams(num_perm=rng.choice([1, 16, 128]), shingle=rng.randint(1, 8),
                                       seed=rng.choice([1, 42]))
        assert_same(pa.array(texts, rng.choice([pa.string(), pa.large_string()])), params)


def test_signatures_equal_datasketch_on_the_reference_shingles():
    from datasketch import MinHash

    texts = pa.array(["def foo(x):\n    return x + 1\n", "hi", "", None, "a b c d e f g h " * 3, "\u212aelvin café"])
    sigs, has = minhash.text_signatures(texts, minhash.MinHashParams(num_perm=64))
    doc, hashes = minhash.shingle_hashes(texts, 5)
    assert has.tolist() == [True, True, False, False, True, True]
    for i in range(len(texts)):
        m = MinHash(num_perm=64, seed=1, hashfunc=lambda v: v)
        m.update_batch([int(v) for v in hashes[doc == i]])
        assert (m.hashvalues == sigs[i]).all()


def test_a_bad_shingle_width_is_named():
    for k in (0, 9):
        with pytest.raises(ValueError, match="near_dedup_shingle"):
            minhash.text_signatures(pa.array(["a b c"]), minhash.MinHashParams(shingle=k))


def test_kernels_compile_without_a_cache_location():
    # A function numba cannot cache (no file behind it, as in a read-only image without a user cache)
    # still compiles: per process, instead of raising at import.
    scope: dict = {}
    exec("def twice(x):\n    return x * 2\n", scope)
    assert native._jit(scope["twice"])(21) == 42


def test_signature_column_is_the_binary_of_each_signature_or_null():
    texts = pa.array(TRICKY, pa.large_string())
    sigs, has = minhash.reference_signatures(texts, P)
    want = pa.array([s.astype("<u4").tobytes() if h else None for s, h in zip(sigs, has)], pa.binary())
    col = minhash.signature_column(texts, P)
    col.validate(full=True)
    assert col.equals(want) and col.null_count == int((~has).sum()) > 0
    assert minhash.signature_column(pa.array(["a b c d e"]), P).null_count == 0
    assert len(minhash.signature_column(pa.array([], pa.string()), P)) == 0


# ---------- whitespace hashes ----------

EVERY_SPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())


def assert_same_whitespace(texts) -> list[str]:
    got = index.whitespace_hashes(texts).to_pylist()
    assert got == index.reference_whitespace_hashes(texts)
    return got


def test_whitespace_hashes_equal_the_definition_on_real_files_and_edge_cases():
    root = Path(sys.prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    files = sorted(root.rglob("*.py"))
    texts = [p.read_bytes().decode("utf-8", errors="replace") for p in files[:: max(1, len(files) // 2000)][:2000]]
    assert sum(not t.isascii() for t in texts) >= 5
    assert_same_whitespace(pa.array(texts, pa.large_string()))
    edge = TRICKY + [EVERY_SPACE, "a" + EVERY_SPACE + "b", EVERY_SPACE.join("word" for _ in range(5)),
                     " lead", "trail ", "\u3000wide\u3000space\u3000", "a​b zero-width is not a space",
                     "\x85next-line\xa0nbsp\u2028ls\u2029ps\u202f\u205f", "x\x1c\x1d\x1e\x1fy"]
    hashes = assert_same_whitespace(pa.array(edge, pa.string()))
    assert hashes[edge.index("a" + EVERY_SPACE + "b")] == index.reference_whitespace_hashes(pa.array(["a b"]))[0]
    assert hashes[TRICKY.index(None)] == hashes[TRICKY.index("")] == hashes[TRICKY.index("   ")]
    large = pa.array(edge, pa.large_string())
    for sliced in (large[3:], large[10:11], large[len(large):], pa.chunked_array([large[:4], large[4:]])):
        assert_same_whitespace(sliced)


def test_whitespace_hashes_of_random_awkward_texts_and_strict_utf8():
    rng = random.Random(5)
    pieces = ["a", "Z9", " ", "  ", "\n", "\r\n", "\t", "\x0b", "\x0c", "\x1c", "\x85", "\xa0", "\u1680", "\u2003",
              "\u2028", "\u3000", "\u200b", "é", "日本", "🐍", "\x00", "ǅ", ""]
    for _ in range(80):
        texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 30))) for _ in range(rng.randint(1, 25))]
        texts = [None if rng.random() < 0.05 else t for t in texts]
        assert_same_whitespace(pa.array(texts, rng.choice([pa.string(), pa.large_string()])))
    # Sequences the kernel does not accept as strict UTF-8 take the definition's path, whatever it does.
    texts = _raw_strings([b"fine  words", "caf\u00e9\u00a0ok".encode()])
    out, offsets, fallback = native.collapse_whitespace(texts)
    assert fallback.tolist() == [False, False] and bytes(out[offsets[0]: offsets[1]]) == b"fine words"
    *_, fallback = native.collapse_whitespace(_raw_strings([b"ok", b"\xc0\xaf overlong", b"a\xffb"]))
    assert fallback.tolist() == [False, True, True]
