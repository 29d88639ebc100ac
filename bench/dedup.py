"""Benchmark of near dedup on real code found on this machine (the venv's site-packages, which holds
pip's vendored copies beside the originals; then older versions of the same files from every pyenv
Python's standard library, the JDK's sources and the system headers, for the larger stage run).
datatrove's MinHash dedup is a second baseline when installed (`pip install -r bench/requirements.txt`).

Quality: precision/recall of near-duplicate pairs against exact shingle Jaccard computed by brute force
(a sparse docs x shingles product gives every pair's intersection). Speed: our batch signatures and the
whole near_dedup stage on Spark, against datasketch's own MinHash + MinHashLSH in one Python process on
the same corpus and parameters.

    .venv/bin/python bench/dedup.py [--mb 40] [--stage-mb 40] [--no-stage]
    .venv/bin/python bench/dedup.py --profile --stage-mb 60     # where the stage's time goes (profile_stage.py)
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import hashlib
import io
import os
import platform
import re
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seedlib.dedup import minhash  # noqa: E402
from seedlib.dedup import driver  # noqa: E402


def _sources():
    """(name, bytes) of real code on this machine, in a fixed order: the venv's site-packages (pip's vendored
    copies beside the originals), every pyenv Python's standard library (older versions of the same files),
    the JDK's src.zip, then the system headers. Missing sources are skipped."""
    site = Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    roots = [(site, "**/*.py")] + [(Path(p), "**/*.py") for p in sorted(glob.glob(
        os.path.expanduser("~/.pyenv/versions/*/lib/python*")))]
    for root, pattern in roots:
        for path in sorted(glob.glob(str(root / pattern), recursive=True)):
            if "site-packages" in path and root != site:
                continue
            try:
                yield os.path.relpath(path, root.parent), Path(path).read_bytes()
            except OSError:
                continue
    for z in sorted({os.path.realpath(z) for z in glob.glob("/usr/lib/jvm/*/lib/src.zip") if os.path.isfile(z)}):
        with zipfile.ZipFile(z) as archive:
            for info in sorted(archive.infolist(), key=lambda i: i.filename):
                if info.filename.endswith(".java"):
                    yield f"{Path(z).parts[4]}/{info.filename}", archive.read(info)
    for path in sorted(glob.glob("/usr/include/**/*.h", recursive=True)):
        try:
            yield os.path.relpath(path, "/usr"), Path(path).read_bytes()
        except OSError:
            continue


def corpus(mb: float, max_file: int = 200_000) -> list[tuple[str, str]]:
    out, total = [], 0
    for name, data in _sources():
        if not data or len(data) > max_file:
            continue
        out.append((name, data.decode("utf-8", "replace")))
        total += len(data)
        if total >= mb * 1e6:
            break
    return out


def datatrove_baseline(texts: list[str], params: minhash.MinHashParams) -> float | None:
    """Seconds for datatrove's 4-step MinHash dedup (signatures, buckets, clusters, filter) with the same
    shingle width and bands x rows, one worker; None when datatrove is not installed (it is optional:
    `pip install -r bench/requirements.txt`)."""
    try:
        from datatrove.data import Document
        from datatrove.executor import LocalPipelineExecutor
        from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster,
                                                      MinhashDedupFilter, MinhashDedupSignature)
        from datatrove.utils.word_tokenizers import WordTokenizer
    except ImportError:
        return None

    class Words(WordTokenizer):  # \w+ words like ours (datatrove's own tokenizers need spaCy)
        def word_tokenize(self, text):
            return re.findall(r"\w+", text)

        def sent_tokenize(self, text):
            return [text]

        def span_tokenize(self, text):
            return [m.span() for m in re.finditer(r"\w+", text)]

    bands, rows = params.bands
    config = MinhashConfig(n_grams=params.shingle, num_buckets=bands, hashes_per_bucket=rows)
    tmp = tempfile.mkdtemp(prefix="seed-bench-datatrove-")

    def docs():
        return [Document(text=t, id=str(i)) for i, t in enumerate(texts)]

    def run(name, pipeline, tasks=1):
        with contextlib.redirect_stderr(io.StringIO()):  # its per-task log lines; kept under logging_dir
            LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=1, logging_dir=f"{tmp}/logs/{name}").run()

    t0 = time.perf_counter()
    run("sigs", [docs(), MinhashDedupSignature(output_folder=f"{tmp}/sigs", config=config, language=Words())])
    run("buckets", [MinhashDedupBuckets(input_folder=f"{tmp}/sigs", output_folder=f"{tmp}/buckets",
                                        config=config)], tasks=bands)
    run("clusters", [MinhashDedupCluster(input_folder=f"{tmp}/buckets", output_folder=f"{tmp}/remove",
                                         config=config)])
    run("filter", [docs(), MinhashDedupFilter(input_folder=f"{tmp}/remove")])
    return time.perf_counter() - t0


