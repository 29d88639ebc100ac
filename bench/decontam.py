"""Benchmark of the decontam check (a program, not a test).

    .venv/bin/python bench/decontam.py [--mb 20] [--glob 'PATTERN/**/*.py']

On real code found on this machine (by default the first 20 MB of this Python's standard library, in path order; nothing
downloaded),
with the default index (HumanEval's 164 problems, word 10-grams), single-threaded:
- baseline: the plain implementation, per file `\\w+` words of the lower-cased text, each 10-gram hashed
  with blake2b (8 bytes) and looked up in a Python set of the benchmark's 10-gram digests;
- ours: seedlib.samples.decontam.ContaminationFilter on an Arrow table (vocabulary ids, numpy hashes of
  the windows that hold only benchmark words, searchsorted);
- the floor: the regex findall alone, which both do.
Prints absolute MB/s with the machine, the ratio against the baseline, and the files each flagged.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import os
import platform
import sys
import sysconfig
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from seedlib import datasets  # noqa: E402
from seedlib.config import load_config  # noqa: E402
from seedlib.samples import decontam  # noqa: E402


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def corpus(pattern: str, mb: float) -> list[dict]:
    rows, total = [], 0
    for path in sorted(glob.glob(pattern, recursive=True)):
        try:
            data = Path(path).read_bytes()
            text = data.decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        rows.append({"repo": "bench/stdlib", "path": path, "lang": "Python", "size": len(data),
                     "sha256": hashlib.sha256(data).hexdigest(), "content": text})
        total += len(data)
        if total >= mb * 1e6:
            break
    return rows


def baseline_index(index: decontam.Index) -> set[bytes]:
    """The benchmark's indexed 10-grams as blake2b digests (the same n-grams ours indexes)."""
    digests = set()
    for source in decontam.sources(load_config({"storage": "/tmp/unused"}, {})):
        for _, text in decontam.parse(source):
            found = decontam.words(text)
            for i in decontam.distinctive(found, index.n):
                digests.add(hashlib.blake2b(" ".join(found[i:i + index.n]).encode(), digest_size=8).digest())
    return digests


def baseline_hit(digests: set[bytes], text: str, n: int) -> bool:
    found = decontam.WORD.findall(text.lower())
    return any(hashlib.blake2b(" ".join(found[i:i + n]).encode(), digest_size=8).digest() in digests
               for i in range(len(found) - n + 1))


def best_of(k: int, fn) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(k):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=20.0)
    parser.add_argument("--glob", default=sysconfig.get_paths()["stdlib"] + "/**/*.py",
                        help="files to check (default: this Python's standard library)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    rows = corpus(args.glob, args.mb)
    mb = sum(r["size"] for r in rows) / 1e6
    table = datasets.table("files", rows)
    t = time.perf_counter()
    index = decontam.build_index(load_config({"storage": "/tmp/unused"}, {}))
    build_s = time.perf_counter() - t
    digests = baseline_index(index)
    texts = [r["content"] for r in rows]
    print(f"machine: {machine()}")
    print(f"corpus: {len(rows)} files, {mb:.1f} MB from {args.glob}")
    print(f"index: {len(index.problems)} problems, {len(index)} 10-grams, {len(index.vocab)} words, "
          f"built in {build_s * 1000:.0f} ms")

    floor_s, _ = best_of(args.repeat, lambda: [decontam.WORD.findall(x.lower()) for x in texts])
    base_s, base = best_of(1, lambda: sum(baseline_hit(digests, x, index.n) for x in texts))
    ours_s, out = best_of(args.repeat, lambda: decontam.ContaminationFilter(index)(table))
    _, dropped, details = out
    print(f"findall alone (floor): {mb / floor_s:6.1f} MB/s")
    print(f"baseline blake2b+set : {mb / base_s:6.1f} MB/s  ({base} files hit)")
    print(f"ours (filter)        : {mb / ours_s:6.1f} MB/s  ({len(dropped)} files hit, {details})")
    print(f"ours / baseline      : {base_s / ours_s:.2f}x; ours at {floor_s / ours_s:.0%} of the findall floor")


if __name__ == "__main__":
    main()
