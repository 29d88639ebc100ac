"""What the DAG's Python tasks call: thin adapters from Airflow's context to seedlib.

Deterministic problems (bad configuration, a ledger that does not add up) raise AirflowFailException so
Airflow does not retry them; anything else is retried by the DAG's retry policy.
"""

from __future__ import annotations

import os

from seedlib.config import ConfigError, Secrets
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


def prepare_task(params, data_interval_start, run_id: str) -> str:
    from airflow.sdk.exceptions import AirflowFailException

    try:
        token = Secrets.from_env(os.environ).github_token or github_token_from_connection()
        spec = prepare_run(dict(params or {}), data_interval_start, run_id, os.environ, github_token=token)
    except ConfigError as e:
        raise AirflowFailException(f"configuration error: {e}") from None
    print(f"[prepare] snapshot {spec.snapshot}, run {spec.run_id}, storage {spec.config['storage']}")
    return spec.to_json()


def publish_task(run_spec: str, stages: list[str], outlet_event) -> dict:
    from airflow.sdk.exceptions import AirflowFailException

    from seedlib.publish import publish_run
    from seedlib.run import manifest_key

    spec = RunSpec.from_json(run_spec)
    try:
        published = publish_run(spec, stages)
    except (StageError, PublishConflict) as e:
        raise AirflowFailException(f"not published: {e}") from None
    uri = spec.storage().uri(manifest_key(spec.snapshot))
    outlet_event.extra = {"snapshot": spec.snapshot, "manifest": uri}
    rows = {name: ds["rows"] for name, ds in published["datasets"].items()}
    print(f"[publish] snapshot {spec.snapshot} published at {uri}: {rows}")
    return {"snapshot": spec.snapshot, "manifest": uri, "rows": rows}