def machine() -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    mem = next((int(ln.split()[1]) // 1024 // 1024 for ln in open("/proc/meminfo") if ln.startswith("MemTotal")), 0)
    return f"{platform.node()}: {os.cpu_count()} cores, {cpu}, {mem} GiB, Python {platform.python_version()}"


def exact_pairs(doc: np.ndarray, hashes: np.ndarray, n: int) -> dict[tuple[int, int], float]:
    """Exact Jaccard of every pair sharing a shingle, by brute force over the sparse incidence matrix."""
    from scipy import sparse

    key = (doc.astype(np.uint64) << np.uint64(32)) | hashes.astype(np.uint64)
    key = np.unique(key)
    d = (key >> np.uint64(32)).astype(np.int64)
    _, col = np.unique((key & np.uint64(0xFFFFFFFF)), return_inverse=True)
    m = sparse.csr_matrix((np.ones(len(d), np.int32), (d, col)), shape=(n, int(col.max()) + 1))
    sizes = np.asarray(m.sum(axis=1)).ravel()
    inter = sparse.triu(m @ m.T, k=1).tocoo()
    jac = inter.data / (sizes[inter.row] + sizes[inter.col] - inter.data)
    return {(int(a), int(b)): float(j) for a, b, j in zip(inter.row, inter.col, jac) if j >= 0.5}


def ours(texts: pa.Array, params: minhash.MinHashParams, max_bucket=100, max_component=10_000):
    """The stage's own code in this process: the signature kernel, then what near_dedup runs on the driver
    (seedlib/dedup/driver.py: LSH buckets, candidate pairs, verification, components). Returns signatures,
    the has-a-shingle mask, the verified edges, each file's component root, and the two timings."""
    t0 = time.perf_counter()
    sigs, has = minhash.text_signatures(texts, params)
    t_sig = time.perf_counter() - t0
    idx = np.flatnonzero(has)
    src, dst, _ = driver.candidate_pairs(minhash.band_hashes(sigs[idx], *params.bands), max_bucket)
    ok = driver.similar(sigs[idx], src, dst, params.threshold)
    losers, roots, _ = driver.clusters(sigs[idx], params, max_bucket, max_component)
    t_all = time.perf_counter() - t0
    edges = list(zip(idx[src[ok]].tolist(), idx[dst[ok]].tolist()))
    root = np.arange(len(texts))
    root[idx[losers]] = idx[roots]
    return sigs, has, edges, root, t_sig, t_all


def components(n: int, edges) -> np.ndarray:
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)   # root = smallest index = best in keeper order
    return np.array([find(i) for i in range(n)])


def datasketch_baseline(texts: list[str], params: minhash.MinHashParams):
    """datasketch's MinHash (one per document, streamed: shingle sets are not kept) then MinHashLSH insert +
    query of every document, in this process. Returns (candidate pairs, seconds to signatures, seconds in all)."""
    from datasketch import MinHash, MinHashLSH

    t0 = time.perf_counter()
    word = re.compile(r"\w+")
    has = []

    def shingle_sets():
        k = params.shingle
        for t in texts:
            toks = word.findall(t.lower())
            sh = {" ".join(toks[i:i + k]).encode() for i in range(max(1, len(toks) - k + 1))} if toks else set()
            has.append(bool(sh))
            yield sh

    sigs = list(MinHash.generator(shingle_sets(), num_perm=params.num_perm))
    t_sig = time.perf_counter() - t0
    lsh = MinHashLSH(threshold=params.threshold, num_perm=params.num_perm)
    for i, (m, h) in enumerate(zip(sigs, has)):
        if h:
            lsh.insert(i, m)
    pairs = set()
    for i, (m, h) in enumerate(zip(sigs, has)):
        if h:
            pairs.update((min(i, j), max(i, j)) for j in lsh.query(m) if j != i)
    return pairs, t_sig, time.perf_counter() - t0


class Runs:
    """Runs of the bench on local storage under one temporary folder: each gets the corpus as a recorded
    crawl stage (`parts` parts), ready for near_dedup."""

    def __init__(self):
        self.tmp_root = tempfile.mkdtemp(prefix="seed-bench-dedup-")

    def __call__(self, files: list[tuple[str, str]], run_id: str = "bench", parts: int = 8):
        from seedlib.config import load_config
        from seedlib.run import RunSpec
        from seedlib.stage import PartWriter, StageRecorder

        spec = RunSpec("2026-01-01", run_id, load_config({"storage": Path(self.tmp_root).as_uri()}, {}).public_dict())
        storage = spec.storage()
        rec = StageRecorder(storage, spec.stage_prefix("crawl"), "crawl")
        out = []
        for p in range(parts):
            w = PartWriter(storage, spec.stage_prefix("crawl"), p, rows_per_part=10**9)
            w.add("files", [{"repo": f"site/{path.split('/')[0]}", "path": path, "lang": "code",
                             "sha256": hashlib.sha256(text.encode()).hexdigest(), "size": len(text.encode()),
                             "content": text} for path, text in files[p::parts]])
            out.extend(w.close().to_pylist())
        rec.finish(out)
        return spec


def bench_pipeline():
    """The snapshot pipeline cut down to crawl -> near_dedup (the stage as declared, run by the runner)."""
    from seedlib.pipelines import SNAPSHOTS, Pipeline

    return Pipeline(name="bench", dag_id="bench", prefix="snapshots",
                    stages=(SNAPSHOTS.stage("crawl"), SNAPSHOTS.stage("near_dedup")))


def spark_env() -> None:
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)   # executors need the venv's pyarrow
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


