"""Where the near_dedup stage's time goes (`bench/dedup.py --profile`).

Nothing in seedlib/ is changed; everything is measured from outside, in the bench's own processes:

- **Worker side.** The bench starts Spark with `spark.python.daemon.module=profile_stage`: Spark's Python
  daemon is this module, which wraps the Python functions the stage runs in its tasks (Parquet reads,
  shingling, signatures, the signature column, whitespace hashes, band keys, bucket pairs, verification,
  applying decisions, writing parts) with timers and then runs `pyspark.daemon` as usual. Every call appends
  one line (function, pid, start, wall and CPU seconds) to the file `BENCH_PROFILE_LOG` names. Generator UDFs
  (`mapInArrow`) are timed without the time they spend waiting for their input batches from the JVM.
- **Driver side, real stage.** `seedlib.dedup.plan.near_body` runs unchanged through the runner; every Spark
  action it triggers (localCheckpoint, count, first, collect, toArrow, zipWithIndex, and DataFrame.rdd, where AQE
  runs an orderBy's jobs) is timed, with the CPU of this process tree, by wrapping those pyspark methods in
  this process, and named by the seedlib line that called it. Because the real plan does not cache its read,
  the signature kernel runs more than once per part; the worker log counts how often.
- **Driver side, step by step.** The same plan rebuilt from seedlib's own pieces (`plan.read_files`,
  `with_rank`, `lsh._bands`, `lsh.verify`, `components._large_star` / `_small_star` / `_is_star_forest`,
  `plan.apply_decisions`), with every intermediate DataFrame materialised (`localCheckpoint`, an action) and
  timed. This changes the plan slightly: the read + signatures are computed once and reused, where the real
  plan recomputes them inside the rank and apply steps. Its decisions are checked equal to the real stage's.
"""

from __future__ import annotations

import functools
import json
import linecache
import os
import sys
import time
from collections import defaultdict
from contextlib import contextmanager

LOG_ENV = "BENCH_PROFILE_LOG"


# ---------- worker side (the Python daemon) ----------

def _log(name: str, t0: float, seconds: float, **extra) -> None:
    path = os.environ.get(LOG_ENV)
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"fn": name, "pid": os.getpid(), "t0": t0, "s": seconds, **extra}) + "\n")


