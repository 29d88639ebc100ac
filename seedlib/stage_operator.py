"""The Airflow operator of a declared stage (what dags/ build their stage tasks from).

Import-light (airflow.sdk only at module level) so DAG files may import it at parse time. `execute` runs
the stage through seedlib.runner.launch; `on_kill` (a task killed from the UI, a timeout, SIGTERM)
stops the engine processes the stage started instead of leaving them running.
"""

from __future__ import annotations

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
