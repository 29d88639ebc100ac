"""Runs one declared stage of a run under its engine, with the bookkeeping every stage shares.

    launch(pipeline, stage, ref)   what an Airflow task calls: skip or reuse a finished stage, else start the
                                   stage's engine (spark-submit, `accelerate launch`, or this process)
    main(argv)                     the process an engine starts (spark_jobs/stage.py, `-m seedlib.runner`)

A stage body is a function of one `StageContext`: the run, storage, configuration, the stage's
declaration, its inputs, the parts an interrupted attempt already finished (`ctx.done`), and the engine
handle (`ctx.spark` or `ctx.accelerator`). It returns (parts written, rows read or None, details); the
runner records the report (`seedlib.stage.StageRecorder`) or the failure.

Failures: `_FAILED.json` in the stage's prefix holds the first line of the real exception and whether a
retry can help (bad configuration or counts that do not add up cannot: `StageError`, `ConfigError`);
the process exits with EXIT_RETRY or EXIT_FAIL so the task can tell Airflow not to retry.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import re
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from seedlib import pipelines
from seedlib.config import Config, ConfigError, Secrets, redact
from seedlib.pipelines import CHAIN, LEDGER, Pipeline, Stage
from seedlib.run import RunSpec
from seedlib.stage import (FAILED_FILE, PLAN_FILE, StageError, StageRecorder, StageReport, finished_parts, read_report)
from seedlib.storage import Storage

EXIT_OK, EXIT_RETRY, EXIT_FAIL = 0, 1, 3
JOBS = Path(__file__).resolve().parents[1] / "spark_jobs"


class StageFailed(RuntimeError):
    """A stage failed; `retry` says whether running it again could help."""

    def __init__(self, stage: str, message: str, retry: bool):
        super().__init__(f"stage {stage}: {message}")
        self.stage, self.message, self.retry = stage, message, retry


@dataclass
class StageContext:
    spec: RunSpec
    pipeline: Pipeline
    stage: Stage
    storage: Storage
    config: Config
    done: dict[int, list[dict]]   # parts finished by an earlier attempt -> the rows they reported
    spark: Any = None
    accelerator: Any = None

    @property
    def name(self) -> str:
        return self.stage.name

    @property
    def prefix(self) -> str:
        return self.spec.stage_prefix(self.stage.name)

    @property
    def input_stage(self) -> str | None:
        """The chain stage whose CHAIN dataset this stage reads."""
        return self.pipeline.chain_input(self.stage.name)

    def report(self, stage: str) -> StageReport:
        return read_report(self.storage, self.spec.stage_prefix(stage))

    def input(self, ref: str = "files") -> tuple[list[tuple[int, str]], int]:
        """(index, part key) of a dataset this stage reads, and its row count. "files" = the chain's."""
        if "." in ref:
            source, dataset = ref.split(".", 1)
        else:
            source, dataset = self.input_stage, ref
            if source is None:
                raise StageError(f"stage {self.name} reads {ref!r} but no chain stage comes before it")
        ds = self.report(source).datasets.get(dataset, {"paths": [], "rows": 0})
        return list(enumerate(ds["paths"])), ds["rows"]

    def plan(self, parts: int) -> None:
        """Say how many parts the stage will write (`seed run` shows parts done out of this)."""
        self.storage.write_json(f"{self.prefix}/{PLAN_FILE}", {"parts": parts})

    def my_parts(self, items: list[tuple[int, str]]) -> list[tuple[int, str]]:
        """The parts this process writes: not finished yet, and (under accelerate) of this rank."""
        rank, world = ((self.accelerator.process_index, self.accelerator.num_processes)
                       if self.accelerator is not None else (0, 1))
        return [(i, key) for i, key in items if i % world == rank and i not in self.done]

    def all_parts(self) -> list[dict]:
        """Every finished part's rows, once all processes are done (read from the markers)."""
        if self.accelerator is not None:
            self.accelerator.wait_for_everyone()
        return [row for _, rows in sorted(finished_parts(self.storage, self.prefix).items()) for row in rows]


