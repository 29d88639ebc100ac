"""The Airflow operator of a declared stage (what dags/ build their stage tasks from).

Import-light (airflow.sdk only at module level) so DAG files may import it at parse time. `execute` runs
the stage through seedlib.runner.launch; `on_kill` (a task killed from the UI, a timeout, SIGTERM)
stops the engine processes the stage started instead of leaving them running. In kubernetes mode
(`deployment: kubernetes`) `pipeline_tasks` makes Spark and GPU stages tasks of seedlib/kubernetes.py
instead, which run the same stage code in pods.
"""

from __future__ import annotations

import os

from airflow.sdk import BaseOperator


class StageOperator(BaseOperator):
    template_fields = ("ref",)
    ui_color = "#e8f0fe"

    def __init__(self, *, pipeline: str, stage: str, ref, spark_conn: str = "spark_local", **kwargs):
        super().__init__(task_id=stage, **kwargs)
        self.pipeline, self.stage, self.ref, self.spark_conn = pipeline, stage, ref, spark_conn

    def execute(self, context) -> dict:
        from seedlib.airflow_support import stage_task

        return stage_task(self.pipeline, self.stage, self.ref, self.spark_conn)

    def on_kill(self) -> None:
        from seedlib.runner import stop_engine

        stop_engine()


def mask_secrets(context) -> None:
    """on_execute_callback of every task: register secret values with Airflow's log masker."""
    from seedlib.airflow_support import mask_secrets as mask

    mask()


def record_failure(context) -> None:
    """on_failure_callback: keep the failed task's reason for `seed run`'s summary."""
    from seedlib.airflow_support import record_failure as record

    record(context)


def default_args() -> dict:
    """Every pipeline DAG's task defaults: two retries with backoff, secrets masked, failures recorded
    (a stage that cannot succeed on retry fails at once: seedlib.airflow_support)."""
    import datetime as dt

    return {"retries": 2, "retry_delay": dt.timedelta(seconds=30), "retry_exponential_backoff": True,
            "on_execute_callback": mask_secrets, "on_failure_callback": record_failure}


def run_params(date_help: str, params: dict, skip_stages=None) -> dict:
    """A pipeline DAG's trigger form: `snapshot_date` first, the DAG's own params, then what every run
    takes (storage, config_file, skip_stages when `skip_stages` lists the stages, fresh): one definition
    of the run params seedlib.run.RUN_PARAMS reads."""
    from airflow.sdk import Param

    out = {"snapshot_date": Param(None, type=["null", "string"], format="date", pattern=r"^\d{4}-\d{2}-\d{2}$",
                                  description=date_help),
           **params,
           "storage": Param(None, type=["null", "string"], description="override the storage root URI"),
           "config_file": Param(None, type=["null", "string"], description="YAML configuration file")}
    if skip_stages:
        out["skip_stages"] = Param([], type=["null", "array"], items={"type": "string", "enum": list(skip_stages)},
                                   description="stages to leave out: their input passes through unchanged")
    out["fresh"] = Param(False, type="boolean",
                         description="start a new run even if the date has an unfinished one with the same inputs")
    return out


def pipeline_tasks(pipeline, outlet, spark_conn: str = "spark_local", trigger=None) -> None:
    """Inside a DAG context: prepare -> one task per declared stage -> publish, chained. A stage task is a
    StageOperator, or in kubernetes mode (`kubernetes_config`) a SparkApplication or GPU pod task for
    Spark and GPU stages (seedlib/kubernetes.py).

    prepare resolves (or resumes) the run and returns its reference; publish checks and publishes it and
    emits `outlet` (an Asset). `pipeline` is a seedlib.pipelines.Pipeline. `trigger`: the Asset the DAG is
    scheduled on; a run it triggered takes its date from the triggering events (`triggered_date`) unless
    the `snapshot_date` param is set.
    """
    from airflow.sdk import chain, task

    @task(task_id="prepare")
    def prepare(params=None, data_interval_start=None, run_id=None, triggering_asset_events=None) -> str:
        from seedlib.airflow_support import prepare_task

        params = dict(params or {})
        if trigger is not None and not params.get("snapshot_date"):
            params["snapshot_date"] = triggered_date(triggering_asset_events, trigger)
        return prepare_task(pipeline.name, params, data_interval_start, run_id)

    @task(task_id="publish", outlets=[outlet])
    def publish(ref: str, outlet_events=None) -> dict:
        from seedlib.airflow_support import publish_task

        return publish_task(pipeline.name, ref, outlet_events[outlet])

    ref = prepare()
    config = kubernetes_config(os.environ)
    stages = []
    for s in pipeline.stages:
        task = None
        if config is not None:
            from seedlib.kubernetes import stage_task

            task = stage_task(pipeline, s, config, doc=s.doc)
        stages.append(task or StageOperator(pipeline=pipeline.name, stage=s.name, ref=ref, spark_conn=spark_conn,
                                            doc=s.doc))
    chain(ref, *stages, publish(ref))


def kubernetes_config(environ):
    """The configuration when the DAGs are parsed for kubernetes mode (`deployment: kubernetes`), else None.

    The mode is decided once, when the DAG file is parsed, from the configuration in the environment
    (SEED_DEPLOYMENT, or the SEED_CONFIG file). Without either it is the default, local, and nothing is
    loaded: DAG files parse without importing the configuration (tests/test_dag.py)."""
    if "SEED_DEPLOYMENT" not in environ and not environ.get("SEED_CONFIG"):
        return None
    from seedlib.config import load_config

    config = load_config(environ=environ)
    if config.run.deployment != "kubernetes":
        return None
    from seedlib.kubernetes import check_deployment

    check_deployment(config)
    return config


def triggered_date(events, asset) -> str | None:
    """The latest date among the `asset` events that triggered a run (publish_task puts {"snapshot": D}
    in each event's extra), or None (a manual run, or events without one)."""
    try:
        found = events[asset] if events else []
    except KeyError:
        found = []
    dates = [e.extra.get("snapshot") for e in found if isinstance(getattr(e, "extra", None), dict)]
    dates = [d for d in dates if isinstance(d, str) and d]
    return max(dates) if dates else None
