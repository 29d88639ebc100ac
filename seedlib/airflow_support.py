"""What the DAG's Python tasks call: thin adapters from Airflow's context to seedlib.

Deterministic problems (bad configuration, a ledger that does not add up) raise AirflowFailException so
Airflow does not retry them; anything else is retried by the DAG's retry policy.
"""

from __future__ import annotations

import os

from seedlib.config import ConfigError, Secrets, flat_dict, redact
from seedlib.run import RunSpec, prepare_run
from seedlib.stage import StageError
from seedlib.storage import PublishConflict, StorageError


def mask_secrets() -> None:
    """Register secret values with Airflow's log masker for this task process."""
    from airflow.sdk.log import mask_secret

    for value in Secrets.from_env(os.environ).values():
        mask_secret(value)


def github_token_from_connection(conn_id: str = "github_default") -> str | None:
    """The token of an Airflow connection (its password), when the environment has none."""
    return connection_password(conn_id)


def connection_password(conn_id: str) -> str | None:
    """An Airflow connection's password (a secret: masked in task logs), or None without the connection
    or outside Airflow."""
    try:
        from airflow.sdk import BaseHook
    except ImportError:
        return None
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
    except StorageError as e:
        if not e.retry:
            raise AirflowFailException(str(e)) from None
        raise
    PREPARED[run_id] = spec.ref()
    storage = flat_dict(spec.config)["storage"]
    print(f"[prepare] {spec.pipeline} {spec.snapshot}, run {spec.run_id}, storage {storage}"
          + (f", skipping {', '.join(spec.skip)}" if spec.skip else ""))
    return spec.ref()


def stage_task(pipeline: str, stage: str, ref: str, spark_conn: str = "spark_local", engine=None) -> dict:
    """One stage from its task: a failure that a retry cannot mend fails the task without retries.
    `engine`: see seedlib.runner.launch (kubernetes mode's pods)."""
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    from seedlib.runner import StageFailed, launch, summary

    try:
        report = launch(pipeline, stage, ref, spark_conn=spark_conn, engine=engine)
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
    out = {"snapshot": spec.snapshot, "manifest": uri, "rows": rows}
    if spec.publications == "snapshots":  # the report and the dataset card beside the manifest (docs/report.md)
        from seedlib import report
        from seedlib.runner import first_line

        try:
            out.update(report.write_all(spec.storage(), spec.snapshot))
            print(f"[publish] report {out['report']}, dataset card {out['card']}")
        except Exception as e:  # noqa: BLE001 -- the snapshot is published; `seed report` writes them again
            print(f"[publish] report not written: {first_line(e)} (run `seed report --date {spec.snapshot}`)")
    return out


# What `seed run` reads back from the tasks it runs in its own process (`dag.test()` runs them in-process):
# the run each Airflow run id prepared, and the first line of each failed task's exception.
PREPARED: dict[str, str] = {}
FAILURES: dict[str, dict[str, str]] = {}


def record_failure(context) -> None:
    """on_failure_callback: keep the first line of the task's real exception for `seed run`'s summary
    (the task log keeps the traceback)."""
    from seedlib.runner import first_line

    exception, ti = context.get("exception"), context.get("ti") or context.get("task_instance")
    if exception is None or ti is None:
        return
    text = str(exception).strip().splitlines()[0] if _is_airflow(exception) and str(exception).strip() \
        else first_line(exception)
    FAILURES.setdefault(ti.run_id, {})[ti.task_id] = redact(text, Secrets.from_env(os.environ))


def _is_airflow(e: BaseException) -> bool:
    return type(e).__module__.startswith("airflow")
