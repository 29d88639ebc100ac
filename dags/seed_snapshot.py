"""seed_snapshot: the nightly code-data snapshot, stage by stage (declared in seedlib/pipelines.py).

    prepare -> crawl -> exact_dedup -> near_dedup -> syntax -> decontam -> label -> train_scorer -> score
            -> quality -> corpus -> repo_sequences -> commit_samples -> publish

- prepare      resolves the snapshot date (the manual `snapshot_date` param, else the data interval's
               start), the configuration, the sources and the skipped stages; resumes the date's unfinished
               run with the same inputs, else records a new run in its prefix (seedlib/run.py).
- crawl        Spark: clones each repository, extracts its files at HEAD and its commit history; unchanged
               repositories are reused from the last publication (seedlib/crawl/).
- exact_dedup  Spark: identical and near-identical repositories, then SHA-256 duplicate files; one copy
               kept by a total order (seedlib/dedup/plan.py).
- near_dedup   Spark: MinHash + LSH + verified edges + connected components (seedlib/dedup/plan.py).
- syntax       Spark: minimal rules + tree-sitter error share per file (seedlib/syntax/).
- decontam     Spark: files sharing a word 10-gram with a benchmark problem (HumanEval and configured sets)
               are dropped as contaminated; the n-gram index is built once and broadcast (seedlib/samples/).
- label        Python: only when the run trains its own scorer (none is published, or quality_retrain): a
               sample stratified by language judged by the oracle (seedlib/quality/label.py).
- train_scorer accelerate: the scorer trained on those labels (seedlib/quality/train.py); skipped like label.
- score        accelerate: every kept file scored 0-10 with the run's scorer, in shards (seedlib/quality/score.py).
- quality      Python: quality_score added to files; the lowest quality_drop_share dropped as low_quality.
- corpus       Python: corpus_index, the corpus as of this snapshot: its files plus the still-current files
               of the earlier snapshots it was deduplicated against (seedlib/corpus.py).
- repo_sequences Spark: repositories whose mean quality_score passes repo_min_quality, their files in
               dependency order, split into parts over repo_max_chars (seedlib/samples/sequences.py).
- commit_samples Spark: code-change-prediction samples from commit_history, with the commit ledger
               commit_dropped (seedlib/samples/commits.py).
- publish      checks the ledger invariant and stage counts, then writes the manifest (seedlib/publish.py);
               a scorer the run trained is published as a scorer version first.

Each stage task runs its declared engine through seedlib/runner.py (seedlib/stage_operator.py builds
the tasks from the declarations). This file only sets the schedule and the trigger form.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, Asset, CronDataIntervalTimetable, Param

from seedlib.pipelines import SNAPSHOTS
from seedlib.stage_operator import default_args, pipeline_tasks, run_params

SPARK_CONN = "spark_local"  # AIRFLOW_CONN_SPARK_LOCAL; `seed run`/`seed ui` default it to local[*]
PUBLISHED = Asset(name="seed_snapshots", uri="x-seed://snapshots")


with DAG(
    dag_id=SNAPSHOTS.dag_id,
    description="Crawl, filter and publish a code-data snapshot",
    schedule=CronDataIntervalTimetable("0 2 * * *", timezone="UTC"),
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    max_active_runs=1,
    max_active_tasks=4,
    default_args=default_args(),
    # The trigger form marks a field required unless its type admits null, draws a "boolean" as a
    # toggle (so no "unset" state) and a string with an enum as a choice, and checks `format` with
    # jsonschema's format checker (as Param.resolve does on the server).
    params=run_params("YYYY-MM-DD; empty = the run's data interval start", {
        "sources": Param([], type=["null", "array"], items={"type": "string"},
                         description="git URLs, file:///abs/repo, local paths or @FILE; empty = configured default"),
        "languages": Param([], type=["null", "array"], items={"type": "string"},
                           description="languages to keep (e.g. Python, Java); empty = all known"),
        "max_file_bytes": Param(None, type=["null", "integer"], minimum=1,
                                description="files larger than this are dropped as too_large"),
        "max_files_per_repo": Param(None, type=["null", "integer"], minimum=1,
                                    description="cap on files per repository"),
        # A nullable boolean as a three-way choice; seedlib.run.split_params maps it to None/True/False.
        "dedup_against_published": Param("configured", type="string", enum=["configured", "true", "false"],
                                         values_display={"configured": "as configured (default true)",
                                                         "true": "true", "false": "false"},
                                         description="drop duplicates of files earlier snapshots published; "
                                                     "false = a self-contained snapshot"),
    }, skip_stages=SNAPSHOTS.names),
    tags=["seed", "snapshot"],
    doc_md=__doc__,
) as dag:

    pipeline_tasks(SNAPSHOTS, PUBLISHED, SPARK_CONN)