def stage_speed(files: list[tuple[str, str]], parts: int = 8) -> list[tuple[float, dict]]:
    """(seconds, details) of the near_dedup stage (its declared body through the runner), run twice on the
    same input in one fresh session: first with the JVM and Spark's Python workers cold (their start, JIT
    and kernel loading counted, as in the first stage of a run), then warm (the steady per-core rate)."""
    from seedlib.runner import run_in_process
    from seedlib.spark import session
    from seedlib.stage import read_report

    spark_env()
    runs = Runs()
    out = []
    try:
        spark = session("bench-dedup", master=f"local[{os.cpu_count()}]", partitions=os.cpu_count() * 2)
        pipeline = bench_pipeline()
        for run_id in ("cold", "warm"):
            spec = runs(files, run_id, parts)
            cpu0, t0 = tree_cpu(), time.perf_counter()
            code = run_in_process(spec, pipeline, pipeline.stage("near_dedup"), spark=spark)
            seconds, cpu = time.perf_counter() - t0, tree_cpu() - cpu0
            if code != 0:
                raise SystemExit("near_dedup failed")
            report = read_report(spec.storage(), spec.stage_prefix("near_dedup"))
            out.append((seconds, {"run": run_id, "rows_in": report.rows_in, "rows_out": report.rows_out,
                                  "cpu_s": cpu, **report.details["near"]}))
        spark.stop()
    finally:
        shutil.rmtree(runs.tmp_root, ignore_errors=True)
    return out


