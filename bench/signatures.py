"""Micro-benchmark of MinHash signatures: the compiled kernel (seedlib/dedup/native.py) against the
pyarrow + numpy reference path (minhash.reference_signatures), on the same real source files, in one
process and on one core, checking on the way that both give the same bits.

Corpus: the .py/.c/.h files of the venv's site-packages (sorted paths, read until --mb), in batches of
--batch files, as near_dedup's Arrow batches would hold them.

    .venv/bin/python bench/signatures.py [--mb 150] [--batch 2000] [--num-perm 256] [--shingle 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seedlib.dedup import minhash  # noqa: E402


def corpus(mb: float) -> list[str]:
    """Real source text: site-packages .py/.c/.h files in path order until `mb` megabytes."""
    root = Path(sys.prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    texts, size = [], 0
    for path in sorted(p for p in root.rglob("*") if p.suffix in (".py", ".c", ".h") and p.is_file()):
        text = path.read_bytes().decode("utf-8", errors="replace")
        texts.append(text)
        size += len(text.encode())
        if size >= mb * 1e6:
            break
    return texts


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def timed(fn, batches) -> tuple[float, list]:
    """CPU seconds of this process for fn over all batches (the per-core cost), and the results."""
    t0 = time.process_time()
    out = [fn(b) for b in batches]
    return time.process_time() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=150)
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--num-perm", type=int, default=256)
    ap.add_argument("--shingle", type=int, default=5)
    args = ap.parse_args()
    params = minhash.MinHashParams(num_perm=args.num_perm, shingle=args.shingle)

    texts = corpus(args.mb)
    batches = [pa.array(texts[i: i + args.batch], pa.large_string()) for i in range(0, len(texts), args.batch)]
    mb = sum(b.nbytes for b in batches) / 1e6   # text bytes + offsets: within 0.1% of the text bytes
    ascii_docs = sum(t.isascii() for t in texts)
    print(f"machine: {cpu_model()}, {os.cpu_count()} cpus, load average {os.getloadavg()[0]:.1f}, python "
          f"{platform.python_version()}; corpus: {len(texts)} files, {mb:.1f} MB, {ascii_docs / len(texts):.1%} "
          f"pure ASCII; {len(batches)} batches of {args.batch}; num_perm={args.num_perm}, k={args.shingle}")

    t0 = time.perf_counter()
    minhash.text_signatures(pa.array(["warm up the kernel: compile or load the cache"]), params)
    print(f"kernel first call (import + compile or cache load + pyarrow check): {time.perf_counter() - t0:.2f} s")

    ref_s, ref = timed(lambda b: minhash.reference_signatures(b, params), batches)
    nat_s, nat = timed(lambda b: minhash.text_signatures(b, params), batches)
    same = all((r[0] == n[0]).all() and (r[1] == n[1]).all() for r, n in zip(ref, nat))
    for name, secs in (("reference (pyarrow+numpy)", ref_s), ("native kernel", nat_s)):
        rate = mb / secs
        print(f"{name:>26}: {secs:7.2f} CPU s  {rate:7.1f} MB/s per core  {rate * 3600 / 1000:6.1f} GB/core-hour")
    print(f"speed-up: {ref_s / nat_s:.2f}x; signatures and masks bit-identical: {same}")
    if not same:
        raise SystemExit("native signatures differ from the reference")


if __name__ == "__main__":
    main()
