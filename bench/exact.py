"""The exact_dedup stage against the least a file stage must do: read its input parts and write them back.

Same corpus as bench/dedup.py (real code on this machine, with many versions of the same files), recorded as
a crawl stage in 8 parts. In one bench run, on the same parts:
  stage      exact_dedup's declared body through the runner on Spark local[cores] (repository-level copies,
             near-identical repositories by MinHash over file hashes, then SHA-256 copies, apply, write),
             once cold (the session's first stage: its JVM and Python workers start) and once warm
  read       every part read with seedlib.storage, one process
  read+write every part read and written back as a stage output part (PartWriter), one process
  sha256     SHA-256 of every file's bytes, one process (what the crawl computes; raw mode reuses it)
Ratios are per core: the stage's wall x cores against the one-process baselines' wall.

    .venv/bin/python bench/exact.py [--mb 600]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dedup import Runs, corpus, machine, spark_env, tree_cpu  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=600, help="MB of source files")
    args = ap.parse_args()
    from seedlib.pipelines import SNAPSHOTS, Pipeline
    from seedlib.runner import run_in_process
    from seedlib.spark import session
    from seedlib.stage import PartWriter, read_report

    print(f"machine: {machine()}; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    spark_env()
    files = corpus(args.mb)
    mb = sum(len(t.encode()) for _, t in files) / 1e6
    runs = Runs()
    cores = os.cpu_count()
    try:
        spec = runs(files, "bench", 8)
        storage = spec.storage()
        keys = read_report(storage, spec.stage_prefix("crawl")).datasets["files"]["paths"]
        pipeline = Pipeline(name="bench", dag_id="bench", prefix="snapshots",
                            stages=(SNAPSHOTS.stage("crawl"), SNAPSHOTS.stage("exact_dedup")))
        spark = session("bench-exact", master=f"local[{cores}]", partitions=cores * 2)
        cold = runs(files, "cold", 8)   # the first stage in the fresh session: JVM and Python workers start
        cpu0, t0 = tree_cpu(), time.perf_counter()
        if run_in_process(cold, pipeline, pipeline.stage("exact_dedup"), spark=spark) != 0:
            raise SystemExit("exact_dedup failed")
        cold_s, cold_cpu = time.perf_counter() - t0, tree_cpu() - cpu0
        cpu0, t0 = tree_cpu(), time.perf_counter()
        if run_in_process(spec, pipeline, pipeline.stage("exact_dedup"), spark=spark) != 0:
            raise SystemExit("exact_dedup failed")
        stage_s, stage_cpu = time.perf_counter() - t0, tree_cpu() - cpu0
        spark.stop()
        report = read_report(storage, spec.stage_prefix("exact_dedup"))

        t0 = time.perf_counter()
        tables = [storage.read_parquet([k]) for k in keys]
        read_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for i, table in enumerate(tables):
            w = PartWriter(storage, "bench-copy", i, rows_per_part=max(1, table.num_rows))
            w.add("files", table)
            w.close()
        write_s = read_s + time.perf_counter() - t0
        t0 = time.perf_counter()
        for table in tables:
            for text in table.column("content").to_pylist():
                hashlib.sha256(text.encode("utf-8")).digest()
        sha_s = time.perf_counter() - t0
    finally:
        shutil.rmtree(runs.tmp_root, ignore_errors=True)
    dropped = report.dropped
    print(f"corpus: {len(files)} files, {mb:.1f} MB; exact_dedup kept {report.rows_out}, dropped {dropped}")
    print(f"exact_dedup stage, Spark local[{cores}], warm: {stage_s:.1f} s wall ({stage_s * cores:.1f} core-s), "
          f"{stage_cpu:.1f} CPU s; cold (first in the session): {cold_s:.1f} s wall, {cold_cpu:.1f} CPU s "
          f"= {cold_s * cores / write_s:.1f}x reading + writing")
    print(f"read the parts, one process: {read_s:.2f} s; read + write them back: {write_s:.2f} s; "
          f"SHA-256 of every file: {sha_s:.2f} s ({mb / sha_s:.0f} MB/s)")
    print(f"ratio per core (stage wall x {cores} / baseline wall): {stage_s * cores / read_s:.1f}x reading, "
          f"{stage_s * cores / write_s:.1f}x reading + writing; CPU-based {stage_cpu / write_s:.1f}x "
          f"reading + writing; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