def tree_cpu() -> float:
    """User + system CPU seconds of this process and every process under it (the JVM, Spark's Python
    daemon and workers), including children they have already reaped (a Python worker that exited)."""
    import psutil

    me = psutil.Process()
    total = 0.0
    for proc in [me, *me.children(recursive=True)]:
        try:
            t = proc.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.NoSuchProcess:
            continue
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=30, help="MB of source for quality and signature speed")
    ap.add_argument("--stage-mb", type=float, default=60, help="MB of source for the Spark stage timing")
    ap.add_argument("--no-stage", action="store_true", help="skip the Spark stage timing")
    ap.add_argument("--stage-only", action="store_true",
                    help="only the stage against datasketch on the --stage-mb corpus (no quality run)")
    ap.add_argument("--profile", action="store_true",
                    help="instead of the quality run: where the near_dedup stage's time goes on the --stage-mb "
                         "corpus (bench/profile_stage.py), with datasketch on the same files")
    ap.add_argument("--json", help="with --profile: also write the numbers to this file")
    args = ap.parse_args()
    params = minhash.MinHashParams()
    print(f"machine: {machine()}; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.profile:
        import json

        import profile_stage

        spark_env()
        stage_files = corpus(args.stage_mb)
        runs = Runs()
        try:
            out = profile_stage.profile(stage_files, runs, bench_pipeline, datasketch_baseline, components,
                                        cores=os.cpu_count(), warmup_files=corpus(2))
        finally:
            shutil.rmtree(runs.tmp_root, ignore_errors=True)
        print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        if args.json:
            Path(args.json).write_text(json.dumps({"machine": machine(), **out}, indent=1, default=str))
        return
    if args.stage_only:
        stage_vs_datasketch(args.stage_mb, params)
        return
    files = corpus(args.mb)
    texts = [t for _, t in files]
    mb = sum(len(t.encode()) for t in texts) / 1e6
    print(f"corpus: {len(files)} files, {mb:.1f} MB; num_perm={params.num_perm} shingle={params.shingle} "
          f"threshold={params.threshold} bands x rows={params.bands}")

    sigs, has, edges, comp, t_sig, t_all = ours(pa.array(texts), params)
    base_pairs, b_sig, b_all = datasketch_baseline(texts, params)
    gb_h = lambda mbytes, s: mbytes / 1e3 / (s / 3600)  # noqa: E731  (one process = one core)
    print(f"signatures: ours {t_sig:.1f}s = {gb_h(mb, t_sig):.0f} GB/core-hour; datasketch MinHash.generator "
          f"{b_sig:.1f}s = {gb_h(mb, b_sig):.0f} GB/core-hour; ratio {b_sig / t_sig:.1f}x")
    print(f"signatures+LSH+verify in-process: ours {t_all:.1f}s; datasketch MinHashLSH {b_all:.1f}s; "
          f"ratio {b_all / t_all:.1f}x")
    d_all = datatrove_baseline(texts, params)
    if d_all is None:
        print("datatrove: not installed, skipped (pip install -r bench/requirements.txt)")
    else:
        print(f"datatrove MinHash dedup (4 steps, one worker, same shingles and bands): {d_all:.1f}s; "
              f"ours in-process {t_all:.1f}s: ratio {d_all / t_all:.1f}x")

    doc, hashes = minhash.shingle_hashes(pa.array(texts), params.shingle)
    truth = exact_pairs(doc, hashes, len(texts))
    high = [p for p, j in truth.items() if j >= 0.8]
    found = sum(comp[a] == comp[b] for a, b in high)
    edge_j = [truth.get(p, 0.0) for p in edges]
    print(f"quality: {len(high)} pairs with exact Jaccard >= 0.8; recall (same component) "
          f"{found / max(1, len(high)):.4f}; {len(edges)} verified edges, precision (exact J >= 0.7) "
          f"{np.mean([j >= 0.7 for j in edge_j]) if edge_j else 1:.4f}, (exact J >= 0.6) "
          f"{np.mean([j >= 0.6 for j in edge_j]) if edge_j else 1:.4f}")
    base_j = [truth.get(p, 0.0) for p in base_pairs]
    base_rec = sum(1 for p in high if p in base_pairs) / max(1, len(high))
    print(f"baseline MinHashLSH: {len(base_pairs)} candidate pairs, recall (direct pair) {base_rec:.4f}, "
          f"precision (exact J >= 0.7) {np.mean([j >= 0.7 for j in base_j]) if base_j else 1:.4f}")
    dropped = [i for i in range(len(texts)) if comp[i] != i]
    kept = set(i for i in range(len(texts)) if comp[i] == i)
    best = {}
    for (a, b), j in truth.items():
        for x, y in ((a, b), (b, a)):
            if y in kept:
                best[x] = max(best.get(x, 0.0), j)
    ok = sum(best.get(i, 0.0) >= 0.6 for i in dropped)
    print(f"dropped files: {len(dropped)}; with a kept file at exact Jaccard >= 0.6: "
          f"{ok / max(1, len(dropped)):.4f}")

    if not args.no_stage:
        stage_vs_datasketch(args.stage_mb, params)


def stage_vs_datasketch(stage_mb: float, params: minhash.MinHashParams) -> None:
    """The whole near_dedup stage on Spark local[cores] against datasketch's MinHash + MinHashLSH + union-find
    in this one process, on the same files, per core-hour (the stage's wall x cores; datasketch = one core)."""
    gb_h = lambda mbytes, s: mbytes / 1e3 / (s / 3600)  # noqa: E731
    stage_files = corpus(stage_mb)
    smb = sum(len(t.encode()) for _, t in stage_files) / 1e6
    cores = os.cpu_count()
    rates = []
    for seconds, details in stage_speed(stage_files):
        rates.append((details["run"], gb_h(smb, seconds * cores), gb_h(smb, details["cpu_s"])))
        print(f"near_dedup stage on Spark local[{cores}], {details['run']}: {smb:.1f} MB, {details['rows_in']} "
              f"files in, {details['rows_out']} kept, {seconds:.1f}s wall, {details['cpu_s']:.1f} CPU s = "
              f"{rates[-1][1]:.1f} GB/core-hour (wall x {cores}), {rates[-1][2]:.1f} per CPU-hour (largest "
              f"component {details['largest_component']}, candidate pairs {details['candidate_pairs']}, verified "
              f"{details['verified_pairs']}, clusters on {details.get('clusters_on', 'spark')})")
    texts = [t for _, t in stage_files]
    cpu0, t0 = time.process_time(), time.perf_counter()
    pairs, _, _ = datasketch_baseline(texts, params)
    components(len(texts), sorted(pairs))
    b_wall, b_cpu = time.perf_counter() - t0, time.process_time() - cpu0
    base_rate = gb_h(smb, b_wall)
    print(f"datasketch MinHash + MinHashLSH + union-find, one process, same {smb:.1f} MB: {b_wall:.1f}s = "
          f"{base_rate:.1f} GB/core-hour ({gb_h(smb, b_cpu):.1f} per CPU-hour)")
    for run, stage_rate, stage_cpu_rate in rates:
        print(f"ratio stage ({run}) / datasketch per core-hour: {stage_rate / base_rate:.2f}x (wall-based), "
              f"{stage_cpu_rate / gb_h(smb, b_cpu):.2f}x (CPU-based)")
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
