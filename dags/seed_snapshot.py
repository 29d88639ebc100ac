"""seed_snapshot: the nightly code-data snapshot, stage by stage.

    prepare -> crawl -> exact_dedup -> near_dedup -> syntax -> publish

- prepare      resolves the snapshot date (the manual `snapshot_date` param, else the data interval's
               start), the configuration and the sources; records them in the run's prefix (seedlib/run.py).
- crawl        Spark: clones each repository, extracts its files at HEAD and its commits; unchanged
               repositories are reused from the last publication (spark_jobs/crawl.py, seedlib/crawl/).
- exact_dedup  Spark: identical and near-identical repositories, then SHA-256 duplicate files; one copy
               kept by a total order (spark_jobs/exact_dedup.py, seedlib/dedup/).
- near_dedup   Spark: MinHash + LSH + verified edges + connected components (spark_jobs/near_dedup.py).
- syntax       Spark: minimal rules + tree-sitter error share per file (spark_jobs/syntax.py, seedlib/syntax/).
- publish      checks the ledger invariant and stage counts, then writes the manifest (seedlib/publish.py).

New stages go between crawl and publish: add their name to STAGES and their entrypoint to spark_jobs/.
This file only wires tasks; all logic lives in seedlib and spark_jobs.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import DAG, Asset, CronDataIntervalTimetable, Param, chain, task

JOBS = Path(__file__).resolve().parents[1] / "spark_jobs"
SPARK_CONN = "spark_local"  # AIRFLOW_CONN_SPARK_LOCAL; `seed run`/`seed ui` default it to local[*]
RUN_SPEC = "{{ ti.xcom_pull(task_ids='prepare') }}"
SNAPSHOTS = Asset(name="seed_snapshots", uri="x-seed://snapshots")

# The stages whose outputs the snapshot is made of, in pipeline order.
STAGES = ["crawl", "exact_dedup", "near_dedup", "syntax"]


def spark_stage(name: str) -> SparkSubmitOperator:
    """A stage as a spark-submit task; it reads the files kept by the stage before it in STAGES."""
    position = STAGES.index(name)
    input_stage = STAGES[position - 1] if position else None
    return SparkSubmitOperator(
        task_id=name,
        application=str(JOBS / f"{name}.py"),
        application_args=["--run-spec", RUN_SPEC, *(["--input-stage", input_stage] if input_stage else [])],
        conn_id=SPARK_CONN,
        name=f"seed-{name}",
        conf={"spark.ui.enabled": "false",
              "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{JOBS / 'log4j2.properties'}"},
        verbose=False,
    )


def _mask_secrets(context) -> None:
    from seedlib.airflow_support import mask_secrets

    mask_secrets()


with DAG(
    dag_id="seed_snapshot",
    description="Crawl, filter and publish a code-data snapshot",
    schedule=CronDataIntervalTimetable("0 2 * * *", timezone="UTC"),
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    max_active_runs=1,
    max_active_tasks=4,
    default_args={
        "retries": 2,
        "retry_delay": dt.timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "on_execute_callback": _mask_secrets,
    },
    params={
        "snapshot_date": Param(None, type=["null", "string"], pattern=r"^\d{4}-\d{2}-\d{2}$",
                               description="YYYY-MM-DD; empty = the run's data interval start"),
        "sources": Param([], type="array", items={"type": "string"},
                         description="git URLs, file:///abs/repo, local paths or @FILE; empty = configured default"),
        "languages": Param([], type="array", items={"type": "string"},
                           description="languages to keep (e.g. Python, Java); empty = all known"),
        "max_file_bytes": Param(None, type=["null", "integer"], minimum=1,
                                description="files larger than this are dropped as too_large"),
        "max_files_per_repo": Param(None, type=["null", "integer"], minimum=1,
                                    description="cap on files per repository"),
        "dedup_against_published": Param(None, type=["null", "boolean"],
                                         description="drop duplicates of files earlier snapshots published; "
                                                     "false = a self-contained snapshot; empty = configured"),
        "storage": Param(None, type=["null", "string"], description="override the storage root URI"),
        "config_file": Param(None, type=["null", "string"], description="YAML configuration file"),
    },
    tags=["seed", "snapshot"],
    doc_md=__doc__,
) as dag:

    @task
    def prepare(params=None, data_interval_start=None, run_id=None) -> str:
        from seedlib.airflow_support import prepare_task

        return prepare_task(params, data_interval_start, run_id)

    @task(outlets=[SNAPSHOTS])
    def publish(run_spec: str, outlet_events=None) -> dict:
        from seedlib.airflow_support import publish_task

        return publish_task(run_spec, STAGES, outlet_events[SNAPSHOTS])

    spec = prepare()
    chain(spec, *[spark_stage(name) for name in STAGES], publish(spec))