def recorder(pipeline: Pipeline, stage: Stage, spec: RunSpec, storage: Storage) -> StageRecorder:
    output = (stage.datasets(CHAIN) if stage.chain else [d for d, m in stage.writes.items() if m != LEDGER])
    ledger = stage.datasets(LEDGER)
    return StageRecorder(storage, spec.stage_prefix(stage.name), stage.name, pipeline.chain_input(stage.name),
                         output=output[0] if output else pipeline.ledger,
                         ledger=ledger[0] if ledger else pipeline.ledger)


def body_of(stage: Stage) -> Callable[[StageContext], tuple]:
    module, _, name = stage.body.partition(":")
    return getattr(importlib.import_module(module), name)


# ---------- in the Airflow task ----------

def launch(pipeline_ref: str, stage_name: str, ref: str, spark_conn: str = "spark_local",
           engine: Callable[[], tuple[bool, str]] | None = None) -> StageReport:
    """Run one stage of a run from its Airflow task. Raises StageFailed (with `retry`) on failure.
    `engine`: runs the stage elsewhere instead of the local engines (seedlib/kubernetes.py: a pod) and says
    (succeeded, reason if the stage recorded no report); the stage's own record decides either way."""
    spec = RunSpec.from_ref(ref)
    pipeline = pipelines.get(pipeline_ref)
    stage = pipeline.stage(stage_name)
    storage = spec.storage()
    report = settled(pipeline, stage, spec, storage)
    if report is not None:
        return report
    if engine is not None:
        ok, reason = engine()
        return outcome(pipeline, stage, spec, storage, ok, reason)
    if stage.engine == "python":
        code = run_in_process(spec, pipeline, stage)
    elif stage.engine == "spark" and not spec.load_config().run.uses_spark_submit:
        code = run_in_process(spec, pipeline, stage, spark=_local_session(spec))
    elif stage.engine == "spark":
        code = _spark_submit(spec, stage, spark_conn)
    elif not spec.load_config().run.accelerate_launch:
        code = run_in_process(spec, pipeline, stage)
    else:
        code = _accelerate_launch(spec, stage)
    return outcome(pipeline, stage, spec, storage, code == EXIT_OK, f"exited with code {code}",
                   retry=code != EXIT_FAIL)


def settled(pipeline: Pipeline, stage: Stage, spec: RunSpec, storage: Storage) -> StageReport | None:
    """The stage's result without starting its engine: complete in this run already (a retried or resumed
    run), or left out with --skip (recorded here). None: the engine must run."""
    done = recorder(pipeline, stage, spec, storage).done()
    if done is not None:
        print(f"[{stage.name}] already complete in run {spec.run_id}: {summary(done)}; skipping", flush=True)
        return done
    if stage.name in spec.skip:
        report = skip(pipeline, stage, spec, storage)
        print(f"[{stage.name}] skipped in this run (--skip): its input passes through", flush=True)
        return report
    return None


def outcome(pipeline: Pipeline, stage: Stage, spec: RunSpec, storage: Storage, ok: bool, reason: str,
            retry: bool = True) -> StageReport:
    """After the engine ended (`ok`: it said it succeeded): the stage's report, or StageFailed with the
    failure it recorded (_FAILED.json), else `reason` and `retry`."""
    report = recorder(pipeline, stage, spec, storage).done()
    if ok and report is not None:
        return report
    failure = _read_failure(storage, spec, stage.name)
    raise StageFailed(stage.name, failure.get("error") or reason, retry=failure.get("retry", retry))


def _local_session(spec: RunSpec):
    """The Spark session of this process (created once, then shared by the stages it runs)."""
    from seedlib.spark import session

    config = spec.load_config()
    return session("seed-in-process", master=config.run.spark_master, partitions=config.run.partitions)