def _timed(name: str, fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        t0, p0, c0 = time.time(), time.perf_counter(), time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            _log(name, t0, time.perf_counter() - p0, cpu=time.process_time() - c0)
    return wrapper


def _timed_udf(name: str, fn):
    """A mapInArrow generator f(..., batches): its own time, not counting waits for input batches."""
    @functools.wraps(fn)
    def wrapper(*args):
        waited = [0.0, 0.0]  # wall, cpu spent pulling input batches (JVM -> Python transfer)

        def pulled(source):
            it = iter(source)
            while True:
                p, c = time.perf_counter(), time.process_time()
                try:
                    item = next(it)
                except StopIteration:
                    return
                finally:
                    waited[0] += time.perf_counter() - p
                    waited[1] += time.process_time() - c
                yield item

        gen = fn(*args[:-1], pulled(args[-1]))
        t0, busy, cpu = time.time(), 0.0, 0.0
        while True:
            p, c = time.perf_counter(), time.process_time()
            try:
                out = next(gen)
            except StopIteration:
                break
            finally:
                busy += time.perf_counter() - p
                cpu += time.process_time() - c
            yield out
        _log(name, t0, busy - waited[0], cpu=cpu - waited[1], waited=waited[0])
    return wrapper


WORKER_FUNCTIONS = {  # log name -> what it is (inclusive times; nested ones are subtracted in the tables)
    "udf:_read": "plan._read: the read UDF (parquet + keys + signature column + whitespace hashes)",
    "read_parquet": "Storage.read_parquet",
    "signature_column": "minhash.signature_column (shingle + signatures + binary column)",
    "shingle_hashes": "minhash.shingle_hashes",
    "signatures_from_hashes": "minhash.signatures_from_hashes",
    "whitespace_hashes": "index.whitespace_hashes (SHA-256 per file, for the dedup index)",
    "udf:_bands": "lsh._bands", "udf:_pairs": "lsh._pairs", "udf:_verify": "lsh._verify",
    "_apply": "plan._apply (re-read part, split, write)", "PartWriter.close": "PartWriter.close (parquet writes)",
}


def install_worker_timers() -> None:
    from seedlib import stage, storage
    from seedlib.dedup import index, lsh, minhash, plan

    for mod, attr, name in ((minhash, "shingle_hashes", "shingle_hashes"),
                            (minhash, "signatures_from_hashes", "signatures_from_hashes"),
                            (minhash, "signature_column", "signature_column"),
                            (index, "whitespace_hashes", "whitespace_hashes"),
                            (plan, "_apply_part", "_apply")):
        setattr(mod, attr, _timed(name, getattr(mod, attr)))
    for mod, attr in ((plan, "_read"), (lsh, "_bands"), (lsh, "_pairs"), (lsh, "_verify")):
        setattr(mod, attr, _timed_udf(f"udf:{attr}", getattr(mod, attr)))
    storage.Storage.read_parquet = _timed("read_parquet", storage.Storage.read_parquet)
    stage.PartWriter.close = _timed("PartWriter.close", stage.PartWriter.close)


def read_log(path: str, t0: float = 0.0, t1: float = float("inf")) -> list[dict]:
    if not os.path.exists(path):
        return []
    rows = [json.loads(ln) for ln in open(path) if ln.strip()]
    return [r for r in rows if t0 <= r["t0"] < t1]


def exclusive(rows: list[dict], key: str = "cpu") -> dict[str, float]:
    """Task CPU seconds (key="cpu") or wall seconds ("s") by piece, nested timers subtracted (read UDF =
    parquet + signature column + whitespace hashes + rest)."""
    tot = defaultdict(float)
    n = defaultdict(int)
    for r in rows:
        tot[r["fn"]] += r[key]
        n[r["fn"]] += 1
    out = {
        "read parquet": 0.0, "shingle": tot["shingle_hashes"], "signatures": tot["signatures_from_hashes"],
        "signature column (numpy -> Arrow binary, per-row Python)":
            tot["signature_column"] - tot["shingle_hashes"] - tot["signatures_from_hashes"],
        "whitespace SHA-256 (dedup index)": tot["whitespace_hashes"],
        "band keys UDF": tot["udf:_bands"], "pair expansion UDF": tot["udf:_pairs"],
        "verification UDF": tot["udf:_verify"], "write (PartWriter.close)": tot["PartWriter.close"],
    }
    # read_parquet is called by both _read and _apply: split by which one was running (same pid, inside).
    reads = [r for r in rows if r["fn"] == "read_parquet"]
    spans = [(r["pid"], r["t0"], r["t0"] + r["s"] + r.get("waited", 0) + 1e-3) for r in rows if r["fn"] == "_apply"]
    in_apply = sum(r[key] for r in reads if any(p == r["pid"] and a <= r["t0"] <= b for p, a, b in spans))
    out["read parquet"] = sum(r[key] for r in reads) - in_apply
    out["read UDF, rest (keys, Arrow columns)"] = (tot["udf:_read"] - out["read parquet"] - tot["signature_column"]
                                                   - tot["whitespace_hashes"])
    out["apply: re-read part"] = in_apply
    out["apply: rest (rows to Python, split, ledger)"] = tot["_apply"] - in_apply - tot["PartWriter.close"]
    out["_calls"] = dict(n)
    return out


# ---------- driver side: timing Spark actions by their seedlib caller ----------

def tree_cpu() -> float:
    """CPU seconds used so far by this process and everything under it (the JVM, Spark's Python daemon and
    workers; reaped children included), so a phase's CPU is not inflated by other jobs on a loaded machine
    the way its wall time is."""
    import psutil

    total = 0.0
    me = psutil.Process()
    for p in [me, *me.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            continue
    return total


class ActionTimer:
    """Wraps pyspark's actions in this process; records (caller, seconds) of the outermost ones."""

    METHODS = (("pyspark.sql.dataframe", "DataFrame", ("localCheckpoint", "count", "first", "collect", "toArrow", "rdd")),
               ("pyspark.sql.classic.dataframe", "DataFrame", ("localCheckpoint", "count", "first", "collect", "toArrow", "rdd")),
               ("pyspark.core.rdd", "RDD", ("zipWithIndex", "collect", "count")),
               ("pyspark.rdd", "RDD", ("zipWithIndex", "collect", "count")))

    def __init__(self):
        self.events: list[dict] = []
        self.depth = 0
        self.saved = []
        self.on = False

    def _caller(self) -> str:
        f = sys._getframe(2)
        while f and ("pyspark" in f.f_code.co_filename or f.f_code.co_filename in (__file__, functools.__file__)):
            f = f.f_back
        if f is None:
            return "?"
        line = linecache.getline(f.f_code.co_filename, f.f_lineno).strip()
        return f"{os.path.basename(f.f_code.co_filename)}:{f.f_code.co_name}: {line[:90]}"

    def install(self):
        import importlib

        for modname, cls, methods in self.METHODS:
            try:
                klass = getattr(importlib.import_module(modname), cls)
            except (ImportError, AttributeError):
                continue
            for m in methods:
                orig = klass.__dict__.get(m)
                if orig is None or getattr(orig, "_bench_timed", False):
                    continue
                self.saved.append((klass, m, orig))
                if isinstance(orig, property):  # DataFrame.rdd: an orderBy's range-partition sampling job runs here
                    setattr(klass, m, property(self._wrap(orig.fget, m)))
                elif isinstance(orig, functools.cached_property):
                    wrapped = functools.cached_property(self._wrap(orig.func, m))
                    wrapped.__set_name__(klass, m)
                    setattr(klass, m, wrapped)
                else:
                    setattr(klass, m, self._wrap(orig, m))
        return self

    def _wrap(self, orig, name):
        timer = self

        @functools.wraps(orig)
        def wrapper(*args, **kwargs):
            if not timer.on or timer.depth:
                return orig(*args, **kwargs)
            caller = timer._caller()
            timer.depth += 1
            t0, p0, c0 = time.time(), time.perf_counter(), tree_cpu()
            try:
                return orig(*args, **kwargs)
            finally:
                timer.depth -= 1
                timer.events.append({"caller": caller, "action": name, "t0": t0, "s": time.perf_counter() - p0,
                                     "cpu": tree_cpu() - c0})
        wrapper._bench_timed = True
        return wrapper

    def uninstall(self):
        for klass, m, orig in self.saved:
            setattr(klass, m, orig)
        self.saved = []


# ---------- driver side: the plan step by step ----------

class Phases:
    def __init__(self):
        self.rows: list[dict] = []

    @contextmanager
    def __call__(self, name: str):
        t0, p0, c0 = time.time(), time.perf_counter(), tree_cpu()
        try:
            yield
        finally:
            self.rows.append({"phase": name, "t0": t0, "s": time.perf_counter() - p0, "cpu": tree_cpu() - c0})


def stepwise_near_body(ctx, phase: Phases):
    """seedlib.dedup.plan.near_body + lsh.near_clusters + components.connected_components, the same
    DataFrame operations in the same order, with every intermediate materialised and timed."""
    from pyspark.sql import functions as F

    from seedlib.dedup import components as cc
    from seedlib.dedup import lsh, minhash, plan

    spark, spec, storage, config = ctx.spark, ctx.spec, ctx.storage, ctx.config
    with phase("setup (inputs, repo metadata, keeper keys)"):
        items, rows_in = ctx.input("files")
        params = minhash.MinHashParams(num_perm=config.near_dedup.num_perm, shingle=config.near_dedup.shingle,
                                       threshold=config.near_dedup.threshold)
        meta = plan.repo_meta(ctx)
        rkeys = plan.repo_keys(meta, meta.keys(), config)
        settings = {"num_perm": params.num_perm, "shingle": params.shingle, "threshold": params.threshold}
        max_bucket, max_component = config.near_dedup.max_bucket, config.near_dedup.max_component
        bands, rows = params.bands
    with phase("read + shingle + signatures (read UDF)"):
        files = plan.read_files(spark, spec, items, rkeys, "near", settings).localCheckpoint()
    nodes = files.select("part", "repo", "path", "sha256", F.concat(F.lit("1"), "key").alias("key"), "sig")
    with phase("published index (none in the bench)"):
        published, index_details = plan.read_index(spark, spec, storage, "near", settings)
    if published is not None:
        nodes = nodes.union(published.select(F.lit(-1).alias("part"), F.lit(None).cast("string").alias("repo"),
                                             F.lit(None).cast("string").alias("path"), "sha256", "key", "sig"))
    with phase("rank (global sort of keeper keys, zipWithIndex, join)"):
        ranked = plan.with_rank(nodes, "key").localCheckpoint()
        sig_nodes = ranked.where(F.col("sig").isNotNull()).select("rank", "sig") \
            .localCheckpoint()
    with phase("band keys (band hashes UDF)"):
        banded = sig_nodes.mapInArrow(functools.partial(lsh._bands, bands, rows, params.num_perm),
                                      lsh.BAND_SCHEMA).localCheckpoint()
    with phase("shuffle: band keys grouped into buckets (count, min, stats)"):
        shared = (banded.groupBy("band", "bucket").agg(F.count(F.lit(1)).alias("n"), F.min("rank").alias("best"))
                  .where(F.col("n") > 1).localCheckpoint())
        bstats = shared.agg(F.count(F.lit(1)).alias("n"), F.max("n").alias("largest"),
                            F.sum((F.col("n") > max_bucket).cast("long")).alias("oversized")).first()
    with phase("candidate pairs (join, collect_list, pair UDF, stars, distinct)"):
        small = shared.where(F.col("n") <= max_bucket).select("band", "bucket")
        all_pairs = (banded.join(small, ["band", "bucket"]).groupBy("band", "bucket")
                     .agg(F.sort_array(F.collect_list("rank")).alias("members"))
                     .select("members").mapInArrow(functools.partial(lsh._pairs, max_bucket), lsh.PAIR_SCHEMA))
        big = F.broadcast(shared.where(F.col("n") > max_bucket).select("band", "bucket", "best"))
        stars = (banded.join(big, ["band", "bucket"]).where(F.col("rank") != F.col("best"))
                 .select(F.col("best").alias("src"), F.col("rank").alias("dst")))
        pairs = all_pairs.union(stars).distinct().localCheckpoint()
    with phase("verification (2 signature joins, estimate UDF, counts)"):
        checked = lsh.verify(pairs, sig_nodes, params.threshold, params.num_perm).localCheckpoint()
        counts = checked.groupBy("similar").count().collect()
        n_pairs = {bool(r["similar"]): int(r["count"]) for r in counts}
        n_nodes = sig_nodes.count()
    details = {"bands": bands, "rows": rows, "threshold": params.threshold, "num_perm": params.num_perm,
               "shingle": params.shingle, "nodes": n_nodes,
               "buckets_shared": int(bstats["n"] or 0), "largest_bucket": int(bstats["largest"] or 0),
               "oversized_buckets": int(bstats["oversized"] or 0), "max_bucket": max_bucket,
               "candidate_pairs": n_pairs.get(True, 0) + n_pairs.get(False, 0),
               "verified_pairs": n_pairs.get(True, 0), "rejected_pairs": n_pairs.get(False, 0),
               "components": 0, "largest_component": 0, "oversized_components": 0,
               "max_component": max_component, "rounds": 0, "kept_in_oversized": 0}
    if not n_pairs.get(True):
        losers = spark.createDataFrame([], "rank long, root long")
    else:
        edges = checked.where("similar").select("src", "dst")
        with phase("components: edges"):
            current = edges.select(F.col("src").cast("long"), F.col("dst").cast("long")) \
                .where(F.col("src") != F.col("dst")).localCheckpoint()
        rounds = 0
        while True:
            rounds += 1
            with phase(f"component round {rounds}: large-star + small-star"):
                current = cc._small_star(cc._large_star(current)).localCheckpoint()
            with phase(f"component round {rounds}: star-forest check"):
                done = cc._is_star_forest(current)
            if done:
                break
            if rounds >= 64:
                raise RuntimeError("connected components did not converge in 64 rounds")
        with phase("components: roots, sizes, stats"):
            roots = current.select(F.col("dst").alias("node"), F.col("dst").alias("root")).distinct()
            comps = current.select(F.col("src").alias("node"), F.col("dst").alias("root")).union(roots) \
                .localCheckpoint()
            sizes = comps.groupBy("root").agg(F.count(F.lit(1)).alias("size")).localCheckpoint()
            cstats = sizes.agg(F.count(F.lit(1)).alias("n"), F.max("size").alias("largest"),
                               F.sum((F.col("size") > max_component).cast("long")).alias("oversized")).first()
        details.update(components=int(cstats["n"]), largest_component=int(cstats["largest"]),
                       oversized_components=int(cstats["oversized"]), rounds=rounds)
        losers = comps.where(F.col("node") != F.col("root")).select(F.col("node").alias("rank"), "root")
        if cstats["oversized"]:
            with phase("oversized components: direct verification"):
                big = sizes.where(F.col("size") > max_component).select("root")
                in_big = losers.join(big, "root")
                direct = lsh.verify(in_big.select(F.col("root").alias("src"), F.col("rank").alias("dst")),
                                    sig_nodes, params.threshold, params.num_perm)
                stay = direct.where(~F.col("similar")).select(F.col("dst").alias("rank")).localCheckpoint()
                details["kept_in_oversized"] = stay.count()
                losers = losers.join(stay, "rank", "left_anti")
    with phase("decisions (losers joined to files and keepers)"):
        details["without_shingles"] = ranked.where(F.col("sig").isNull() & (F.col("part") >= 0)).count()
        info = ranked.where(F.col("part") >= 0).select("rank", "part", "repo", "path")
        roots_df = ranked.select(F.col("rank").alias("root"), F.col("part").alias("root_part"),
                                 F.col("sha256").alias("duplicate_of"))
        decided = losers.join(info, "rank").join(roots_df, "root").localCheckpoint()
        decisions = decided.select("part", "repo", "path", F.lit(plan.NEAR).alias("reason"), "duplicate_of")
        if index_details:
            index_details["matched"] = decided.where(F.col("root_part") < 0).count()
            details["published_index"] = index_details
    with phase("apply decisions + write (group by part, apply UDF)"):
        parts = plan.apply_decisions(ctx, items, decisions,
                                     hashes=files.select("part", "repo", "path", "ws_sha256", "sig"))
    return parts, rows_in, {"near": details}


# ---------- the whole profile ----------

def _fmt_table(header: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def profile(stage_files, make_run, bench_pipeline, datasketch_baseline, union_find, cores: int,
            parts: int = 8, warmup_files=None) -> dict:
    """Run the real stage (timed by action) and the step-by-step stage (timed by phase) on the same corpus,
    then the in-process kernel and datasketch on the same files; print the tables; return the numbers."""
    import pyarrow as pa

    from seedlib.dedup import minhash
    from seedlib.runner import StageContext, recorder, run_in_process
    from seedlib.spark import session
    from seedlib.stage import read_report

    mb = sum(len(t.encode()) for _, t in stage_files) / 1e6
    gbh = lambda mbytes, core_s: mbytes / 1e3 / (core_s / 3600) if core_s > 0 else float("nan")  # noqa: E731
    log = os.path.join(make_run.tmp_root, "worker-times.jsonl")
    os.environ[LOG_ENV] = log
    bench_dir = os.path.dirname(os.path.abspath(__file__))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [bench_dir, os.environ.get("PYTHONPATH")]))
    os.environ["PYSPARK_SUBMIT_ARGS"] = "--conf spark.python.daemon.module=profile_stage pyspark-shell"

    t = time.perf_counter()
    spark = session("bench-dedup-profile", master=f"local[{cores}]", partitions=cores * 2)
    jvm_s = time.perf_counter() - t
    assert spark.sparkContext.getConf().get("spark.python.daemon.module") == "profile_stage"
    pipeline = bench_pipeline()
    stage = pipeline.stage("near_dedup")
    if warmup_files:
        t = time.perf_counter()
        spec_w = make_run(warmup_files, "warmup", parts)
        run_in_process(spec_w, pipeline, stage, spark=spark)
        print(f"warm-up: near_dedup on {len(warmup_files)} files, {time.perf_counter() - t:.1f}s (not counted)")

    # 1. the real stage, unchanged, its actions timed
    spec = make_run(stage_files, "real", parts)
    timer = ActionTimer().install()
    timer.on = True
    jobs = lambda: set(spark.sparkContext.statusTracker().getJobIdsForGroup())  # noqa: E731
    j0 = jobs()
    t0, p0, c0 = time.time(), time.perf_counter(), tree_cpu()
    code = run_in_process(spec, pipeline, stage, spark=spark)
    real_s, real_cpu = time.perf_counter() - p0, tree_cpu() - c0
    real_jobs = len(jobs() - j0)
    timer.on = False
    assert code == 0, "near_dedup failed"
    real = read_report(spec.storage(), spec.stage_prefix("near_dedup"))
    real_events, real_rows = timer.events, read_log(log, t0, time.time())
    timer.uninstall()

    # 2. step by step
    spec2 = make_run(stage_files, "stepwise", parts)
    storage = spec2.storage()
    ctx = StageContext(spec=spec2, pipeline=pipeline, stage=stage, storage=storage, config=spec2.load_config(),
                       done={}, spark=spark)
    rec = recorder(pipeline, stage, spec2, storage)
    phases = Phases()
    j1 = jobs()
    t1, p1, c1 = time.time(), time.perf_counter(), tree_cpu()
    parts_out, rows_in, details = stepwise_near_body(ctx, phases)
    with phases("record the report"):
        step = rec.finish(parts_out, rows_in=rows_in, details=details)
    step_s, step_cpu = time.perf_counter() - p1, tree_cpu() - c1
    step_jobs = len(jobs() - j1)
    step_rows = read_log(log, t1, time.time())
    spark.stop()
    where = ("clusters_on", "components_on", "rounds")  # where the real plan ran its steps, not what it decided
    same = (step.rows_out, step.dropped, {k: v for k, v in step.details["near"].items() if k not in where}) == \
        (real.rows_out, real.dropped, {k: v for k, v in real.details["near"].items() if k not in where})

    # 3. the kernel in this process (one core), per part as the stage cuts them
    texts = [t for _, t in stage_files]
    params = minhash.MinHashParams()
    arrays = [pa.array(texts[p::parts]) for p in range(parts)]
    t, c = time.perf_counter(), time.process_time()
    for arr in arrays:
        minhash.text_signatures(arr, params)
    kernel_s, kernel_cpu = time.perf_counter() - t, time.process_time() - c

    # 4. datasketch on the same files, one process (CPU time too: the machine may be loaded)
    c = time.process_time()
    base_pairs, b_sig, b_lsh = datasketch_baseline(texts, params)
    t = time.perf_counter()
    union_find(len(texts), sorted(base_pairs))
    b_all = b_lsh + time.perf_counter() - t
    b_cpu = time.process_time() - c

    # ---- the step-by-step table ----
    near = real.details["near"]
    ex = exclusive(step_rows)
    udf_of = {"read + shingle + signatures (read UDF)": [
                  "read parquet", "shingle", "signatures", "signature column (numpy -> Arrow binary, per-row Python)",
                  "whitespace SHA-256 (dedup index)", "read UDF, rest (keys, Arrow columns)"],
              "band keys (band hashes UDF)": ["band keys UDF"],
              "candidate pairs (join, collect_list, pair UDF, stars, distinct)": ["pair expansion UDF"],
              "verification (2 signature joins, estimate UDF, counts)": ["verification UDF"],
              "apply decisions + write (group by part, apply UDF)": [
                  "apply: re-read part", "apply: rest (rows to Python, split, ledger)", "write (PartWriter.close)"]}
    table, acc_s, acc_cpu = [], 0.0, 0.0
    for r in phases.rows:
        acc_s += r["s"]
        acc_cpu += r["cpu"]
        subs = udf_of.get(r["phase"], [])
        py = sum(ex[x] for x in subs)
        table.append([r["phase"], f"{r['s']:.2f}", f"{100 * r['s'] / step_s:.1f}%", f"{r['cpu']:.2f}",
                      f"{100 * r['cpu'] / step_cpu:.1f}%", f"{py:.2f}" if subs else ""])
        for x in subs:
            table.append([f"&nbsp;&nbsp;in it: {x}", "", "", "", f"{100 * ex[x] / step_cpu:.1f}%", f"{ex[x]:.2f}"])
    table.append(["driver between phases", f"{step_s - acc_s:.2f}", f"{100 * (step_s - acc_s) / step_s:.1f}%",
                  f"{step_cpu - acc_cpu:.2f}", f"{100 * (step_cpu - acc_cpu) / step_cpu:.1f}%", ""])
    py_all = sum(v for k, v in ex.items() if k != "_calls")
    table.append(["**whole stage, step by step**", f"**{step_s:.2f}**", "100%", f"**{step_cpu:.2f}**", "100%",
                  f"{py_all:.2f}"])
    step_table = _fmt_table(["phase", "wall s", "share of wall", "CPU s (all processes)", "share of CPU",
                             "Python UDF CPU s"], table)

    # ---- the real plan, by action, with the Python work that started inside each action ----
    ex_real = exclusive(real_rows)
    calls = ex_real["_calls"]
    agg: dict[str, list] = {}
    prev_end = t0
    for e in sorted(real_events, key=lambda e: e["t0"]):
        py = sum(r["cpu"] for r in real_rows if e["t0"] <= r["t0"] < e["t0"] + e["s"]
                 and r["fn"] in ("udf:_read", "udf:_bands", "udf:_pairs", "udf:_verify", "_apply"))
        a = agg.setdefault(f"{e['caller']} [{e['action']}]", [0, 0.0, 0.0, 0.0, 0.0])
        a[0] += 1
        a[1] += e["s"]
        a[2] += e["cpu"]
        a[3] += py
        a[4] += max(0.0, e["t0"] - prev_end)
        prev_end = max(prev_end, e["t0"] + e["s"])
    in_s, in_cpu = sum(a[1] for a in agg.values()), sum(a[2] for a in agg.values())
    rows = [[k.replace("|", "/"), n, f"{w:.2f}", f"{100 * w / real_s:.1f}%", f"{cpu:.2f}", f"{py:.2f}", f"{gap:.2f}"]
            for k, (n, w, cpu, py, gap) in agg.items()]
    rows.append(["driver outside actions (runner, planning, report)", "", f"{real_s - in_s:.2f}",
                 f"{100 * (real_s - in_s) / real_s:.1f}%", f"{real_cpu - in_cpu:.2f}", "",
                 f"{t0 + real_s - prev_end:.2f} after"])
    rows.append(["**whole stage, real plan**", "", f"**{real_s:.2f}**", "100%", f"**{real_cpu:.2f}**",
                 f"{sum(v for k, v in ex_real.items() if k != '_calls'):.2f}", ""])
    real_table = _fmt_table(["Spark action in the real plan (caller)", "n", "wall s", "share of wall", "CPU s",
                             "Python UDF CPU s", "driver s before it"], rows)

    kernel_task = ex["shingle"] + ex["signatures"]
    rates = {"stage_real": gbh(mb, real_s * cores), "stage_real_cpu": gbh(mb, real_cpu),
             "stage_step": gbh(mb, step_s * cores), "stage_step_cpu": gbh(mb, step_cpu),
             "kernel_in_stage_cpu": gbh(mb, kernel_task), "kernel_in_process": gbh(mb, kernel_s),
             "kernel_in_process_cpu": gbh(mb, kernel_cpu),
             "datasketch_minhash": gbh(mb, b_sig), "datasketch_lsh": gbh(mb, b_lsh),
             "datasketch_lsh_uf": gbh(mb, b_all), "datasketch_lsh_uf_cpu": gbh(mb, b_cpu)}
    summary = [
        f"near_dedup on {mb:.1f} MB: {real.rows_in} files in, {real.rows_out} kept; Spark local[{cores}] (session "
        f"start {jvm_s:.1f}s, not counted); {near['buckets_shared']} shared buckets (largest "
        f"{near['largest_bucket']}), "
        f"{near['candidate_pairs']} candidate pairs, {near['verified_pairs']} verified, {near['components']} "
        f"components (largest {near['largest_component']}), {near['rounds']} component round(s)",
        f"whole stage, real plan: {real_s:.1f}s wall x {cores} cores = {rates['stage_real']:.1f} GB/core-hour "
        f"({real_cpu:.1f} CPU-s used = {rates['stage_real_cpu']:.1f} GB/CPU-hour), {real_jobs} Spark jobs",
        f"whole stage, step by step: {step_s:.1f}s wall x {cores} = {rates['stage_step']:.1f} GB/core-hour "
        f"({step_cpu:.1f} CPU-s = {rates['stage_step_cpu']:.1f} GB/CPU-hour), {step_jobs} Spark jobs; same decisions "
        f"as the real plan: {same}",
        f"signature kernel (shingle + signatures) in the stage's tasks: {kernel_task:.1f} CPU-s = "
        f"{rates['kernel_in_stage_cpu']:.0f} GB/core-hour; in this process on one core, per part: {kernel_s:.1f}s "
        f"wall / {kernel_cpu:.1f} CPU-s = {rates['kernel_in_process']:.0f} / {rates['kernel_in_process_cpu']:.0f} "
        f"GB/core-hour",
        f"datasketch, one process, the same {len(texts)} files: MinHash {b_sig:.1f}s = "
        f"{rates['datasketch_minhash']:.0f} GB/core-hour; + MinHashLSH insert/query {b_lsh:.1f}s = "
        f"{rates['datasketch_lsh']:.1f}; + union-find {b_all:.1f}s = {rates['datasketch_lsh_uf']:.1f} "
        f"({b_cpu:.1f} CPU-s = {rates['datasketch_lsh_uf_cpu']:.1f} GB/CPU-hour)",
        f"ratio per core-hour, stage (real plan) / datasketch MinHash+LSH+union-find: wall-based "
        f"{rates['stage_real'] / rates['datasketch_lsh_uf']:.2f}x, CPU-based "
        f"{rates['stage_real_cpu'] / rates['datasketch_lsh_uf_cpu']:.2f}x; step by step: "
        f"{rates['stage_step'] / rates['datasketch_lsh_uf']:.2f}x / "
        f"{rates['stage_step_cpu'] / rates['datasketch_lsh_uf_cpu']:.2f}x; wall: stage {real_s:.1f}s on {cores} "
        f"cores vs datasketch {b_all:.1f}s on one",
        f"the real plan's worker calls: read UDF {calls.get('udf:_read', 0)} task invocations, signature_column "
        f"{calls.get('signature_column', 0)} calls for {parts} parts (step by step: "
        f"{ex['_calls'].get('signature_column', 0)}); signature kernel CPU-s "
        f"{ex_real['shingle'] + ex_real['signatures']:.1f} "
        f"(step by step {kernel_task:.1f}); whitespace SHA-256 CPU-s {ex_real['whitespace SHA-256 (dedup index)']:.1f} "
        f"(step by step {ex['whitespace SHA-256 (dedup index)']:.1f})"]
    print("\n" + "\n".join(summary[:6]))
    print("\nstep by step (every intermediate materialised and timed; CPU = this process + JVM + Python workers; "
          "Python UDF CPU = inside the timed seedlib functions, summed over workers):")
    print(step_table)
    print("\nreal stage, unchanged plan, by the Spark action that ran the work:")
    print(real_table)
    print(summary[6])
    return {"mb": mb, "files": real.rows_in, "kept": real.rows_out, "real_s": real_s, "real_cpu": real_cpu,
            "step_s": step_s, "step_cpu": step_cpu, "same": same, "rates": rates, "summary": summary,
            "step_table": step_table, "real_table": real_table, "near": near, "phases": phases.rows,
            "exclusive_step": {k: v for k, v in ex.items() if k != "_calls"},
            "exclusive_real": {k: v for k, v in ex_real.items() if k != "_calls"}, "calls_real": calls,
            "calls_step": ex["_calls"], "real_events": real_events,
            "datasketch": {"minhash_s": b_sig, "lsh_s": b_lsh, "uf_s": b_all, "cpu_s": b_cpu},
            "kernel_in_process": {"s": kernel_s, "cpu": kernel_cpu}, "session_start_s": jvm_s,
            "jobs": {"real": real_jobs, "step": step_jobs}}


if __name__ == "__main__":  # Spark's Python daemon (spark.python.daemon.module=profile_stage)
    install_worker_timers()
    from pyspark import daemon

    daemon.manager()
