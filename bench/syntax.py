"""Benchmark of the syntax stage (a program, not a test).

    .venv/bin/python bench/syntax.py [--mb-per-language 1.5] [--no-spark]

For each language, on real source found on this machine (bench/syntax_corpus.py; nothing downloaded):
- speed: MB/s of a plain single-threaded loop calling the tree-sitter parser directly (the baseline), of
  our path (seedlib.syntax.SyntaxFilter on an Arrow table: rules + bounded parse + error-share walk), and
  of the Spark path (filter_parts through Spark local[2] on local storage, all languages together);
- false rejects on known-good files (Python: CPython compile() accepts them; others: released projects);
- catch rate on damaged copies of the same files (truncated at a random point; one bracket removed).
Prints absolute numbers with the machine, and ratios against the baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import syntax_corpus  # noqa: E402

from seedlib import datasets  # noqa: E402
from seedlib.config import load_config  # noqa: E402
from seedlib.languages import grammar_of  # noqa: E402
from seedlib.syntax import SyntaxFilter  # noqa: E402
from seedlib.syntax.check import ParserPool  # noqa: E402

TARGET_MBS = {"Python": 9, "Java": 9, "JavaScript": 9, "C": 4, "C++": 4, "Go": 4, "Rust": 4}


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def bench_path(lang: str, i: int, name: str) -> str:
    """The file's own extension where it has one the language knows (a C header stays `.h`, which the
    pipeline parses with the C++ grammar), else the language's usual one."""
    ext = os.path.splitext(name)[1]
    return f"{i:05d}{ext if ext in ('.h', '.hpp', '.cc', '.hh') else syntax_corpus.EXTENSIONS[lang]}"