def skip(pipeline: Pipeline, stage: Stage, spec: RunSpec, storage: Storage) -> StageReport:
    """Record a skipped stage: a chain stage passes its input's items on unchanged, writing nothing."""
    rec = recorder(pipeline, stage, spec, storage)
    passed, rows_in = {}, 0
    source = pipeline.chain_input(stage.name)
    if stage.chain and source:
        report = read_report(storage, spec.stage_prefix(source))
        passed = {rec.output: report.datasets[rec.output]}
        rows_in = report.datasets[rec.output]["rows"]
    return rec.finish([], rows_in=rows_in, skipped=True, passed=passed)


def _read_failure(storage: Storage, spec: RunSpec, stage: str) -> dict:
    key = f"{spec.stage_prefix(stage)}/{FAILED_FILE}"
    try:
        return storage.read_json(key) if storage.exists(key) else {}
    except Exception:  # noqa: BLE001 - the failure itself is what we report
        return {}


def _engine_args(spec: RunSpec, stage: Stage) -> list[str]:
    return ["--pipeline", spec.pipeline, "--stage", stage.name, "--run", spec.ref()]


def _spark_submit(spec: RunSpec, stage: Stage, conn_id: str) -> int:
    """spark-submit through the Airflow Spark provider's hook (its connection, its log streaming).

    The master the connection names is checked first (a TCP connect, seconds): spark-submit itself would
    wait and retry for a minute or more before failing with a JVM trace. An unreachable master is a
    ConfigError naming it and `spark_master`: the task fails at once, without Airflow's retries (a resumed
    run keeps the stages and parts finished before)."""
    from airflow.providers.apache.spark.hooks.spark_submit import SparkSubmitHook

    from seedlib.embedded import check_spark_master

    hook = SparkSubmitHook(
        conn_id=conn_id, name=f"seed-{stage.name}", verbose=False,
        application_args=_engine_args(spec, stage),
        conf={"spark.ui.enabled": "false",
              "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{JOBS / 'log4j2.properties'}"})
    check_spark_master(hook._connection["master"], os.environ, connection=conn_id)
    _RUNNING["stop"] = hook.on_kill
    try:
        hook.submit(str(JOBS / "stage.py"))
    except Exception:  # noqa: BLE001 - the hook's AirflowException for a non-zero spark-submit
        return EXIT_RETRY  # the reason is in _FAILED.json (or the log, if the JVM never started)
    finally:
        _RUNNING.pop("stop", None)
    return EXIT_OK


def _accelerate_launch(spec: RunSpec, stage: Stage) -> int:
    """`accelerate launch` of this module, without a config file: one process per visible GPU for a stage
    that declares GPUs, else (or on a machine without one) one per `resources.cpus`. Several processes go
    through accelerate's torchrun launcher (`--multi_gpu`), which is also how it runs several CPU
    processes without MPI: the body's Accelerator(cpu=True) then uses gloo. (`--cpu` alone always starts
    a single process.)"""
    gpus = _visible_gpus() if stage.resources.gpus else 0
    processes = gpus or max(1, stage.resources.cpus)
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(processes),
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
    cmd += ["--multi_gpu"] if processes > 1 else ([] if gpus else ["--cpu"])
    cmd += ["-m", "seedlib.runner", *_engine_args(spec, stage)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(JOBS.parent), env.get("PYTHONPATH")]))
    proc = subprocess.Popen(cmd, env=env, start_new_session=True)
    _RUNNING["stop"] = lambda: _stop_tree(proc)
    try:
        return proc.wait()
    finally:
        _RUNNING.pop("stop", None)


def _visible_gpus() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


# How to stop the engine process the current task started (Airflow calls the task's on_kill).
_RUNNING: dict[str, Callable[[], None]] = {}


def stop_engine() -> None:
    """Stop the spark-submit or accelerate processes of the running stage (the task was killed)."""
    stop = _RUNNING.pop("stop", None)
    if stop is not None:
        stop()


