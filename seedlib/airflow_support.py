"""What the DAG's Python tasks call: thin adapters from Airflow's context to seedlib.

Deterministic problems (bad configuration, a ledger that does not add up) raise AirflowFailException so
Airflow does not retry them; anything else is retried by the DAG's retry policy.
"""

from __future__ import annotations

import os

from seedlib.config import ConfigError, Secrets, redact
from seedlib.run import RunSpec, prepare_run
from seedlib.stage import StageError
from seedlib.storage import PublishConflict


def mask_secrets() -> None:
    """Register secret values with Airflow's log masker for this task process."""
    from airflow.sdk.log import mask_secret

    for value in Secrets.from_env(os.environ).values():
        mask_secret(value)


def github_token_from_connection(conn_id: str = "github_default") -> str | None:
    """The token of an Airflow connection (its password), when the environment has none."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException
    from airflow.sdk.log import mask_secret

    try:
        token = BaseHook.get_connection(conn_id).password
    except AirflowNotFoundException:
        return None
    if token:
        mask_secret(token)
    return token or None


def prepare_task(pipeline: str, params, data_interval_start, run_id: str) -> str:
    """Resolve (or resume) the run; returns its reference for the stage tasks (no configuration)."""
    from airflow.sdk.exceptions import AirflowFailException

    try:
        token = Secrets.from_env(os.environ).github_token or github_token_from_connection()
        spec = prepare_run(dict(params or {}), data_interval_start, run_id, os.environ, github_token=token,
                           pipeline=pipeline)
    except ConfigError as e:
        raise AirflowFailException(f"configuration error: {e}") from None
    print(f"[prepare] {spec.pipeline} {spec.snapshot}, run {spec.run_id}, storage {spec.config['storage']}"
          + (f", skipping {', '.join(spec.skip)}" if spec.skip else ""))
    return spec.ref()


def stage_task(pipeline: str, stage: str, ref: str, spark_conn: str) -> dict:
    """One stage from its task: a failure that a retry cannot mend fails the task without retries."""
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    from seedlib.runner import StageFailed, launch, summary

    try:
        report = launch(pipeline, stage, ref, spark_conn=spark_conn)
    except StageFailed as e:
        raise (AirflowException if e.retry else AirflowFailException)(e.message) from None
    except (ConfigError, StageError) as e:
        raise AirflowFailException(str(e)) from None
    return {"stage": stage, "summary": summary(report)}


def publish_task(pipeline: str, ref: str, outlet_event) -> dict:
    from airflow.sdk.exceptions import AirflowFailException

    from seedlib.publish import publish_run
    from seedlib.run import manifest_key

    spec = RunSpec.from_ref(ref)
    try:
        published = publish_run(spec)
    except (StageError, PublishConflict) as e:
        raise AirflowFailException(f"not published: {e}") from None
    uri = spec.storage().uri(manifest_key(spec.snapshot, spec.publications))
    outlet_event.extra = {"snapshot": spec.snapshot, "manifest": uri}
    rows = {name: ds["rows"] for name, ds in published["datasets"].items()}
    print(f"[publish] {spec.pipeline} {spec.snapshot} published at {uri}: {rows}")
    return {"snapshot": spec.snapshot, "manifest": uri, "rows": rows}


def record_failure(context) -> None:
    """on_failure_callback: the first line of the task's exception, where `seed run` shows it from
    (`$AIRFLOW_HOME/seed-failures/RUN/TASK.txt`; the task log keeps the traceback)."""
    from pathlib import Path

    exception = context.get("exception")
    ti = context.get("ti") or context.get("task_instance")
    home = os.environ.get("AIRFLOW_HOME")
    if exception is None or ti is None or not home:
        return
    from seedlib.runner import first_line

    folder = Path(home) / "seed-failures" / _safe(ti.run_id)
    folder.mkdir(parents=True, exist_ok=True)
    text = redact(first_line(exception), Secrets.from_env(os.environ))
    (folder / f"{_safe(ti.task_id)}.txt").write_text(text + "\n", encoding="utf-8")


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