def rows_for(lang: str, corpus) -> list[dict]:
    return [{"repo": f"bench/{lang}", "path": bench_path(lang, i, name), "lang": lang,
             "sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "content": data.decode("utf-8")}
            for i, (name, data) in enumerate(corpus)]


def best_of(n: int, fn) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def speed_and_quality(lang: str, corpus, config, rng: random.Random) -> dict:
    pool = ParserPool()
    mb = sum(len(d) for _, d in corpus) / 1e6
    # small corpora (Go) are repeated so the timing covers at least ~0.5 MB
    reps = max(1, int(0.5 / mb) + 1) if mb < 0.5 else 1
    blobs = [(pool.get(grammar_of(lang, bench_path(lang, i, name))), d) for i, (name, d) in enumerate(corpus)] * reps
    baseline = best_of(2, lambda: [parser.parse(b) for parser, b in blobs])
    table = datasets.table("files", rows_for(lang, corpus) * reps)
    decide = SyntaxFilter(config)
    ours = best_of(2, lambda: decide(table))
    kept, dropped, _ = decide(datasets.table("files", rows_for(lang, corpus)))
    reasons: dict[str, int] = {}
    for d in dropped:
        reasons[d["reason"]] = reasons.get(d["reason"], 0) + 1
    # damaged copies: caught = dropped with any reason by the same filter
    caught = {"truncated": 0, "bracket": 0}
    confirmed = {"truncated": [0, 0], "bracket": [0, 0]}  # Python only: [really broken, caught among them]
    for i, (name, data) in enumerate(corpus):
        for kind, bad in zip(("truncated", "bracket"), syntax_corpus.damage(data, rng)):
            text = bad.decode("utf-8", errors="replace")
            reason, _ = decide.decide_one(bench_path(lang, i, name), lang, text)
            caught[kind] += reason is not None
            if lang == "Python":
                try:
                    compile(bad, name, "exec", dont_inherit=True)
                except (SyntaxError, ValueError):
                    confirmed[kind][0] += 1
                    confirmed[kind][1] += reason is not None
    n = len(corpus)
    syntax_drops = sum(v for k, v in reasons.items() if k in ("syntax_error", "parse_timeout", "parse_too_large"))
    return {"lang": lang, "files": n, "mb": mb * reps, "base": mb * reps / baseline, "ours": mb * reps / ours,
            "false_rejects": syntax_drops / n, "reasons": reasons, "caught": {k: v / n for k, v in caught.items()},
            "confirmed": confirmed}


def spark_path(all_rows: list[dict], config_overrides: dict) -> tuple[float, float, float]:
    """(MB, seconds, seconds of the same parts through filter_parts in this process): the declared syntax
    stage through the runner on Spark local[2], after a first run on the same parts (Python workers start,
    grammars load)."""
    from seedlib.pipelines import SNAPSHOTS, Pipeline
    from seedlib.run import RunSpec
    from seedlib.runner import run_in_process
    from seedlib.spark import session
    from seedlib.stage import PartWriter, StageRecorder, filter_parts, read_report
    from seedlib.syntax import make_filter

    tmp = tempfile.mkdtemp(prefix="seed-bench-syntax-")
    config = load_config({"storage": Path(tmp, "data").as_uri(), **config_overrides}, {})
    random.Random(3).shuffle(all_rows)
    n_parts = 8
    pipeline = Pipeline(name="bench", dag_id="bench", prefix="snapshots",
                        stages=(SNAPSHOTS.stage("crawl"), SNAPSHOTS.stage("syntax")))

    def input_run(run_id: str) -> RunSpec:
        spec = RunSpec(snapshot="2026-01-01", run_id=run_id, config=config.public_dict())
        storage = spec.storage()
        writers = [PartWriter(storage, spec.stage_prefix("crawl"), p, rows_per_part=10**9) for p in range(n_parts)]
        for i, row in enumerate(all_rows):
            writers[i % n_parts].add("files", [row])
        StageRecorder(storage, spec.stage_prefix("crawl"), "crawl").finish(
            [p for w in writers for p in w.close().to_pylist()])
        return spec

    mb = sum(r["size"] for r in all_rows) / 1e6
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)   # workers need the venv (pyarrow, tree-sitter)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    spark = session("bench-syntax", master="local[2]", partitions=2)
    run_in_process(input_run("warmup"), pipeline, pipeline.stage("syntax"), spark=spark)
    spec = input_run("bench")
    t = time.perf_counter()
    if run_in_process(spec, pipeline, pipeline.stage("syntax"), spark=spark) != 0:
        raise SystemExit("the syntax stage failed")
    seconds = time.perf_counter() - t
    spark.stop()
    items = list(enumerate(read_report(spec.storage(), spec.stage_prefix("crawl")).datasets["files"]["paths"]))
    t = time.perf_counter()
    list(filter_parts(spec.to_json(), "syntax_local", make_filter, items))
    local = time.perf_counter() - t
    return mb, seconds, local


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb-per-language", type=float, default=1.5, help="source MB per language (default 1.5)")
    ap.add_argument("--no-spark", action="store_true", help="skip the Spark local[2] measurement")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    started = time.perf_counter()
    config = load_config({"storage": "/tmp/unused"}, {})
    print(f"machine: {machine()}")
    print(f"config: max_error_ratio={config.syntax.max_error_ratio}, "
          f"by_language={dict(config.syntax.error_ratio_by_language)}, rules={list(config.syntax.rules)}")
    print("baseline: a plain loop calling Parser.parse(bytes) on one core, same files, same run\n")
    header = (f"{'language':<11}{'files':>6}{'MB':>6}{'base MB/s':>10}{'ours MB/s':>10}{'ours/base':>10}"
              f"{'target':>7}  {'false rej':>9}  {'caught trunc':>12}{'caught brkt':>12}  all drops of the good files, by reason")
    print("false rej = syntax_error/parse_* drops of known-good files; rule drops (e.g. auto_generated) are listed"
          " at the right:\nthe generated files they catch are real (\"This file was mechanically generated: Do not"
          " edit!\", protobuf _pb2.py).")
    print("caught = damaged copies dropped for any reason (a damaged copy may still be valid code)\n")
    print(header)
    all_rows = []
    results = []
    for lang, load in syntax_corpus.LOADERS.items():
        rng = random.Random(args.seed)
        corpus = load(rng, int(args.mb_per_language * 1e6))
        if not corpus:
            print(f"{lang:<11} no source found on this machine")
            continue
        r = speed_and_quality(lang, corpus, config, rng)
        results.append(r)
        all_rows.extend(rows_for(lang, corpus))
        ok = "ok" if r["ours"] >= TARGET_MBS[lang] else "MISS"
        print(f"{lang:<11}{r['files']:>6}{r['mb']:>6.1f}{r['base']:>10.1f}{r['ours']:>10.1f}{r['ours'] / r['base']:>10.2f}"
              f"{TARGET_MBS[lang]:>5} {ok:<2}{r['false_rejects']:>9.1%}  {r['caught']['truncated']:>12.0%}"
              f"{r['caught']['bracket']:>12.0%}  {r['reasons'] or '-'}", flush=True)
        if lang == "Python":
            for kind, (broken, hit) in r["confirmed"].items():
                print(f"{'':<11}  {kind}: {broken} copies CPython rejects, {hit / max(1, broken):.0%} of them caught")
    if not args.no_spark and all_rows:
        mb, seconds, local = spark_path(all_rows, {})
        print(f"\nSpark path (filter_parts via Spark local[2], 8 input parts, all languages, after a warm-up run): "
              f"{mb:.1f} MB in {seconds:.1f} s = {mb / seconds:.1f} MB/s total, {mb / seconds / 2:.1f} MB/s per core")
        print(f"same parts through filter_parts in this process (one core, with Parquet I/O): {mb / local:.1f} MB/s; "
              f"Spark local[2] / one core = {local / seconds:.2f}x")
    print(f"\nbench wall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