def _stop_tree(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    """SIGTERM the launcher and every process under it (torchrun puts its workers in sessions of their
    own, so the process group is not enough), then SIGKILL what is left after the grace period."""
    import psutil

    try:
        tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for p in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.terminate()
    _, alive = psutil.wait_procs(tree, timeout=grace_s)
    for p in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()


# ---------- in the engine's process ----------

def run_in_process(spec: RunSpec, pipeline: Pipeline, stage: Stage, spark: Any = None) -> int:
    """Run the stage body here, with the engine's handle; record the report or the failure.
    `spark`: an existing session to use (tests share one) instead of building it."""
    storage = spec.storage()
    config = spec.load_config()
    secrets = Secrets.from_env(os.environ)
    rec = recorder(pipeline, stage, spec, storage)
    done = finished_parts(storage, rec.prefix)
    print(f"[{stage.name}] {pipeline.name} {spec.snapshot}, run {spec.run_id}, storage {storage.root}"
          + (f"; {len(done)} parts finished by an earlier attempt are kept" if done else ""), flush=True)
    ctx = StageContext(spec=spec, pipeline=pipeline, stage=stage, storage=storage, config=config, done=done)
    try:
        if stage.engine == "spark":
            from seedlib.spark import session

            ctx.spark = spark or session(f"seed-{stage.name}", partitions=config.run.partitions)
        elif stage.engine == "accelerate":
            from accelerate import Accelerator

            ctx.accelerator = Accelerator(cpu=not (stage.resources.gpus and _visible_gpus()))
        parts, rows_in, details = body_of(stage)(ctx)
        if ctx.accelerator is not None and not ctx.accelerator.is_main_process:
            return EXIT_OK  # rank 0 gathered every rank's parts and records the report
        report = rec.finish(list(parts), rows_in=rows_in, details=details, resumed_parts=len(done))
    except Exception as e:  # noqa: BLE001 - recorded for the CLI and the task, then a non-zero exit
        retry = not isinstance(e, (StageError, ConfigError)) and getattr(e, "retry", True)
        message = redact(first_line(e), secrets)
        rec.fail(message, retry)
        print(redact(traceback.format_exc(), secrets), file=sys.stderr, flush=True)
        print(f"[{stage.name}] FAILED: {message}", file=sys.stderr, flush=True)
        return EXIT_RETRY if retry else EXIT_FAIL
    print(f"[{stage.name}] done: {summary(report)}", flush=True)
    return EXIT_OK


_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Failed|Conflict)): (.+)$")


def first_line(e: BaseException) -> str:
    """`Type: first line` of an exception; for errors raised inside Spark executors, the Python
    exception at the end of Spark's report rather than the JVM's wrapper."""
    text = str(e)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if len(lines) > 1:
        found = [m for m in (_EXCEPTION_LINE.match(ln) for ln in lines) if m]
        python = [m for m in found if not m.group(1).startswith(("org.", "java.", "py4j."))]
        if python:
            name, message = python[-1].group(1), python[-1].group(2)
            return f"{name.rsplit('.', 1)[-1]}: {message}"
    return f"{type(e).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def summary(report: StageReport) -> str:
    if report.skipped:
        return "skipped"
    dropped = ", ".join(f"{k}={v}" for k, v in report.dropped.items()) or "none"
    resumed = f", {report.resumed_parts} parts resumed" if report.resumed_parts else ""
    return f"{report.rows_in} in, {report.rows_out} out, dropped: {dropped} ({report.seconds:.1f}s{resumed})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="seedlib.runner", description="Run one stage of a pipeline run "
                                     "in this process (what spark-submit and accelerate launch start).")
    parser.add_argument("--pipeline", default="snapshots", help="pipeline name, or module:ATTR")
    parser.add_argument("--stage", required=True, help="the stage's declared name")
    parser.add_argument("--run", required=True, help="the run's reference (storage root and run prefix)")
    args = parser.parse_args(argv)
    spec = RunSpec.from_ref(args.run)
    pipeline = pipelines.get(args.pipeline)
    return run_in_process(spec, pipeline, pipeline.stage(args.stage))


if __name__ == "__main__":
    sys.exit(main())
