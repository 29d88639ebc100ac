"""Running the real `seed_snapshot` DAG object in this process (what `seed run` does).

Import this module only after `seedlib.embedded.apply(...)`: Airflow reads its configuration at import.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

DAG_ID = "seed_snapshot"


@dataclass
class RunOutcome:
    state: str
    run_id: str
    snapshot: str | None
    failed_tasks: list[str]
    task_states: dict[str, str | None]  # task id -> final state (None: never ran)


def migrate_db() -> None:
    """Create or upgrade the embedded metadata DB (idempotent, a few seconds)."""
    from airflow.utils import db

    db.upgradedb()


def load_dag(dag_id: str = DAG_ID):
    from airflow.configuration import conf
    from airflow.dag_processing.dagbag import DagBag

    folder = conf.get("core", "dags_folder")
    bag = DagBag(dag_folder=folder)
    if bag.import_errors:
        path, err = next(iter(bag.import_errors.items()))
        raise RuntimeError(f"cannot import DAG file {path}: {err}")
    if dag_id not in bag.dags:
        raise RuntimeError(f"DAG {dag_id!r} not found in {folder}")
    return bag.dags[dag_id]


def run_once(conf: dict, quiet_airflow: bool = True, logical_date: dt.datetime | None = None,
             dag_id: str = DAG_ID) -> RunOutcome:
    """One DAG run via `dag.test()`; returns its final state and each task's."""
    from airflow.utils.state import TaskInstanceState

    if quiet_airflow:
        for name in ("airflow.models.dagbag", "airflow.dag_processing", "sqlalchemy"):
            logging.getLogger(name).setLevel(logging.WARNING)
    dag = load_dag(dag_id)
    logical_date = logical_date or dt.datetime.now(dt.timezone.utc)
    dr = dag.test(run_conf=conf, logical_date=logical_date, run_after=logical_date)
    states = {ti.task_id: (str(getattr(ti.state, "value", ti.state)) if ti.state else None)
              for ti in dr.get_task_instances()}
    failed = sorted(ti.task_id for ti in dr.get_task_instances()
                    if ti.state in (TaskInstanceState.FAILED, TaskInstanceState.UPSTREAM_FAILED))
    snapshot = conf.get("snapshot_date") or (dr.data_interval_start.date().isoformat()
                                             if dr.data_interval_start else None)
    return RunOutcome(state=str(getattr(dr.state, "value", dr.state)), run_id=dr.run_id, snapshot=snapshot,
                      failed_tasks=failed, task_states=states)
